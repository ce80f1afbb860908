import pytest
from django.core.management import CommandError, call_command

from market.audit import audit_record, audit_verify
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
    events = list(AuditEvent.objects.order_by("id"))
    for prev, event in zip(events, events[1:]):
        assert event.prev_hash == prev.hash


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
