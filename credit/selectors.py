"""Reads of the credit record: black list, red list, an agency's standing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, QuerySet
from django.utils import timezone

from agencies.models import Agency, AgencyStatus
from market.accounts.models import Organization

from .models import Breach, BreachStatus
from .rules import STAR_THRESHOLDS
from .standing import agency_refusal


def blacklist(*, at: dt.datetime | None = None) -> QuerySet[Agency]:
    """Agencies banned at `at`, with the end of their longest ban."""
    at = at or timezone.now()
    return (Agency.objects.filter(breaches__status=BreachStatus.ACTIVE, breaches__ban_until__gt=at)
            .select_related("organization", "organization__region")
            .annotate(ban_ends=Max("breaches__ban_until")).order_by("-ban_ends", "pk"))


def redlist(*, at: dt.datetime | None = None) -> QuerySet[Agency]:
    """Active grade-A agencies (the grade is D while banned)."""
    return (Agency.objects.filter(status=AgencyStatus.ACTIVE, credit_grade="A")
            .select_related("organization", "organization__region").order_by("-credit_score", "organization__name"))


def breaches_public(*, agency: Agency | None = None) -> QuerySet[Breach]:
    qs = Breach.objects.select_related("rule", "agency__organization").order_by("-recorded_at", "-pk")
    return qs.filter(agency=agency) if agency is not None else qs


@dataclass(frozen=True)
class Standing:
    uscc: str
    agency_id: int | None
    name: str
    good_standing: bool
    status: str
    grade: str
    score: int
    stars: int
    banned_until: dt.datetime | None
    reason: str
    active_breaches: list[dict]


def stars_for(score: int) -> int:
    return next(stars for stars, floor in STAR_THRESHOLDS if score >= floor)


def agency_standing(*, uscc: str, at: dt.datetime | None = None) -> Standing | None:
    """What other platforms ask: may this agency be trusted now, and why not?"""
    at = at or timezone.now()
    # The kind makes it one lookup in the (kind, uscc) unique index instead of a scan of the index.
    agency = (Agency.objects.filter(organization__kind=Organization.Kind.AGENCY, organization__uscc=uscc.strip().upper())
              .select_related("organization").order_by("-pk").first())
    if agency is None:
        return None
    refusal = agency_refusal(agency=agency, at=at)
    breaches = list(Breach.objects.filter(agency=agency, status=BreachStatus.ACTIVE).select_related("rule")
                    .order_by("-recorded_at"))
    bans = [b.ban_until for b in breaches if b.ban_until and b.ban_until > at]
    return Standing(
        uscc=agency.organization.uscc, agency_id=agency.pk, name=agency.organization.name, good_standing=refusal is None,
        status=agency.status, grade=agency.credit_grade, score=agency.credit_score, stars=stars_for(agency.credit_score),
        banned_until=max(bans) if bans else None, reason=refusal.message if refusal else "",
        active_breaches=[{"rule": b.rule.code, "name": b.rule.name, "recorded_at": b.recorded_at, "points": b.points,
                          "ban_until": b.ban_until} for b in breaches])
