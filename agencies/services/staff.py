"""The agency's staff: invitations by e-mail (the only way a person joins an agency), roles and removal."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions
from market.accounts import services as market_services
from market.accounts.models import Membership, User
from market.core.audit import audit_record

from .. import permissions
from ..models import Agency, AgencyInvitation

INVITATION_SALT = "agencies.invitation"
INVITATION_MAX_AGE = dt.timedelta(days=14)


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
