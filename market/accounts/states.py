"""The organization's state machine (market.core.statemachine): a regulator verifies or rejects an
owner (market.accounts.services.organization_verify); an agency's organization is verified by the
system when its first registration becomes active (agencies)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from market.core.statemachine import SYSTEM, Machine, Move, Who, register

from . import permissions
from .models import Organization

O = Organization.Status
REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))

ORGANIZATION = Machine(
    name="organization",
    model="market.Organization",
    states=Organization.Status,
    audit_fields=("status", "status_comment"),
    reason_field="status_comment",
    reason_param="comment",
    reason_missing=gettext_lazy("Give the reason for the rejection."),
    description="An organization's verification by a regulator.",
    moves=(
        # A decision may be taken again (a second click on the same decision changes nothing but the comment).
        Move("verify", {O.PENDING, O.REJECTED, O.VERIFIED}, O.VERIFIED, REGULATOR | SYSTEM),
        Move("reject", {O.PENDING, O.VERIFIED, O.REJECTED}, O.REJECTED, REGULATOR, reason_required=True),
    ),
)

register(ORGANIZATION)
