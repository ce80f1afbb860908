"""Stripe configured but unreachable (STRIPE_API_BASE pointing at a closed port): only payment is
degraded. The contract page renders, paying says plainly that payment is unavailable, nothing is
half-written (no Payment row, no audit event), and the rest of the contract goes on — the owner
still accepts the work."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from market.contracts.models import ContractStatus
from market.payments import services as payment_services
from market.payments.models import Payment, PaymentStatus
from market.core.models import AuditEvent
from tests.contracts.factories import delivered_contract, freeze, owner_user, signed_contract

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def stripe_unreachable(settings, closed_port):
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_unreachable"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port}"
    return settings.STRIPE_API_BASE


def test_the_contract_page_renders_and_offers_payment(browser, stripe_unreachable):
    contract, signed_at = signed_contract()
    browser.force_login(owner_user(contract))
    with freeze(signed_at + dt.timedelta(hours=1)):
        response = browser.get(f"/contracts/{contract.pk}/", **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert contract.number in html and f"/contracts/{contract.pk}/pay/" in html


def test_paying_says_payment_is_unavailable_and_writes_nothing(browser, stripe_unreachable, caplog):
    contract, signed_at = signed_contract()
    browser.force_login(owner_user(contract))
    audit_before = AuditEvent.objects.count()
    with freeze(signed_at + dt.timedelta(hours=1)), caplog.at_level(logging.WARNING, logger="market.payments"):
        response = browser.post(f"/contracts/{contract.pk}/pay/", **EN)
    assert response.status_code == 400  # the contract page again, with the message; not a 500
    html = response.content.decode()
    assert "Payment is unavailable right now" in html and contract.number in html
    assert stripe_unreachable not in html  # no internal address shown to the user
    assert any("not created" in r.getMessage() for r in caplog.records)
    assert not Payment.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE
    # The page still works afterwards.
    with freeze(signed_at + dt.timedelta(hours=2)):
        assert browser.get(f"/contracts/{contract.pk}/").status_code == 200


def test_paying_through_the_api_is_a_json_error(api_client, stripe_unreachable):
    contract, signed_at = signed_contract()
    api_client.force_authenticate(owner_user(contract))
    with freeze(signed_at + dt.timedelta(hours=1)):
        response = api_client.post(f"/api/v1/contracts/{contract.pk}/payment/", **EN)
    assert response.status_code == 400
    assert response.json()["code"] == "payment_unavailable"
    assert "Payment is unavailable right now" in response.json()["message"]
    assert not Payment.objects.exists()


def test_acceptance_stands_when_the_held_payment_cannot_be_captured(browser, stripe_unreachable, caplog):
    """A held payment is captured at acceptance; with Stripe away the acceptance still happens, the
    payment stays held, and the capture job retries later."""
    contract, delivery, delivered_at = delivered_contract(pay_on_acceptance=True)
    now = delivered_at + dt.timedelta(hours=1)
    Payment.objects.create(contract=contract, attempt=1, intent_id="pi_held", client_secret="pi_held_secret",
                           amount_fen=contract.amount_fen, currency="cny", capture_method="manual",
                           status=PaymentStatus.REQUIRES_CAPTURE, amount_capturable_fen=contract.amount_fen,
                           started_by=owner_user(contract), created_at=now, updated_at=now)
    browser.force_login(owner_user(contract))
    with freeze(now), caplog.at_level(logging.WARNING, logger="market.payments"):
        response = browser.post(f"/contracts/{contract.pk}/deliveries/{delivery.number}/review/", {"decision": "accept"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACCEPTED
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE and payment.amount_received_fen == 0
    assert any("capture of payment" in r.getMessage() for r in caplog.records)
    # The capture job retries it; while Stripe is away it changes nothing and fails nothing.
    with freeze(now + dt.timedelta(minutes=5)):
        assert payment_services.payments_capture_accepted(now=now + dt.timedelta(minutes=5)) == 0
    assert Payment.objects.get().status == PaymentStatus.REQUIRES_CAPTURE
