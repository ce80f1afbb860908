"""What a kind of searchable object declares (a DocumentType), and the document it becomes.

The engine knows no domain: each domain defines a DocumentType for its objects in its own
``search`` module and registers it (registry.py), as Wagtail's and Haystack's indexes do. A
DocumentType declares

- its ``kind`` (the index's name for it: "agency") and ``label`` (what the search page calls it);
- its ``facets``: the filters and facet counts it offers, each with its label and its values'
  labels (Facet);
- its ``watches``: the models whose saves and deletes change its documents, and how a saved or
  deleted instance maps to the ids of the documents to rebuild (Watch); the engine connects the
  signals from these (indexing.py);
- which objects are indexed (``queryset``), how one becomes a SearchDocument (``build``), and its
  address (``url``);
- optionally what changes without a signal (``stale``, run by the sync job) and whether its
  status follows a deadline (``deadline_status``).

A document holds only what build() puts in it: data a domain keeps sealed (bid prices, nonces,
draw secrets) has no field here, so it can never reach an index.

The "kind" filter and facet (the document's kind) is the engine's; every other facet is
declared by the document types that have it. A facet several kinds share (service_item, region)
keeps the label and value labels of the first type that declares it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from django.db.models import Manager, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

SORTS = ("relevance", "name", "grade", "newest")

# A document whose status is OPEN_STATUS is shown, filtered and counted as DERIVED_STATUS once
# its deadline has passed (by the server's clock at query time; never stored), on every backend —
# for the kinds whose type sets deadline_status.
OPEN_STATUS = "published"
DERIVED_STATUS = "bidding_closed"


@dataclass
class SearchDocument:
    kind: str
    object_id: int
    name: str
    body: str = ""
    url: str = ""
    facets: dict[str, list[str]] = field(default_factory=dict)
    status: str = ""
    deadline: dt.datetime | None = None
    grade: str = ""
    red: bool = False
    credit_score: int = 0
    sort_name: str = ""
    sort_date: dt.datetime | None = None
    data: dict = field(default_factory=dict)


ValueLabels = Mapping[str, Any] | Callable[[Sequence[str]], Mapping[str, Any]]


@dataclass(frozen=True)
class Facet:
    """A filter and facet: its name (as search() takes it), its label, and its values' labels —
    a mapping (value → label, e.g. a TextChoices' choices) or a function of the values shown
    returning that mapping (one query at most). Values without a label are shown as they are."""

    name: str
    label: Any
    values: ValueLabels | None = None

    def value_labels(self, values: Sequence[str]) -> dict[str, str]:
        """The labels of those of `values` that have one."""
        values = [v for v in values if v]
        if not values or self.values is None:
            return {}
        if callable(self.values):
            return {str(v): str(label) for v, label in self.values(values).items()}
        return {v: str(self.values[v]) for v in values if v in self.values}


def choice_labels(choices: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Value labels from Django choices (lazy labels stay lazy until shown)."""
    return dict(choices)


def code_labels(rows: QuerySet | Manager, *, key: str = "code", label: str = "name") -> Callable[[Sequence[str]], dict]:
    """Value labels read from the rows (a manager or queryset) whose `key` is one of the values."""

    def labels(values: Sequence[str]) -> dict:
        return dict(rows.filter(**{f"{key}__in": list(values)}).values_list(key, label))

    return labels


@dataclass(frozen=True)
class Watch:
    """Saves (and deletes) of `model` change documents of the type that declares this watch.

    model: the model class, or its label ("app_label.ModelName") for a model of a domain the
        declaring one may not import; models of apps that are not installed are skipped.
    ids: the ids of the documents to rebuild for a saved or deleted instance.
    on: "save", "delete" or both.
    fields: when given, only a save of an existing row that changes one of these fields counts
        (their values before the save are read in pre_save)."""

    model: Any
    ids: Callable[[Any], Iterable[int | None]]
    on: tuple[str, ...] = ("save", "delete")
    fields: tuple[str, ...] = ()


class IndexContext:
    """What a batch of documents shares: the day they are built on, and lookups a document type
    loads once per batch (memo)."""

    def __init__(self, *, today: dt.date | None = None):
        self.today = today or timezone.localdate()
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, load: Callable[[], Any]) -> Any:
        """load() the first time `key` is asked for in this batch, the same value afterwards."""
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]


class DocumentType:
    """One kind of searchable object (see the module's docstring); register() an instance."""

    kind: str = ""
    label: Any = ""
    order: int = 100  # where the kind is listed (the search form, a search of every kind)
    facets: tuple[Facet, ...] = ()
    watches: tuple[Watch, ...] = ()
    deadline_status: bool = False  # OPEN_STATUS turns into DERIVED_STATUS at the document's deadline

    def queryset(self, ctx: IndexContext) -> QuerySet:
        """The indexed objects, with what build() reads joined or prefetched."""
        raise NotImplementedError

    def build(self, obj, ctx: IndexContext) -> SearchDocument:
        raise NotImplementedError

    def url(self, obj, ctx: IndexContext) -> str:
        """The object's page (the hit's link)."""
        return ""

    def stale(self, *, now: dt.datetime) -> Iterable[int]:
        """Ids of objects whose documents changed without a signal (QuerySet.update(), the passing
        of time), to be rebuilt by the sync job."""
        return ()

    @property
    def facet_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.facets)

    def documents(self, ids: Iterable[int] | None = None, ctx: IndexContext | None = None) -> Iterable[SearchDocument]:
        ctx = ctx or IndexContext()
        qs = self.queryset(ctx)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        for obj in qs.iterator(chunk_size=500) if ids is None else qs:
            yield self.build(obj, ctx)


# --- helpers for build() ------------------------------------------------------------------------------


def url_for(name: str, pk) -> str:
    """reverse(name, args=[pk]), or "" when the URL is not installed."""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def text_lines(*parts: str | None) -> str:
    """The non-empty parts, stripped, one a line (a document's body)."""
    return "\n".join(p.strip() for p in parts if p and p.strip())
