"""Sign-ups and the API as a whole are throttled per client address (or user); a new password ends
the account's API tokens."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from market.accounts.models import User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}}


def _api_signup(api, i):
    return api.post("/api/v1/auth/register/", {"username": f"bulk{i}", "email": f"bulk{i}@example.com",
                                                "password": "Bulk-pass-2026!"}, format="json")


def test_thirty_sign_ups_in_a_row_are_refused_after_the_limit(settings, client):
    _rates(settings, register="10/hour")
    api = APIClient()
    codes = [_api_signup(api, i).status_code for i in range(8)]
    codes += [client.post("/accounts/signup/", {"username": f"web{i}", "email": f"web{i}@example.com",
                                                 "password1": "Bulk-pass-2026!", "password2": "Bulk-pass-2026!"}
                          ).status_code for i in range(22)]
    assert codes[:8] == [201] * 8 and codes[8:10] == [302, 302], codes  # the page and the API share one counter
    assert set(codes[10:]) == {429}, codes
    assert User.objects.filter(username__startswith="bulk").count() + User.objects.filter(
        username__startswith="web").count() == 10
    refused = _api_signup(api, 99)
    assert refused.status_code == 429 and refused.json()["message"]


def test_the_api_as_a_whole_is_throttled(settings):
    _rates(settings, anon="5/min", user="8/min")
    api = APIClient()
    assert [api.get("/api/v1/service-items/").status_code for _ in range(7)][-2:] == [429, 429]
    api.force_authenticate(make_user())
    codes = [api.get("/api/v1/service-items/").status_code for _ in range(10)]
    assert codes[:8] == [200] * 8 and codes[8:] == [429, 429]
    assert api.get("/api/v1/service-items/").json()["code"] == "throttled"


def test_a_new_password_ends_the_api_tokens(client):
    user = make_user("tokenholder")
    token = APIClient().post("/api/v1/auth/token/", {"username": "tokenholder", "password": PASSWORD},
                             format="json").json()["token"]
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/contracts/").status_code == 200
    user.set_password("Changed-pass-2026!")
    user.save()
    assert not Token.objects.filter(user=user).exists()
    assert api.get("/api/v1/contracts/").status_code == 401


def test_a_password_reset_ends_the_api_tokens(client):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = make_user("resetter")
    Token.objects.create(user=user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    url = client.get(f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/")["Location"]
    response = client.post(url, {"new_password1": "Changed-pass-2026!", "new_password2": "Changed-pass-2026!"})
    assert response.status_code == 302
    assert not Token.objects.filter(user=user).exists()


def test_logging_in_keeps_the_api_tokens():
    """Only a new password ends them: a log-in (even one that upgrades the stored hash) does not."""
    user = make_user("keeper")
    Token.objects.create(user=user)
    assert APIClient().post("/api/v1/auth/token/", {"username": "keeper", "password": PASSWORD},
                            format="json").status_code == 200
    assert Token.objects.filter(user=user).exists()
