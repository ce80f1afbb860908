"""The registration state machine: one guarded function (`agency_transition`) moves a registration
from status to status as the transition table allows, checks who may make the move and writes its
audit event; regulators' review decisions are a shortcut onto it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions as market_permissions
from market.accounts.models import Organization, User
from market.calendar.workdays import period_end
from market.core.audit import audit_record, snapshot

from .. import states
from ..models import LIVE_STATUSES, Agency, AgencyStatus, PublicityObjection
from ..permissions import require_good_standing
from ..signals import agency_status_changed

S = AgencyStatus
AUDIT_FIELDS = ("status", "review_comment", "status_reason", "publicity_started_at", "publicity_ends_at")

SYSTEM, REGULATOR, MEMBER, ADMIN = "system", "regulator", "member", "admin"


@dataclass(frozen=True)
class Move:
    """One legal move: its name (the audit action), who may make it, and whether it needs a comment."""

    verb: str
    by: frozenset[str]
    needs_comment: bool = False
    guards: tuple[Callable[[Agency, dt.datetime], str | None], ...] = ()


# The guards are the state table's (agencies/states.py): one text of each rule.
_guard_complete = states.complete
_guard_publicity_over = states.publicity_over
_guard_no_open_objection = states.no_open_objection


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
            require_good_standing(agency=locked, at=now)  # no path, the admin's included, admits a banned agency
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
