"""Tunable rules of supervision. A deployment may override any of them with a SUPERVISION dict in
its settings; the defaults below apply otherwise."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Warning signs.
    "ROTATION_MIN_SHARED": 3,           # requests bid on together
    "ROTATION_MIN_WIN_SHARE_PCT": 50,   # of those, won by one of the two (each at least once)
    "LOW_PRICE_PCT": 70,                # a price under this % of the mean of the other bids
    "LOW_PRICE_MIN_OTHERS": 2,          # other bids needed for a meaningful mean
    "CONCENTRATION_MIN_AWARDS": 5,
    "CONCENTRATION_SHARE_PCT": 60,
    "INDICATOR_REFRESH_SECONDS": 3600,  # the deadline job refreshes at most this often
    # Complaints: working days on the official calendar.
    "COMPLAINT_ACCEPT_WORKING_DAYS": 5,
    "COMPLAINT_DECIDE_WORKING_DAYS": 30,
    # Notifications.
    "DEADLINE_REMINDER_HOURS": 24,
    # Kinds whose e-mail the originating service still sends itself (request_amend, credit and
    # agencies mail directly today): these reach the inbox here but are not e-mailed twice.
    # Empty this once those services leave their e-mail to the notifications.
    "EMAIL_SENT_BY_SERVICE": ["request.amended", "breach.recorded", "qualification.expiring"],
}


def setting(name: str):
    return {**DEFAULTS, **getattr(settings, "SUPERVISION", {})}[name]
