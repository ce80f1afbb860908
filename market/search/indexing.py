"""Keeping the indexes current.

Every save or delete of a model that a document reads (post_save / post_delete signals, connected
in SearchConfig.ready()) marks the documents it touches; once the transaction commits
(transaction.on_commit), each marked document is rebuilt from the database as it now is and written
to the database index and, when configured, to Elasticsearch — or removed when its object is gone
or no longer public. Work in a rolled-back transaction is never indexed.

If Elasticsearch cannot be written, the change is recorded in the outbox (SearchOutbox) and
written when Elasticsearch answers again: after the next successful write, by the `search_sync`
deadline job (process_deadlines), or by `rebuild_search_index --outbox`. While an Elasticsearch
rebuild runs, changes also go to the outbox, which is drained into the new index after the swap.

Changes made without signals (QuerySet.update(): the credit grade, for one) are caught by
`sync()`, which the deadline job runs: it compares the agencies' grade and score with the index,
and re-indexes agencies whose qualifications started or ended since it last ran.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from typing import Callable, Iterable

from django.apps import apps
from django.db import transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from . import backends
from .backends import database
from .documents import AGENCY, ITEM, KINDS, REQUEST, IndexContext, build_documents, document_type
from .models import SearchEntry, SearchOutbox, SearchState

logger = logging.getLogger("market.search")

REBUILD_KEY = "elasticsearch_rebuild"
QUALIFICATION_DAY_KEY = "qualification_day"

_local = threading.local()


# --- what a change touches --------------------------------------------------------------------------


def _ids(model_label: str, **lookup) -> list[int]:
    return list(apps.get_model(model_label).objects.filter(**lookup).values_list("pk", flat=True))


def _agency_changed(sender, instance, **kwargs):
    mark(AGENCY, [instance.pk])


def _agency_part_changed(sender, instance, **kwargs):
    if instance.agency_id:
        mark(AGENCY, [instance.agency_id])


def _organization_changed(sender, instance, **kwargs):
    mark(AGENCY, _ids("agencies.Agency", organization_id=instance.pk))
    mark(REQUEST, _ids("market.ServiceRequest", owner_id=instance.pk))


def _request_changed(sender, instance, **kwargs):
    mark(REQUEST, [instance.pk])


def _item_pre_save(sender, instance, **kwargs):
    if instance.pk:
        instance._search_before = (sender.objects.filter(pk=instance.pk)
                                   .values_list("name", "code", "category_id").first())


def _item_changed(sender, instance, created=False, **kwargs):
    mark(ITEM, [instance.pk])
    before = getattr(instance, "_search_before", None)
    if before is not None and before != (instance.name, instance.code, instance.category_id):
        _mark_item_users([instance.pk])


def _item_deleted(sender, instance, **kwargs):
    mark(ITEM, [instance.pk])


def _mark_item_users(item_ids: list[int]) -> None:
    """Agencies offering the items and requests for them show the item's name and category."""
    mark(AGENCY, _ids("agencies.Agency", offered_items__service_item_id__in=item_ids))
    mark(REQUEST, _ids("market.ServiceRequest", service_item_id__in=item_ids))


def _category_changed(sender, instance, **kwargs):
    item_ids = _ids("market.ServiceItem", category_id=instance.pk)
    mark(ITEM, item_ids)
    _mark_item_users(item_ids)


def _qualification_type_changed(sender, instance, **kwargs):
    mark(AGENCY, _ids("agencies.Agency", qualifications__qualification_type_id=instance.pk))


# (model label, receiver, signals); models of apps that are not installed are skipped.
RECEIVERS = [
    ("agencies.Agency", _agency_changed, (post_save, post_delete)),
    ("agencies.AgencyServiceItem", _agency_part_changed, (post_save, post_delete)),
    ("agencies.Qualification", _agency_part_changed, (post_save, post_delete)),
    ("credit.Breach", _agency_part_changed, (post_save, post_delete)),  # the grade follows breaches
    ("market.Evaluation", _agency_part_changed, (post_save, post_delete)),  # … and evaluations
    ("market.Organization", _organization_changed, (post_save,)),
    ("market.ServiceRequest", _request_changed, (post_save, post_delete)),
    ("market.ServiceItem", _item_pre_save, (pre_save,)),
    ("market.ServiceItem", _item_changed, (post_save,)),
    ("market.ServiceItem", _item_deleted, (post_delete,)),
    ("market.ServiceCategory", _category_changed, (post_save,)),
    ("market.QualificationType", _qualification_type_changed, (post_save,)),
]


def connect_signals() -> None:
    for label, receiver, signals in RECEIVERS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        for signal in signals:
            signal.connect(receiver, sender=model, weak=False,
                           dispatch_uid=f"market.search:{label}:{receiver.__name__}:{id(signal)}")


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
        if kind not in KINDS:
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


def rebuild_database(kinds: Iterable[str] = KINDS, *, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Rebuild the database index of these kinds from scratch (bulk)."""
    counts = {}
    ctx = IndexContext()
    for kind in kinds:
        counts[kind] = database.rebuild(kind, document_type(kind).documents(None, ctx), progress=progress)
    return counts


def rebuild_elasticsearch(kinds: Iterable[str] = KINDS, *,
                          progress: Callable[[int], None] | None = None) -> dict[str, str]:
    """Build a new Elasticsearch index for each kind and swap its alias to it (no downtime); changes
    made meanwhile are queued and written to the new index after the swap."""
    es = backends.elasticsearch_backend()
    if es is None:
        raise RuntimeError("ELASTICSEARCH_URL is not set")
    SearchState.objects.update_or_create(key=REBUILD_KEY, defaults={"value": timezone.now().isoformat()})
    names = {}
    try:
        ctx = IndexContext()
        for kind in kinds:
            names[kind] = es.rebuild(kind, document_type(kind).documents(None, ctx), progress=progress)
    finally:
        SearchState.objects.filter(key=REBUILD_KEY).delete()
    backends.mark_elasticsearch_up()
    while drain_outbox(limit=1000):
        pass
    return names


# --- what signals miss ------------------------------------------------------------------------------


def sync(*, now: dt.datetime | None = None) -> int:
    """Re-index what changed without a signal; returns the number of objects re-indexed.

    - agencies whose grade or score in the index differs from the database (QuerySet.update()),
      active agencies missing from the index and indexed agencies no longer active;
    - once a day, agencies whose qualifications began or ended since the last run (the directory's
      qualification filter counts only certificates valid that day);
    - the outbox, when Elasticsearch is configured;
    - on PostgreSQL, the bitmaps of kinds that have none yet (entries written before they existed).
    """
    now = now or timezone.now()
    Agency = apps.get_model("agencies", "Agency")
    entries = SearchEntry.objects.filter(kind=AGENCY)
    stale: set[int] = set()
    indexed = dict((pk, (grade, score)) for pk, grade, score in entries.values_list("object_id", "grade", "credit_score"))
    for pk, grade, score in Agency.objects.filter(status="active").values_list("pk", "credit_grade", "credit_score"):
        if indexed.pop(pk, None) != (grade or "", score or 0):
            stale.add(pk)
    stale |= set(indexed)  # indexed but no longer active
    today = timezone.localtime(now).date()
    state = SearchState.objects.filter(key=QUALIFICATION_DAY_KEY).first()
    if state is None or state.value != today.isoformat():
        last = dt.date.fromisoformat(state.value) if state and state.value else today - dt.timedelta(days=1)
        Qualification = apps.get_model("agencies", "Qualification")
        stale |= set(Qualification.objects.filter(
            Q(valid_to__gte=last - dt.timedelta(days=1), valid_to__lt=today)
            | Q(valid_from__gt=last, valid_from__lte=today)).values_list("agency_id", flat=True))
        SearchState.objects.update_or_create(key=QUALIFICATION_DAY_KEY, defaults={"value": today.isoformat()})
    database.build_bitmaps()
    if stale:
        apply_changes({AGENCY: stale})
    if backends.elasticsearch_configured() and backends.elasticsearch_up():
        drain_outbox(limit=2000)
    return len(stale)
