"""Publicity (入驻公示): objections anyone may lodge while it runs, regulators' rulings on them, and
the activation of registrations whose publicity has ended."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions
from market.accounts.models import User
from market.core.audit import audit_record

from ..models import Agency, AgencyStatus, PublicityObjection
from .transitions import agency_transition

S = AgencyStatus


def objection_lodge(*, agency: Agency, contact_name: str, reason: str, contact_phone: str = "",
                    user: User | None = None, now: dt.datetime | None = None) -> PublicityObjection:
    """Anyone, signed in or not, objects to a registration while its publicity runs."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if not (contact_name or "").strip():
        errors["contact_name"] = [_("Enter your name.")]
    if not (reason or "").strip():
        errors["reason"] = [_("Explain your objection.")]
    elif len(reason) > 5000:
        errors["reason"] = [_("Keep the objection under 5000 characters.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Agency.objects.select_for_update().get(pk=agency.pk)
        if locked.status != S.PUBLICITY or locked.publicity_ends_at is None or now >= locked.publicity_ends_at:
            raise ValidationError(_("Objections are accepted only while the registration is in publicity."),
                                  code="not_in_publicity")
        objection = PublicityObjection.objects.create(
            agency=locked, lodged_by=user if user is not None and user.is_authenticated else None,
            contact_name=contact_name.strip()[:64], contact_phone=(contact_phone or "").strip()[:32], reason=reason.strip())
        audit_record(actor=user, action="objection.lodge", obj=objection,
                     after={"agency": locked.pk, "contact_name": objection.contact_name})
    return objection


OBJECTION_OUTCOMES = {"returned": S.RETURNED, "rejected": S.REJECTED}


def objection_rule(*, actor: User, objection: PublicityObjection, upheld: bool, ruling: str,
                   outcome: str = "returned", now: dt.datetime | None = None) -> PublicityObjection:
    """A regulator rules on an objection. Upheld: the registration is returned (or rejected) with
    the ruling as the comment. Dismissed: activation proceeds once publicity has ended and no
    other objection is open."""
    market_permissions.require_regulator(actor)
    now = now or timezone.now()
    if not (ruling or "").strip():
        raise ValidationError({"ruling": [_("State the ruling and its reasons.")]})
    if upheld and outcome not in OBJECTION_OUTCOMES:
        raise ValidationError({"outcome": [_("Choose whether the registration is returned or rejected.")]})
    with transaction.atomic():
        locked = PublicityObjection.objects.select_for_update().select_related("agency").get(pk=objection.pk)
        if locked.status != PublicityObjection.Status.OPEN:
            raise ValidationError(_("This objection has already been ruled on."), code="already_ruled")
        locked.status = PublicityObjection.Status.UPHELD if upheld else PublicityObjection.Status.DISMISSED
        locked.ruling, locked.ruled_by, locked.ruled_at = ruling.strip(), actor, now
        locked.save(update_fields=["status", "ruling", "ruled_by", "ruled_at"])
        audit_record(actor=actor, action="objection.uphold" if upheld else "objection.dismiss", obj=locked,
                     before={"status": PublicityObjection.Status.OPEN},
                     after={"status": locked.status, "ruling": locked.ruling, "outcome": outcome if upheld else None})
        agency = locked.agency
        if upheld and agency.status == S.PUBLICITY:
            agency_transition(agency=agency, to=OBJECTION_OUTCOMES[outcome], actor=actor, comment=locked.ruling, now=now)
        elif not upheld:
            _activate_if_due(agency_id=agency.pk, now=now)
    objection.status, objection.ruling, objection.ruled_at = locked.status, locked.ruling, locked.ruled_at
    return locked


def _activate_if_due(*, agency_id: int, now: dt.datetime) -> bool:
    agency = Agency.objects.get(pk=agency_id)
    if agency.status != S.PUBLICITY or agency.publicity_ends_at is None or agency.publicity_ends_at > now:
        return False
    try:
        with transaction.atomic():
            agency_transition(agency=agency, to=S.ACTIVE, actor=None, now=now)
    except ValidationError:  # an objection is open, or another run moved it first
        return False
    return True


def agency_publicity_end_due(*, now: dt.datetime) -> int:
    """Activate every registration whose publicity has ended with no open objection."""
    due = (Agency.objects.filter(status=S.PUBLICITY, publicity_ends_at__lte=now)
           .exclude(objections__status=PublicityObjection.Status.OPEN)
           .order_by("publicity_ends_at").values_list("pk", flat=True))
    return sum(1 for pk in list(due) if _activate_if_due(agency_id=pk, now=now))
