"""API throttles, all keyed on the client address derived once (market/client_address.py): never on
an X-Forwarded-For that no trusted proxy wrote. Rates are settings (REST_FRAMEWORK
DEFAULT_THROTTLE_RATES, from the environment); an empty rate turns a throttle off."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, ScopedRateThrottle, UserRateThrottle

from market.core import ratelimit
from market.core.client_address import client_address


class ClientAddressMixin:
    def get_ident(self, request):
        return client_address(request)

    def get_rate(self):
        # DRF copies the rates into a class attribute at import; read the settings in force instead.
        from rest_framework.settings import api_settings

        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(ClientAddressMixin, AnonRateThrottle):
    """Every anonymous API call, per client address."""


class UserThrottle(ClientAddressMixin, UserRateThrottle):
    """Every signed-in API call, per user."""


class LoginThrottle(ClientAddressMixin, ScopedRateThrottle):
    """Token requests, per client address (the lockout counts failures besides: market/lockout.py)."""


def register_rate() -> str | None:
    return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get("register")


class RegisterThrottle(BaseThrottle):
    """Sign-ups per client address, one counter for the page and the API (market/ratelimit.py)."""

    def allow_request(self, request, view):
        self._wait = ratelimit.hit("register", client_address(request), register_rate())
        return self._wait is None

    def wait(self):
        return self._wait
