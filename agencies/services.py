"""Writes of the agency registration: register, save the draft step by step, move the status
(one guarded function driven by a transition table), publicity objections, staff invitations,
qualification expiry warnings and the official calendar regulators maintain.

Each function is keyword-only, runs in one transaction and writes its audit event.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions
from market.accounts import services as market_services
from market.core.audit import audit_record, snapshot
from market.accounts.models import Membership, Organization, Region, User
from market.calendar.models import CalendarDay, HolidayYear
from market.catalogue.models import PricingMode, QualificationType, ServiceItem
from market.core.uscc import normalize, validate_uscc
from market.calendar.workdays import period_end

from . import permissions
from .models import (LIVE_STATUSES, Agency, AgencyInvitation, AgencyServiceItem, AgencyStatus, AgencyType, LicenceFile,
                     Practitioner, PublicityObjection, Qualification, private_storage)
from .signals import agency_status_changed
from .uploads import check_upload

logger = logging.getLogger(__name__)

S = AgencyStatus
# The draft (organization, licences, offered items) may be changed only while it is with the agency.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED})
# Certificates and practitioners may also be kept current once the agency is active (renewals).
CERTIFICATE_EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED, S.ACTIVE, S.SUSPENDED})
ORG_PROFILE_FIELDS = ("name", "region", "address", "legal_representative", "contact_name", "contact_phone", "contact_email")
AGENCY_PROFILE_FIELDS = ("agency_type", "introduction")
AUDIT_FIELDS = ("status", "review_comment", "status_reason", "publicity_started_at", "publicity_ends_at")
REGISTRATION_STEPS = 6
INVITATION_SALT = "agencies.invitation"
INVITATION_MAX_AGE = dt.timedelta(days=14)


# --- The registration state machine ---------------------------------------------------------------

SYSTEM, REGULATOR, MEMBER, ADMIN = "system", "regulator", "member", "admin"


@dataclass(frozen=True)
class Move:
    """One legal move: its name (the audit action), who may make it, and whether it needs a comment."""

    verb: str
    by: frozenset[str]
    needs_comment: bool = False
    guards: tuple[Callable[[Agency, dt.datetime], str | None], ...] = ()


def _guard_complete(agency: Agency, now: dt.datetime) -> str | None:
    org = agency.organization
    missing = []
    if not org.legal_representative.strip():
        missing.append(_("the legal representative"))
    if not (org.contact_name.strip() and org.contact_phone.strip()):
        missing.append(_("a contact person and phone"))
    if not agency.licence_files.filter(kind=LicenceFile.Kind.BUSINESS_LICENCE).exists():
        missing.append(_("the business licence"))
    if not agency.offered_items.exists():
        missing.append(_("at least one service item offered"))
    if missing:
        return _("The registration is incomplete: add %(missing)s.") % {"missing": "、".join(str(m) for m in missing)}
    return None


def _guard_publicity_over(agency: Agency, now: dt.datetime) -> str | None:
    if agency.publicity_ends_at is None or now < agency.publicity_ends_at:
        ends = timezone.localtime(agency.publicity_ends_at).strftime("%Y-%m-%d %H:%M") if agency.publicity_ends_at else "—"
        return _("The publicity period has not ended yet (it ends %(ends)s).") % {"ends": ends}
    return None


def _guard_no_open_objection(agency: Agency, now: dt.datetime) -> str | None:
    if agency.objections.filter(status=PublicityObjection.Status.OPEN).exists():
        return _("An objection to this registration is open: a regulator must rule on it first.")
    return None


def _guard_objection_upheld(agency: Agency, now: dt.datetime) -> str | None:
    upheld = agency.objections.filter(status=PublicityObjection.Status.UPHELD)
    if agency.publicity_started_at:
        upheld = upheld.filter(created_at__gte=agency.publicity_started_at)
    if not upheld.exists():
        return _("During publicity a registration is returned or rejected only by upholding an objection.")
    return None


def _guard_was_active(agency: Agency, now: dt.datetime) -> str | None:
    if agency.activated_at is None:
        return _("This registration was never active, so lifting the ban cannot make it active.")
    return None


TRANSITIONS: dict[tuple[str, str], Move] = {
    (S.DRAFT, S.SUBMITTED): Move("submit", frozenset({MEMBER}), guards=(_guard_complete,)),
    (S.RETURNED, S.SUBMITTED): Move("resubmit", frozenset({MEMBER}), guards=(_guard_complete,)),
    (S.SUBMITTED, S.PUBLICITY): Move("approve", frozenset({REGULATOR})),
    (S.SUBMITTED, S.RETURNED): Move("return", frozenset({REGULATOR}), needs_comment=True),
    (S.SUBMITTED, S.REJECTED): Move("reject", frozenset({REGULATOR}), needs_comment=True),
    (S.PUBLICITY, S.ACTIVE): Move("activate", frozenset({SYSTEM, REGULATOR}),
                                  guards=(_guard_publicity_over, _guard_no_open_objection)),
    (S.PUBLICITY, S.RETURNED): Move("return", frozenset({REGULATOR}), needs_comment=True, guards=(_guard_objection_upheld,)),
    (S.PUBLICITY, S.REJECTED): Move("reject", frozenset({REGULATOR}), needs_comment=True, guards=(_guard_objection_upheld,)),
    (S.ACTIVE, S.SUSPENDED): Move("suspend", frozenset({REGULATOR}), needs_comment=True),
    (S.SUSPENDED, S.ACTIVE): Move("reinstate", frozenset({REGULATOR})),
    (S.BANNED, S.ACTIVE): Move("lift_ban", frozenset({SYSTEM, REGULATOR}), guards=(_guard_was_active,)),
    **{(s, S.BANNED): Move("ban", frozenset({SYSTEM, REGULATOR}), needs_comment=True)
       for s in LIVE_STATUSES if s != S.BANNED},
    **{(s, S.WITHDRAWN): Move("withdraw", frozenset({ADMIN})) for s in (S.DRAFT, S.RETURNED, S.SUBMITTED, S.ACTIVE)},
}


def allowed_moves(agency: Agency) -> list[str]:
    """The statuses this registration may move to next (whoever may make the move)."""
    return [to for (frm, to) in TRANSITIONS if frm == agency.status]


def _actor_roles(actor: User | None, agency: Agency) -> set[str]:
    if actor is None:
        return {SYSTEM}
    roles = set()
    if market_permissions.is_regulator(actor):
        roles.add(REGULATOR)
    if market_permissions.can_act_for(actor, agency.organization):
        roles.add(MEMBER)
    if market_permissions.can_manage(actor, agency.organization):
        roles.add(ADMIN)
    return roles


def _status_label(status: str) -> str:
    return str(AgencyStatus(status).label)


def agency_transition(*, agency: Agency, to: str, actor: User | None, comment: str = "",
                      now: dt.datetime | None = None) -> Agency:
    """Move a registration to status `to`. Refuses (ValidationError) a move the table does not
    list, a missing comment or a failed guard; refuses (PermissionDenied) an actor who may not make it.
    actor=None is the system (deadline jobs, credit)."""
    now = now or timezone.now()
    comment = (comment or "").strip()
    if to not in AgencyStatus.values:
        raise ValidationError({"status": [_("Unknown status “%(to)s”.") % {"to": to}]})
    with transaction.atomic():
        locked = Agency.objects.select_for_update().select_related("organization").get(pk=agency.pk)
        move = TRANSITIONS.get((locked.status, to))
        if move is None:
            raise ValidationError(
                _("A registration that is “%(from)s” cannot become “%(to)s”.")
                % {"from": _status_label(locked.status), "to": _status_label(to)}, code="illegal_transition")
        if not (_actor_roles(actor, locked) & move.by):
            if actor is None:
                raise PermissionDenied(_("This move needs a person to make it."))
            raise PermissionDenied(_("You may not make this registration “%(to)s”.") % {"to": _status_label(to)})
        if move.needs_comment and not comment:
            raise ValidationError({"comment": [_("Give the reason: it is shown to the agency.")]})
        if to in (AgencyStatus.SUBMITTED, AgencyStatus.PUBLICITY, AgencyStatus.ACTIVE):
            from credit.standing import require_not_banned

            require_not_banned(agency=locked, at=now)  # no path, the admin's included, admits a banned agency
        for guard in move.guards:
            problem = guard(locked, now)
            if problem:
                raise ValidationError(problem, code="transition_refused")
        before = snapshot(locked, AUDIT_FIELDS)
        old = locked.status
        fields = ["status", "updated_at"]
        locked.status = to
        if to == S.SUBMITTED:
            locked.submitted_at = now
            fields.append("submitted_at")
        elif to == S.PUBLICITY:
            locked.publicity_started_at = now
            locked.publicity_ends_at = period_end(
                now, working_days=settings.MARKET["AGENCY_PUBLICITY_WORKING_DAYS"],
                override_seconds=settings.MARKET["AGENCY_PUBLICITY_SECONDS"])
            locked.review_comment = comment
            fields += ["publicity_started_at", "publicity_ends_at", "review_comment"]
        elif to in (S.RETURNED, S.REJECTED):
            locked.review_comment = comment
            fields.append("review_comment")
        elif to == S.ACTIVE:
            locked.status_reason = ""
            fields.append("status_reason")
            if old == S.PUBLICITY:
                locked.activated_at = now
                fields.append("activated_at")
                org = locked.organization
                if org.status != Organization.Status.VERIFIED:
                    org.status, org.verified_at = Organization.Status.VERIFIED, now
                    org.save(update_fields=["status", "verified_at"])
        elif to in (S.SUSPENDED, S.BANNED, S.WITHDRAWN):
            locked.status_reason = comment
            fields.append("status_reason")
        locked.save(update_fields=fields)
        audit_record(actor=actor, action=f"agency.{move.verb}", obj=locked, before=before,
                     after={**snapshot(locked, AUDIT_FIELDS), "comment": comment})
        agency_status_changed.send(sender=Agency, agency=locked, old_status=old, new_status=to, actor=actor,
                                   comment=comment)
    # keep the caller's object current
    for name in ("status", "submitted_at", "publicity_started_at", "publicity_ends_at", "review_comment",
                 "status_reason", "activated_at", "updated_at"):
        setattr(agency, name, getattr(locked, name))
    return locked


# --- Registration and the draft ---------------------------------------------------------------------


def _lock_for_edit(*, actor: User, agency: Agency, statuses=EDITABLE_STATUSES) -> Agency:
    """Lock the registration and check the actor may change it in its present status."""
    locked = Agency.objects.select_for_update().select_related("organization").get(pk=agency.pk)
    permissions.require_edit(actor, locked)
    if locked.status not in statuses:
        raise ValidationError(
            _("The registration is “%(status)s” and cannot be changed now.") % {"status": locked.get_status_display()},
            code="not_editable")
    return locked


def _clean_org_fields(org: Organization) -> None:
    try:
        org.full_clean(exclude=["members"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def agency_register(*, actor: User, name: str, uscc: str, region: Region | None, agency_type: str = AgencyType.COMPANY,
                    address: str = "", legal_representative: str = "", contact_name: str = "", contact_phone: str = "",
                    contact_email: str = "", introduction: str = "") -> Agency:
    """A signed-in user registers an agency (a draft) and becomes its administrator.

    The agency's organization is created, or reused if the USCC is already an agency organization
    with no live registration (after a withdrawal or rejection) and the actor administers it."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("Log in to register an agency."))
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = [_("Enter the agency's name.")]
    code = normalize(uscc)
    try:
        validate_uscc(code)
    except ValidationError as exc:
        errors["uscc"] = list(exc.messages)
    if region is None:
        errors["region"] = [_("Choose a region.")]
    if agency_type not in AgencyType.values:
        errors["agency_type"] = [_("Choose the type of agency.")]
    if not errors.get("uscc"):
        from credit.standing import uscc_refusal

        banned = uscc_refusal(uscc=code)
        if banned:
            errors["uscc"] = [banned.message]
    if errors:
        raise ValidationError(errors)
    duplicate = ValidationError({"uscc": [_("An agency with this unified social credit code is already registered; "
                                            "a code can hold only one registration at a time.")]}, code="duplicate")
    values = dict(name=name.strip(), region=region, address=address.strip(), legal_representative=legal_representative.strip(),
                  contact_name=contact_name.strip(), contact_phone=contact_phone.strip(), contact_email=contact_email.strip())
    try:
        with transaction.atomic():
            org = Organization.objects.select_for_update().filter(kind=Organization.Kind.AGENCY, uscc=code).first()
            if org is not None:
                if Agency.objects.filter(organization=org, status__in=LIVE_STATUSES).exists():
                    raise duplicate
                if org.memberships.exists() and not market_permissions.can_manage(actor, org):
                    raise ValidationError({"uscc": [_("This agency is already on the platform. Ask its administrator "
                                                      "to register it again or to invite you.")]}, code="not_admin")
                for key, value in values.items():
                    setattr(org, key, value)
                _clean_org_fields(org)
                org.save()
            else:
                org = Organization(kind=Organization.Kind.AGENCY, uscc=code, status=Organization.Status.PENDING, **values)
                _clean_org_fields(org)
                org.save()
            if not Membership.objects.filter(organization=org, user=actor, role=Membership.Role.ADMIN).exists():
                market_services.membership_add(actor=None, organization=org, user=actor, role=Membership.Role.ADMIN,
                                               _bootstrap=True)
            agency = Agency.objects.create(organization=org, agency_type=agency_type, introduction=introduction.strip(),
                                           created_by=actor, draft_step=2)
            audit_record(actor=actor, action="agency.register", obj=agency,
                         after={"organization": org.pk, "uscc": code, "name": org.name, "status": agency.status})
    except IntegrityError:
        raise duplicate from None
    return agency


def agency_update_profile(*, actor: User, agency: Agency, **fields) -> Agency:
    """Change the organization's details (not its code) and the agency's type and introduction."""
    unknown = set(fields) - set(ORG_PROFILE_FIELDS) - set(AGENCY_PROFILE_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    if "agency_type" in fields and fields["agency_type"] not in AgencyType.values:
        raise ValidationError({"agency_type": [_("Choose the type of agency.")]})
    if "name" in fields and not (fields["name"] or "").strip():
        raise ValidationError({"name": [_("Enter the agency's name.")]})
    if "region" in fields and fields["region"] is None:
        raise ValidationError({"region": [_("Choose a region.")]})
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency)
        org = locked.organization
        before = {**snapshot(org, ("name", "region_id", "address", "legal_representative", "contact_name",
                                   "contact_phone", "contact_email")), **snapshot(locked, AGENCY_PROFILE_FIELDS)}
        for key in ORG_PROFILE_FIELDS:
            if key in fields:
                value = fields[key]
                setattr(org, key, value.strip() if isinstance(value, str) else value)
        for key in AGENCY_PROFILE_FIELDS:
            if key in fields:
                setattr(locked, key, (fields[key] or "").strip())
        _clean_org_fields(org)
        org.save()
        locked.save(update_fields=["agency_type", "introduction", "updated_at"])
        audit_record(actor=actor, action="agency.update", obj=locked, before=before,
                     after={**snapshot(org, ("name", "region_id", "address", "legal_representative", "contact_name",
                                             "contact_phone", "contact_email")), **snapshot(locked, AGENCY_PROFILE_FIELDS)})
    return locked


def agency_draft_step_set(*, actor: User, agency: Agency, step: int) -> Agency:
    """Remember how far the registration form has got (the furthest step reached)."""
    step = max(1, min(REGISTRATION_STEPS, int(step)))
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency)
        if step > locked.draft_step:
            before = {"draft_step": locked.draft_step}
            locked.draft_step = step
            locked.save(update_fields=["draft_step", "updated_at"])
            audit_record(actor=actor, action="agency.draft_step", obj=locked, before=before, after={"draft_step": step})
    agency.draft_step = locked.draft_step
    return locked


def _store(*, instance, upload: UploadedFile, field: str = "file") -> None:
    """Check an upload's real content and size, and save it under a server-made name."""
    checked = check_upload(upload, field=field)
    getattr(instance, field).save(f"upload.{checked.extension}", upload, save=False)
    instance.original_name = checked.original_name
    instance.content_type = checked.content_type
    if hasattr(instance, "size"):
        instance.size = checked.size


def _delete_on_failure(instance, field: str = "file"):
    """Context: if the transaction fails after a file was stored, remove the orphan file."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            name = getattr(getattr(instance, field), "name", "")
            if exc_type is not None and name:
                try:
                    private_storage().delete(name)
                except OSError:  # pragma: no cover
                    logger.warning("could not remove orphan upload %s", name)
            return False

    return _Guard()


def licence_file_add(*, actor: User, agency: Agency, upload: UploadedFile,
                     kind: str = LicenceFile.Kind.BUSINESS_LICENCE) -> LicenceFile:
    if kind not in LicenceFile.Kind.values:
        raise ValidationError({"kind": [_("Choose the kind of document.")]})
    check_upload(upload)  # refuse before taking any lock
    licence = LicenceFile(agency=agency, kind=kind)
    with _delete_on_failure(licence), transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency)
        licence.agency = locked
        _store(instance=licence, upload=upload)
        licence.save()
        audit_record(actor=actor, action="agency.licence_add", obj=locked,
                     after={"licence_file": licence.pk, "kind": kind, "name": licence.original_name,
                            "content_type": licence.content_type, "size": licence.size})
    return licence


def licence_file_remove(*, actor: User, licence_file: LicenceFile) -> None:
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=licence_file.agency)
        name = licence_file.file.name
        audit_record(actor=actor, action="agency.licence_remove", obj=locked,
                     before={"licence_file": licence_file.pk, "name": licence_file.original_name})
        licence_file.delete()
        transaction.on_commit(lambda: private_storage().delete(name))


def agency_item_set(*, actor: User, agency: Agency, service_item: ServiceItem, fee_quote: str,
                    fee_quote_fen: int | None = None, commitment: str = "") -> AgencyServiceItem:
    """Offer a catalogue item (or change the offer) with the agency's fee quote and commitment."""
    errors: dict[str, list[str]] = {}
    if service_item is None or not service_item.is_active:
        errors["service_item"] = [_("Choose an item of the current catalogue.")]
    if not (fee_quote or "").strip():
        errors["fee_quote"] = [_("Describe the fee you charge for this item.")]
    if fee_quote_fen is not None:
        if fee_quote_fen < 0:
            errors["fee_quote_fen"] = [_("A fee cannot be negative.")]
        elif (service_item is not None and service_item.pricing_mode != PricingMode.MARKET
              and service_item.fee_cap_fen is not None and fee_quote_fen > service_item.fee_cap_fen):
            errors["fee_quote_fen"] = [_("The fee is above the government cap of ¥%(cap)s for this item.")
                                       % {"cap": service_item.fee_cap_yuan}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency)
        existing = AgencyServiceItem.objects.filter(agency=locked, service_item=service_item).first()
        before = snapshot(existing, ("fee_quote", "fee_quote_fen", "commitment")) if existing else None
        offer, _created = AgencyServiceItem.objects.update_or_create(
            agency=locked, service_item=service_item,
            defaults={"fee_quote": fee_quote.strip()[:255], "fee_quote_fen": fee_quote_fen,
                      "commitment": (commitment or "").strip()})
        audit_record(actor=actor, action="agency.item_set", obj=locked, before=before,
                     after={"service_item": service_item.code, **snapshot(offer, ("fee_quote", "fee_quote_fen", "commitment"))})
    return offer


def agency_item_remove(*, actor: User, offered_item: AgencyServiceItem) -> None:
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=offered_item.agency)
        audit_record(actor=actor, action="agency.item_remove", obj=locked,
                     before={"service_item": offered_item.service_item.code, "fee_quote": offered_item.fee_quote})
        offered_item.delete()


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
    with _delete_on_failure(qual), transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        if Qualification.objects.filter(agency=locked, qualification_type=qualification_type,
                                        certificate_number=qual.certificate_number).exists():
            raise ValidationError({"certificate_number": [_("This certificate is already registered.")]})
        qual.agency = locked
        if upload is not None:
            _store(instance=qual, upload=upload)
        qual.save()
        audit_record(actor=actor, action="qualification.add", obj=qual,
                     after={"agency": locked.pk, **snapshot(qual, ("qualification_type_id", "certificate_number", "level",
                                                                    "issuer", "valid_from", "valid_to", "original_name"))})
    return qual


def qualification_remove(*, actor: User, qualification: Qualification) -> None:
    with transaction.atomic():
        _lock_for_edit(actor=actor, agency=qualification.agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        name = qualification.file.name
        audit_record(actor=actor, action="qualification.remove", obj=qualification,
                     before=snapshot(qualification, ("qualification_type_id", "certificate_number", "valid_from", "valid_to")))
        qualification.delete()
        if name:
            transaction.on_commit(lambda: private_storage().delete(name))


def practitioner_add(*, actor: User, agency: Agency, name: str, title: str = "", certificate_number: str = "") -> Practitioner:
    if not (name or "").strip():
        raise ValidationError({"name": [_("Enter the practitioner's name.")]})
    with transaction.atomic():
        locked = _lock_for_edit(actor=actor, agency=agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        person = Practitioner.objects.create(agency=locked, name=name.strip()[:64], title=(title or "").strip()[:64],
                                             certificate_number=(certificate_number or "").strip()[:64])
        audit_record(actor=actor, action="practitioner.add", obj=person,
                     after={"agency": locked.pk, **snapshot(person, ("name", "title", "certificate_number"))})
    return person


def practitioner_remove(*, actor: User, practitioner: Practitioner) -> None:
    with transaction.atomic():
        _lock_for_edit(actor=actor, agency=practitioner.agency, statuses=CERTIFICATE_EDITABLE_STATUSES)
        audit_record(actor=actor, action="practitioner.remove", obj=practitioner,
                     before=snapshot(practitioner, ("name", "title", "certificate_number")))
        practitioner.delete()


# --- Review shortcuts ---------------------------------------------------------------------------------

REVIEW_DECISIONS = {"approve": S.PUBLICITY, "return": S.RETURNED, "reject": S.REJECTED}


def agency_review(*, actor: User, agency: Agency, decision: str, comment: str = "") -> Agency:
    """A regulator decides on a submitted registration: approve (publicity starts), return or reject."""
    market_permissions.require_regulator(actor)
    if decision not in REVIEW_DECISIONS:
        raise ValidationError({"decision": [_("Choose approve, return or reject.")]})
    if agency.status != S.SUBMITTED:
        raise ValidationError(_("Only a submitted registration is reviewed; this one is “%(status)s”.")
                              % {"status": agency.get_status_display()}, code="illegal_transition")
    return agency_transition(agency=agency, to=REVIEW_DECISIONS[decision], actor=actor, comment=comment)


# --- Publicity and objections -------------------------------------------------------------------------


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


# --- Qualification expiry -------------------------------------------------------------------------------


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


# --- Staff invitations -----------------------------------------------------------------------------------


def invitation_token(invitation: AgencyInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "k": invitation.key}, salt=INVITATION_SALT, compress=True)


def invitation_from_token(token: str) -> AgencyInvitation:
    """The pending invitation a token names; ValidationError if forged, expired or used."""
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(_("This invitation has expired; ask the agency's administrator for a new one."),
                              code="expired") from None
    except signing.BadSignature:
        raise ValidationError(_("This invitation link is not valid."), code="invalid") from None
    invitation = (AgencyInvitation.objects.select_related("agency__organization")
                  .filter(pk=data.get("i"), key=data.get("k")).first())
    if invitation is None or invitation.status == AgencyInvitation.Status.REVOKED:
        raise ValidationError(_("This invitation was withdrawn."), code="revoked")
    if invitation.status == AgencyInvitation.Status.ACCEPTED:
        raise ValidationError(_("This invitation has already been accepted."), code="used")
    return invitation


def invitation_create(*, actor: User, agency: Agency, email: str, role: str = Membership.Role.STAFF,
                      accept_url_base: str | None = None) -> tuple[AgencyInvitation, str]:
    """The agency's administrator invites someone by e-mail with a role; returns the invitation
    and its token. A new invitation to the same address replaces the pending one."""
    permissions.require_manage(actor, agency)
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    from django.core.validators import validate_email

    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if role not in Membership.Role.values:
        errors["role"] = [_("Unknown role.")]
    if not errors and Membership.objects.filter(organization=agency.organization, user__email__iexact=email).exists():
        errors["email"] = [_("Someone with this e-mail address is already a member; change their role instead.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        AgencyInvitation.objects.select_for_update().filter(
            agency=agency, email=email, status=AgencyInvitation.Status.PENDING).update(status=AgencyInvitation.Status.REVOKED)
        invitation = AgencyInvitation.objects.create(agency=agency, email=email, role=role, invited_by=actor)
        token = invitation_token(invitation)
        base = (accept_url_base or settings.WAGTAILADMIN_BASE_URL).rstrip("/")
        link = base + reverse("agencies:invitation-accept", kwargs={"token": token})
        send_mail(
            subject=_("Invitation to join %(agency)s on the marketplace") % {"agency": agency.name},
            message=_("%(inviter)s invites you to act for %(agency)s as %(role)s on the Guangdong online intermediary "
                      "service marketplace. Log in (or sign up) with this e-mail address and open this link within "
                      "14 days to accept:\n\n%(link)s\n")
            % {"inviter": actor.get_full_name() or actor.username, "agency": agency.name,
               "role": Membership.Role(role).label, "link": link},
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[email])
        audit_record(actor=actor, action="invitation.create", obj=invitation,
                     after={"agency": agency.pk, "email": email, "role": role})
    return invitation, token


def invitation_accept(*, user: User, token: str) -> Membership:
    """The invited person accepts: they become a member with the invited role."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied(_("Log in to accept the invitation."))
    invitation = invitation_from_token(token)
    if (user.email or "").strip().lower() != invitation.email:
        raise ValidationError(_("This invitation was sent to %(email)s. Log in with the account that uses that "
                                "address.") % {"email": invitation.email}, code="wrong_account")
    if invitation.invited_by is None or not market_permissions.can_manage(invitation.invited_by,
                                                                          invitation.agency.organization):
        raise ValidationError(_("The person who invited you is no longer the agency's administrator; "
                                "ask for a new invitation."), code="inviter_gone")
    with transaction.atomic():
        locked = AgencyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != AgencyInvitation.Status.PENDING:
            raise ValidationError(_("This invitation has already been used."), code="used")
        membership = market_services.membership_add(actor=None, organization=invitation.agency.organization, user=user,
                                                    role=locked.role, _bootstrap=True)
        locked.status, locked.accepted_by, locked.accepted_at = AgencyInvitation.Status.ACCEPTED, user, timezone.now()
        locked.save(update_fields=["status", "accepted_by", "accepted_at"])
        audit_record(actor=user, action="invitation.accept", obj=locked,
                     after={"agency": locked.agency_id, "user": user.pk, "role": locked.role})
    return membership


def invitation_revoke(*, actor: User, invitation: AgencyInvitation) -> None:
    permissions.require_manage(actor, invitation.agency)
    with transaction.atomic():
        locked = AgencyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != AgencyInvitation.Status.PENDING:
            raise ValidationError(_("Only a pending invitation can be withdrawn."))
        locked.status = AgencyInvitation.Status.REVOKED
        locked.save(update_fields=["status"])
        audit_record(actor=actor, action="invitation.revoke", obj=locked, before={"status": "pending"},
                     after={"status": "revoked"})


def staff_role_set(*, actor: User, agency: Agency, user: User, role: str) -> Membership:
    """Change a member's role; the agency keeps at least one administrator."""
    permissions.require_manage(actor, agency)
    org = agency.organization
    membership = Membership.objects.filter(organization=org, user=user).first()
    if membership is None:
        raise ValidationError(_("This person is not a member of the agency."))
    if (membership.role == Membership.Role.ADMIN and role != Membership.Role.ADMIN
            and not Membership.objects.filter(organization=org, role=Membership.Role.ADMIN).exclude(pk=membership.pk).exists()):
        raise ValidationError(_("An organization must keep at least one administrator."))
    return market_services.membership_add(actor=actor, organization=org, user=user, role=role)


def staff_remove(*, actor: User, agency: Agency, user: User) -> None:
    permissions.require_manage(actor, agency)
    market_services.membership_remove(actor=actor, organization=agency.organization, user=user)


# --- The official calendar (regulators) ------------------------------------------------------------------


def calendar_day_set(*, actor: User, day: dt.date, kind: str, name: str = "") -> CalendarDay:
    """Enter a public holiday on a weekday or an adjusted workday on a weekend. Periods already
    started keep the end they were given."""
    market_permissions.require_regulator(actor)
    errors: dict[str, list[str]] = {}
    if kind not in CalendarDay.Kind.values:
        errors["kind"] = [_("Choose public holiday or adjusted workday.")]
    elif kind == CalendarDay.Kind.HOLIDAY and day.weekday() >= 5:
        errors["day"] = [_("%(date)s is a weekend day, already a day off; enter only holidays on weekdays.")
                         % {"date": day.isoformat()}]
    elif kind == CalendarDay.Kind.WORKDAY and day.weekday() < 5:
        errors["day"] = [_("%(date)s is a weekday, already a workday; enter only adjusted workdays on weekends.")
                         % {"date": day.isoformat()}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        existing = CalendarDay.objects.filter(date=day).first()
        before = snapshot(existing, ("kind", "name")) if existing else None
        row, _created = CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": (name or "").strip()[:64]})
        audit_record(actor=actor, action="calendar.day_set", obj=row, before=before, after=snapshot(row, ("kind", "name")))
    return row


def calendar_day_delete(*, actor: User, day: dt.date) -> None:
    market_permissions.require_regulator(actor)
    with transaction.atomic():
        row = CalendarDay.objects.filter(date=day).first()
        if row is None:
            raise ValidationError(_("%(date)s has no entry.") % {"date": day.isoformat()})
        audit_record(actor=actor, action="calendar.day_delete", obj=row, before=snapshot(row, ("kind", "name")))
        row.delete()


def holiday_year_confirm(*, actor: User, year: int) -> HolidayYear:
    """Declare that a year's holidays and adjusted workdays have all been entered (ends the warning)."""
    market_permissions.require_regulator(actor)
    if not 2000 <= int(year) <= 2100:
        raise ValidationError({"year": [_("Enter a year between 2000 and 2100.")]})
    with transaction.atomic():
        row, created = HolidayYear.objects.get_or_create(year=int(year), defaults={"source": "manual"})
        if created:
            audit_record(actor=actor, action="calendar.year_confirm", obj=row,
                         after={"year": row.year, "days": CalendarDay.objects.filter(date__year=row.year).count()})
    return row


def holiday_year_withdraw(*, actor: User, year: int) -> None:
    market_permissions.require_regulator(actor)
    with transaction.atomic():
        row = HolidayYear.objects.filter(year=int(year)).first()
        if row is None:
            raise ValidationError(_("%(year)s is not marked as entered.") % {"year": year})
        audit_record(actor=actor, action="calendar.year_withdraw", obj=row, before={"year": row.year, "source": row.source})
        row.delete()

