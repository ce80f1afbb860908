"""Signals other apps may listen to (credit, bids, notifications)."""

from django.dispatch import Signal

# Sent inside the transaction of agency_transition, after the new status is saved.
# kwargs: agency, old_status, new_status, actor (None for the system), comment
agency_status_changed = Signal()
