"""Login throttling and lockout, in one place that every password check passes through.

After `LOGIN_MAX_FAILURES` failed checks for one user name (from any address), or four times as many
from one client address, further attempts are refused for `LOGIN_LOCKOUT_SECONDS` — even with the
right password. Counters live in the cache (Redis in production, so every worker shares them).

The protection sits below the views, so no login page can forget it:
- `LockoutBackend` is the authentication backend (it replaces Django's `ModelBackend`): every
  `authenticate()` — the site's log-in form, the API token view, the Wagtail admin's and the Django
  admin's log-in, Wagtail's page-privacy log-in, anything added later — asks it, and it refuses a
  locked name or address before the password is looked at, and counts each failure (unknown names
  too, so names cannot be probed).
- `User.check_password` (market.accounts.models) asks `check_password_guarded` outside an `authenticate()`, so
  a form that checks the current password (changing one's password in either admin) counts and
  refuses the same way, by user name.
- Wagtail's shared page passwords (`PageViewRestriction`) are not accounts; their form is guarded by
  the client address (`guard_page_password`).

The client address is `market.core.client_address.client_address`: the connection's, or the client behind
the trusted proxies (`TRUSTED_PROXIES`), never what a client writes in a header.
"""

from __future__ import annotations

import contextvars
from functools import wraps

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from market.core import ratelimit
from market.core.client_address import client_address

__all__ = ["LockoutBackend", "client_address", "is_locked", "record_failure", "record_success", "LOCKED_MESSAGE"]

MAX_FAILURES = getattr(settings, "LOGIN_MAX_FAILURES", 5)
LOCKOUT_SECONDS = getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)
ADDRESS_FACTOR = 4  # an address may fail for several people (an office behind one NAT) before it is locked
LOCKED_MESSAGE = _("Too many failed log-ins. Try again in 15 minutes or reset your password.")

# Set while LockoutBackend authenticates, so User.check_password does not count the same attempt twice.
_in_backend: contextvars.ContextVar[bool] = contextvars.ContextVar("lockout_in_backend", default=False)


def _user_key(username: str) -> str:
    return f"login-fail:user:{(username or '').strip().lower()}"


def _address_key(address: str) -> str:
    return f"login-fail:ip:{address or '-'}"


def _keys(username: str, address: str) -> list[str]:
    keys = [_user_key(username)]
    if address:
        keys.append(_address_key(address))
    return keys


def is_locked(username: str, address: str = "") -> bool:
    user_key, ip_key = _user_key(username), _address_key(address)
    counts = cache.get_many([user_key, ip_key] if address else [user_key])
    return counts.get(user_key, 0) >= MAX_FAILURES or counts.get(ip_key, 0) >= MAX_FAILURES * ADDRESS_FACTOR


def record_failure(username: str, address: str = "") -> None:
    for key in _keys(username, address):
        _incr(key)


def _incr(key: str) -> None:
    ratelimit.incr(key, timeout=LOCKOUT_SECONDS)


def _page_key(address: str) -> str:
    return f"page-password-fail:ip:{address or '-'}"


def record_success(username: str, address: str = "") -> None:
    cache.delete(_user_key(username))


class LockoutBackend(ModelBackend):
    """Django's model backend behind the lockout. A locked name or address is refused with
    PermissionDenied, which makes `authenticate()` stop and return None for every backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            from django.contrib.auth import get_user_model

            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        address = client_address(request)
        if is_locked(str(username), address):
            raise PermissionDenied(str(LOCKED_MESSAGE))
        token = _in_backend.set(True)
        try:
            user = super().authenticate(request, username=username, password=password, **kwargs)
        finally:
            _in_backend.reset(token)
        if user is None:
            record_failure(str(username), address)
        else:
            record_success(str(username), address)
        return user


def check_password_guarded(username: str, check) -> bool:
    """`check()` is the real password check of the account `username`; outside an authenticate()
    a locked account fails it and a failure counts."""
    if _in_backend.get():
        return check()
    if is_locked(username):
        return False
    ok = check()
    if ok:
        record_success(username)
    else:
        record_failure(username)
    return ok


def guard_page_password(view):
    """Wrap Wagtail's page-password view: a locked client address is refused (429), and each wrong
    password (the form shown again) counts against the address."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        from django.http import HttpResponse

        address = client_address(request)
        if request.method == "POST" and cache.get(_page_key(address), 0) >= MAX_FAILURES:
            return HttpResponse(str(LOCKED_MESSAGE), status=429, content_type="text/plain; charset=utf-8")
        response = view(request, *args, **kwargs)
        if request.method == "POST" and response.status_code == 200:  # the form again: the password was wrong
            _incr(_page_key(address))
        return response

    return wrapped
