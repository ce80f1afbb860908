"""Login throttling and lockout: after too many failed log-ins for one user name (from any
address) or from one address, further attempts are refused for a while. Counters live in the
cache (Redis in production, so every worker shares them)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

MAX_FAILURES = getattr(settings, "LOGIN_MAX_FAILURES", 5)
LOCKOUT_SECONDS = getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


def _keys(username: str, address: str) -> list[str]:
    return [f"login-fail:user:{(username or '').strip().lower()}", f"login-fail:ip:{address or '-'}"]


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def is_locked(username: str, address: str) -> bool:
    user_key, ip_key = _keys(username, address)
    counts = cache.get_many([user_key, ip_key])
    return counts.get(user_key, 0) >= MAX_FAILURES or counts.get(ip_key, 0) >= MAX_FAILURES * 4


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        if cache.add(key, 1, LOCKOUT_SECONDS) is False:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, LOCKOUT_SECONDS)


def record_success(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
