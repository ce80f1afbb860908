"""The audit log: one service every state change calls.

Each event stores actor, action, object, before/after and server time, plus the hash of the
previous event of its chain; its own hash covers every stored field, so changing, inserting or
deleting a stored event breaks the chain at that point and `verify_audit` names it.

Streams
-------
The log is `MARKET["AUDIT_STREAMS"]` chains (streams), each event in the stream its object hashes to,
so the events of one object form one chain and writes about different objects (two agencies' bids on
one request) do not wait for each other's commit on one chain head. Events stored before streams
existed are stream 0's beginning.

Which streams exist is itself in the log: each stream's first event (of hash version 2) is its
*opening*, action ``audit.stream_open``, ``after = {"stream": k, "streams": N}``. The N openings are
written together, in one transaction: by migration 0009 when it finds events already stored (each
opening chained to its stream's last stored event), otherwise by the first event ever written (a
young database, or one emptied by ``flush``), which finds its stream's head missing and opens every
stream before writing. So once any event exists, streams 0..N-1 each have an opening, and a stream
with no events of its own still has that one. `verify_audit` requires exactly one opening for each
of streams 0..N-1, all recording the same N, no event in a stream >= N, and N equal to the setting:
a stream deleted whole (opening included) or a changed `MARKET_AUDIT_STREAMS` is named. (Deleting
every stream's newest events down to nothing, or cutting one stream's tail after its opening, needs
an anchor outside the database: a later issue.) Changing `MARKET_AUDIT_STREAMS` on a database with
events is therefore reported, by design: it would also move objects to other chains.

The openings are written without their streams' locks: their writer holds the opening lock
(``pg_advisory_xact_lock(_AUDIT_LOCK_KEY, -1)``) to its commit, and a writer that finds its stream's
head missing or of version 1 takes that lock and reads the head again before appending, so it chains
onto the opening. (On a brand-new database two first transactions that each write several events
may deadlock there; PostgreSQL aborts one. A database with events is opened by the migration.) On
the hot path a head is always a version-2 event, so an event costs what it did: the head statement
(`_lock_stream`, one prepared statement, now also reading the head's `hash_version`) and the insert.

Hash versions and the cut-over
------------------------------
`hash_version` says which formula `hash` was computed with. Version 1 (the events written before
this column existed) covers prev_hash, created_at, actor_id, action, object_type, object_id, before
and after. Version 2 covers every column of `AuditEvent` but two:

* `id` — the row's storage key, assigned by the database at the insert (hashing it would cost a
  sequence round trip on the hot path). Its order is checked: `verify_audit` walks each stream in
  id order, so reordering events within a stream breaks the chain; its value carries nothing else.
* `hash` — the digest itself, checked by recomputation and by the next event's `prev_hash`.

Hashed in version 2: `prev_hash`, `created_at`, `actor_id`, `actor_repr`, `action`, `object_type`,
`object_id`, `object_repr`, `before`, `after`, `stream` and `hash_version` itself (relabelling an event's
version makes its recomputed hash differ). `HASHED_FIELDS` lists them and the tests hold the model's
columns to that list, so a column added later must be hashed (a version 3) or explained here.

Existing events are not rehashed: a rehash would accept whatever an attacker had edited before it
and would let anyone run it again to launder edits. They keep verifying with the version-1 formula,
which leaves their `actor_repr`, `object_repr` and `stream` uncovered (a moved old event still breaks
both chains). The cut-over is each stream's opening: in a stream, version-1 events may only come
before the opening, and the opening and everything after it must be version 2; a version-1 event
after it is named even if its hash matches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from market.core.db import hot_cursor
from market.core.models import AuditEvent

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HASH_VERSION = 2  # what new events are hashed with
OPEN_ACTION = "audit.stream_open"
OPEN_OBJECT_TYPE = "audit.stream"
_AUDIT_LOCK_KEY = 7_302_001  # pg_advisory_xact_lock(key, stream) serialises one stream's head
_OPEN_LOCK = -1  # pg_advisory_xact_lock(key, -1): opening the streams
_local_lock = threading.Lock()

# The columns each hash version covers (besides the version itself in version 2).
HASHED_FIELDS_V1 = ("prev_hash", "created_at", "actor_id", "action", "object_type", "object_id", "before", "after")
HASHED_FIELDS = ("prev_hash", "created_at", "actor_id", "actor_repr", "action", "object_type", "object_id",
                 "object_repr", "before", "after", "stream", "hash_version")
UNHASHED_FIELDS = ("id", "hash")  # see the module docstring


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def event_hash(fields: Mapping[str, Any]) -> str:
    """The hash of an event from its column values (by attribute name: `actor_id`), with the formula
    of its `hash_version`."""
    version = fields["hash_version"]
    payload = {
        "prev": fields["prev_hash"],
        "time": fields["created_at"].isoformat(),
        "actor": fields["actor_id"],
        "action": fields["action"],
        "type": fields["object_type"],
        "id": str(fields["object_id"]),
        "before": fields["before"],
        "after": fields["after"],
    }
    if version == 2:
        payload.update({
            "v": 2,
            "actor_repr": fields["actor_repr"],
            "object_repr": fields["object_repr"],
            "stream": fields["stream"],
        })
    elif version != 1:
        raise ValueError(f"unknown audit hash version {version!r}")
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _stored_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def configured_streams() -> int:
    return max(int(settings.MARKET.get("AUDIT_STREAMS", 16)), 1)


def stream_of(object_type: str, object_id: str) -> int:
    """The stream an object's events go to: stable, so one object's history is one chain."""
    if not object_type and not object_id:
        return 0
    return zlib.crc32(f"{object_type}:{object_id}".encode("utf-8")) % configured_streams()


def opening_fields(*, stream: int, streams: int, prev_hash: str, created_at: datetime) -> dict[str, Any]:
    """The column values (hash included) of stream `stream`'s opening in a log of `streams` streams.
    Used by `_open_streams` and by migration 0009 (with its historical model), so kept pure."""
    fields = {
        "created_at": created_at, "actor_id": None, "actor_repr": "system", "action": OPEN_ACTION,
        "object_type": OPEN_OBJECT_TYPE, "object_id": str(stream), "object_repr": f"audit stream {stream} of {streams}",
        "before": None, "after": {"stream": stream, "streams": streams}, "stream": stream, "prev_hash": prev_hash,
        "hash_version": 2,
    }
    fields["hash"] = event_hash(fields)
    return fields


def _read_head(cursor, stream: int) -> tuple[str, int] | None:
    # Index market_audit_stream_head; the row is read for `hash` anyway, so `hash_version` is free.
    cursor.execute("SELECT hash, hash_version FROM market_auditevent WHERE stream = %s ORDER BY id DESC LIMIT 1",
                   [stream])
    row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _lock_stream(stream: int) -> tuple[str, int] | None:
    """Take the stream's lock (to the commit) and return its head: the last event's hash and hash
    version (None for an empty stream)."""
    with hot_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_AUDIT_LOCK_KEY, stream])
        # Read after the lock is held, in a statement of its own: its snapshot sees the previous
        # holder's event (index market_audit_stream_head).
        return _read_head(cursor, stream)


def _open_streams(stream: int) -> tuple[str, int] | None:
    """The slow path, taken when a stream's head is missing or older than the cut-over: open every
    stream unless that is done (by a transaction that committed while this one waited), then
    return `stream`'s head again. Held to the commit, like the stream locks."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_AUDIT_LOCK_KEY, _OPEN_LOCK])
        cursor.execute("SELECT 1 FROM market_auditevent WHERE action = %s AND hash_version = 2 LIMIT 1",
                       [OPEN_ACTION])
        opened = cursor.fetchone()
        if opened is None:
            streams = configured_streams()
            now = timezone.now()
            # Nobody else appends to these streams meanwhile: their heads are not version 2, so a
            # writer that locked one waits for this lock and reads the head again.
            heads = [_read_head(cursor, k) for k in range(streams)]
            AuditEvent.objects.bulk_create([
                AuditEvent(**opening_fields(stream=k, streams=streams, prev_hash=head[0] if head else GENESIS_HASH,
                                            created_at=now))
                for k, head in zip(range(streams), heads)
            ])
        head = _read_head(cursor, stream)
    if head is None or head[1] != HASH_VERSION:
        # Opened with another number of streams than the setting now says; verify_audit reports it.
        logger.error("audit stream %s was not opened (MARKET_AUDIT_STREAMS changed?); "
                     "verify_audit will report the log", stream)
    return head


def object_label(obj: models.Model | None) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    return obj._meta.label_lower, str(obj.pk), str(obj)[:255]


def audit_record(*, actor: AbstractBaseUser | None, action: str, obj: models.Model | None = None,
                 before: dict | None = None, after: dict | None = None,
                 object_type: str | None = None, object_id: str | None = None) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction that makes the change."""
    otype, oid, orepr = object_label(obj)
    otype = object_type or otype
    oid = str(object_id) if object_id is not None else oid
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    stream = stream_of(otype, oid)
    # No savepoint: inside the caller's transaction an error here rolls the whole change back.
    with transaction.atomic(savepoint=False), _local_lock:
        head = _lock_stream(stream)  # held to the commit: the next writer of this stream reads this event
        if head is None or head[1] != HASH_VERSION:
            head = _open_streams(stream)  # once per database (and per stream opened under another setting)
        fields = {
            "created_at": timezone.now(), "actor_id": actor_obj.pk if actor_obj else None,
            "actor_repr": str(actor_obj or "system")[:200], "action": action, "object_type": otype,
            "object_id": oid, "object_repr": orepr, "before": _jsonable(before), "after": _jsonable(after),
            "stream": stream, "prev_hash": head[0] if head else GENESIS_HASH, "hash_version": HASH_VERSION,
        }
        return AuditEvent.objects.create(**fields, hash=event_hash(fields))


@dataclass(frozen=True)
class ChainBreak:
    """What verification found wrong: the first broken event, or (`event_id` None) a missing stream."""

    event_id: int | None
    reason: str
    stream: int | None = None


@dataclass(frozen=True)
class AuditReport:
    broken: ChainBreak | None
    events: int = 0
    streams: int = 0  # the number of streams the log was opened with (0: empty log)
    legacy_events: int = 0  # events before the cut-over, verified with the version-1 formula


def audit_check(events: Iterable[AuditEvent] | None = None) -> AuditReport:
    """Walk the events in id order, each stream's chain on its own, then check the set of streams
    against the openings and the setting (see the module docstring)."""
    if events is None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    heads: dict[int, str] = {}
    first_event: dict[int, int] = {}  # stream -> its first event's id
    opened: dict[int, int] = {}  # stream -> its opening's id
    recorded: tuple[int, int] | None = None  # (streams, id of the first opening)
    count = legacy = 0

    def broken(event_id, reason, stream=None):
        return AuditReport(ChainBreak(event_id, reason, stream), count, recorded[0] if recorded else 0, legacy)

    for event in events:
        count += 1
        s = event.stream
        first_event.setdefault(s, event.pk)
        if recorded and s >= recorded[0]:
            return broken(event.pk, f"it is in stream {s}, but the log has {recorded[0]} streams "
                                    f"(opened at event #{recorded[1]})", s)
        if event.hash_version == 1:
            legacy += 1
            if s in opened:
                return broken(event.pk, f"it carries the version-1 hash after stream {s}'s cut-over "
                                        f"(its opening, event #{opened[s]})", s)
        elif event.hash_version == 2:
            if event.action == OPEN_ACTION:
                if s in opened:
                    return broken(event.pk, f"stream {s} is opened twice (first at event #{opened[s]})", s)
                after = event.after if isinstance(event.after, dict) else {}
                n = after.get("streams")
                if after.get("stream") != s or not isinstance(n, int) or not 0 <= s < n:
                    return broken(event.pk, f"the opening of stream {s} does not record its stream and their number", s)
                if recorded is None:
                    recorded = (n, event.pk)
                elif n != recorded[0]:
                    return broken(event.pk, f"it opens stream {s} of {n}, but event #{recorded[1]} opened "
                                            f"{recorded[0]} streams", s)
                opened[s] = event.pk
            elif s not in opened:
                return broken(event.pk, f"stream {s} has no opening before this event (an event was removed, "
                                        f"or the stream was never opened)", s)
        else:
            return broken(event.pk, f"unknown hash version {event.hash_version}", s)
        if event.prev_hash != heads.get(s, GENESIS_HASH):
            return broken(event.pk, "prev_hash does not match the previous event (an event was removed or inserted)", s)
        if event_hash(_stored_fields(event)) != event.hash:
            return broken(event.pk, "content does not match its hash (the event was altered)", s)
        heads[s] = event.hash

    if not count:
        return AuditReport(None)  # a young database: the first event opens the streams
    if recorded is None:
        return broken(None, "events exist but no stream was opened (every opening was removed)")
    n, at = recorded
    for s in range(n):
        if s not in opened:
            return broken(None, f"stream {s} is missing: event #{at} opened {n} streams", s)
    for s, event_id in sorted(first_event.items()):
        if s >= n:  # only events before the openings get here
            return broken(event_id, f"it is in stream {s}, but the log has {n} streams (opened at event #{at})", s)
    configured = configured_streams()
    if n != configured:
        return broken(at, f"the log has {n} streams (opened at this event), but MARKET_AUDIT_STREAMS is {configured}")
    return AuditReport(None, count, n, legacy)


def audit_verify(events: Iterable[AuditEvent] | None = None) -> ChainBreak | None:
    """The first broken event (or missing stream), or None if every chain holds."""
    return audit_check(events).broken


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict:
    """The named fields of an object, as JSON-ready values, for before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}
