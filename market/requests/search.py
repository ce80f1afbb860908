"""The requests in the search (market.search): the document of a published request (an
announcement), registered with the engine, and the public request lists' search.

Only what the public announcement shows is read here: no bid, price, nonce or draw secret.

Filters and facets of requests: service_item (the item's code), region (as agencies'), method
(selection method), status (request status; "published" and the derived "bidding_closed" are told
apart by the deadline at query time: deadline_status).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from django.core.paginator import Page
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.accounts.search import REGION_FACET, region_codes, region_name
from market.accounts.models import Organization
from market.catalogue.models import ServiceCategory, ServiceItem
from market.catalogue.search import SERVICE_ITEM_FACET
from market.core.money import fen_to_yuan
from market.search.api import hydrate, page_number, page_of, search
from market.search.backends.base import SearchResult
from market.search.documents import DocumentType, Facet, SearchDocument, Watch, choice_labels, iso, text_lines, url_for
from market.search.registry import register

from .models import RequestStatus, SelectionMethod, ServiceRequest
from .selectors import PUBLIC_STATUSES, RequestFilters, request_list

REQUEST = "request"
REQUEST_LIST_FACETS = ("service_item", "region", "method", "status")

METHOD_FACET = Facet("method", _("Selection method"), values=choice_labels(SelectionMethod.choices))
STATUS_FACET = Facet("status", _("Status"), values=choice_labels(RequestStatus.choices))


def _request_ids(**lookup) -> Iterable[int]:
    return ServiceRequest.objects.filter(**lookup).values_list("pk", flat=True)


class RequestDocumentType(DocumentType):
    """Published requests (announcements), never drafts."""

    kind = REQUEST
    label = _("Announcements")
    order = 20
    facets = (SERVICE_ITEM_FACET, REGION_FACET, METHOD_FACET, STATUS_FACET)
    deadline_status = True  # published turns into bidding_closed at the bid deadline
    watches = (
        Watch(ServiceRequest, ids=lambda req: [req.pk]),
        Watch(Organization, ids=lambda org: _request_ids(owner_id=org.pk), on=("save",)),
        # Their names and categories are in the request's text.
        Watch(ServiceItem, ids=lambda item: _request_ids(service_item_id=item.pk), on=("save",),
              fields=("name", "code", "category_id")),
        Watch(ServiceCategory, ids=lambda category: _request_ids(service_item__category_id=category.pk), on=("save",)),
    )

    def queryset(self, ctx):
        return (ServiceRequest.objects.exclude(status="draft")
                .select_related("owner", "service_item", "service_item__category").order_by("pk"))

    def url(self, req, ctx):
        return url_for("requests:request-detail", req.pk)

    def build(self, req, ctx):
        item = req.service_item
        where = region_name(ctx=ctx, code=req.region_id)
        body = text_lines(req.owner.name, item.name, item.category.name, where, req.project_code, req.description)
        return SearchDocument(
            kind=REQUEST, object_id=req.pk, name=req.project_name, body=body, url=self.url(req, ctx),
            facets={
                "kind": [REQUEST],
                "service_item": [item.code],
                "region": region_codes(ctx=ctx, code=req.region_id),
                "method": [req.selection_method] if req.selection_method else [],
                "status": [req.status],
            },
            status=req.status, deadline=req.bid_deadline, sort_name=req.project_name[:255],
            sort_date=req.published_at or req.created_at,
            data={"owner": req.owner.name, "item": item.name, "item_code": item.code, "region": where,
                  "method": req.selection_method, "quote_mode": req.quote_mode, "budget": fen_to_yuan(req.budget_fen),
                  "deadline": iso(req.bid_deadline), "published_at": iso(req.published_at)},
        )


register(RequestDocumentType())


# --- the request lists ----------------------------------------------------------------------------------


def request_list_search(*, filters: RequestFilters, page: int | str | None = 1, page_size: int = 20,
                        now: dt.datetime | None = None, statuses: Sequence[str] | None = None,
                        facets: Iterable[str] = REQUEST_LIST_FACETS) -> tuple[Page, SearchResult]:
    """Published requests through the search: `filters` (q, service_item, region, method, status —
    the derived "bidding_closed" too); `statuses` limits the list as request_list(statuses=…) does
    (the results page). Newest first without words, by relevance with them. Returns a Page of
    ServiceRequest objects (with request_list()'s joins and bid_count, each with `search_hit`) and
    the result."""
    now = now or timezone.now()
    if filters.status:
        status = [filters.status] if not statuses or filters.status in statuses else ["__none__"]
    else:
        status = list(statuses or [])
    result = search(q=filters.q, kinds=[REQUEST], facets=facets, page=page_number(page=page), page_size=page_size,
                    sort="relevance" if filters.q else "newest", now=now,
                    filters={"service_item": filters.service_item, "region": filters.region, "method": filters.method,
                             "status": status})
    objects = hydrate(result, REQUEST, request_list(now=now, statuses=list(statuses or PUBLIC_STATUSES)))
    return page_of(result, objects), result
