"""Writes of extensions: the agency asks for more time; only the owner's consent moves the due date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts.models import User
from market.core.audit import audit_record

from ..models import Contract, ExtensionRequest, ExtensionStatus
from .contracts import C, _illegal, _require_agency, _require_owner, contract_lock

MAX_EXTENSION_DAYS = 365

EXTENSION_TRANSITIONS: dict[str, set[str]] = {
    ExtensionStatus.PENDING: {ExtensionStatus.GRANTED, ExtensionStatus.REFUSED},
    ExtensionStatus.GRANTED: set(),
    ExtensionStatus.REFUSED: set(),
}


def extension_transition(*, extension: ExtensionRequest, to: str, actor: User, note: str, now: dt.datetime,
                         extra_fields: dict[str, Any] | None = None) -> ExtensionRequest:
    if to not in EXTENSION_TRANSITIONS.get(extension.status, set()):
        raise _illegal(_("An extension request"), ExtensionStatus(extension.status).label, ExtensionStatus(to).label)
    with transaction.atomic():
        before = {"status": extension.status}
        extension.status, extension.decision_note, extension.decided_by, extension.decided_at = to, note, actor, now
        fields = ["status", "decision_note", "decided_by", "decided_at"]
        for key, value in (extra_fields or {}).items():
            setattr(extension, key, value)
            fields.append(key)
        extension.save(update_fields=fields)
        audit_record(actor=actor, action=f"extension.{to}", obj=extension, before=before,
                     after={"status": to, "note": note, "days": extension.days, "contract": extension.contract_id,
                            "due_before": extension.due_before, "due_after": extension.due_after})
    return extension


def extension_request(*, actor: User, contract: Contract, days: int, reason: str) -> ExtensionRequest:
    """The agency asks for more time; the due date moves only with the owner's consent."""
    _require_agency(actor, contract)
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not (1 <= days <= MAX_EXTENSION_DAYS):
        raise ValidationError({"days": [_("Ask for 1 to %(n)d more days.") % {"n": MAX_EXTENSION_DAYS}]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for the extension.")]})
    with transaction.atomic():
        contract, _request = contract_lock(contract.pk)
        if contract.status not in (C.IN_SERVICE, C.DELIVERED):
            raise ValidationError(_("Extensions can be asked for only while the service is under way."),
                                  code="not_in_service")
        if contract.extensions.filter(status=ExtensionStatus.PENDING).exists():
            raise ValidationError(_("An extension request is already awaiting the owner's answer."),
                                  code="extension_pending")
        extension = ExtensionRequest.objects.create(contract=contract, days=days, reason=reason, requested_by=actor,
                                                    requested_at=timezone.now())
        audit_record(actor=actor, action="extension.request", obj=extension,
                     after={"contract": contract.pk, "days": days, "reason": reason})
    return extension


def extension_decide(*, actor: User, extension: ExtensionRequest, grant: bool, note: str = "") -> ExtensionRequest:
    """The owner consents (the due date moves by the days asked) or refuses."""
    _require_owner(actor, extension.contract)
    if not grant and not (note or "").strip():
        raise ValidationError({"note": [_("Give the reason for refusing the extension.")]})
    with transaction.atomic():
        contract, _request = contract_lock(extension.contract_id)
        extension = ExtensionRequest.objects.select_for_update().get(pk=extension.pk)
        now = timezone.now()
        if not grant:
            return extension_transition(extension=extension, to=ExtensionStatus.REFUSED, actor=actor, note=note, now=now)
        if contract.status not in (C.IN_SERVICE, C.DELIVERED):
            raise ValidationError(_("The service is no longer under way."), code="not_in_service")
        before = contract.due_at
        after = before + dt.timedelta(days=extension.days)
        extension_transition(extension=extension, to=ExtensionStatus.GRANTED, actor=actor, note=note, now=now,
                             extra_fields={"due_before": before, "due_after": after})
        contract.due_at = after
        contract.save(update_fields=["due_at", "updated_at"])
        audit_record(actor=actor, action="contract.extend", obj=contract, before={"due_at": before},
                     after={"due_at": after, "extension": extension.pk})
    return extension
