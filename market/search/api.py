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

from . import backends
from .backends import database
from .backends.base import SearchResult, build_query

logger = logging.getLogger("market.search")


def search(*, q: str = "", kinds: Iterable[str] | None = None, filters: Mapping[str, object] | None = None,
           facets: Iterable[str] | None = None, page: int = 1, page_size: int = 20, sort: str = "relevance",
           now: dt.datetime | None = None) -> SearchResult:
    """Search the registered kinds (agencies, requests and catalogue items).

    q: the user's words (Chinese, traditional or simplified, abbreviations, codes); empty: everything.
    kinds: registered kinds — "agency", "request", "item" (default all).
    filters: {name: value or [values]} — "kind" and the facets the document types declare:
        service_item, region (a prefecture covers its counties), grade, qualification, agency_type,
        method, status (incl. the derived "bidding_closed"), category, pricing_mode, level.
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


# --- for the domains' list pages ---------------------------------------------------------------


def facet_counts(result: SearchResult) -> dict[str, dict[str, int]]:
    """{facet: {value: count}} — for pages that show counts beside their own filter controls."""
    return {name: {fv.value: fv.count for fv in values} for name, values in result.facets.items()}


def page_number(*, page: int | str | None) -> int:
    """A page number from a query string's value (1 when missing or not a number)."""
    try:
        return max(1, int(page or 1))
    except (TypeError, ValueError):
        return 1
