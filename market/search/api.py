"""The search API: one function for every page, and helpers to show its hits as model objects.

    result = search(q="环评", kinds=["agency"], filters={"region": "440100"}, facets=["grade"], page=1, page_size=20)
    result.hits, result.total, result.facets["grade"]

The backend is chosen by settings (backends/__init__.py); when Elasticsearch is configured but
fails, the database answers (result.fallback is then True) and a warning is logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Iterable, Mapping, Sequence

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from . import backends
from .backends import database
from .backends.base import SearchResult, build_query
from .documents import AGENCY, REQUEST

logger = logging.getLogger("market.search")

DIRECTORY_FACETS = ("service_item", "region", "grade", "qualification")
REQUEST_LIST_FACETS = ("service_item", "region", "method", "status")


def search(*, q: str = "", kinds: Iterable[str] | None = None, filters: Mapping[str, object] | None = None,
           facets: Iterable[str] | None = None, page: int = 1, page_size: int = 20, sort: str = "relevance",
           now: dt.datetime | None = None) -> SearchResult:
    """Search agencies, requests and catalogue items.

    q: the user's words (Chinese, traditional or simplified, abbreviations, codes); empty: everything.
    kinds: "agency", "request", "item" (default all).
    filters: {name: value or [values]} — service_item, region (a prefecture covers its counties),
        grade, qualification, agency_type, method, status (incl. the derived "bidding_closed"),
        category, pricing_mode, level, kind.
    facets: names (as filters) whose value counts over the matches to return.
    sort: "relevance" (red-list agencies first at equal relevance), "name", "grade", "newest".
    """
    query = build_query(q=q, kinds=kinds, filters=filters, facets=facets, page=page, page_size=page_size, sort=sort,
                        now=now)
    es = backends.elasticsearch_backend()
    if es is None:
        return database.search(query)
    if backends.elasticsearch_up():
        try:
            return es.search(query)
        except backends.elasticsearch_errors() as exc:
            backends.mark_elasticsearch_down(exc, action="searching")
    result = database.search(query)
    result.fallback = True
    return result


# --- hits as model objects ------------------------------------------------------------------------


def hydrate(result: SearchResult, kind: str, queryset: QuerySet) -> list:
    """The objects of the hits of one kind, in the hits' order, from `queryset` (which decides what
    is joined and what may be shown: a hit it excludes is dropped). Each object gets its hit as
    `search_hit` (highlighted name and fragments)."""
    hits = [h for h in result.hits if h.kind == kind]
    objects = queryset.in_bulk([h.id for h in hits])
    out = []
    for hit in hits:
        obj = objects.get(hit.id)
        if obj is not None:
            obj.search_hit = hit
            out.append(obj)
    return out


class _Window:
    """The result as Django's Paginator sees it: `total` objects, of which the current page's are at hand."""

    def __init__(self, total: int, objects: Sequence):
        self.total = total
        self.objects = list(objects)

    def count(self) -> int:
        return self.total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self.objects
        raise TypeError("a search result page is only sliced by its paginator")


def page_of(result: SearchResult, objects: Sequence | None = None) -> Page:
    """A django.core.paginator.Page of the result (for templates that use page_obj and
    cms/pagination.html); its objects are `objects` (hydrated) or the hits."""
    paginator = Paginator(_Window(result.total, result.hits if objects is None else objects), result.page_size)
    return paginator.page(min(result.page, paginator.num_pages))


# --- the agency directory and the request lists ---------------------------------------------------


def agency_directory_search(*, filters, page: int | str | None = 1, page_size: int = 20, today: dt.date | None = None,
                            facets: Iterable[str] = DIRECTORY_FACETS) -> tuple[Page, SearchResult]:
    """The public agency directory through the search: `filters` is an agencies.selectors.AgencyFilters
    (q, service_item, region, qualification, sort). With words: by relevance (red-list agencies
    first at equal relevance, then the credit score) unless the name order is asked for; without:
    by grade (red list first) or by name, as `sort` says.
    Returns a Page of Agency objects (with the directory's joins, each with `search_hit`) and the
    result (facets with counts)."""
    from agencies.selectors import agency_directory

    sort = "name" if filters.sort == "name" else ("relevance" if filters.q else "grade")
    result = search(q=filters.q, kinds=[AGENCY], facets=facets, page=_page_number(page), page_size=page_size, sort=sort,
                    filters={"service_item": filters.service_item, "region": filters.region,
                             "qualification": filters.qualification})
    objects = hydrate(result, AGENCY, agency_directory(today=today or timezone.localdate()))
    return page_of(result, objects), result


def request_list_search(*, filters, page: int | str | None = 1, page_size: int = 20, now: dt.datetime | None = None,
                        statuses: Sequence[str] | None = None,
                        facets: Iterable[str] = REQUEST_LIST_FACETS) -> tuple[Page, SearchResult]:
    """Published requests through the search: `filters` is a market.requests.selectors.RequestFilters
    (q, service_item, region, method, status — the derived "bidding_closed" too); `statuses` limits
    the list as request_list(statuses=…) does (the results page). Newest first without words, by
    relevance with them. Returns a Page of ServiceRequest objects (with request_list()'s joins and
    bid_count, each with `search_hit`) and the result."""
    from market.requests.selectors import PUBLIC_STATUSES, request_list

    now = now or timezone.now()
    if filters.status:
        status = [filters.status] if not statuses or filters.status in statuses else ["__none__"]
    else:
        status = list(statuses or [])
    result = search(q=filters.q, kinds=[REQUEST], facets=facets, page=_page_number(page), page_size=page_size,
                    sort="relevance" if filters.q else "newest", now=now,
                    filters={"service_item": filters.service_item, "region": filters.region, "method": filters.method,
                             "status": status})
    objects = hydrate(result, REQUEST, request_list(now=now, statuses=list(statuses or PUBLIC_STATUSES)))
    return page_of(result, objects), result


def facet_counts(result: SearchResult) -> dict[str, dict[str, int]]:
    """{facet: {value: count}} — for pages that show counts beside their own filter controls."""
    return {name: {fv.value: fv.count for fv in values} for name, values in result.facets.items()}


def _page_number(page) -> int:
    try:
        return max(1, int(page or 1))
    except (TypeError, ValueError):
        return 1
