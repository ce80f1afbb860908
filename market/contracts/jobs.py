"""Deadline jobs of contracts: drafting after the award, signatures running out, deliveries not
reviewed in time, and overruns. Each is idempotent: rows are re-checked under their locks, and a
repeated run finds nothing left to do."""

from __future__ import annotations

import datetime as dt

# The selection's jobs register first, so that a request awarded in a run gets its contract
# drafted in the same run.
import bids.jobs  # noqa: F401
from market.core.deadlines import deadline_job

from . import services as contract_services


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
