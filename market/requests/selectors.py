"""Reads of service requests for pages and the API: a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from market.accounts.models import Organization, User
from market.requests.models import RequestStatus, ServiceRequest

PUBLIC_STATUSES = [s for s in RequestStatus.values if s not in (RequestStatus.DRAFT, RequestStatus.BIDDING_CLOSED)]
RESULT_STATUSES = [RequestStatus.PUBLICITY, RequestStatus.AWARDED, RequestStatus.CONTRACTED, RequestStatus.IN_SERVICE,
                   RequestStatus.DELIVERED, RequestStatus.ACCEPTED, RequestStatus.CLOSED, RequestStatus.FAILED]


@dataclass(frozen=True)
class RequestFilters:
    service_item: str = ""  # item code
    region: str = ""  # region code; a prefecture matches its counties
    method: str = ""
    status: str = ""  # includes the derived "bidding_closed"
    q: str = ""

    @classmethod
    def from_params(cls, params) -> "RequestFilters":
        return cls(**{k: (params.get(k) or "").strip()[:100] for k in ("service_item", "region", "method", "status", "q")})


def active_bid_count() -> Coalesce:
    """The number of active bids of each request as a correlated subquery: computed only for the rows
    a page shows (a joined COUNT would aggregate every request's bids before the page is cut)."""
    Bid = apps.get_model("bids", "Bid")
    counted = (Bid.objects.filter(request=OuterRef("pk"), status="active").order_by().values("request")
               .annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def request_list(*, filters: RequestFilters | None = None, now: dt.datetime | None = None,
                 statuses: list[str] | None = None) -> QuerySet[ServiceRequest]:
    """Published requests (never drafts), newest first, with what the list shows."""
    filters = filters or RequestFilters()
    now = now or timezone.now()
    qs = (ServiceRequest.objects.filter(status__in=statuses or PUBLIC_STATUSES)
          .select_related("owner", "service_item", "region")
          .annotate(bid_count=active_bid_count()))
    if filters.service_item:
        qs = qs.filter(service_item__code=filters.service_item)
    if filters.region:
        code = filters.region
        if code.endswith("0000"):
            qs = qs.filter(region__code__startswith=code[:2])
        elif code.endswith("00") and len(code) == 6:
            qs = qs.filter(region__code__startswith=code[:4])
        else:
            qs = qs.filter(region__code=code)
    if filters.method:
        qs = qs.filter(selection_method=filters.method)
    if filters.status == RequestStatus.BIDDING_CLOSED:
        qs = qs.filter(status=RequestStatus.PUBLISHED, bid_deadline__lte=now)
    elif filters.status == RequestStatus.PUBLISHED:
        qs = qs.filter(status=RequestStatus.PUBLISHED, bid_deadline__gt=now)
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.q:
        for term in filters.q.split():
            qs = qs.filter(Q(project_name__icontains=term) | Q(owner__name__icontains=term)
                           | Q(service_item__name__icontains=term))
    return qs.order_by("-published_at", "-pk")


def request_get_public(*, pk: int) -> ServiceRequest | None:
    return (ServiceRequest.objects.filter(pk=pk).exclude(status=RequestStatus.DRAFT)
            .select_related("owner", "owner__region", "service_item", "service_item__category", "region")
            .prefetch_related("required_qualifications", "avoidances__agency__organization", "questions__asked_by",
                              "amendments")
            .annotate(bid_count=Count("bids", filter=Q(bids__status="active"))).first())


def request_get_for_user(*, pk: int, user: User) -> ServiceRequest | None:
    """Public requests to everyone; drafts only to the owner's members."""
    from market.accounts import permissions

    request = (ServiceRequest.objects.filter(pk=pk)
               .select_related("owner", "owner__region", "service_item", "service_item__category", "region")
               .prefetch_related("required_qualifications", "avoidances__agency__organization", "questions__asked_by",
                                 "amendments")
               .annotate(bid_count=Count("bids", filter=Q(bids__status="active"))).first())
    if request is None:
        return None
    if request.status == RequestStatus.DRAFT and not permissions.can_act_for(user, request.owner):
        return None
    return request


def request_get_for_action(*, pk: int, user: User) -> ServiceRequest | None:
    """The request a write is about (the service locks and reads it again): who may see it, without
    the joins, counts and prefetches of its page."""
    from market.accounts import permissions

    request = ServiceRequest.objects.filter(pk=pk).select_related("owner").first()
    if request is None:
        return None
    if request.status == RequestStatus.DRAFT and not permissions.can_act_for(user, request.owner):
        return None
    return request


def owner_requests(*, owners: list[Organization]) -> QuerySet[ServiceRequest]:
    return (ServiceRequest.objects.filter(owner__in=owners).select_related("owner", "service_item")
            .annotate(bid_count=Count("bids", filter=Q(bids__status="active"))).order_by("-created_at"))
