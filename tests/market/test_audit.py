import pytest
from django.core.management import CommandError, call_command

from market.audit import GENESIS_HASH, audit_record, audit_verify, stream_of
from market.models import AuditEvent
from tests.factories import make_owner, make_user

pytestmark = pytest.mark.django_db


def _events(n=5):
    user = make_user()
    return [audit_record(actor=user, action="test.event", obj=user, before={"i": i}, after={"i": i + 1}) for i in range(n)]


def test_state_changes_write_chained_events():
    org = make_owner(verified=True)
    actions = list(AuditEvent.objects.filter(object_id=str(org.pk), object_type="market.organization")
                   .values_list("action", flat=True))
    assert actions == ["organization.register", "organization.verify"]
    assert audit_verify() is None
    heads = {}
    for event in AuditEvent.objects.order_by("id"):  # each event follows the previous one of its stream
        assert event.stream == stream_of(event.object_type, event.object_id)
        assert event.prev_hash == heads.get(event.stream, GENESIS_HASH)
        heads[event.stream] = event.hash


def _events_in_streams(settings, streams=4, per_object=3):
    """Events about several objects, interleaved, spread over `streams` chains."""
    settings.MARKET = {**settings.MARKET, "AUDIT_STREAMS": streams}
    users = [make_user() for _ in range(8)]
    AuditEvent.objects.all().delete()
    for i in range(per_object):
        for u in users:
            audit_record(actor=u, action="test.event", obj=u, after={"i": i})
    return list(AuditEvent.objects.order_by("id"))


def test_one_objects_events_form_one_chain_and_streams_are_used(settings):
    events = _events_in_streams(settings)
    assert len({e.stream for e in events}) > 1
    assert audit_verify() is None
    for obj_id in {e.object_id for e in events}:
        assert len({e.stream for e in events if e.object_id == obj_id}) == 1
    for stream in {e.stream for e in events}:  # other streams' events between them do not matter
        chain = [e for e in events if e.stream == stream]
        assert chain[0].prev_hash == GENESIS_HASH
        assert all(event.prev_hash == prev.hash for prev, event in zip(chain, chain[1:]))


def test_deleting_an_event_inside_one_stream_is_detected(settings):
    events = _events_in_streams(settings)
    stream = events[0].stream
    chain = [e for e in events if e.stream == stream]
    AuditEvent.objects.filter(pk=chain[1].pk).delete()
    broken = audit_verify()
    assert broken is not None and broken.event_id == chain[2].pk


def test_moving_an_event_to_another_stream_is_detected(settings):
    events = _events_in_streams(settings)
    chain = [e for e in events if e.stream == events[0].stream]
    other = next(e.stream for e in events if e.stream != events[0].stream)
    AuditEvent.objects.filter(pk=chain[1].pk).update(stream=other)
    assert audit_verify() is not None


def test_events_stored_before_streams_existed_still_verify(settings):
    """A log written as one chain (all stream 0) goes on verifying, and new events append to streams."""
    settings.MARKET = {**settings.MARKET, "AUDIT_STREAMS": 1}
    old = _events(4)
    assert {e.stream for e in old} == {0}
    settings.MARKET = {**settings.MARKET, "AUDIT_STREAMS": 8}
    _events(4)
    assert audit_verify() is None


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
