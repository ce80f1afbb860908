import pytest
from django.core.cache import cache

from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_web_login_locks_after_repeated_failures(client):
    make_user("victim")
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "victim", "password": "guess"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"username": "victim", "password": "Test-pass-2026!"})
    assert response.status_code == 200  # even the right password is refused while locked
    assert "15" in response.content.decode()
    cache.clear()
    assert client.post("/accounts/login/", {"username": "victim", "password": "Test-pass-2026!"}).status_code == 302


def test_api_token_locks_after_repeated_failures(client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"login": "1000/min"}}
    make_user("apivictim")
    for _ in range(5):
        assert client.post("/api/v1/auth/token/", {"username": "apivictim", "password": "x"},
                           content_type="application/json").status_code == 400
    response = client.post("/api/v1/auth/token/", {"username": "apivictim", "password": "Test-pass-2026!"},
                           content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "locked"


def test_forms_carry_csrf_protection():
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    make_user("csrfuser")
    response = csrf_client.post("/accounts/login/", {"username": "csrfuser", "password": "Test-pass-2026!"})
    assert response.status_code == 403


def test_production_cookies_are_secure(settings):
    from importlib import reload
    import os

    from market import settings as market_settings

    old = os.environ.get("DEBUG")
    os.environ["DEBUG"] = "0"
    try:
        reloaded = reload(market_settings)
        assert reloaded.SESSION_COOKIE_SECURE and reloaded.CSRF_COOKIE_SECURE and reloaded.SESSION_COOKIE_HTTPONLY
    finally:
        if old is None:
            os.environ.pop("DEBUG", None)
        else:
            os.environ["DEBUG"] = old
        reload(market_settings)
