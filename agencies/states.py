"""The state machines of agencies (market.core.statemachine): the registration, objections lodged
during its publicity (入驻公示异议) and staff invitations.

The registration's table is the one agencies.services.transitions drives today (TRANSITIONS); its
guards are here so that module can drop its own copies when it moves to `transition`. One check of
agency_transition is not in the table: a black-listed agency (credit, a higher layer) may not be
submitted, approved or activated — agencies.permissions.require_good_standing, which stays with the
service and raises PermissionDenied."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import SYSTEM, Machine, Move, Who, guard, register

from .models import LIVE_STATUSES, Agency, AgencyInvitation, AgencyStatus, LicenceFile, PublicityObjection

S = AgencyStatus
AUDIT_FIELDS = ("status", "review_comment", "status_reason", "publicity_started_at", "publicity_ends_at")

REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))
MEMBER = Who("agency member", lambda actor, agency: permissions.can_act_for(actor, agency.organization))
ADMIN = Who("agency admin", lambda actor, agency: permissions.can_manage(actor, agency.organization))


@guard("the registration is complete")
def complete(agency: Agency, now: dt.datetime) -> str | None:
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


@guard("publicity has ended")
def publicity_over(agency: Agency, now: dt.datetime) -> str | None:
    if agency.publicity_ends_at is None or now < agency.publicity_ends_at:
        ends = timezone.localtime(agency.publicity_ends_at).strftime("%Y-%m-%d %H:%M") if agency.publicity_ends_at else "—"
        return _("The publicity period has not ended yet (it ends %(ends)s).") % {"ends": ends}
    return None


@guard("no open objection")
def no_open_objection(agency: Agency, now: dt.datetime) -> str | None:
    if agency.objections.filter(status=PublicityObjection.Status.OPEN).exists():
        return _("An objection to this registration is open: a regulator must rule on it first.")
    return None


@guard("an objection was upheld during this publicity")
def objection_upheld(agency: Agency, now: dt.datetime) -> str | None:
    upheld = agency.objections.filter(status=PublicityObjection.Status.UPHELD)
    if agency.publicity_started_at:
        upheld = upheld.filter(created_at__gte=agency.publicity_started_at)
    if not upheld.exists():
        return _("During publicity a registration is returned or rejected only by upholding an objection.")
    return None


@guard("it was active before the ban")
def was_active(agency: Agency, now: dt.datetime) -> str | None:
    if agency.activated_at is None:
        return _("This registration was never active, so lifting the ban cannot make it active.")
    return None


AGENCY = Machine(
    name="agency",
    model="agencies.Agency",
    states=AgencyStatus,
    audit_fields=AUDIT_FIELDS,
    reason_param="comment",
    reason_missing=gettext_lazy("Give the reason: it is shown to the agency."),
    illegal=gettext_lazy("A registration that is “%(from)s” cannot become “%(to)s”."),
    forbidden=gettext_lazy("You may not make this registration “%(to)s”."),
    description="An agency's registration (入驻), from draft through review and publicity to active, and after.",
    moves=(
        Move("submit", S.DRAFT, S.SUBMITTED, MEMBER, guards=(complete,)),
        Move("resubmit", S.RETURNED, S.SUBMITTED, MEMBER, guards=(complete,)),
        Move("approve", S.SUBMITTED, S.PUBLICITY, REGULATOR),
        Move("return", S.SUBMITTED, S.RETURNED, REGULATOR, reason_required=True),
        Move("reject", S.SUBMITTED, S.REJECTED, REGULATOR, reason_required=True),
        Move("activate", S.PUBLICITY, S.ACTIVE, SYSTEM | REGULATOR, guards=(publicity_over, no_open_objection)),
        Move("return", S.PUBLICITY, S.RETURNED, REGULATOR, reason_required=True, guards=(objection_upheld,)),
        Move("reject", S.PUBLICITY, S.REJECTED, REGULATOR, reason_required=True, guards=(objection_upheld,)),
        Move("suspend", S.ACTIVE, S.SUSPENDED, REGULATOR, reason_required=True),
        Move("reinstate", S.SUSPENDED, S.ACTIVE, REGULATOR),
        Move("lift_ban", S.BANNED, S.ACTIVE, SYSTEM | REGULATOR, guards=(was_active,)),
        Move("ban", {s for s in LIVE_STATUSES if s != S.BANNED}, S.BANNED, SYSTEM | REGULATOR, reason_required=True),
        Move("withdraw", {S.DRAFT, S.RETURNED, S.SUBMITTED, S.ACTIVE}, S.WITHDRAWN, ADMIN),
    ),
)

O = PublicityObjection.Status

PUBLICITY_OBJECTION = Machine(
    name="publicity_objection",
    model="agencies.PublicityObjection",
    states=PublicityObjection.Status,
    reason_field="ruling",
    reason_param="ruling",
    reason_missing=gettext_lazy("State the ruling and its reasons."),
    description="An objection to a registration during its publicity, ruled on by a regulator.",
    moves=(
        Move("uphold", O.OPEN, O.UPHELD, REGULATOR, reason_required=True, audit_action="objection.uphold",
             refusal=gettext_lazy("This objection has already been ruled on."), refusal_code="already_ruled"),
        Move("dismiss", O.OPEN, O.DISMISSED, REGULATOR, reason_required=True, audit_action="objection.dismiss",
             refusal=gettext_lazy("This objection has already been ruled on."), refusal_code="already_ruled"),
    ),
)

I = AgencyInvitation.Status  # noqa: E741

INVITATION = Machine(
    name="invitation",
    model="agencies.AgencyInvitation",
    states=AgencyInvitation.Status,
    description="An e-mail invitation to join an agency's staff.",
    moves=(
        Move("accept", I.PENDING, I.ACCEPTED,
             Who("the invited person", lambda actor, invitation:
                 (getattr(actor, "email", "") or "").strip().lower() == invitation.email)),
        # also what a new invitation to the same address does to the pending one
        Move("revoke", I.PENDING, I.REVOKED,
             Who("agency admin", lambda actor, invitation: permissions.can_manage(actor, invitation.agency.organization)),
             refusal=gettext_lazy("Only a pending invitation can be withdrawn.")),
    ),
)

register(AGENCY, PUBLICITY_OBJECTION, INVITATION)
