"""Reads of bids under the sealing rule: until bidding closes only the bidding agency sees its
own bid; everyone else (owner, other agencies, the public, the API) sees a count."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from agencies.models import Agency
from market.accounts import permissions
from market.accounts.models import Membership, Organization, User
from market.requests.models import ServiceRequest

from .models import Bid, BidStatus, SelectionRun


def user_agency_ids(user: User) -> list[int]:
    """The agencies (registrations) the user may act for."""
    if not (user and user.is_authenticated):
        return []
    org_ids = Membership.objects.filter(user=user, organization__kind=Organization.Kind.AGENCY).values_list(
        "organization_id", flat=True)
    return list(Agency.objects.filter(organization_id__in=org_ids).values_list("pk", flat=True))


def bids_visible(*, request: ServiceRequest, user: User, now: dt.datetime) -> tuple[int, QuerySet[Bid]]:
    """(count of active bids, the bids this user may read in full)."""
    active = Bid.objects.filter(request=request, status=BidStatus.ACTIVE)
    count = active.count()
    base = Bid.objects.filter(request=request).select_related("agency__organization").order_by("pk")
    if request.is_sealed_at(now):
        return count, base.filter(agency_id__in=user_agency_ids(user))
    return count, base.filter(status=BidStatus.ACTIVE)


def agency_bids(*, agency_ids: list[int]) -> QuerySet[Bid]:
    return (Bid.objects.filter(agency_id__in=agency_ids)
            .select_related("request", "request__owner", "request__service_item", "agency__organization")
            .order_by("-submitted_at"))


def current_selection(*, request: ServiceRequest) -> SelectionRun | None:
    """The standing result (selected or failed), the newest run."""
    return (SelectionRun.objects.filter(request=request).exclude(outcome=SelectionRun.Outcome.VOID)
            .order_by("-run").first())


def can_see_private_request(user: User, request: ServiceRequest) -> bool:
    return permissions.can_act_for(user, request.owner) or permissions.is_regulator(user)
