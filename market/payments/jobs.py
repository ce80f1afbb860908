"""Deadline job of payments: captures of accepted contracts that need a retry. Idempotent: a payment
already captured is skipped."""

from __future__ import annotations

import datetime as dt

from market.core.deadlines import deadline_job

from . import services as payment_services


@deadline_job("payments.capture_accepted")
def capture_accepted(now: dt.datetime) -> int:
    return payment_services.payments_capture_accepted(now=now)
