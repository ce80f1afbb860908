"""A real localstripe server (PyPI "localstripe") for the payment tests, started on a free loopback
port, and what a payer's browser would do with the client secret (card, confirm)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

API_KEY = "sk_test_marketplace_localstripe"
PUBLISHABLE_KEY = "pk_test_marketplace_localstripe"
WEBHOOK_SECRET = "whsec_marketplace_localstripe_test"

# localstripe's own `localstripe --port N` listens on every interface ("::"); the tests run the
# same aiohttp application bound to the loopback address only.
LAUNCHER = """
import sys
from aiohttp import web
from localstripe.server import app
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_localstripe(timeout: float = 30.0):
    """(process, base URL, None) once the server answers, or (None, None, reason) if it cannot start."""
    try:
        import localstripe  # noqa: F401
    except ImportError as exc:
        return None, None, f"localstripe is not installed: {exc}"
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="localstripe-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tempfile.gettempdir(), env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log.name, encoding="utf-8", errors="replace") as f:
                return None, None, f"localstripe exited with {proc.returncode}: {f.read()[-2000:]}"
        try:
            request = urllib.request.Request(f"{base}/v1/payment_intents",
                                             headers={"Authorization": f"Bearer {API_KEY}"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return proc, base, None
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    proc.kill()
    return None, None, f"localstripe did not answer on {base} within {timeout:.0f} s"


def config_webhook(base: str, endpoint_id: str, url: str, secret: str, events: list[str] | None = None) -> None:
    """Register (or replace) a webhook endpoint in localstripe: POST /_config/webhooks/<id>."""
    fields = [("url", url), ("secret", secret)]
    for i, event in enumerate(events or []):
        fields.append((f"events[{i}]", event))
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/_config/webhooks/{endpoint_id}", data=data), timeout=5):
        pass


def disable_webhook(base: str, endpoint_id: str) -> None:
    """localstripe cannot delete an endpoint; subscribe it to no real event instead."""
    config_webhook(base, endpoint_id, "http://127.0.0.1:9/", "whsec_disabled", events=["marketplace.test.disabled"])


def client(base: str):
    import stripe

    return stripe.StripeClient(API_KEY, base_addresses={"api": base}, max_network_retries=0)


def pay_with_card(base: str, intent_id: str, number: str = "4242424242424242") -> dict:
    """What Stripe.js does in the payer's browser: a card payment method, then confirm."""
    c = client(base)
    method = c.v1.payment_methods.create({"type": "card", "card": {"number": number, "exp_month": 12,
                                                                    "exp_year": 2034, "cvc": "123"}})
    c.v1.payment_intents.update(intent_id, {"payment_method": method.id})
    return c.v1.payment_intents.confirm(intent_id).to_dict()


def retrieve_intent(base: str, intent_id: str) -> dict:
    return client(base).v1.payment_intents.retrieve(intent_id).to_dict()


def list_refunds(base: str, intent_id: str) -> list[dict]:
    return [r.to_dict() for r in client(base).v1.refunds.list({"payment_intent": intent_id}).data]


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's signing scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_payload(event_id: str, event_type: str, obj: dict, created: int | None = None) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "api_version": "2017-08-15",
                       "created": created or int(time.time()), "data": {"object": obj}, "livemode": False},
                      sort_keys=True).encode()


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# --- payer journeys localstripe can play, and Stripe events built from its objects ---------------------------

THREE_D_SECURE_CARD = "4000002760003184"  # confirm → requires_action (3-D Secure)
SEPA_IBAN_FAILING = "DE62370400440532013001"  # confirm → processing, then the debit fails


def card_method(base: str, number: str = "4242424242424242") -> str:
    return client(base).v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}).id


def sepa_method(base: str, iban: str = SEPA_IBAN_FAILING) -> str:
    return client(base).v1.payment_methods.create({"type": "sepa_debit", "sepa_debit": {"iban": iban}}).id


def confirm_with(base: str, intent_id: str, method_id: str) -> dict:
    """The payer's browser: attach a payment method and confirm."""
    c = client(base)
    c.v1.payment_intents.update(intent_id, {"payment_method": method_id})
    return c.v1.payment_intents.confirm(intent_id).to_dict()


def authenticate(base: str, intent_id: str, *, success: bool) -> dict:
    """The payer passes or fails 3-D Secure (localstripe's /_authenticate, what the bank's page does)."""
    secret = retrieve_intent(base, intent_id)["client_secret"]
    data = urllib.parse.urlencode({"client_secret": secret, "success": "true" if success else "false"}).encode()
    request = urllib.request.Request(f"{base}/v1/payment_intents/{intent_id}/_authenticate", data=data,
                                     headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def retrieve_charge(base: str, intent_id: str) -> dict:
    intent = client(base).v1.payment_intents.retrieve(intent_id, {"expand": ["latest_charge"]}).to_dict()
    return intent["latest_charge"]


def signed_event(event_id: str, event_type: str, obj: dict, created: int) -> tuple[bytes, str]:
    payload = event_payload(event_id, event_type, obj, created=created)
    return payload, sign(payload)
