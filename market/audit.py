"""The audit log: one service every state change calls.

Each event stores actor, action, object, before/after and server time, plus the hash of the
previous event of its chain; its own hash covers all of that, so changing, inserting or deleting a
stored event breaks the chain at that point and `verify_audit` names it.

The log is `MARKET["AUDIT_STREAMS"]` chains (streams), each event in the stream its object hashes to,
so the events of one object form one chain and writes about different objects (two agencies' bids on
one request) do not wait for each other's commit on one chain head. Events stored before streams
existed are stream 0's beginning.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .db import hot_cursor
from .models import AuditEvent, User

GENESIS_HASH = "0" * 64
_AUDIT_LOCK_KEY = 7_302_001  # pg_advisory_xact_lock(key, stream) serialises one stream's head
_local_lock = threading.Lock()


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


def event_hash(*, prev_hash: str, created_at: datetime, actor_id: int | None, action: str, object_type: str,
               object_id: str, before: Any, after: Any) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "time": created_at.isoformat(),
            "actor": actor_id,
            "action": action,
            "type": object_type,
            "id": str(object_id),
            "before": before,
            "after": after,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stream_of(object_type: str, object_id: str) -> int:
    """The stream an object's events go to: stable, so one object's history is one chain."""
    streams = max(int(settings.MARKET.get("AUDIT_STREAMS", 16)), 1)
    if not object_type and not object_id:
        return 0
    return zlib.crc32(f"{object_type}:{object_id}".encode("utf-8")) % streams


def _lock_stream(stream: int) -> str:
    """Take the stream's lock (to the commit) and return its head: the last event's hash."""
    with hot_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_AUDIT_LOCK_KEY, stream])
        # Read after the lock is held, in a statement of its own: its snapshot sees the previous
        # holder's event (index market_audit_stream_head).
        cursor.execute("SELECT hash FROM market_auditevent WHERE stream = %s ORDER BY id DESC LIMIT 1", [stream])
        last = cursor.fetchone()
    return last[0] if last else GENESIS_HASH


def object_label(obj: models.Model | None) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    return obj._meta.label_lower, str(obj.pk), str(obj)[:255]


def audit_record(*, actor: User | None, action: str, obj: models.Model | None = None,
                 before: dict | None = None, after: dict | None = None,
                 object_type: str | None = None, object_id: str | None = None) -> AuditEvent:
    """Append one event to the chain. Call inside the transaction that makes the change."""
    otype, oid, orepr = object_label(obj)
    otype = object_type or otype
    oid = str(object_id) if object_id is not None else oid
    before_j, after_j = _jsonable(before), _jsonable(after)
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    stream = stream_of(otype, oid)
    # No savepoint: inside the caller's transaction an error here rolls the whole change back.
    with transaction.atomic(savepoint=False), _local_lock:
        prev_hash = _lock_stream(stream)  # held to the commit: the next writer of this stream reads this event
        created_at = timezone.now()
        digest = event_hash(
            prev_hash=prev_hash, created_at=created_at, actor_id=actor_obj.pk if actor_obj else None,
            action=action, object_type=otype, object_id=oid, before=before_j, after=after_j,
        )
        return AuditEvent.objects.create(
            created_at=created_at, actor=actor_obj, actor_repr=str(actor_obj or "system")[:200], action=action,
            object_type=otype, object_id=oid, object_repr=orepr, before=before_j, after=after_j,
            stream=stream, prev_hash=prev_hash, hash=digest,
        )


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_verify(events: Iterable[AuditEvent] | None = None) -> ChainBreak | None:
    """Walk the events in order, each stream's chain on its own; return the first broken event, or
    None if every chain holds."""
    if events is None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    heads: dict[int, str] = {}
    for event in events:
        prev_hash = heads.get(event.stream, GENESIS_HASH)
        if event.prev_hash != prev_hash:
            return ChainBreak(event.pk, "prev_hash does not match the previous event (an event was removed or inserted)")
        expected = event_hash(
            prev_hash=event.prev_hash, created_at=event.created_at, actor_id=event.actor_id, action=event.action,
            object_type=event.object_type, object_id=event.object_id, before=event.before, after=event.after,
        )
        if expected != event.hash:
            return ChainBreak(event.pk, "content does not match its hash (the event was altered)")
        heads[event.stream] = event.hash
    return None


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict:
    """The named fields of an object, as JSON-ready values, for before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}
