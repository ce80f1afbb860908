"""Bans end at their date by server time (refusals read the date directly); this job only
refreshes the stored grade of agencies whose ban has just ended."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef

from agencies.models import Agency
from market.core.deadlines import deadline_job

from .models import Breach, BreachStatus
from .services import credit_recompute


@deadline_job("credit_ban_expiry")
def refresh_grades_after_bans(now: dt.datetime) -> int:
    banned_now = Breach.objects.filter(agency=OuterRef("pk"), status=BreachStatus.ACTIVE, ban_until__gt=now)
    stale = Agency.objects.filter(credit_grade="D").annotate(banned=Exists(banned_now)).filter(banned=False)
    done = 0
    for agency in stale[:1000]:
        before = agency.credit_grade
        if credit_recompute(agency=agency, at=now).credit_grade != before:
            done += 1
    return done
