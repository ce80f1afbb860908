"""The request's state machine (market.core.statemachine): every move of a ServiceRequest's status.

The owner publishes and cancels before the award; the selection (bids) moves it to publicity or
fails the round; the award is the system's once publicity has ended with no open objection. After
the award the request follows its contract (market.contracts): contracted, in service, delivered,
accepted, closed, or cancelled with it. ``bidding_closed`` is derived from the deadline and
``selected`` is never stored: no move enters them.

The contract's parties are read through the reverse relations ``contracts`` and ``result_objections``
(their models are on higher layers and are not imported)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import SYSTEM, Machine, Move, Who, guard, register

from .models import RequestStatus, ServiceRequest

S = RequestStatus

# What a request's audit events record before and after a change (the services' too).
AUDIT_FIELDS = ("status", "project_name", "service_item_id", "budget_fen", "selection_method", "bid_deadline",
                "selection_time", "status_reason")


def _is_party(actor, request: ServiceRequest) -> bool:
    if permissions.can_act_for(actor, request.owner):
        return True
    return any(permissions.can_act_for(actor, c.agency.organization)
               for c in request.contracts.select_related("agency__organization"))


OWNER = Who("owner member", lambda actor, request: permissions.can_act_for(actor, request.owner))
REGULATOR = Who("regulator", lambda actor, request: permissions.is_regulator(actor))
PARTY = Who("contract party", _is_party)


@guard("publicity has ended")
def publicity_over(request: ServiceRequest, now: dt.datetime) -> str | None:
    if request.publicity_ends_at is None or now < request.publicity_ends_at:
        ends = (timezone.localtime(request.publicity_ends_at).strftime("%Y-%m-%d %H:%M")
                if request.publicity_ends_at else "—")
        return _("The publicity period has not ended yet (it ends %(ends)s).") % {"ends": ends}
    return None


@guard("no open objection")
def no_open_objection(request: ServiceRequest, now: dt.datetime) -> str | None:
    if request.result_objections.filter(status="open").exists():
        return _("An objection to the result is open: a regulator must rule on it first.")
    return None


def _move(name: str, sources, target: str, who: Who, **kw) -> Move:
    return Move(name, sources, target, who, audit_action=f"request.{target}", **kw)


REQUEST = Machine(
    name="request",
    model="market.ServiceRequest",
    states=RequestStatus,
    audit_fields=AUDIT_FIELDS,
    reason_field="status_reason",
    illegal=gettext_lazy("A request cannot go from “%(src)s” to “%(dst)s”."),
    description="A service request (采购公告), from draft to closed.",
    moves=(
        _move("publish", S.DRAFT, S.PUBLISHED, OWNER, refusal=gettext_lazy("Only a draft can be published.")),
        _move("cancel", {S.DRAFT, S.PUBLISHED, S.PUBLICITY}, S.CANCELLED, OWNER, reason_required=True,
              refusal=gettext_lazy("A request cannot be cancelled once it is awarded or closed.")),
        _move("select", S.PUBLISHED, S.PUBLICITY, OWNER | SYSTEM),
        # an upheld objection voids the result and the selection runs again without the winner
        _move("reselect", S.PUBLICITY, S.PUBLICITY, REGULATOR),
        _move("fail", {S.PUBLISHED, S.PUBLICITY, S.AWARDED}, S.FAILED, OWNER | REGULATOR | SYSTEM, reason_required=True),
        _move("award", S.PUBLICITY, S.AWARDED, SYSTEM, guards=(publicity_over, no_open_objection)),
        # from here the request follows its contract
        _move("contract", S.AWARDED, S.CONTRACTED, PARTY),
        _move("start", S.CONTRACTED, S.IN_SERVICE, PARTY),
        _move("deliver", S.IN_SERVICE, S.DELIVERED, PARTY),
        _move("return", S.DELIVERED, S.IN_SERVICE, PARTY),
        _move("accept", S.DELIVERED, S.ACCEPTED, PARTY | SYSTEM),
        _move("close", S.ACCEPTED, S.CLOSED, PARTY | SYSTEM),
        _move("end_with_contract", {S.AWARDED, S.CONTRACTED, S.IN_SERVICE}, S.CANCELLED, PARTY | REGULATOR | SYSTEM,
              reason_required=True),
    ),
)

register(REQUEST)
