"""Who may act for which organization: django-guardian object permissions, assigned from
memberships, checked in one place."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from .models import Membership, Organization, User

ACT = "market.act_for_organization"
MANAGE = "market.manage_organization"

ROLE_PERMISSIONS = {
    Membership.Role.ADMIN: (ACT, MANAGE),
    Membership.Role.STAFF: (ACT,),
}


def grant_role_permissions(*, membership: Membership) -> None:
    for perm in (ACT, MANAGE):
        remove_perm(perm, membership.user, membership.organization)
    for perm in ROLE_PERMISSIONS[Membership.Role(membership.role)]:
        assign_perm(perm, membership.user, membership.organization)


def revoke_role_permissions(*, user: User, organization: Organization) -> None:
    for perm in (ACT, MANAGE):
        remove_perm(perm, user, organization)


def can_act_for(user, organization: Organization) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(ACT, organization))


def can_manage(user, organization: Organization) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(MANAGE, organization))


def require_act_for(user, organization: Organization) -> None:
    if not can_act_for(user, organization):
        raise PermissionDenied(_("You may not act for %(org)s.") % {"org": organization.name})


def require_manage(user, organization: Organization) -> None:
    if not can_manage(user, organization):
        raise PermissionDenied(_("Only an administrator of %(org)s may do this.") % {"org": organization.name})


def regulator_organizations(user) -> list[Organization]:
    if not (user and user.is_authenticated):
        return []
    return [
        m.organization
        for m in Membership.objects.filter(
            user=user, organization__kind=Organization.Kind.REGULATOR, organization__status=Organization.Status.VERIFIED
        ).select_related("organization")
    ]


def is_regulator(user) -> bool:
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_is_regulator", None)
    if cached is None:
        cached = Membership.objects.filter(
            user=user, organization__kind=Organization.Kind.REGULATOR, organization__status=Organization.Status.VERIFIED
        ).exists()
        user._is_regulator = cached
    return cached


def require_regulator(user) -> None:
    if not is_regulator(user):
        raise PermissionDenied(_("Only a regulator may do this."))
