"""Who may see and change an agency's private records (drafts, files, staff): the guardian object
permissions on its organization (market.accounts.permissions), plus regulators, who see everything."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions

from .models import Agency


def can_see_private(user, agency: Agency) -> bool:
    """The agency's own members and regulators see drafts, files and staff."""
    return market_permissions.can_act_for(user, agency.organization) or market_permissions.is_regulator(user)


def require_see_private(user, agency: Agency) -> None:
    if not can_see_private(user, agency):
        raise PermissionDenied(_("Only the agency's own staff and regulators may see this."))


def can_edit(user, agency: Agency) -> bool:
    return market_permissions.can_act_for(user, agency.organization)


def require_edit(user, agency: Agency) -> None:
    from credit.standing import require_not_banned

    if not can_edit(user, agency):
        raise PermissionDenied(_("Only the agency's own staff may change its registration."))
    require_not_banned(agency=agency)  # one breach, limited everywhere


def can_manage(user, agency: Agency) -> bool:
    return market_permissions.can_manage(user, agency.organization)


def require_manage(user, agency: Agency) -> None:
    from credit.standing import require_not_banned

    if not can_manage(user, agency):
        raise PermissionDenied(_("Only an administrator of the agency may do this."))
    require_not_banned(agency=agency)
