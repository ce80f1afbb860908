"""The state machines of credit (market.core.statemachine): a breach in force is revoked when an
appeal is granted or repaired when credit repair (信用修复) is approved; appeals and repair requests
are decided by a regulator, with a written ruling."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import Machine, Move, Who, register

from .models import Appeal, BreachStatus, RepairRequest

REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))
BREACH_FIELDS = ("agency_id", "rule_id", "status", "points", "ban_until", "closing_note")
ALREADY_DECIDED = gettext_lazy("This request has already been decided.")

BREACH = Machine(
    name="breach",
    model="credit.Breach",
    states=BreachStatus,
    audit_fields=BREACH_FIELDS,
    reason_field="closing_note",
    description="A breach recorded against an agency (points, perhaps a ban) and how it stops counting.",
    moves=(
        # by the ruling that grants an appeal, or approves a repair request (the ruling is the note)
        # An appeal and a repair request may both be open on one breach: whichever is decided second
        # still closes it its own way (a granted appeal revokes a repaired breach, and the reverse).
        Move("revoke", {BreachStatus.ACTIVE, BreachStatus.REPAIRED}, BreachStatus.REVOKED, REGULATOR, reason_required=True),
        Move("repair", {BreachStatus.ACTIVE, BreachStatus.REVOKED}, BreachStatus.REPAIRED, REGULATOR, reason_required=True),
    ),
)

A = Appeal.Status

APPEAL = Machine(
    name="appeal",
    model="credit.Appeal",
    states=Appeal.Status,
    reason_field="ruling",
    reason_param="ruling",
    reason_missing=gettext_lazy("Write the ruling."),
    description="An agency's appeal against a breach.",
    moves=(
        Move("grant", A.OPEN, A.GRANTED, REGULATOR, reason_required=True, audit_action="appeal.granted",
             refusal=gettext_lazy("This appeal has already been decided."), refusal_code="already_decided"),
        Move("refuse", A.OPEN, A.REFUSED, REGULATOR, reason_required=True, audit_action="appeal.refused",
             refusal=gettext_lazy("This appeal has already been decided."), refusal_code="already_decided"),
    ),
)

R = RepairRequest.Status

REPAIR = Machine(
    name="repair",
    model="credit.RepairRequest",
    states=RepairRequest.Status,
    reason_field="ruling",
    reason_param="ruling",
    reason_missing=gettext_lazy("Write the ruling."),
    description="An agency's request for credit repair after a breach.",
    moves=(
        Move("approve", R.OPEN, R.APPROVED, REGULATOR, reason_required=True, audit_action="repair.approved",
             refusal=ALREADY_DECIDED, refusal_code="already_decided"),
        Move("refuse", R.OPEN, R.REFUSED, REGULATOR, reason_required=True, audit_action="repair.refused",
             refusal=ALREADY_DECIDED, refusal_code="already_decided"),
    ),
)

register(BREACH, APPEAL, REPAIR)
