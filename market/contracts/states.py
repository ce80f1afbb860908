"""The state machines of contracts (market.core.statemachine): the contract, its delivery rounds
(服务成果), extension requests and the evaluation (服务评价). The tables are those the services in
market/contracts/services/ drive today (CONTRACT_, DELIVERY_, EXTENSION_ and EVALUATION_TRANSITIONS),
with who makes each move as the services check it. The request follows its contract
(market.requests.states: contracted … closed, cancelled); that stays with contract_transition."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import SYSTEM, Machine, Move, Who, guard, register

from .models import Contract, ContractStatus, DeliveryRound, DeliveryStatus, EvaluationStatus, ExtensionStatus

CONTRACT_AUDIT_FIELDS = ("status", "status_reason", "amount_fen", "pay_on_acceptance", "owner_confirmed_at",
                         "agency_confirmed_at", "signed_at", "due_at", "delivered_at", "accepted_at", "closed_at",
                         "ended_at", "overrun_breach_at")
_ILLEGAL = gettext_lazy("%(kind)s cannot go from “%(src)s” to “%(dst)s”.")


def _contract(obj) -> Contract:
    return obj if isinstance(obj, Contract) else obj.contract


OWNER = Who("owner member", lambda actor, obj: permissions.can_act_for(actor, _contract(obj).owner))
AGENCY = Who("agency member", lambda actor, obj: permissions.can_act_for(actor, _contract(obj).agency.organization))
REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))


@guard("both parties have signed")
def both_signed(contract: Contract, now: dt.datetime) -> str | None:
    if contract.owner_confirmed_at is None or contract.agency_confirmed_at is None:
        return _("The contract takes effect when both parties have signed.")
    return None


C = ContractStatus


def _contract_move(name: str, sources, target: str, who: Who, **kw) -> Move:
    return Move(name, sources, target, who, audit_action=f"contract.{target}", **kw)


CONTRACT = Machine(
    name="contract",
    model="market.Contract",
    states=ContractStatus,
    audit_fields=CONTRACT_AUDIT_FIELDS,
    reason_field="status_reason",
    illegal=_ILLEGAL,
    noun=gettext_lazy("A contract"),
    description="The contract drafted from an awarded request: signed, delivered, accepted, closed — or ended.",
    moves=(
        _contract_move("sign", C.DRAFTED, C.IN_SERVICE, OWNER | AGENCY, guards=(both_signed,)),
        # the agency refuses to sign, or lets the confirmation period lapse: a breach (REFUSE_SIGN)
        _contract_move("breach", C.DRAFTED, C.BREACHED, AGENCY | SYSTEM, reason_required=True),
        # the owner refuses, or lets it lapse after the agency signed: the request is cancelled
        _contract_move("refuse", C.DRAFTED, C.REFUSED, OWNER | SYSTEM, reason_required=True),
        _contract_move("deliver", C.IN_SERVICE, C.DELIVERED, AGENCY),
        _contract_move("cancel", C.IN_SERVICE, C.CANCELLED, OWNER | REGULATOR, reason_required=True),
        _contract_move("return", C.DELIVERED, C.IN_SERVICE, OWNER),
        _contract_move("accept", C.DELIVERED, C.ACCEPTED, OWNER | SYSTEM),  # the system: deemed accepted
        _contract_move("close", C.ACCEPTED, C.CLOSED, OWNER | SYSTEM),  # the system: paid through Stripe
    ),
)

D = DeliveryStatus


@guard("within the review period", code="review_deadline_passed")
def in_review_period(delivery: DeliveryRound, now: dt.datetime) -> str | None:
    if now >= delivery.review_deadline:
        return (_("The review period ended at %(t)s; the work counts as accepted.")
                % {"t": timezone.localtime(delivery.review_deadline).strftime("%Y-%m-%d %H:%M:%S")})
    return None


DELIVERY = Machine(
    name="delivery",
    model="market.DeliveryRound",
    states=DeliveryStatus,
    reason_field="decision_reason",
    illegal=_ILLEGAL,
    noun=gettext_lazy("A delivery"),
    description="One delivery of the agency's results and the owner's review of it.",
    moves=(
        Move("accept", D.PENDING, D.ACCEPTED, OWNER | SYSTEM, audit_action="delivery.accepted"),
        Move("return", D.PENDING, D.RETURNED, OWNER, reason_required=True, guards=(in_review_period,),
             audit_action="delivery.returned"),
    ),
)

X = ExtensionStatus

EXTENSION = Machine(
    name="extension",
    model="market.ExtensionRequest",
    states=ExtensionStatus,
    reason_field="decision_note",
    reason_param="note",
    reason_missing=gettext_lazy("Give the reason for refusing the extension."),
    illegal=_ILLEGAL,
    noun=gettext_lazy("An extension request"),
    description="The agency's request for more time; only the owner's consent moves the due date.",
    moves=(
        Move("grant", X.PENDING, X.GRANTED, OWNER, audit_action="extension.granted"),
        Move("refuse", X.PENDING, X.REFUSED, OWNER, reason_required=True, audit_action="extension.refused"),
    ),
)

E = EvaluationStatus

EVALUATION = Machine(
    name="evaluation",
    model="market.Evaluation",
    states=EvaluationStatus,
    reason_param="reason",
    reason_missing=gettext_lazy("Give the reason for hiding the comment."),
    illegal=_ILLEGAL,
    noun=gettext_lazy("An evaluation"),
    description="The owner's evaluation of the agency; a regulator may hide an abusive comment (the scores count).",
    moves=(
        Move("hide", E.PUBLISHED, E.HIDDEN, REGULATOR, reason_required=True, audit_action="evaluation.hidden"),
        Move("show", E.HIDDEN, E.PUBLISHED, REGULATOR, audit_action="evaluation.published"),
    ),
)

register(CONTRACT, DELIVERY, EXTENSION, EVALUATION)
