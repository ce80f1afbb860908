"""Writes of the marketplace core: accounts, organizations, memberships, the catalogue.

Each function is keyword-only, runs in one transaction and writes its audit event.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions
from market.core.audit import audit_record, snapshot
from market.core.statemachine import transition
from market.accounts.models import Membership, Organization, Region, User
from market.core.uscc import normalize, validate_uscc

ORG_FIELDS = ("kind", "name", "uscc", "region_id", "address", "legal_representative", "contact_name",
              "contact_phone", "contact_email", "status", "status_comment")
VERIFY_FIELDS = ("status", "status_comment")
REGULATORS_GROUP = "Regulators"


def user_register(*, username: str, email: str, password: str, first_name: str = "", phone: str = "") -> User:
    """Create a person's account (sign-up)."""
    username = (username or "").strip()
    email = (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = [_("Enter a user name.")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This user name is already taken.")]
    if not email:
        errors["email"] = [_("Enter an e-mail address.")]
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this e-mail address already exists.")]
    if not errors:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password, first_name=first_name,
                                        phone=phone)
        audit_record(actor=user, action="user.register", obj=user, after={"username": username, "email": email})
    return user


def _clean_organization(*, kind: str, name: str, uscc: str, region: Region | None) -> str:
    errors: dict[str, list[str]] = {}
    if kind not in Organization.Kind.values:
        errors["kind"] = [_("Unknown organization kind.")]
    if not (name or "").strip():
        errors["name"] = [_("Enter the organization's name.")]
    code = normalize(uscc)
    try:
        validate_uscc(code)
    except ValidationError as exc:
        errors["uscc"] = list(exc.messages)
    if region is None:
        errors["region"] = [_("Choose a region.")]
    if not errors.get("uscc") and kind in Organization.Kind.values and Organization.objects.filter(kind=kind, uscc=code).exists():
        errors["uscc"] = [_("An organization of this kind with this unified social credit code is already registered.")]
    if errors:
        raise ValidationError(errors)
    return code


def organization_register(*, actor: User, kind: str, name: str, uscc: str, region: Region | None,
                          address: str = "", legal_representative: str = "", contact_name: str = "",
                          contact_phone: str = "", contact_email: str = "") -> Organization:
    """Register an owner or agency organization; the actor becomes its administrator.

    Owners start pending and must be verified by a regulator before they publish requests.
    Regulator organizations are made only by regulator_organization_create.
    """
    if kind == Organization.Kind.REGULATOR:
        raise PermissionDenied(_("Regulator organizations are created by regulators."))
    code = _clean_organization(kind=kind, name=name, uscc=uscc, region=region)
    try:
        with transaction.atomic():
            org = Organization.objects.create(
                kind=kind, name=name.strip(), uscc=code, region=region, address=address,
                legal_representative=legal_representative, contact_name=contact_name,
                contact_phone=contact_phone, contact_email=contact_email, status=Organization.Status.PENDING,
            )
            membership_add(actor=None, organization=org, user=actor, role=Membership.Role.ADMIN, _bootstrap=True)
            audit_record(actor=actor, action="organization.register", obj=org, after=snapshot(org, ORG_FIELDS))
    except IntegrityError:
        raise ValidationError({"uscc": [_("An organization of this kind with this unified social credit code is already registered.")]})
    return org


def organization_verify(*, actor: User, organization: Organization, approve: bool, comment: str = "") -> Organization:
    """A regulator verifies (or rejects) an owner organization."""
    permissions.require_regulator(actor)
    if organization.kind == Organization.Kind.REGULATOR:
        raise ValidationError(_("Regulator organizations are not verified this way."))
    if not approve and not comment.strip():
        raise ValidationError({"comment": [_("Give the reason for the rejection.")]})
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        now = timezone.now()
        # market.accounts.states.ORGANIZATION: the comment is always stored (an approval clears an old one).
        transition(org, to=Organization.Status.VERIFIED if approve else Organization.Status.REJECTED, actor=actor,
                   reason=comment, now=now, changes={"status_comment": comment, "verified_at": now if approve else None},
                   audit_action="organization.verify" if approve else "organization.reject",
                   before=lambda o: snapshot(o, VERIFY_FIELDS), after=lambda o: snapshot(o, VERIFY_FIELDS))
    return org


def organization_update(*, actor: User, organization: Organization, **fields) -> Organization:
    """An organization administrator edits its contact details (not its code or kind)."""
    permissions.require_manage(actor, organization)
    allowed = {"name", "address", "legal_representative", "contact_name", "contact_phone", "contact_email", "region"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))})
    with transaction.atomic():
        before = snapshot(organization, ORG_FIELDS)
        for key, value in fields.items():
            setattr(organization, key, value)
        organization.full_clean(exclude=["members"])
        organization.save()
        audit_record(actor=actor, action="organization.update", obj=organization, before=before,
                     after=snapshot(organization, ORG_FIELDS))
    return organization


def membership_add(*, actor: User | None, organization: Organization, user: User, role: str,
                   _bootstrap: bool = False) -> Membership:
    """Add a member with a role (admin or staff) and grant the matching object permissions."""
    if not _bootstrap:
        if organization.kind == Organization.Kind.REGULATOR:
            permissions.require_regulator(actor)
        else:
            permissions.require_manage(actor, organization)
    if role not in Membership.Role.values:
        raise ValidationError({"role": [_("Unknown role.")]})
    if (organization.kind == Organization.Kind.AGENCY and not _bootstrap
            and not Membership.objects.filter(organization=organization, user=user).exists()):
        # An agency's people join by accepting an invitation (agencies.services.invitation_accept), with
        # their consent and the agency's standing checked; only an existing member's role changes here.
        raise ValidationError({"user": ValidationError(_("A person joins an agency only by accepting its invitation."),
                                                       code="invitation_required")})
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, organization=organization,
                                                               defaults={"role": role})
        before = None if created else {"role": membership.role}
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        permissions.grant_role_permissions(membership=membership)
        if organization.kind == Organization.Kind.REGULATOR:
            _make_regulator_staff(user)
        audit_record(actor=actor, action="membership.set", obj=membership, before=before,
                     after={"user": user.pk, "organization": organization.pk, "role": role})
    return membership


def membership_remove(*, actor: User, organization: Organization, user: User) -> None:
    permissions.require_manage(actor, organization)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(user=user, organization=organization)
        if membership.role == Membership.Role.ADMIN and not Membership.objects.filter(
            organization=organization, role=Membership.Role.ADMIN
        ).exclude(pk=membership.pk).exists():
            raise ValidationError(_("An organization must keep at least one administrator."))
        permissions.revoke_role_permissions(user=user, organization=organization)
        audit_record(actor=actor, action="membership.remove", obj=membership, before={"role": membership.role})
        membership.delete()


def _make_regulator_staff(user: User) -> None:
    """Regulators use the Wagtail admin (catalogue snippets, pages), not the Django admin."""
    group = regulators_group()
    user.groups.add(group)


def regulators_group() -> Group:
    """The Wagtail-admin group of regulators, its permissions kept complete as catalogues are added."""
    group, _created = Group.objects.get_or_create(name=REGULATORS_GROUP)
    codenames = [
        "access_admin",
        "add_servicecategory", "change_servicecategory", "view_servicecategory",
        "add_serviceitem", "change_serviceitem", "view_serviceitem",
        "add_qualificationtype", "change_qualificationtype", "view_qualificationtype",
        "add_breachrule", "change_breachrule", "view_breachrule",
    ]
    group.permissions.add(*Permission.objects.filter(codename__in=codenames))
    return group


def regulator_organization_create(*, actor: User | None, name: str, uscc: str, region: Region,
                                  superuser_bootstrap: bool = False) -> Organization:
    """Create a regulator organization: only by a regulator or the superuser."""
    if not superuser_bootstrap:
        if actor is None or not permissions.is_regulator(actor):
            raise PermissionDenied(_("Only a regulator may do this."))
    code = _clean_organization(kind=Organization.Kind.REGULATOR, name=name, uscc=uscc, region=region)
    with transaction.atomic():
        org = Organization.objects.create(kind=Organization.Kind.REGULATOR, name=name.strip(), uscc=code,
                                          region=region, status=Organization.Status.VERIFIED,
                                          verified_at=timezone.now())
        audit_record(actor=actor, action="organization.create_regulator", obj=org, after=snapshot(org, ORG_FIELDS))
    return org


def regulator_user_create(*, actor: User | None, organization: Organization, username: str, email: str,
                          password: str, role: str = Membership.Role.STAFF,
                          superuser_bootstrap: bool = False) -> User:
    """Create a regulator's account: regulators are created by other regulators or the superuser."""
    if not superuser_bootstrap and (actor is None or not permissions.is_regulator(actor)):
        raise PermissionDenied(_("Only a regulator may do this."))
    if organization.kind != Organization.Kind.REGULATOR:
        raise ValidationError(_("Choose a regulator organization."))
    with transaction.atomic():
        user = user_register(username=username, email=email, password=password)
        membership_add(actor=actor, organization=organization, user=user, role=role,
                       _bootstrap=superuser_bootstrap)
    return user
