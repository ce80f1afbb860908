"""Keeping the indexes current.

Every save or delete of a model that a document reads marks the documents it touches: each
registered document type declares the models it watches and how an instance maps to the ids of its
documents (documents.Watch), and the signals of those models are connected from these declarations
in SearchConfig.ready() (or when a type registers later). Once the transaction commits
(transaction.on_commit), each marked document is rebuilt from the database as it now is and written
to the database index and, when configured, to Elasticsearch — or removed when its object is gone
or no longer public. Work in a rolled-back transaction is never indexed.

If Elasticsearch cannot be written, the change is recorded in the outbox (SearchOutbox) and
written when Elasticsearch answers again: after the next successful write, by the `search_sync`
deadline job (process_deadlines), or by `rebuild_search_index --outbox`. While an Elasticsearch
rebuild runs, changes also go to the outbox, which is drained into the new index after the swap.

Changes made without signals (QuerySet.update(): the credit grade, for one) are caught by
`sync()`, which the deadline job runs: it re-indexes what each type's DocumentType.stale() reports
(the agencies' type compares their grade and score with the index, and finds the agencies whose
qualifications started or ended since it last ran).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import Callable, Iterable

from django.apps import apps
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from . import backends, registry
from .backends import database
from .documents import DocumentType, IndexContext, Watch
from .models import SearchEntry, SearchOutbox, SearchState
from .registry import build_documents, document_type

logger = logging.getLogger("market.search")

REBUILD_KEY = "elasticsearch_rebuild"

_local = threading.local()


# --- what a change touches: the watches of the registered types ------------------------------------


def _model_label(model) -> str:
    return model.lower() if isinstance(model, str) else model._meta.label_lower


def _watches(model) -> list[tuple[str, Watch]]:
    """(kind, watch) of every registered type watching this model."""
    label = model._meta.label_lower
    return [(t.kind, w) for t in registry.document_types() for w in t.watches if _model_label(w.model) == label]


def _fields(model) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f for _, w in _watches(model) for f in w.fields))


def _pre_save(sender, instance, **kwargs):
    """The watched fields' values before the save (for watches that count only their changes)."""
    fields = _fields(sender)
    if fields and instance.pk:
        row = sender._default_manager.filter(pk=instance.pk).values_list(*fields).first()
        instance._search_before = None if row is None else dict(zip(fields, row))


def _saved(sender, instance, **kwargs):
    before = getattr(instance, "_search_before", None)
    for kind, watch in _watches(sender):
        if "save" not in watch.on:
            continue
        if watch.fields and (before is None or all(before.get(f) == getattr(instance, f) for f in watch.fields)):
            continue
        mark(kind, watch.ids(instance))


def _deleted(sender, instance, **kwargs):
    for kind, watch in _watches(sender):
        if "delete" in watch.on:
            mark(kind, watch.ids(instance))


def _connect(document_type: DocumentType) -> None:
    """Connect the signals of the models a type watches (once per model and signal); models of
    apps that are not installed are skipped."""
    for watch in document_type.watches:
        label = _model_label(watch.model)
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        receivers = []
        if "save" in watch.on:
            receivers.append((post_save, _saved))
        if "delete" in watch.on:
            receivers.append((post_delete, _deleted))
        if watch.fields:
            receivers.append((pre_save, _pre_save))
        for signal, receiver in receivers:
            signal.connect(receiver, sender=model, weak=False,
                           dispatch_uid=f"market.search:{label}:{receiver.__name__}")


def connect_signals() -> None:
    """Connect the signals every registered type asks for, and those of types registered later."""
    registry.on_register(_connect)
    for document_type in registry.document_types():
        _connect(document_type)


# --- after the commit -------------------------------------------------------------------------------


def _pending() -> dict[str, set[int]]:
    pending = _local.__dict__.get("pending")
    if pending is None:
        pending = _local.pending = defaultdict(set)
    return pending


def flush_pending() -> None:
    """Index what this thread marked (each commit's callback does it; the first one to run takes
    everything marked so far, the others find nothing left)."""
    keys = _pending()
    if not keys:
        return
    _local.pending = defaultdict(set)
    try:
        apply_changes(keys)
    except Exception:  # noqa: BLE001 - a failed index write must never fail the user's request
        logger.exception("search indexing failed after commit for %s", {k: sorted(v) for k, v in keys.items()})


def mark(kind: str, ids: Iterable[int]) -> None:
    """Re-index these objects once the current transaction commits (at once outside one).

    Objects marked in a transaction that rolls back are re-indexed at the next commit: harmless,
    since a document is always rebuilt from the database as it then is."""
    ids = {int(i) for i in ids if i is not None}
    if not ids:
        return
    _pending()[kind] |= ids
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(flush_pending, robust=True)
    else:
        flush_pending()


def apply_changes(keys: dict[str, set[int]], *, ctx: IndexContext | None = None) -> None:
    """Rebuild the documents of these objects from the database and write them everywhere."""
    ctx = ctx or IndexContext()
    for kind, ids in keys.items():
        if not ids:
            continue
        for start in range(0, len(ids), 500):
            chunk = sorted(ids)[start:start + 500]
            docs, gone = build_documents(kind, chunk, ctx)
            database.index_documents(docs)
            database.delete_documents(kind, gone)
            write_elasticsearch(kind, docs, gone)


# --- Elasticsearch and its outbox ----------------------------------------------------------------------


def _rebuilding() -> bool:
    return SearchState.objects.filter(key=REBUILD_KEY).exists()


def queue(kind: str, ids: Iterable[int], error: str = "") -> None:
    ids = list(ids)
    existing = set(SearchOutbox.objects.filter(kind=kind, object_id__in=ids).values_list("object_id", flat=True))
    SearchOutbox.objects.bulk_create([SearchOutbox(kind=kind, object_id=i, last_error=error[:2000])
                                      for i in ids if i not in existing], ignore_conflicts=True)
    if existing:
        SearchOutbox.objects.filter(kind=kind, object_id__in=existing).update(queued_at=timezone.now(),
                                                                              last_error=error[:2000])


def write_elasticsearch(kind: str, docs, gone: Iterable[int]) -> bool:
    """Write to Elasticsearch when it is configured; queue the change when that fails (or while
    a rebuild runs). True when written."""
    es = backends.elasticsearch_backend()
    if es is None:
        return False
    gone = list(gone)
    ids = [d.object_id for d in docs] + gone
    if not ids:
        return False
    if _rebuilding():
        queue(kind, ids, "queued during a rebuild")
    if not backends.elasticsearch_up():
        queue(kind, ids, "Elasticsearch marked down")
        return False
    try:
        es.write(kind, docs, gone)
    except backends.elasticsearch_errors() as exc:
        backends.mark_elasticsearch_down(exc, action="indexing")
        queue(kind, ids, f"{type(exc).__name__}: {exc}")
        return False
    if not _rebuilding() and SearchOutbox.objects.exists():
        drain_outbox(limit=500)
    return True


def drain_outbox(*, limit: int = 1000) -> int:
    """Write the queued changes to Elasticsearch; returns how many were written. Rows whose write
    fails stay queued (with the error)."""
    es = backends.elasticsearch_backend()
    if es is None:
        return 0
    rows = list(SearchOutbox.objects.order_by("queued_at", "pk")[:limit])
    if not rows:
        return 0
    by_kind: dict[str, list[SearchOutbox]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    done = 0
    ctx = IndexContext()
    for kind, kind_rows in by_kind.items():
        if kind not in registry.kinds():
            SearchOutbox.objects.filter(pk__in=[r.pk for r in kind_rows]).delete()
            continue
        docs, gone = build_documents(kind, [r.object_id for r in kind_rows], ctx)
        try:
            es.write(kind, docs, gone)
        except backends.elasticsearch_errors() as exc:
            backends.mark_elasticsearch_down(exc, action="draining the outbox")
            SearchOutbox.objects.filter(pk__in=[r.pk for r in kind_rows]).update(
                attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000])
            return done
        # Delete only the rows written (a row re-queued meanwhile has a later queued_at).
        for r in kind_rows:
            SearchOutbox.objects.filter(pk=r.pk, queued_at=r.queued_at).delete()
        done += len(kind_rows)
    backends.mark_elasticsearch_up()
    return done


# --- rebuilds ---------------------------------------------------------------------------------------


def count_documents(kind: str) -> int:
    return document_type(kind).queryset(IndexContext()).count()


def rebuild_database(kinds: Iterable[str] | None = None, *,
                     progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the database index of these kinds (default: every registered kind) from scratch (bulk)."""
    counts = {}
    ctx = IndexContext()
    for kind in kinds or registry.kinds():
        counts[kind] = database.rebuild(kind, document_type(kind).documents(None, ctx), progress=progress)
    return counts


def rebuild_elasticsearch(kinds: Iterable[str] | None = None, *,
                          progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """Build a new Elasticsearch index for each kind (default: every registered kind) and swap its
    alias to it (no downtime); changes made meanwhile are queued and written to the new index after
    the swap."""
    es = backends.elasticsearch_backend()
    if es is None:
        raise RuntimeError("ELASTICSEARCH_URL is not set")
    SearchState.objects.update_or_create(key=REBUILD_KEY, defaults={"value": timezone.now().isoformat()})
    names = {}
    try:
        ctx = IndexContext()
        for kind in kinds or registry.kinds():
            names[kind] = es.rebuild(kind, document_type(kind).documents(None, ctx), progress=progress)
    finally:
        SearchState.objects.filter(key=REBUILD_KEY).delete()
    backends.mark_elasticsearch_up()
    while drain_outbox(limit=1000):
        pass
    return names


# --- what signals miss ------------------------------------------------------------------------------


def indexed_rows(kind: str, *fields: str):
    """(object_id, *fields) of each document of a kind in the database index — for a type's
    stale() to compare with its objects (fields: grade, credit_score, status …)."""
    return SearchEntry.objects.filter(kind=kind).values_list("object_id", *fields)


def state(key: str) -> str | None:
    """A marker kept for the index jobs (None when never set)."""
    return SearchState.objects.filter(key=key).values_list("value", flat=True).first()


def set_state(key: str, value: str) -> None:
    SearchState.objects.update_or_create(key=key, defaults={"value": value})



def sync(*, now: dt.datetime | None = None) -> int:
    """Re-index what changed without a signal; returns the number of objects re-indexed.

    - what each registered type reports stale (DocumentType.stale: agencies whose grade or score
      in the index differs from the database after a QuerySet.update(), or whose qualifications
      began or ended since the last run …);
    - the outbox, when Elasticsearch is configured;
    - on PostgreSQL, the bitmaps of kinds that have none yet (entries written before they existed).
    """
    now = now or timezone.now()
    stale = {t.kind: set(t.stale(now=now)) for t in registry.document_types()}
    stale = {kind: ids for kind, ids in stale.items() if ids}
    database.build_bitmaps()
    if stale:
        apply_changes(stale)
    if backends.elasticsearch_configured() and backends.elasticsearch_up():
        drain_outbox(limit=2000)
    return sum(len(ids) for ids in stale.values())
