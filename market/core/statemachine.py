"""State machines: every legal status change of the platform, declared as data, and the one function
that makes a change.

Each domain that has a status enum declares its machines in its own ``states.py`` and registers them
(``register(REQUEST, ...)``); this module imports no domain. A `Machine` names the model and its
status field and lists its `Move` objects. A move says where it may start (one or more statuses),
where it ends, who may make it (a `Who`: a predicate ``(actor, obj) -> bool`` with a label for the
printed table; actor None is the system: deadline jobs, webhooks), its guards (``(obj, now) -> str |
None``: a refusal message, or None to let it pass), whether it needs a reason, and its audit action.

`transition` is the only writer of a status. Inside one transaction it locks the row, reads the
status again, finds the move, checks the actor, the reason and the guards (PermissionDenied or
ValidationError with a message for people), takes one server time, sets the status and the other
changes, saves them with ``update_fields``, writes the audit event and sends the domain event
``"<machine>.<move>"`` (market.core.events, after the commit). `available_moves` answers the
buttons of a page and the allowed actions of the API from the same table.

The registry fills itself on first use: it imports ``<app>.states`` for every installed app of the
project and ``<app>.<package>.states`` for every package of those apps (``market.requests.states``…).
``manage.py state_machines`` prints every table.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.core.audit import audit_record, snapshot
from market.core.events import emit

__all__ = [
    "Guard", "Machine", "Move", "SYSTEM", "Who", "available_moves", "describe", "guard", "machine", "machine_for",
    "machines", "may_make", "register", "require_move", "transition",
]

Actor = Any  # a market.accounts User, or None for the system
GuardFunc = Callable[[models.Model, dt.datetime], "str | None"]
Snapshot = Mapping[str, Any] | Callable[[models.Model], Mapping[str, Any]] | None

REFUSED = "transition_refused"  # the code of a guard's refusal unless the guard names its own
ILLEGAL = "illegal_transition"

_ROOT = Path(__file__).resolve().parents[2]  # the project: only its apps are searched for states.py


# --- who may move ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Who:
    """Who may make a move: a predicate of (actor, obj) and the label the printed table shows.
    ``a | b`` lets either through."""

    label: str
    test: Callable[[Actor, models.Model], bool] = field(repr=False, compare=False)

    def __call__(self, actor: Actor, obj: models.Model) -> bool:
        return bool(self.test(actor, obj))

    def __or__(self, other: "Who") -> "Who":
        return Who(f"{self.label} | {other.label}", lambda actor, obj: self(actor, obj) or other(actor, obj))


SYSTEM = Who("system", lambda actor, obj: actor is None)  # deadline jobs, webhooks, other services' follow-ups


# --- guards -------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Guard:
    """A condition on the object (and the server time) a move needs; `check` returns the refusal
    message, or None. `code` is the ValidationError's code."""

    label: str
    check: GuardFunc = field(repr=False, compare=False)
    code: str = REFUSED

    def __call__(self, obj: models.Model, now: dt.datetime) -> str | None:
        return self.check(obj, now)


def _doc_label(func: Callable) -> str:
    doc = (getattr(func, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else getattr(func, "__name__", repr(func))


def guard(label: str, *, code: str = REFUSED) -> Callable[[GuardFunc], Guard]:
    """Decorator: ``@guard("publicity has ended")`` turns ``def f(obj, now) -> str | None`` into a Guard."""

    def wrap(func: GuardFunc) -> Guard:
        return Guard(label, func, code)

    return wrap


# --- moves and machines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One legal move: `name`, the statuses it leaves (`sources`), the one it enters (`target`),
    `who` may make it, its `guards`, whether it needs a reason, and its audit action (default
    ``"<machine>.<name>"``). `refusal` (with `refusal_code`) is the message when the move is asked
    for by name (``transition(move=...)``) from a status it does not leave; it may use %(src)s."""

    name: str
    sources: frozenset[str]
    target: str
    who: Who
    guards: tuple[Guard, ...] = ()
    reason_required: bool = False
    audit_action: str | None = None
    refusal: Any = None  # a (lazy) message
    refusal_code: str = ILLEGAL

    def __post_init__(self):
        sources = self.sources
        if isinstance(sources, str):
            sources = [sources]
        object.__setattr__(self, "sources", frozenset(str(s) for s in sources))
        object.__setattr__(self, "target", str(self.target))
        guards = self.guards
        if isinstance(guards, Guard) or callable(guards):
            guards = (guards,)
        object.__setattr__(self, "guards", tuple(g if isinstance(g, Guard) else Guard(_doc_label(g), g)
                                                 for g in guards))
        if not isinstance(self.who, Who):
            raise ImproperlyConfigured(f"move {self.name}: `who` is a Who (a predicate with its label)")

    def leaves(self, status: str) -> bool:
        return str(status) in self.sources


_ILLEGAL = gettext_lazy("The %(thing)s cannot go from “%(src)s” to “%(dst)s”.")
_FORBIDDEN = gettext_lazy("You may not move this %(thing)s from “%(src)s” to “%(dst)s”.")
_NEEDS_PERSON = gettext_lazy("This move needs a person to make it.")
_REASON = gettext_lazy("Give the reason for this move.")


@dataclass(frozen=True)
class Machine:
    """The statuses of one model's status field and the moves between them.

    `model`: the model label (``"market.ServiceRequest"``). `states`: the TextChoices of the field.
    `audit_fields`: what the audit event's before/after record by default (besides the status).
    `reason_field`: where a given reason is stored (None: nowhere unless the caller says).
    Messages (lazy, formatted with thing, kind (`noun`), src, dst — also as ``from``/``to``/``s``): `illegal` for a
    move the table does not list, `forbidden` for an actor who may not make it, `needs_person` when
    the system may not; `reason_missing` under the key `reason_param` when a needed reason is empty."""

    name: str
    model: str
    states: type[models.TextChoices]
    moves: tuple[Move, ...]
    field: str = "status"
    audit_fields: tuple[str, ...] = ()
    reason_field: str | None = None
    reason_param: str = "reason"
    illegal: Any = _ILLEGAL
    forbidden: Any = _FORBIDDEN
    needs_person: Any = _NEEDS_PERSON
    reason_missing: Any = _REASON
    noun: Any = None  # "A contract": the %(kind)s of the messages (default: the model's verbose name)
    description: str = ""

    def __post_init__(self):
        object.__setattr__(self, "moves", tuple(self.moves))
        values = set(self.states.values)
        seen: dict[tuple[str, str], str] = {}
        for move in self.moves:
            for status in (*move.sources, move.target):
                if status not in values:
                    raise ImproperlyConfigured(f"machine {self.name}: move {move.name} names unknown status {status!r}")
            for source in move.sources:
                if (source, move.target) in seen:
                    raise ImproperlyConfigured(f"machine {self.name}: {source} → {move.target} is both "
                                               f"{seen[(source, move.target)]} and {move.name}")
                seen[(source, move.target)] = move.name

    # reading the table

    def move_for(self, source: str, target: str) -> Move | None:
        source, target = str(source), str(target)
        return next((m for m in self.moves if m.target == target and source in m.sources), None)

    def moves_from(self, source: str) -> list[Move]:
        return [m for m in self.moves if m.leaves(source)]

    def successors(self) -> dict[str, set[str]]:
        """Each status and the statuses it may go to (every status is a key)."""
        return {s: {m.target for m in self.moves_from(s)} for s in self.states.values}

    def pairs(self) -> set[tuple[str, str]]:
        return {(s, m.target) for m in self.moves for s in m.sources}

    def action_of(self, move: Move) -> str:
        return move.audit_action or f"{self.name}.{move.name}"

    def event_of(self, move: Move) -> str:
        return f"{self.name}.{move.name}"

    def label(self, status: str) -> str:
        try:
            return str(self.states(status).label)
        except ValueError:
            return str(status)

    @property
    def model_class(self) -> type[models.Model]:
        from django.apps import apps

        return apps.get_model(self.model)

    def _format(self, message: Any, obj: models.Model | None, source: str, target: str) -> str:
        thing = obj._meta.verbose_name if obj is not None else self.model
        src, dst = self.label(source), self.label(target)
        return str(message) % {"thing": thing, "kind": self.noun or thing, "src": src, "dst": dst, "from": src,
                               "to": dst, "s": src}

    def rows(self) -> list[dict[str, Any]]:
        """The table, one row per (from, to): what `manage.py state_machines` prints."""
        order = {s: i for i, s in enumerate(self.states.values)}
        out = []
        for move in self.moves:
            for source in sorted(move.sources, key=order.__getitem__):
                out.append({"machine": self.name, "model": self.model, "field": self.field, "from": source,
                            "to": move.target, "move": move.name, "who": move.who.label,
                            "guard": "; ".join(g.label for g in move.guards), "reason_required": move.reason_required,
                            "audit_action": self.action_of(move), "event": self.event_of(move)})
        return out


# --- the registry -------------------------------------------------------------------------------------

_machines: dict[str, Machine] = {}
_by_model: dict[str, Machine] = {}
_lock = threading.RLock()
_discovered = False


def register(*declared: Machine) -> None:
    """Called by each domain's states.py. A model has one machine; a name names one machine."""
    with _lock:
        for m in declared:
            key = m.model.lower()
            old = _machines.get(m.name)
            if old is not None and old.model.lower() != key:
                raise ImproperlyConfigured(f"two state machines are named {m.name!r} ({old.model}, {m.model})")
            other = _by_model.get(key)
            if other is not None and other.name != m.name:
                raise ImproperlyConfigured(f"{m.model} has two state machines ({other.name}, {m.name})")
            _machines[m.name] = m  # a re-imported states.py replaces its own machines
            _by_model[key] = m


def _states_modules() -> list[str]:
    """``<app>.states`` and ``<app>.<package>.states`` for the project's apps (not third-party ones)."""
    from django.apps import apps

    names = []
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if _ROOT not in path.parents or "site-packages" in path.parts:
            continue
        if (path / "states.py").exists():
            names.append(f"{config.name}.states")
        for info in pkgutil.iter_modules([str(path)]):
            if info.ispkg and (path / info.name / "states.py").exists():
                names.append(f"{config.name}.{info.name}.states")
    return names


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        for name in _states_modules():
            importlib.import_module(name)
        _discovered = True


def machines() -> list[Machine]:
    _discover()
    return sorted(_machines.values(), key=lambda m: m.name)


def machine(name: str) -> Machine:
    _discover()
    try:
        return _machines[name]
    except KeyError:
        raise LookupError(f"no state machine named {name!r}") from None


def machine_for(obj_or_model: models.Model | type[models.Model]) -> Machine:
    label = obj_or_model._meta.concrete_model._meta.label_lower
    found = _by_model.get(label)
    if found is None:
        _discover()
        found = _by_model.get(label)
    if found is None:
        raise LookupError(f"no state machine for {label}")
    return found


# --- moving ---------------------------------------------------------------------------------------------------


def _find(m: Machine, obj: models.Model, source: str, to: str, move: str | None) -> Move:
    if to not in m.states.values:
        raise ValidationError({m.field: [_("Unknown status “%(to)s”.") % {"to": to}]})
    found = m.move_for(source, to)
    if found is not None and (move is None or found.name == move):
        return found
    named = next((x for x in m.moves if x.name == move and x.target == to), None) if move else None
    if named is not None and named.refusal is not None:
        raise ValidationError(m._format(named.refusal, obj, source, to), code=named.refusal_code)
    raise ValidationError(m._format(m.illegal, obj, source, to), code=ILLEGAL)


def require_move(obj: models.Model, *, to: str, move: str | None = None) -> Move:
    """The move from the object's status (as it holds it: lock it first) to `to`, or the
    ValidationError `transition` would raise. For services that check input a move needs first."""
    m = machine_for(obj)
    return _find(m, obj, str(getattr(obj, m.field)), str(to), move)


def may_make(move: Move, actor: Actor, obj: models.Model) -> bool:
    """Whether `actor` (None: the system) may make `move` on `obj` (its guards aside)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        return False  # an anonymous visitor is never the system
    return move.who(actor, obj)


def _attnames(obj: models.Model, names: Iterable[str]) -> list[str]:
    """The attributes that hold `names` (a foreign key's ``…_id``)."""
    out = []
    for name in names:
        try:
            out.append(getattr(obj._meta.get_field(name), "attname", name))
        except FieldDoesNotExist:
            out.append(name)
    return out


def _snap(value: Snapshot, obj: models.Model, default: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
    if value is None:
        return default()
    return value(obj) if callable(value) else value


def transition(obj: models.Model, *, to: str, actor: Actor, reason: str = "", now: dt.datetime | None = None,
               changes: Mapping[str, Any] | None = None, audit_action: str | None = None, before: Snapshot = None,
               after: Snapshot = None, move: str | None = None) -> models.Model:
    """Make one move of `obj`'s machine to status `to`, for `actor` (None: the system).

    In one transaction: lock the row and read its status again (onto `obj`; its other fields are the
    caller's, who locks and reads before deciding anything else), find the move (ValidationError
    ``illegal_transition``; with `move`, only the move of that name will do), check the actor
    (PermissionDenied), the reason and the guards (ValidationError) at one server time (`now`, or
    timezone.now()), set the status, the reason (the machine's `reason_field`) and `changes`, save
    those fields (and the auto_now ones), write the audit event (`audit_action`, else the move's;
    `before`/`after`: dicts or callables of the object, else the machine's `audit_fields`) and emit
    ``"<machine>.<move>"`` after the commit. Returns `obj`."""
    m = machine_for(obj)
    to = str(to)
    reason = reason or ""
    changes = dict(changes or {})
    model = obj._meta.concrete_model
    with transaction.atomic():
        source = str(model._base_manager.select_for_update().filter(pk=obj.pk).values_list(m.field, flat=True).get())
        setattr(obj, m.field, source)
        found = _find(m, obj, source, to, move)
        if not may_make(found, actor, obj):
            message = m.needs_person if actor is None else m.forbidden
            raise PermissionDenied(m._format(message, obj, source, to))
        if found.reason_required and not reason.strip():
            raise ValidationError({m.reason_param: [ValidationError(str(m.reason_missing), code="reason_required")]})
        now = now or timezone.now()
        for check in found.guards:
            problem = check(obj, now)
            if problem:
                raise ValidationError(str(problem), code=check.code)
        fields = (m.field, *m.audit_fields)
        before_data = _snap(before, obj, lambda: snapshot(obj, fields))
        if reason.strip() and m.reason_field and m.reason_field not in changes:
            changes[m.reason_field] = reason
        changes = {m.field: to, **changes}
        held = {a: getattr(obj, a, None) for a in _attnames(obj, changes)}  # the caller's values, if this fails
        try:
            for name, value in changes.items():
                setattr(obj, name, value)
            auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
            obj.save(update_fields=list(dict.fromkeys([*changes, *auto_now])))
            after_data = _snap(after, obj, lambda: snapshot(obj, fields))
            audit_record(actor=actor, action=audit_action or m.action_of(found), obj=obj, before=before_data,
                         after=after_data)
        except BaseException:
            for attname, value in held.items():  # rolled back: the object says again what it said
                setattr(obj, attname, value)
            raise
        emit(m.event_of(found), model=m.model, pk=obj.pk, source=source, target=to,
             actor_id=getattr(actor, "pk", None))
    return obj


def available_moves(obj: models.Model, *, actor: Actor, now: dt.datetime | None = None) -> list[Move]:
    """The moves `actor` may make from the object's status now (its guards pass): a page's buttons,
    the API's allowed actions. Reads the object as it is (no lock); `transition` checks again."""
    m = machine_for(obj)
    now = now or timezone.now()
    return [move for move in m.moves_from(str(getattr(obj, m.field)))
            if may_make(move, actor, obj) and not any(check(obj, now) for check in move.guards)]


def describe(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Every registered machine's rows (or those named)."""
    wanted = set(names) if names else None
    return [row for m in machines() if wanted is None or m.name in wanted for row in m.rows()]
