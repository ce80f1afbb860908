"""Deadline jobs of the selection: scheduled selections and the end of result publicity."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from market.core.deadlines import deadline_job
from market.requests.models import RequestStatus, SelectionMethod, ServiceRequest

from . import services

logger = logging.getLogger(__name__)
# Methods the platform runs by itself at the selection time; the others need the owner's input.
AUTOMATIC_METHODS = (SelectionMethod.RANDOM, SelectionMethod.LOWEST, SelectionMethod.REFERENCE)


def _locked(qs):
    """Row locks that skip what a concurrent run already holds (PostgreSQL); SQLite serialises writers."""
    if connection.vendor == "postgresql":
        return qs.select_for_update(skip_locked=True)
    return qs.select_for_update()


@deadline_job("scheduled_selections")
def run_scheduled_selections(now: dt.datetime) -> int:
    done = 0
    due = ServiceRequest.objects.filter(status=RequestStatus.PUBLISHED, selection_time__lte=now,
                                        selection_method__in=AUTOMATIC_METHODS).values_list("pk", flat=True)
    for pk in list(due[:500]):
        with transaction.atomic():
            request = _locked(ServiceRequest.objects.filter(pk=pk, status=RequestStatus.PUBLISHED)).first()
            if request is None:
                continue
            try:
                services.selection_run(actor=None, request=request)
                done += 1
            except ValidationError as exc:
                logger.warning("scheduled selection of request %s not run: %s", pk, exc)
    return done


@deadline_job("result_awards")
def award_after_publicity(now: dt.datetime) -> int:
    done = 0
    due = ServiceRequest.objects.filter(status=RequestStatus.PUBLICITY, publicity_ends_at__lte=now).values_list("pk", flat=True)
    for pk in list(due[:1000]):
        with transaction.atomic():
            request = _locked(ServiceRequest.objects.filter(pk=pk, status=RequestStatus.PUBLICITY)).first()
            if request is not None and services.request_award_if_due(request=request, now=now):
                done += 1
    return done
