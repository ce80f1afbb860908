"""The search index's deadline job (run by `process_deadlines`, registered through market.core.deadlines)."""

from __future__ import annotations

import datetime as dt

from market.core.deadlines import deadline_job

from .indexing import sync


@deadline_job("search_sync")
def search_sync(now: dt.datetime) -> int:
    """Re-index what changed without a signal (credit grades, qualification validity) and write
    the outbox to Elasticsearch when it answers again."""
    return sync(now=now)
