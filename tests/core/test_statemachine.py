"""The engine itself (market.core.statemachine): declaring machines, the registry, and what
`transition` does beyond the tables (tests/core/test_state_tables.py walks those)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import translation

from market.core import statemachine
from market.core.models import AuditEvent
from market.core.statemachine import SYSTEM, Machine, Move, Who, guard
from market.requests.models import RequestStatus as S
from tests.core import rows


class Light(models.TextChoices):
    RED = "red", "red"
    GREEN = "green", "green"


def test_a_machine_refuses_unknown_statuses_and_a_pair_listed_twice():
    with pytest.raises(ImproperlyConfigured, match="unknown status 'blue'"):
        Machine(name="light", model="x.Light", states=Light, moves=(Move("go", Light.RED, "blue", SYSTEM),))
    with pytest.raises(ImproperlyConfigured, match="red → green is both go and walk"):
        Machine(name="light", model="x.Light", states=Light,
                moves=(Move("go", Light.RED, Light.GREEN, SYSTEM), Move("walk", {Light.RED}, Light.GREEN, SYSTEM)))
    with pytest.raises(ImproperlyConfigured, match="is a Who"):
        Move("go", Light.RED, Light.GREEN, lambda actor, obj: True)


def test_a_machine_reads_as_a_table():
    m = Machine(name="light", model="x.Light", states=Light, moves=(
        Move("go", Light.RED, Light.GREEN, SYSTEM | Who("anyone", lambda a, o: True), reason_required=True),
        Move("stop", Light.GREEN, Light.RED, SYSTEM, audit_action="light.stopped")))
    assert m.successors() == {"red": {"green"}, "green": {"red"}}
    assert m.move_for("red", "green").name == "go" and m.move_for("red", "red") is None
    assert [r["who"] for r in m.rows()] == ["system | anyone", "system"]
    assert [m.action_of(mv) for mv in m.moves] == ["light.go", "light.stopped"]
    assert m.event_of(m.moves[1]) == "light.stop"


def test_the_registry_finds_every_domain_and_refuses_a_second_machine_for_a_model():
    names = {m.name for m in statemachine.machines()}
    assert {"request", "bid", "objection", "complaint", "warning", "inspection_plan", "agency", "contract",
            "payment", "organization", "breach"} <= names
    request = statemachine.machine("request")
    assert statemachine.machine_for(request.model_class) is request
    with pytest.raises(ImproperlyConfigured, match="two state machines"):
        statemachine.register(Machine(name="request_again", model="market.ServiceRequest", states=S, moves=()))
    with pytest.raises(LookupError):
        statemachine.machine("nope")


@pytest.mark.django_db
class TestTransition:
    @pytest.fixture
    def world(self):
        return rows.make_world()

    def test_it_reads_the_status_again_under_the_lock(self, world):
        request = rows.request_row(world, status=S.DRAFT)
        stale = type(request).objects.get(pk=request.pk)
        rows.set_status(request, S.CANCELLED)  # someone else cancelled it meanwhile
        with pytest.raises(ValidationError) as exc, translation.override("en"):
            statemachine.transition(stale, to=S.PUBLISHED, actor=world.owner_admin)
        assert exc.value.code == "illegal_transition"
        assert stale.status == S.CANCELLED
        assert exc.value.messages == ["A request cannot go from “cancelled” to “bidding open”."]

    def test_a_move_asked_for_by_name_refuses_with_its_own_message(self, world):
        request = rows.request_row(world, status=S.AWARDED)
        with pytest.raises(ValidationError) as exc, translation.override("en"):
            statemachine.transition(request, to=S.CANCELLED, actor=world.owner_admin, reason="不做了", move="cancel")
        assert exc.value.code == "illegal_transition"
        assert exc.value.messages == ["A request cannot be cancelled once it is awarded or closed."]
        # without the name, the contract's cancellation from awarded is a legal move
        statemachine.transition(request, to=S.CANCELLED, actor=world.owner_admin, reason="合同拒签")
        assert request.status == S.CANCELLED

    def test_an_unknown_status_is_named(self, world):
        request = rows.request_row(world)
        with pytest.raises(ValidationError) as exc:
            statemachine.transition(request, to="teleported", actor=None)
        assert "status" in exc.value.message_dict

    def test_the_system_and_strangers_are_refused_with_their_own_messages(self, world):
        request = rows.request_row(world, status=S.DRAFT)
        with pytest.raises(PermissionDenied) as exc, translation.override("en"):
            statemachine.transition(request, to=S.PUBLISHED, actor=None)
        assert str(exc.value) == "This move needs a person to make it."
        with pytest.raises(PermissionDenied) as exc, translation.override("en"):
            statemachine.transition(request, to=S.PUBLISHED, actor=world.outsider)
        assert str(exc.value) == "You may not move this service request from “draft” to “bidding open”."

    def test_it_saves_the_status_reason_and_changes_only(self, world):
        request = rows.request_row(world, status=S.PUBLISHED)
        later = world.now + dt.timedelta(days=3)
        request.project_name = "not saved: not a change of the move"
        statemachine.transition(request, to=S.PUBLICITY, actor=None, now=world.now,
                                changes={"publicity_ends_at": later})
        stored = type(request).objects.get(pk=request.pk)
        assert (stored.status, stored.publicity_ends_at, stored.project_name) == (S.PUBLICITY, later, "状态机测试项目")
        with pytest.raises(ValidationError):  # a reason of blanks is no reason
            statemachine.transition(request, to=S.FAILED, actor=world.regulator, reason="   ")
        statemachine.transition(request, to=S.FAILED, actor=world.regulator, reason="只有一家有效报价")
        stored.refresh_from_db()
        assert (stored.status, stored.status_reason) == (S.FAILED, "只有一家有效报价")

    def test_the_audit_event_is_the_callers_when_given(self, world):
        bid = rows.bid_row(world)
        statemachine.transition(bid, to="withdrawn", actor=world.agency_admin, now=world.now,
                                audit_action="bid.custom", before=lambda b: {"was": b.status},
                                after={"note": "given"})
        event = AuditEvent.objects.get(action="bid.custom")
        assert (event.before, event.after, event.actor_id) == ({"was": "active"}, {"note": "given"},
                                                              world.agency_admin.pk)

    def test_guards_judge_by_the_one_time_given(self, world):
        bid = rows.bid_row(world)  # bidding open for an hour from world.now
        late = bid.request.bid_deadline
        with pytest.raises(ValidationError) as exc:
            statemachine.transition(bid, to="withdrawn", actor=world.agency_admin, now=late)
        assert exc.value.code == "transition_refused"
        statemachine.transition(bid, to="withdrawn", actor=world.agency_admin, now=late - dt.timedelta(seconds=1))
        assert bid.status == "withdrawn"

    def test_require_move_checks_the_held_status_only(self, world):
        request = rows.request_row(world, status=S.DRAFT)
        assert statemachine.require_move(request, to=S.PUBLISHED).name == "publish"
        request.status = S.PUBLISHED
        with pytest.raises(ValidationError) as exc, translation.override("en"):
            statemachine.require_move(request, to=S.PUBLISHED, move="publish")
        assert (exc.value.code, exc.value.messages) == ("illegal_transition", ["Only a draft can be published."])


def test_guard_decorator_keeps_label_and_code():
    @guard("the moon is full", code="not_full")
    def full(obj, now):
        return None if obj else "no"

    assert (full.label, full.code, full(True, None), full(False, None)) == ("the moon is full", "not_full", None, "no")
    move = Move("howl", Light.RED, Light.GREEN, SYSTEM, guards=lambda obj, now: None)
    assert move.guards[0].code == "transition_refused"


@pytest.mark.django_db
def test_the_command_prints_every_table_and_json():
    out = StringIO()
    call_command("state_machines", stdout=out)
    text = out.getvalue()
    for m in statemachine.machines():
        assert f"{m.name}  ({m.model}.{m.field}, {len(m.moves)} moves)" in text
    assert "publicity → awarded" in text and "publicity has ended; no open objection" in text

    out = StringIO()
    call_command("state_machines", "--machine", "bid", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert [d["machine"] for d in data] == ["bid"]
    assert data[0]["moves"] == [{
        "machine": "bid", "model": "bids.Bid", "field": "status", "from": "active", "to": "withdrawn",
        "move": "withdraw", "who": "agency member", "guard": "bidding is open", "reason_required": False,
        "audit_action": "bid.withdraw", "event": "bid.withdraw"}]
    with pytest.raises(CommandError, match="unknown machine"):
        call_command("state_machines", "--machine", "nope", stdout=StringIO())


@pytest.mark.django_db
def test_a_failed_save_leaves_the_object_as_it_was(monkeypatch):
    world = rows.make_world()
    objection = rows.result_objection_row(world)

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(statemachine, "audit_record", broken)
    with pytest.raises(RuntimeError):
        statemachine.transition(objection, to="upheld", actor=world.regulator, reason="成立",
                                changes={"ruling": "成立", "ruled_by": world.regulator, "ruled_at": world.now})
    assert (objection.status, objection.ruling, objection.ruled_by_id, objection.ruled_at) == ("open", "", None, None)
    objection.refresh_from_db()
    assert objection.status == "open"
