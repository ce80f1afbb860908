"""Registering an agency and keeping its draft: the organization's details, the draft's step, and
the licence files."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions
from market.accounts import services as market_services
from market.accounts.models import Membership, Organization, Region, User
from market.core.audit import audit_record, snapshot
from market.core.uscc import normalize, validate_uscc

from ..models import LIVE_STATUSES, Agency, AgencyType, LicenceFile, private_storage
from ..permissions import standing_refusal
from ..uploads import check_upload
from .editing import delete_on_failure, lock_for_edit, store_upload

ORG_PROFILE_FIELDS = ("name", "region", "address", "legal_representative", "contact_name", "contact_phone", "contact_email")
AGENCY_PROFILE_FIELDS = ("agency_type", "introduction")
REGISTRATION_STEPS = 6


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
        banned = standing_refusal(uscc=code)
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
        locked = lock_for_edit(actor=actor, agency=agency)
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
        locked = lock_for_edit(actor=actor, agency=agency)
        if step > locked.draft_step:
            before = {"draft_step": locked.draft_step}
            locked.draft_step = step
            locked.save(update_fields=["draft_step", "updated_at"])
            audit_record(actor=actor, action="agency.draft_step", obj=locked, before=before, after={"draft_step": step})
    agency.draft_step = locked.draft_step
    return locked


def licence_file_add(*, actor: User, agency: Agency, upload: UploadedFile,
                     kind: str = LicenceFile.Kind.BUSINESS_LICENCE) -> LicenceFile:
    if kind not in LicenceFile.Kind.values:
        raise ValidationError({"kind": [_("Choose the kind of document.")]})
    check_upload(upload)  # refuse before taking any lock
    licence = LicenceFile(agency=agency, kind=kind)
    with delete_on_failure(licence), transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=agency)
        licence.agency = locked
        store_upload(instance=licence, upload=upload)
        licence.save()
        audit_record(actor=actor, action="agency.licence_add", obj=locked,
                     after={"licence_file": licence.pk, "kind": kind, "name": licence.original_name,
                            "content_type": licence.content_type, "size": licence.size})
    return licence


def licence_file_remove(*, actor: User, licence_file: LicenceFile) -> None:
    with transaction.atomic():
        locked = lock_for_edit(actor=actor, agency=licence_file.agency)
        name = licence_file.file.name
        audit_record(actor=actor, action="agency.licence_remove", obj=locked,
                     before={"licence_file": licence_file.pk, "name": licence_file.original_name})
        licence_file.delete()
        transaction.on_commit(lambda: private_storage().delete(name))

