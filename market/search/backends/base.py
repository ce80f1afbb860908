"""What every backend takes and returns."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from django.utils import timezone
from django.utils.safestring import SafeString

from ..analysis import ParsedQuery, parse_query
from .. import registry
from ..documents import DERIVED_STATUS, OPEN_STATUS, SORTS

MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000  # as Elasticsearch's index.max_result_window
FACET_SIZE = 250


@dataclass(frozen=True)
class SearchQuery:
    q: str
    parsed: ParsedQuery
    kinds: tuple[str, ...]
    filters: dict[str, tuple[str, ...]]
    facets: tuple[str, ...]
    page: int
    page_size: int
    sort: str
    now: dt.datetime

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def with_page(self, page: int) -> "SearchQuery":
        return SearchQuery(self.q, self.parsed, self.kinds, self.filters, self.facets, page, self.page_size, self.sort,
                           self.now)


def _values(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(dict.fromkeys(str(v).strip() for v in value if v is not None and str(v).strip()))


def is_province(code: str) -> bool:
    """A province code (GB/T 2260, "440000"): the whole province, no filter."""
    return len(code) == 6 and code.endswith("0000")


def build_query(*, q: str = "", kinds: Iterable[str] | None = None, filters: Mapping[str, object] | None = None,
                facets: Iterable[str] | None = None, page: int = 1, page_size: int = 20, sort: str = "relevance",
                now: dt.datetime | None = None) -> SearchQuery:
    """Check and normalise the arguments of search(). Unknown kinds, filters, facets or sorts are
    programming errors (ValueError); filter values may be a string or a list (any of them)."""
    registered = registry.kinds()
    known_facets = registry.facets()
    kinds = tuple(dict.fromkeys(kinds or registered))
    unknown = [k for k in kinds if k not in registered]
    if unknown:
        raise ValueError(f"unknown kinds {unknown}")
    clean: dict[str, tuple[str, ...]] = {}
    for name, value in (filters or {}).items():
        if name not in known_facets:
            raise ValueError(f"unknown filter {name!r}")
        values = _values(value)
        if name == "region":
            values = tuple(v for v in values if not is_province(v))
        if values:
            clean[name] = values
    if "kind" in clean:
        wanted = clean.pop("kind")
        kinds = tuple(k for k in kinds if k in wanted)
    facets = tuple(dict.fromkeys(facets or ()))
    bad = [f for f in facets if f not in known_facets]
    if bad:
        raise ValueError(f"unknown facets {bad}")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    page_size = max(1, min(int(page_size or 20), MAX_PAGE_SIZE))
    max_page = max(1, MAX_RESULT_WINDOW // page_size)
    page = max(1, min(int(page or 1), max_page))
    q = (q or "").strip()[:200]
    return SearchQuery(q=q, parsed=parse_query(q), kinds=kinds, filters=clean, facets=facets, page=page,
                       page_size=page_size, sort=sort, now=now or timezone.now())


@dataclass
class FacetValue:
    value: str
    count: int
    label: str = ""
    selected: bool = False


@dataclass
class Hit:
    kind: str
    id: int
    score: float
    name: str
    url: str
    data: dict
    name_html: SafeString
    fragments: list[SafeString] = field(default_factory=list)
    status: str = ""
    deadline: dt.datetime | None = None
    grade: str = ""
    red: bool = False
    credit_score: int = 0

    @property
    def kind_label(self) -> str:
        return str(registry.kind_labels().get(self.kind, self.kind))

    def status_at(self, now: dt.datetime) -> str:
        """The status by server time: for the kinds whose status follows a deadline (requests),
        published becomes bidding_closed at the deadline."""
        if (self.status == OPEN_STATUS and self.deadline and now >= self.deadline
                and self.kind in registry.deadline_kinds()):
            return DERIVED_STATUS
        return self.status


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, list[FacetValue]]
    page: int
    page_size: int
    backend: str
    query: SearchQuery | None = None
    fallback: bool = False  # Elasticsearch was configured but could not answer

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.page_size else 1

    def ids(self, kind: str) -> list[int]:
        return [h.id for h in self.hits if h.kind == kind]


def empty_result(query: SearchQuery, backend: str) -> SearchResult:
    return SearchResult(hits=[], total=0, facets={f: [] for f in query.facets}, page=query.page,
                        page_size=query.page_size, backend=backend, query=query)


def finish_facets(query: SearchQuery, counts: Mapping[str, Mapping[str, int]]) -> dict[str, list[FacetValue]]:
    """Facet values with labels, most frequent first (then by value), selected ones marked."""
    out: dict[str, list[FacetValue]] = {}
    for name in query.facets:
        values = {v: c for v, c in (counts.get(name) or {}).items() if c > 0}
        labels = registry.facet_labels(name, values)
        selected = set(query.filters.get(name, ()))
        if name == "kind" and len(query.kinds) < len(registry.kinds()):
            selected = set(query.kinds)
        items = sorted(values.items(), key=lambda vc: (-vc[1], vc[0]))[:FACET_SIZE]
        out[name] = [FacetValue(value=v, count=c, label=labels.get(v, v), selected=v in selected) for v, c in items]
    return out
