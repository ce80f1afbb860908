"""Deadline jobs of supervision (run by `manage.py process_deadlines`). Each is idempotent."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from bids.models import Bid, BidStatus
from market.core.deadlines import deadline_job
from market.core.events import emit
from market.requests.models import RequestStatus

from .conf import setting
from .indicators import warnings_refresh
from .models import DeadlineReminder, IndicatorRun
from .services import plans_draw_due


@deadline_job("supervision.deadline_reminders")
def remind_bidders_of_deadlines(now: dt.datetime) -> int:
    """Tell each bidder once per request that the bid deadline is near (within DEADLINE_REMINDER_HOURS)."""
    horizon = now + dt.timedelta(hours=setting("DEADLINE_REMINDER_HOURS"))
    reminded = DeadlineReminder.objects.filter(request_id=OuterRef("request_id"), agency_id=OuterRef("agency_id"))
    due = (Bid.objects.filter(status=BidStatus.ACTIVE, request__status=RequestStatus.PUBLISHED,
                              request__bid_deadline__gt=now, request__bid_deadline__lte=horizon)
           .exclude(Exists(reminded)).values_list("request_id", "agency_id").distinct().order_by("request_id", "agency_id"))
    done = 0
    for request_id, agency_id in list(due[:5000]):
        try:
            with transaction.atomic():
                DeadlineReminder.objects.create(request_id=request_id, agency_id=agency_id, sent_at=now)
                emit("deadline.approaching", request_id=request_id, agency_id=agency_id)
        except IntegrityError:  # a concurrent run reminded this bidder
            continue
        done += 1
    return done


@deadline_job("supervision.warning_signs")
def refresh_warning_signs(now: dt.datetime) -> int:
    """Recompute the warning signs, at most once per INDICATOR_REFRESH_SECONDS."""
    last = IndicatorRun.objects.filter(finished_at__isnull=False).order_by("-started_at").values_list(
        "started_at", flat=True).first()
    if last is not None and now - last < dt.timedelta(seconds=setting("INDICATOR_REFRESH_SECONDS")) and now >= last:
        return 0
    return warnings_refresh(now=now).created


@deadline_job("supervision.inspection_draws")
def draw_due_inspection_plans(now: dt.datetime) -> int:
    return plans_draw_due(now=now)
