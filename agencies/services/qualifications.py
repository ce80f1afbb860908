"""Qualification certificates: adding and removing them (also, for renewals, once the agency is
active), and the e-mail warning before one expires."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts.models import Membership, User
from market.catalogue.models import QualificationType
from market.core.audit import audit_record, snapshot

from ..models import LIVE_STATUSES, Agency, Qualification, private_storage
from ..uploads import check_upload
from .editing import CERTIFICATE_EDITABLE_STATUSES, delete_on_failure, lock_for_edit, store_upload

logger = logging.getLogger(__name__)


def qualification_add(*, actor: User, agency: Agency, qualification_type: QualificationType, certificate_number: str,
                      issuer: str, valid_from: dt.date, valid_to: dt.date, level: str = "",
                      upload: UploadedFile | None = None) -> Qualification:
    """Add a qualification certificate (with its scan). Allowed while drafting and, for renewals,
    while the agency is active or suspended."""
    errors: dict[str, list[str]] = {}
    if qualification_type is None:
        errors["qualification_type"] = [_("Choose the qualification type.")]
    if not (certificate_number or "").strip():
        errors["certificate_number"] = [_("Enter the certificate number.")]
    if not (issuer or "").strip():
        errors["issuer"] = [_("Enter the issuing authority.")]
    if valid_from is None:
        errors["valid_from"] = [_("Enter the first day of validity.")]
    if valid_to is None:
        errors["valid_to"] = [_("Enter the last day of validity.")]
    elif valid_from is not None and valid_to < valid_from:
        errors["valid_to"] = [_("The certificate cannot expire before it becomes valid.")]
    elif valid_to < timezone.localdate():
        errors["valid_to"] = [_("This certificate expired on %(date)s; add a valid one.") % {"date": valid_to.isoformat()}]
    if errors:
        raise ValidationError(errors)
    if upload is not None:
        check_upload(upload)
    qual = Qualification(agency=agency, qualification_type=qualification_type,
                         certificate_number=certificate_number.strip()[:64], issuer=issuer.strip()[:100],
                         level=(level or "").strip()[:32], valid_from=valid_from, valid_to=valid_to)
    with delete_on_failure(qual), transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        if Qualification.objects.filter(agency=locked, qualification_type=qualification_type,
                                        certificate_number=qual.certificate_number).exists():
            raise ValidationError({"certificate_number": [_("This certificate is already registered.")]})
        qual.agency = locked
        if upload is not None:
            store_upload(instance=qual, upload=upload)
        qual.save()
        audit_record(actor=actor, action="qualification.add", obj=qual,
                     after={"agency": locked.pk, **snapshot(qual, ("qualification_type_id", "certificate_number", "level",
                                                                    "issuer", "valid_from", "valid_to", "original_name"))})
    return qual


def qualification_remove(*, actor: User, qualification: Qualification) -> None:
    with transaction.atomic():
        lock_for_edit(actor=actor, agency=qualification.agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        name = qualification.file.name
        audit_record(actor=actor, action="qualification.remove", obj=qualification,
                     before=snapshot(qualification, ("qualification_type_id", "certificate_number", "valid_from", "valid_to")))
        qualification.delete()
        if name:
            transaction.on_commit(lambda: private_storage().delete(name))


def _agency_recipients(agency: Agency) -> list[str]:
    emails = [agency.organization.contact_email] + list(
        Membership.objects.filter(organization=agency.organization, role=Membership.Role.ADMIN)
        .values_list("user__email", flat=True))
    seen, result = set(), []
    for email in emails:
        key = (email or "").strip().lower()
        if key and key not in seen:
            seen.add(key)
            result.append(email.strip())
    return result


def qualification_expiry_warn(*, now: dt.datetime) -> int:
    """E-mail each live agency once per certificate that expires within the warning window."""
    today = timezone.localdate(now)
    horizon = today + dt.timedelta(days=settings.MARKET["QUALIFICATION_WARNING_DAYS"])
    due = list(Qualification.objects.filter(expiry_warned_at__isnull=True, valid_to__gte=today, valid_to__lte=horizon,
                                            agency__status__in=LIVE_STATUSES)
               .order_by("valid_to", "pk").values_list("pk", flat=True))
    sent = 0
    for pk in due:
        try:
            with transaction.atomic():
                qual = (Qualification.objects.select_for_update()
                        .select_related("agency__organization", "qualification_type").get(pk=pk))
                if qual.expiry_warned_at is not None:  # another run took it
                    continue
                recipients = _agency_recipients(qual.agency)
                days = (qual.valid_to - today).days
                if recipients:
                    send_mail(
                        subject=_("Qualification certificate %(number)s expires on %(date)s")
                        % {"number": qual.certificate_number, "date": qual.valid_to.isoformat()},
                        message=_("The %(type)s certificate %(number)s of %(agency)s is valid until %(date)s "
                                  "(%(days)d days from today). Once it expires, the agency no longer counts as "
                                  "qualified for the service items that require it. Add the renewed certificate "
                                  "on the platform before that day.")
                        % {"type": qual.qualification_type.name, "number": qual.certificate_number,
                           "agency": qual.agency.name, "date": qual.valid_to.isoformat(), "days": days},
                        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=recipients)
                qual.expiry_warned_at = now
                qual.save(update_fields=["expiry_warned_at"])
                audit_record(actor=None, action="qualification.expiry_warning", obj=qual,
                             after={"agency": qual.agency_id, "valid_to": qual.valid_to, "recipients": len(recipients)})
                sent += 1
        except Exception:  # one failure (the mail server) must not stop the others; retried next run
            logger.exception("qualification expiry warning failed for %s", pk)
    return sent

