"""Who may act for which organization: django-guardian object permissions, assigned from
memberships, checked in one place."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from market.core.db import hot_cursor
from market.accounts.models import Membership, Organization, User

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


# guardian's direct-FK tables for organizations (market.accounts.models.Organization{User,Group}ObjectPermission),
# read in one statement: the user's own grant, or a grant to one of the user's groups.
_ORGANIZATION_PERM_SQL = """
SELECT 1 FROM market_organizationuserobjectpermission p
  JOIN auth_permission a ON a.id = p.permission_id
  JOIN django_content_type c ON c.id = a.content_type_id
 WHERE p.user_id = %s AND p.content_object_id = %s AND a.codename = %s AND c.app_label = %s AND c.model = %s
UNION ALL
SELECT 1 FROM market_organizationgroupobjectpermission g
  JOIN market_user_groups ug ON ug.group_id = g.group_id
  JOIN auth_permission a ON a.id = g.permission_id
  JOIN django_content_type c ON c.id = a.content_type_id
 WHERE ug.user_id = %s AND g.content_object_id = %s AND a.codename = %s AND c.app_label = %s AND c.model = %s
LIMIT 1
"""


def _has_organization_perm(user, organization: Organization, perm: str) -> bool:
    """What `user.has_perm(perm, organization)` answers through guardian (active superusers may do
    anything; otherwise the user's own object permission or one of their groups'), in one statement
    that needs no ORM compilation: every write of the platform asks this
    (tests/market/test_permissions.py holds the two to the same answer)."""
    if not (user and user.is_authenticated and user.is_active and organization is not None):
        return False
    if user.is_superuser:
        return True
    app_label, codename = perm.split(".", 1)
    which = [user.pk, organization.pk, codename, app_label, Organization._meta.model_name]
    with hot_cursor() as cursor:
        cursor.execute(_ORGANIZATION_PERM_SQL, which + which)
        return cursor.fetchone() is not None


def can_act_for(user, organization: Organization) -> bool:
    return _has_organization_perm(user, organization, ACT)


def can_manage(user, organization: Organization) -> bool:
    return _has_organization_perm(user, organization, MANAGE)


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
