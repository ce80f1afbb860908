"""Deadline jobs of agencies (run by `manage.py process_deadlines`). Both are idempotent and safe
to run concurrently: each row is re-checked under its lock."""

from __future__ import annotations

import datetime as dt

from market.core.deadlines import deadline_job

from . import services


@deadline_job("agencies.publicity_end")
def end_publicity(now: dt.datetime) -> int:
    """Activate registrations whose publicity has ended with no open objection."""
    return services.agency_publicity_end_due(now=now)


@deadline_job("agencies.qualification_expiry_warning")
def warn_expiring_qualifications(now: dt.datetime) -> int:
    """E-mail agencies once per certificate expiring within the warning window."""
    return services.qualification_expiry_warn(now=now)
