import datetime as dt
import importlib
import threading
from types import SimpleNamespace
import zlib

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from market.core.audit import (
    GENESIS_HASH,
    HASHED_FIELDS,
    OPEN_ACTION,
    UNHASHED_FIELDS,
    audit_check,
    audit_record,
    audit_verify,
    configured_streams,
    event_hash,
    stream_of,
)
from market.core.models import AuditEvent
from tests.factories import make_owner, make_user

pytestmark = pytest.mark.django_db

migration_0009 = importlib.import_module("market.migrations.0009_audit_hash_version")


def _events(n=5):
    user = make_user()
    return [audit_record(actor=user, action="test.event", obj=user, before={"i": i}, after={"i": i + 1}) for i in range(n)]


def _streams(settings, n):
    settings.MARKET = {**settings.MARKET, "AUDIT_STREAMS": n}


def _openings():
    return list(AuditEvent.objects.filter(action=OPEN_ACTION).order_by("stream"))


def test_state_changes_write_chained_events():
    org = make_owner(verified=True)
    actions = list(AuditEvent.objects.filter(object_id=str(org.pk), object_type="market.organization")
                   .values_list("action", flat=True))
    assert actions == ["organization.register", "organization.verify"]
    assert audit_verify() is None
    heads = {}
    for event in AuditEvent.objects.order_by("id"):  # each event follows the previous one of its stream
        if event.action != OPEN_ACTION:
            assert event.stream == stream_of(event.object_type, event.object_id)
        assert event.hash_version == 2
        assert event.prev_hash == heads.get(event.stream, GENESIS_HASH)
        heads[event.stream] = event.hash


def _events_in_streams(settings, streams=4, per_object=3):
    """Events about several objects, interleaved, spread over `streams` chains (after their openings)."""
    _streams(settings, streams)
    users = [make_user() for _ in range(8)]
    AuditEvent.objects.all().delete()
    for i in range(per_object):
        for u in users:
            audit_record(actor=u, action="test.event", obj=u, after={"i": i})
    return list(AuditEvent.objects.order_by("id"))


def test_one_objects_events_form_one_chain_and_streams_are_used(settings):
    events = _events_in_streams(settings)
    assert len({e.stream for e in events if e.action != OPEN_ACTION}) > 1
    assert audit_verify() is None
    for obj_id in {e.object_id for e in events if e.action != OPEN_ACTION}:
        assert len({e.stream for e in events if e.object_id == obj_id and e.action != OPEN_ACTION}) == 1
    for stream in {e.stream for e in events}:  # other streams' events between them do not matter
        chain = [e for e in events if e.stream == stream]
        assert chain[0].action == OPEN_ACTION and chain[0].prev_hash == GENESIS_HASH
        assert all(event.prev_hash == prev.hash for prev, event in zip(chain, chain[1:]))


def test_deleting_an_event_inside_one_stream_is_detected(settings):
    events = _events_in_streams(settings)
    stream = next(e.stream for e in events if e.action != OPEN_ACTION)
    chain = [e for e in events if e.stream == stream]
    AuditEvent.objects.filter(pk=chain[1].pk).delete()
    broken = audit_verify()
    assert broken is not None and broken.event_id == chain[2].pk


def test_moving_an_event_to_another_stream_is_detected(settings):
    events = _events_in_streams(settings)
    first = next(e for e in events if e.action != OPEN_ACTION)
    chain = [e for e in events if e.stream == first.stream]
    other = (first.stream + 1) % 4
    AuditEvent.objects.filter(pk=chain[1].pk).update(stream=other)
    assert audit_verify().event_id == chain[1].pk


def test_verify_audit_passes_on_an_intact_chain(capsys):
    _events()
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out


def test_tampering_with_a_stored_event_is_detected():
    events = _events()
    AuditEvent.objects.filter(pk=events[2].pk).update(after={"i": 999})
    broken = audit_verify()
    assert broken is not None and broken.event_id == events[2].pk
    with pytest.raises(CommandError, match=f"#{events[2].pk}"):
        call_command("verify_audit")


def test_deleting_an_event_is_detected():
    events = _events()
    AuditEvent.objects.filter(pk=events[1].pk).delete()
    broken = audit_verify()
    assert broken is not None and broken.event_id == events[2].pk


def test_changing_the_actor_or_time_is_detected():
    events = _events()
    AuditEvent.objects.filter(pk=events[3].pk).update(created_at=events[0].created_at)
    assert audit_verify().event_id == events[3].pk


# --- every stored field is hashed ------------------------------------------------------------------


def test_every_column_of_the_event_is_hashed_or_explained():
    """A column added to AuditEvent fails this until it is hashed (a new version) or explained in
    market/audit.py's docstring (only the row id and the digest itself are not hashed)."""
    columns = {f.attname for f in AuditEvent._meta.concrete_fields}
    assert columns == set(HASHED_FIELDS) | set(UNHASHED_FIELDS)
    assert not set(HASHED_FIELDS) & set(UNHASHED_FIELDS)


def _tampered(field, event):
    other_user = make_user()
    return {
        "prev_hash": "f" * 64,
        "created_at": event.created_at + dt.timedelta(seconds=1),
        "actor_id": other_user.pk,
        "actor_repr": "someone else",  # what the pages (complaint history, admin) show as the actor
        "action": "test.other",
        "object_type": "market.other",
        "object_id": "999999",
        "object_repr": "another object",  # what the pages show as the object
        "before": {"i": 999},
        "after": {"i": 999},
        "stream": (event.stream + 1) % configured_streams(),
        "hash_version": 1,
    }[field]


@pytest.mark.parametrize("field", HASHED_FIELDS)
def test_changing_any_stored_field_of_an_event_is_detected_and_named(field):
    events = _events()
    target = events[2]
    AuditEvent.objects.filter(pk=target.pk).update(**{field: _tampered(field, target)})
    broken = audit_verify()
    assert broken is not None and broken.event_id == target.pk, (field, broken)
    with pytest.raises(CommandError, match=rf"at event #{target.pk}:"):
        call_command("verify_audit")


@pytest.mark.parametrize("field", ["actor_repr", "object_repr"])
def test_changing_a_displayed_field_of_the_newest_event_is_detected(field):
    events = _events(2)
    AuditEvent.objects.filter(pk=events[-1].pk).update(**{field: "edited"})
    assert audit_verify().event_id == events[-1].pk


# --- which streams exist ---------------------------------------------------------------------------


def test_a_young_database_opens_every_stream_with_its_first_event(settings, capsys):
    _streams(settings, 8)
    AuditEvent.objects.all().delete()
    assert audit_verify() is None  # no events yet: nothing to open
    call_command("verify_audit")
    assert "no events yet" in capsys.readouterr().out

    event = audit_record(actor=None, action="test.first", object_type="test", object_id="1")
    openings = _openings()
    assert [o.stream for o in openings] == list(range(8))  # every stream, not just the event's
    assert all(o.after == {"stream": o.stream, "streams": 8} and o.hash_version == 2 for o in openings)
    assert all(o.pk < event.pk for o in openings)
    assert event.prev_hash == openings[event.stream].hash
    assert audit_verify() is None  # seven streams with their opening only are intact
    call_command("verify_audit")
    assert "9 events in 8 streams" in capsys.readouterr().out

    audit_record(actor=None, action="test.second", object_type="test", object_id="2")
    assert len(_openings()) == 8  # opened once


@pytest.mark.parametrize("which", ["quiet stream", "busy stream"])
def test_a_whole_stream_missing_is_detected(settings, which):
    events = _events_in_streams(settings, streams=4)
    used = {e.stream for e in events if e.action != OPEN_ACTION}
    quiet = [s for s in range(4) if s not in used]
    if which == "quiet stream":
        if not quiet:
            AuditEvent.objects.filter(stream=3).exclude(action=OPEN_ACTION).delete()
            quiet = [3]
        stream = quiet[0]
    else:
        stream = sorted(used)[0]
    AuditEvent.objects.filter(stream=stream).delete()  # the opening and everything after it
    broken = audit_verify()
    assert broken is not None and broken.event_id is None and broken.stream == stream
    with pytest.raises(CommandError, match=f"stream {stream} is missing"):
        call_command("verify_audit")


def test_every_opening_removed_is_detected():
    _events()
    AuditEvent.objects.filter(action=OPEN_ACTION).delete()
    broken = audit_verify()
    assert broken is not None and "opening" in broken.reason


def test_more_streams_in_the_setting_than_in_the_log_is_detected(settings):
    _events_in_streams(settings, streams=4)
    first_opening = _openings()[0]
    _streams(settings, 8)
    broken = audit_verify()
    assert broken is not None and broken.event_id == first_opening.pk and "MARKET_AUDIT_STREAMS is 8" in broken.reason
    with pytest.raises(CommandError, match="the log has 4 streams"):
        call_command("verify_audit")

    # Events written under the new setting land in streams the log never opened, and are named.
    late = [audit_record(actor=None, action="test.late", object_type="test", object_id=str(i)) for i in range(40)]
    outside = [e for e in late if e.stream >= 4]
    assert outside
    assert audit_verify().event_id == outside[0].pk
    assert len(_openings()) == 4  # nothing reopened


def test_fewer_streams_in_the_setting_than_in_the_log_is_detected(settings):
    _events_in_streams(settings, streams=8)
    _streams(settings, 4)
    broken = audit_verify()
    assert broken is not None and "MARKET_AUDIT_STREAMS is 4" in broken.reason


def test_an_event_in_a_stream_beyond_the_number_of_streams_is_detected(settings):
    events = _events_in_streams(settings, streams=4)
    target = next(e for e in events if e.action != OPEN_ACTION)
    AuditEvent.objects.filter(pk=target.pk).update(stream=5)
    broken = audit_verify()
    assert broken.event_id == target.pk and "stream 5" in broken.reason


def test_an_opening_that_records_another_number_of_streams_is_detected(settings):
    _events_in_streams(settings, streams=4)
    opening = _openings()[2]
    fields = {name: getattr(opening, name) for name in HASHED_FIELDS}
    fields["after"] = {"stream": 2, "streams": 3}
    AuditEvent.objects.filter(pk=opening.pk).update(after=fields["after"], hash=event_hash(fields))
    assert audit_verify().event_id == opening.pk


def test_the_hot_path_still_costs_the_head_statement_and_the_insert():
    _events(1)  # the streams are open
    user = make_user()
    with CaptureQueriesContext(connection) as ctx:
        audit_record(actor=user, action="test.event", obj=user, after={"x": 1})
    sql = [q["sql"] for q in ctx.captured_queries]
    expected = 3 if connection.vendor == "postgresql" else 2  # (advisory lock,) head, insert
    assert len(sql) == expected, sql
    assert "ORDER BY id DESC LIMIT 1" in sql[-2] and sql[-1].startswith("INSERT")


# --- events written before the cut-over ----------------------------------------------------------------


def _legacy_event(*, stream, prev_hash, i, actor=None, object_id="1"):
    """An event as the code before hash version 2 wrote it (its hash covers fewer fields)."""
    fields = {"created_at": timezone.now(), "actor_id": actor.pk if actor else None, "action": "legacy.event",
              "object_type": "test", "object_id": object_id, "before": None, "after": {"i": i},
              "prev_hash": prev_hash, "hash_version": 1}
    return AuditEvent.objects.create(**fields, actor_repr=str(actor or "system"), object_repr=f"object {object_id}",
                                     stream=stream, hash=event_hash(fields))


def _legacy_log(streams):
    """Events of the single-chain era (all stream 0), then of the 16-stream era, all version 1."""
    AuditEvent.objects.all().delete()
    heads = {}
    user = make_user()
    events = []
    for i in range(3):
        events.append(_legacy_event(stream=0, prev_hash=heads.get(0, GENESIS_HASH), i=i, actor=user))
        heads[0] = events[-1].hash
    for i in range(10):
        object_id = str(100 + i)
        stream = zlib.crc32(f"test:{object_id}".encode()) % streams
        events.append(_legacy_event(stream=stream, prev_hash=heads.get(stream, GENESIS_HASH), i=i, object_id=object_id))
        heads[stream] = events[-1].hash
    return events, heads


def _migrate_0009():
    """The migration's data step, inside the test's transaction (only its connection is used)."""
    migration_0009.open_streams(apps, SimpleNamespace(connection=connection))


def test_events_written_with_the_old_hash_keep_verifying_after_the_cut_over(settings, capsys):
    _streams(settings, 16)
    legacy, heads = _legacy_log(16)
    _migrate_0009()
    openings = _openings()
    assert [o.stream for o in openings] == list(range(16))
    for o in openings:  # each chained to its stream's last old event
        assert o.prev_hash == heads.get(o.stream, GENESIS_HASH)
    new = _events(3)
    assert new[0].prev_hash == openings[new[0].stream].hash
    report = audit_check()
    assert report.broken is None and report.legacy_events == len(legacy) and report.streams == 16
    call_command("verify_audit")
    assert f"{len(legacy)} events from before the cut-over" in capsys.readouterr().out

    _migrate_0009()  # run again (or the migration on an opened log): nothing more
    assert len(_openings()) == 16

    # The old formula still protects what it covered.
    AuditEvent.objects.filter(pk=legacy[1].pk).update(after={"i": 999})
    assert audit_verify().event_id == legacy[1].pk


def test_the_old_hash_does_not_cover_what_pages_show_a_documented_limit(settings):
    """Not rehashed on purpose (a rehash would launder earlier edits): an old event's actor_repr is
    as trustworthy as before the cut-over, and every event written since covers it."""
    _streams(settings, 16)
    legacy, _ = _legacy_log(16)
    _migrate_0009()
    AuditEvent.objects.filter(pk=legacy[0].pk).update(actor_repr="edited")
    assert audit_verify() is None
    new = _events(2)
    AuditEvent.objects.filter(pk=new[0].pk).update(actor_repr="edited")
    assert audit_verify().event_id == new[0].pk


def test_an_old_style_event_after_the_cut_over_is_detected(settings):
    _streams(settings, 16)
    _legacy_log(16)
    _migrate_0009()
    new = _events(1)[0]
    forged = _legacy_event(stream=new.stream, prev_hash=new.hash, i=7)  # chained, its version-1 hash right
    broken = audit_verify()
    assert broken.event_id == forged.pk and "cut-over" in broken.reason


def test_the_first_write_after_the_cut_over_opens_an_unmigrated_log(settings):
    """The migration opens a log that has events; a log it found empty but that got old events
    anyway (or a flushed one) is opened by the next write, chained the same way."""
    _streams(settings, 16)
    legacy, heads = _legacy_log(16)
    event = audit_record(actor=None, action="test.event", object_type="test", object_id="x")
    openings = _openings()
    assert len(openings) == 16 and all(o.prev_hash == heads.get(o.stream, GENESIS_HASH) for o in openings)
    assert event.prev_hash == openings[event.stream].hash
    assert audit_verify() is None


def test_an_empty_log_is_left_to_its_first_event_by_the_migration():
    AuditEvent.objects.all().delete()
    _migrate_0009()
    assert not AuditEvent.objects.exists()


# --- concurrency (PostgreSQL, real connections) ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("restore_reference_data")
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
def test_writers_racing_on_a_young_log_open_every_stream_once(settings):
    _streams(settings, 4)
    AuditEvent.objects.all().delete()
    barrier = threading.Barrier(8)
    errors = []

    def write(i):
        try:
            barrier.wait()
            for j in range(5):
                audit_record(actor=None, action="test.race", object_type="test", object_id=f"{i}-{j}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(o.stream for o in _openings()) == [0, 1, 2, 3]
    assert AuditEvent.objects.filter(action="test.race").count() == 40
    assert audit_verify() is None
