"""A Paginator for lists that grow with the market (the agency directory, announcements, results).

Counting every matching row on each page view costs more than the page itself once a list holds a
hundred thousand agencies or a million requests (the count grows with the data; the page does not).
The total of a large list is therefore counted once and kept in the cache for a minute: page numbers
may lag the newest rows by that minute, the rows themselves never do. Small totals (below
MIN_CACHED) are always counted exactly, so a new small market or a test sees every change at once.

A deep page (page 500 is rows 9,981–10,000) is read in two steps: the ids of the page's rows by a
narrow query in the list's order, then those rows with everything the page joins and prefetches —
the wide rows are never carried through the sort and the offset.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

CACHE_SECONDS = 60
MIN_CACHED = 10_000


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except Exception:  # an empty or unusual query: count it plainly
            return super().count
        key = "paginator-count:" + hashlib.sha256(f"{query.model._meta.label}|{sql}|{params!r}".encode()).hexdigest()
        try:
            cached = cache.get(key)
        except Exception:  # a cache outage must not take the list down
            cached = None
        if cached is not None:
            return cached
        total = super().count
        if total >= MIN_CACHED:
            try:
                cache.set(key, total, CACHE_SECONDS)
            except Exception:
                pass
        return total



    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        qs = self.object_list
        if not isinstance(qs, QuerySet) or not qs.ordered:
            return self._get_page(qs[bottom:top], number, self)
        ids = list(qs.values_list("pk", flat=True)[bottom:top])
        rows = {obj.pk: obj for obj in qs.order_by().filter(pk__in=ids)} if ids else {}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)
