"""The agency's practitioners (its qualified professionals, named in the registration)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from market.accounts.models import User
from market.core.audit import audit_record, snapshot

from ..models import Agency, Practitioner
from .editing import CERTIFICATE_EDITABLE_STATUSES, lock_for_edit


def practitioner_add(*, actor: User, agency: Agency, name: str, title: str = "", certificate_number: str = "") -> Practitioner:
    if not (name or "").strip():
        raise ValidationError({"name": [_("Enter the practitioner's name.")]})
    with transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        person = Practitioner.objects.create(agency=locked, name=name.strip()[:64], title=(title or "").strip()[:64],
                                             certificate_number=(certificate_number or "").strip()[:64])
        audit_record(actor=actor, action="practitioner.add", obj=person,
                     after={"agency": locked.pk, **snapshot(person, ("name", "title", "certificate_number"))})
    return person


def practitioner_remove(*, actor: User, practitioner: Practitioner) -> None:
    with transaction.atomic():
        lock_for_edit(actor=actor, agency=practitioner.agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        audit_record(actor=actor, action="practitioner.remove", obj=practitioner,
                     before=snapshot(practitioner, ("name", "title", "certificate_number")))
        practitioner.delete()
