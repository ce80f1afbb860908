"""Who may see and change an agency's private records (drafts, files, staff): the guardian object
permissions on its organization (market.accounts.permissions), plus regulators, who see everything.

An agency on the black list may change nothing (one breach, limited everywhere). The black list is
the credit module's, which sits above agencies: credit registers its check into `standing_check`
when the app is ready (credit/apps.py), and every check here asks it."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions

from .eligibility import Refusal
from .models import Agency

# (uscc=..., at=...) -> the refusal of the black list for any registration under that code, or None.
StandingCheck = Callable[..., Refusal | None]


def _no_black_list(*, uscc: str, at: dt.datetime | None = None) -> Refusal | None:
    """Agencies alone keep no black list; the credit module registers the real check."""
    return None


standing_check: StandingCheck = _no_black_list


def standing_check_register(check: StandingCheck) -> None:
    """Install the black-list check (credit/apps.py, at start-up)."""
    global standing_check
    standing_check = check


def standing_refusal(*, uscc: str, at: dt.datetime | None = None) -> Refusal | None:
    """Why an agency (or a new registration) under this USCC may not act at `at`, if it is black-listed."""
    return standing_check(uscc=uscc, at=at)


def require_good_standing(*, agency: Agency, at: dt.datetime | None = None) -> None:
    """Refuse any act of an agency (or of another registration under its USCC) on the black list,
    whatever the registration's status: draft edits, staff changes, activation."""
    refusal = standing_refusal(uscc=agency.organization.uscc, at=at)
    if refusal:
        raise PermissionDenied(refusal.message)


def can_see_private(user, agency: Agency) -> bool:
    """The agency's own members and regulators see drafts, files and staff."""
    return market_permissions.can_act_for(user, agency.organization) or market_permissions.is_regulator(user)


def require_see_private(user, agency: Agency) -> None:
    if not can_see_private(user, agency):
        raise PermissionDenied(_("Only the agency's own staff and regulators may see this."))


def can_edit(user, agency: Agency) -> bool:
    return market_permissions.can_act_for(user, agency.organization)


def require_edit(user, agency: Agency) -> None:
    if not can_edit(user, agency):
        raise PermissionDenied(_("Only the agency's own staff may change its registration."))
    require_good_standing(agency=agency)  # one breach, limited everywhere


def can_manage(user, agency: Agency) -> bool:
    return market_permissions.can_manage(user, agency.organization)


def require_manage(user, agency: Agency) -> None:
    if not can_manage(user, agency):
        raise PermissionDenied(_("Only an administrator of the agency may do this."))
    require_good_standing(agency=agency)
