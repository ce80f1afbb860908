"""The one answer to "may this agency act, and why not?" that every path asks: bid submission
and change, selection, contract confirmation, registration under the same USCC, the API and the
admin. It combines the registration status with the credit record (bans end by date, by server time)."""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.eligibility import Refusal, status_refusal
from agencies.models import Agency

from .models import Breach, BreachStatus


def _bans_in_force(at: dt.datetime):
    return Breach.objects.filter(status=BreachStatus.ACTIVE, ban_until__gt=at)


def ban_annotations(*, at: dt.datetime, agency_ref: str = "pk") -> dict:
    """Annotations that read an agency's longest ban in force at `at` in the agency's own query
    (`ban_until`, `ban_rule`); `bans_from_annotations` turns them into what `agency_refusal` takes."""
    longest = _bans_in_force(at).filter(agency_id=OuterRef(agency_ref)).order_by("-ban_until", "-pk")
    return {"ban_until": Subquery(longest.values("ban_until")[:1]),
            "ban_rule": Subquery(longest.values("rule__name")[:1])}


def bans_from_annotations(agency: Agency) -> dict[int, tuple[dt.datetime, str]]:
    return {agency.pk: (agency.ban_until, agency.ban_rule)} if agency.ban_until is not None else {}


def active_bans(*, at: dt.datetime, agency_ids: Iterable[int] | None = None,
                bidders_of_request: int | None = None) -> dict[int, tuple[dt.datetime, str]]:
    """For each banned agency among `agency_ids` (or the bidders of a request, joined in SQL):
    (ban end, rule name) of its longest ban in force at `at`."""
    bans: dict[int, tuple[dt.datetime, str]] = {}
    qs = _bans_in_force(at)
    if bidders_of_request is not None:
        qs = qs.filter(agency__bids__request_id=bidders_of_request).distinct()
    else:
        qs = qs.filter(agency_id__in=list(agency_ids or []))
    rows = qs.values_list("agency_id", "ban_until", "rule__name")
    for agency_id, until, rule in rows:
        if agency_id not in bans or until > bans[agency_id][0]:
            bans[agency_id] = (until, rule)
    return bans


def ban_refusal(ban: tuple[dt.datetime, str] | None) -> Refusal | None:
    if ban is None:
        return None
    until, rule = ban
    return Refusal("banned", _("The agency is on the black list until %(until)s (%(rule)s): one breach, limited everywhere.")
                   % {"until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M"), "rule": rule})


def agency_refusal(*, agency: Agency, at: dt.datetime | None = None,
                   bans: dict[int, tuple[dt.datetime, str]] | None = None) -> Refusal | None:
    """None if the agency may act at `at`, else the reason it may not.

    `bans`: pass active_bans(...) for many agencies at once (selection); otherwise one query."""
    at = at or timezone.now()
    refusal = status_refusal(agency)
    if refusal:
        return refusal
    if bans is None:
        bans = active_bans(agency_ids=[agency.pk], at=at)
    return ban_refusal(bans.get(agency.pk))


def uscc_refusal(*, uscc: str, at: dt.datetime | None = None) -> Refusal | None:
    """A new registration under a USCC whose earlier registration is banned is refused too."""
    at = at or timezone.now()
    ids = Agency.objects.filter(organization__uscc=uscc.strip().upper()).values_list("pk", flat=True)
    bans = active_bans(agency_ids=ids, at=at)
    if not bans:
        return None
    return ban_refusal(max(bans.values()))


def require_agency_may_act(*, agency: Agency, at: dt.datetime | None = None) -> None:
    """Raise PermissionDenied with the reason when the agency may not act."""
    refusal = agency_refusal(agency=agency, at=at)
    if refusal:
        raise PermissionDenied(refusal.message)


def require_not_banned(*, agency: Agency, at: dt.datetime | None = None) -> None:
    """Refuse any act of an agency (or of another registration under its USCC) on the black list,
    whatever the registration's status: draft edits, staff changes, activation."""
    refusal = uscc_refusal(uscc=agency.organization.uscc, at=at)
    if refusal:
        raise PermissionDenied(refusal.message)
