"""Fixed-window rate limits kept in the cache (Redis in production, shared by every worker), for what
is counted the same way on the pages and in the API: sign-ups per client address, say. Rates are
written as DRF writes them ("10/hour")."""

from __future__ import annotations

import time

from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """'10/hour' → (10, 3600); None or '' → None (no limit)."""
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


def hit(scope: str, ident: str, rate: str | None) -> int | None:
    """Count one event of `scope` for `ident`; None if allowed, else the seconds until the window ends."""
    parsed = parse_rate(rate)
    if parsed is None:
        return None
    limit, window = parsed
    now = int(time.time())
    count = incr(f"ratelimit:{scope}:{ident or '-'}:{now // window}", timeout=window + 1)
    return None if count <= limit else window - now % window


def incr(key: str, *, timeout: int) -> int:
    """Add one to a counter kept in the cache for `timeout` seconds from its first count; the new count."""
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout)
        return 1
