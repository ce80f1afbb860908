"""Throttles and the lockout key on the client address derived once (market/client_address.py):
a header the client writes never moves it, and behind the trusted proxies each client is itself."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from market.core.client_address import client_address
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _request(remote: str, forwarded: str | None = None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


def test_behind_trusted_proxies_the_client_is_the_first_untrusted_hop_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address(_request("10.0.0.1", "198.51.100.7")) == "198.51.100.7"
    # a client that writes its own header gets its made-up entries kept at the left, and ignored
    assert client_address(_request("10.0.0.1", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert client_address(_request("10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2")) == "198.51.100.7"
    # a connection that does not come from a trusted proxy: its header is not believed
    assert client_address(_request("198.51.100.8", "1.2.3.4")) == "198.51.100.8"
    assert client_address(None) == ""


def test_made_up_forwarded_headers_do_not_escape_the_login_throttle(settings):
    settings.TRUSTED_PROXIES = []
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "10/min"}}
    api = APIClient()
    codes = [api.post("/api/v1/auth/token/", {"username": f"nobody{i}", "password": "x"}, format="json",
                      HTTP_X_FORWARDED_FOR=f"192.0.2.{i}").status_code for i in range(15)]
    assert codes[:10] == [400] * 10 and set(codes[10:]) == {429}, codes


def test_behind_the_proxy_one_clients_failures_do_not_lock_everyone(settings):
    """20 failures by one client (each for another name) lock that client's address, not the proxy's."""
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    make_user("bystander")
    attacker = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66")
    for i in range(25):
        attacker.post("/accounts/login/", {"username": f"guess{i}", "password": "x"})
    assert "_auth_user_id" not in attacker.session
    locked_out = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66")
    locked_out.post("/accounts/login/", {"username": "bystander", "password": PASSWORD})
    assert "_auth_user_id" not in locked_out.session  # the attacking address is locked
    bystander = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.20")
    bystander.post("/accounts/login/", {"username": "bystander", "password": PASSWORD})
    assert "_auth_user_id" in bystander.session  # another client behind the same proxy is not
    cache.clear()
