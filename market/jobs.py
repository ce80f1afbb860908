"""Deadline jobs of contracts: drafting after the award, signatures running out, deliveries not
reviewed in time, overruns, and captures that need a retry. Each is idempotent: rows are re-checked
under their locks, and a repeated run finds nothing left to do."""

from __future__ import annotations

import datetime as dt

# The selection's jobs register first, so that a request awarded in a run gets its contract
# drafted in the same run.
import bids.jobs  # noqa: F401

from . import payments

from .contracts import services as contract_services
from market.core.deadlines import deadline_job


@deadline_job("contracts.draft_awarded")
def draft_awarded(now: dt.datetime) -> int:
    return contract_services.contracts_draft_awarded(now=now)


@deadline_job("contracts.confirm_expiry")
def confirm_expiry(now: dt.datetime) -> int:
    return contract_services.contracts_expire_due(now=now)


@deadline_job("contracts.deemed_acceptance")
def deemed_acceptance(now: dt.datetime) -> int:
    return contract_services.deliveries_deem_accepted(now=now)


@deadline_job("contracts.overrun_breaches")
def overrun_breaches(now: dt.datetime) -> int:
    return contract_services.contracts_record_overruns(now=now)


@deadline_job("payments.capture_accepted")
def capture_accepted(now: dt.datetime) -> int:
    return payments.payments_capture_accepted(now=now)
