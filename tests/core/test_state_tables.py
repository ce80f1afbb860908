"""Every registered state machine's table, walked on real rows (tests/core/rows.py):

- each legal move, from each status it leaves, moves an object there for a person (or the system)
  it lets through, writes its audit event and sends its domain event — after refusing someone it
  does not let through, an empty reason when it needs one, and each of its guards in turn;
- every (from, to) pair the table does not list is refused, and nothing changes;
- `available_moves` offers exactly the table's moves the actor may make and whose guards pass."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from market.core import statemachine
from market.core.events import domain_event
from market.core.models import AuditEvent
from tests.core import rows

pytestmark = pytest.mark.django_db

MACHINES = statemachine.machines()
PROJECT_APPS = {"market", "agencies", "bids", "credit", "cms", "supervision"}
MOVES = [pytest.param(m.name, i, id=f"{m.name}.{mv.name}:{'|'.join(sorted(mv.sources))}->{mv.target}")
         for m in MACHINES for i, mv in enumerate(m.moves)]


@pytest.fixture
def world():
    return rows.make_world()


@pytest.fixture
def events():
    seen = []

    def receive(sender, kind, signal=None, **payload):
        seen.append((kind, payload))

    domain_event.connect(receive, dispatch_uid="tests.core.state_tables")
    yield seen
    domain_event.disconnect(dispatch_uid="tests.core.state_tables")


def _status(obj) -> str:
    m = statemachine.machine_for(obj)
    return type(obj)._base_manager.filter(pk=obj.pk).values_list(m.field, flat=True).get()


def test_every_machine_has_a_row_and_every_guard_an_arrangement():
    assert sorted(set(m.name for m in MACHINES) - set(rows.ROWS)) == []
    assert sorted(g.label for g in rows.every_guard() - set(rows.arrangements())) == []


@pytest.mark.parametrize("name,index", MOVES)
def test_each_legal_move_is_made_and_audited_and_refused_otherwise(name, index, world, events,
                                                                   django_capture_on_commit_callbacks):
    machine = statemachine.machine(name)
    move = machine.moves[index]
    for source in sorted(move.sources):
        obj = rows.ROWS[name](world)
        rows.set_status(obj, source)
        for g in move.guards:
            rows.arrangements()[g][0](obj, world)
        actor = rows.first_allowed(move, obj, world)
        wrong = rows.first_refused(move, obj, world)
        assert move in statemachine.available_moves(obj, actor=actor, now=world.now)
        assert move not in statemachine.available_moves(obj, actor=wrong, now=world.now)

        with pytest.raises(PermissionDenied):
            statemachine.transition(obj, to=move.target, actor=wrong, reason="理由", now=world.now)
        if move.reason_required:
            with pytest.raises(ValidationError) as exc:
                statemachine.transition(obj, to=move.target, actor=actor, reason="  ", now=world.now)
            assert machine.reason_param in exc.value.message_dict
        for g in move.guards:
            make_pass, make_refuse = rows.arrangements()[g]
            make_refuse(obj, world)
            assert move not in statemachine.available_moves(obj, actor=actor, now=world.now)
            with pytest.raises(ValidationError) as exc:
                statemachine.transition(obj, to=move.target, actor=actor, reason="理由", now=world.now)
            assert exc.value.code == g.code, g.label
            make_pass(obj, world)
        assert _status(obj) == source  # every refusal left it where it was

        events.clear()
        with django_capture_on_commit_callbacks(execute=True):
            moved = statemachine.transition(obj, to=move.target, actor=actor, reason="理由", now=world.now)
        assert moved is obj and getattr(obj, machine.field) == move.target == _status(obj)
        event = AuditEvent.objects.filter(action=machine.action_of(move), object_id=str(obj.pk)).latest("id")
        assert event.before[machine.field] == source and event.after[machine.field] == move.target
        assert event.actor_id == getattr(actor, "pk", None)
        assert (machine.event_of(move), {"model": machine.model, "pk": obj.pk, "source": source,
                                         "target": move.target, "actor_id": getattr(actor, "pk", None)}) in events


@pytest.mark.parametrize("name", [m.name for m in MACHINES])
def test_every_pair_the_table_does_not_list_is_refused(name, world):
    machine = statemachine.machine(name)
    obj = rows.ROWS[name](world)
    legal = machine.pairs()
    for source in machine.states.values:
        rows.set_status(obj, source)
        for target in machine.states.values:
            if (source, target) in legal:
                continue
            with pytest.raises(ValidationError) as exc:
                statemachine.transition(obj, to=target, actor=None, reason="理由", now=world.now)
            assert exc.value.code == "illegal_transition", (source, target)
            assert _status(obj) == source


@pytest.mark.parametrize("name", [m.name for m in MACHINES])
def test_available_moves_agree_with_the_table(name, world):
    machine = statemachine.machine(name)
    obj = rows.ROWS[name](world)
    for source in machine.states.values:
        rows.set_status(obj, source)
        for actor in world.candidates:
            offered = statemachine.available_moves(obj, actor=actor, now=world.now)
            expected = [mv for mv in machine.moves_from(source) if statemachine.may_make(mv, actor, obj)
                        and not any(g(obj, world.now) for g in mv.guards)]
            assert offered == expected
            assert all(mv.leaves(source) and machine.move_for(source, mv.target) is mv for mv in offered)
            assert {mv.target for mv in offered} <= machine.successors()[source]


def test_a_status_field_with_choices_has_its_machine():
    """Each model's status enum (a field named status, or ending in _status, with choices) is
    declared as a machine over exactly those statuses."""
    from django.apps import apps

    found = {}
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.concrete_fields:
            if field.choices and (field.name == "status" or field.name.endswith("_status")):
                found[model._meta.label_lower] = (field.name, {str(v) for v, _label in field.choices})
    declared = {m.model.lower(): (m.field, set(m.states.values)) for m in MACHINES}
    assert declared == found


def test_no_domain_event_of_a_move_is_a_notification_kind():
    """The engine's "<machine>.<move>" events must not be mistaken for the events notifications answer."""
    from supervision.models import NotificationKind

    kinds = {m.event_of(mv) for m in MACHINES for mv in m.moves}
    assert kinds & set(NotificationKind.values) == set()
