import sys
import types

import pytest


@pytest.fixture(autouse=True)
def breaches(monkeypatch):
    """Record the calls to credit.services.breach_record_system (the credit module's own tests
    cover what it does with them). If the module is not there yet, stand in for it."""
    calls = []

    def breach_record_system(*, agency, rule_code: str, evidence: str, related=None):
        calls.append({"agency": agency, "rule_code": rule_code, "evidence": evidence, "related": related})
        return calls[-1]

    try:
        import credit.services as module
    except ImportError:
        module = types.ModuleType("credit.services")
        monkeypatch.setitem(sys.modules, "credit.services", module)
        import credit

        monkeypatch.setattr(credit, "services", module, raising=False)
    monkeypatch.setattr(module, "breach_record_system", breach_record_system, raising=False)
    return calls


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def localstripe_server():
    """A real localstripe server for the whole session, on a free loopback port."""
    from .stripe_helpers import start_localstripe

    proc, base, reason = start_localstripe()
    if proc is None:
        pytest.skip(f"localstripe cannot start here: {reason}")
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()


@pytest.fixture
def stripe_on(settings, localstripe_server):
    """Stripe configured and pointed at localstripe; returns its base URL."""
    from .stripe_helpers import API_KEY, PUBLISHABLE_KEY, WEBHOOK_SECRET

    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe_server
    return localstripe_server
