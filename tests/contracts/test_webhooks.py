"""Stripe webhooks: delivered by localstripe to the running site and verified by signature; a
forged signature refused with 400; the same event delivered twice applied once; events out of
order leave the right state.

localstripe sends `payment_intent.succeeded` (and `payment_failed`) itself. It never sends
`payment_intent.amount_capturable_updated`, so the out-of-order cases build that event from the
PaymentIntent localstripe returns and sign it with Stripe's scheme (t=…,v1=HMAC-SHA256)."""

import json
import threading

import pytest

from market.contracts.models import Contract, ContractStatus
from market.payments import services as payment_services
from market.payments import webhooks
from market.payments.models import Payment, PaymentStatus, StripeEvent
from market.core.models import AuditEvent

from . import stripe_helpers as ls
from .factories import owner_user, signed_contract

WEBHOOK_PATH = "/api/v1/payments/stripe/webhook/"


@pytest.fixture
def count_deliveries(monkeypatch):
    """Count the webhook deliveries that reach the site (the live server runs in this process)."""
    seen = []
    lock = threading.Lock()
    real = webhooks.webhook_receive

    def counting(**kwargs):
        try:
            result = real(**kwargs)
        except Exception as exc:
            with lock:
                seen.append(exc)
            raise
        with lock:
            seen.append(result)
        return result

    monkeypatch.setattr(webhooks, "webhook_receive", counting)
    return seen


@pytest.fixture
def endpoints(stripe_on):
    """Webhook endpoints registered in localstripe during a test, disabled afterwards."""
    registered = []

    def register(endpoint_id: str, url: str, secret: str = ls.WEBHOOK_SECRET):
        ls.config_webhook(stripe_on, endpoint_id, url, secret)
        registered.append(endpoint_id)

    yield register
    for endpoint_id in registered:
        ls.disable_webhook(stripe_on, endpoint_id)


@pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")
class TestDeliveredByLocalstripe:
    def test_event_is_delivered_verified_and_applied(self, stripe_on, live_server, endpoints, count_deliveries):
        endpoints("marketplace", live_server.url + WEBHOOK_PATH)
        contract, _t = signed_contract(pay_on_acceptance=False)
        start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
        ls.pay_with_card(stripe_on, start.payment.intent_id)  # localstripe then sends payment_intent.succeeded

        # Wait until the delivered event has been processed, not merely stored (the server runs in another thread).
        event = ls.wait_for(lambda: StripeEvent.objects.filter(type="payment_intent.succeeded",
                                                               payment=start.payment).exclude(result="").first())
        assert event is not None, "localstripe did not deliver payment_intent.succeeded"
        assert event.result == "applied" and event.payload["data"]["object"]["id"] == start.payment.intent_id
        payment = Payment.objects.get(pk=start.payment.pk)  # moved by the webhook alone: no sync was called
        assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_received_fen == contract.amount_fen
        assert ls.retrieve_intent(stripe_on, payment.intent_id)["status"] == "succeeded"

    def test_same_event_delivered_twice_is_applied_once(self, stripe_on, live_server, endpoints, count_deliveries):
        # Two endpoints in localstripe with the same URL: every event reaches the site twice.
        endpoints("marketplace-a", live_server.url + WEBHOOK_PATH)
        endpoints("marketplace-b", live_server.url + WEBHOOK_PATH)
        contract, _t = signed_contract(pay_on_acceptance=False)
        start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
        ls.pay_with_card(stripe_on, start.payment.intent_id)

        def delivered():
            return [r for r in count_deliveries if getattr(r, "type", "") == "payment_intent.succeeded"]

        ls.wait_for(lambda: len(delivered()) >= 2)
        succeeded = delivered()
        assert len(succeeded) == 2 and len({r.event_id for r in succeeded}) == 1
        assert sorted(r.duplicate for r in succeeded) == [False, True]
        assert StripeEvent.objects.filter(event_id=succeeded[0].event_id).count() == 1
        payment = Payment.objects.get(pk=start.payment.pk)
        assert payment.status == PaymentStatus.SUCCEEDED
        assert AuditEvent.objects.filter(action="payment.succeeded", object_id=str(payment.pk)).count() == 1

    def test_delivery_signed_with_another_secret_is_refused(self, stripe_on, live_server, endpoints,
                                                            count_deliveries):
        from django.core.exceptions import ValidationError

        endpoints("impostor", live_server.url + WEBHOOK_PATH, secret="whsec_not_the_sites_secret")
        contract, _t = signed_contract(pay_on_acceptance=False)
        start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
        ls.pay_with_card(stripe_on, start.payment.intent_id)
        refused = ls.wait_for(lambda: [e for e in count_deliveries if isinstance(e, ValidationError)])
        assert refused and refused[0].code == "bad_signature", "localstripe's delivery did not reach the site"
        assert not StripeEvent.objects.exists()
        assert Payment.objects.get(pk=start.payment.pk).status == PaymentStatus.REQUIRES_PAYMENT_METHOD


# --- signed by the tests with Stripe's scheme (the site verifies them the same way) ----------------------


def _post(client, payload: bytes, signature: str | None):
    headers = {"HTTP_STRIPE_SIGNATURE": signature} if signature is not None else {}
    return client.post(WEBHOOK_PATH, data=payload, content_type="application/json", **headers)


@pytest.mark.django_db
def test_forged_signature_is_refused_with_400(client, stripe_on):
    payload = ls.event_payload("evt_forged", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent",
                                                                          "status": "succeeded", "amount": 1})
    for signature in (ls.sign(payload, secret="whsec_wrong"), "t=1,v1=deadbeef", "garbage", None):
        response = _post(client, payload, signature)
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "bad_signature" and body["message"]
    tampered = payload.replace(b'"amount": 1', b'"amount": 2')
    assert _post(client, tampered, ls.sign(payload)).status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_without_a_webhook_secret_events_are_refused_not_crashing(client, settings):
    payload = ls.event_payload("evt_1", "payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    response = _post(client, payload, ls.sign(payload))
    assert response.status_code == 400 and response.json()["code"] == "webhook_not_configured"


def _held_payment(stripe_on):
    contract, _t = signed_contract(pay_on_acceptance=True)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    return contract, Payment.objects.get(pk=start.payment.pk)


@pytest.mark.django_db
def test_late_capturable_event_after_succeeded_does_not_move_back(client, stripe_on):
    contract, payment = _held_payment(stripe_on)
    held = ls.retrieve_intent(stripe_on, payment.intent_id)  # requires_capture, as Stripe says
    assert held["status"] == "requires_capture"
    captured = ls.client(stripe_on).v1.payment_intents.capture(payment.intent_id).to_dict()
    assert captured["status"] == "succeeded"
    succeeded = ls.event_payload("evt_succeeded_1", "payment_intent.succeeded", captured)
    capturable = ls.event_payload("evt_capturable_1", "payment_intent.amount_capturable_updated", held,
                                  created=json.loads(succeeded)["created"] - 5)
    first = _post(client, succeeded, ls.sign(succeeded))
    assert first.status_code == 200 and first.json()["result"] == "applied"
    late = _post(client, capturable, ls.sign(capturable))
    assert late.status_code == 200 and late.json()["result"] == "stale"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_capturable_fen == 0
    assert payment.amount_received_fen == contract.amount_fen
    assert StripeEvent.objects.count() == 2


@pytest.mark.django_db
def test_events_in_order_and_out_of_order_end_in_the_same_state(client, stripe_on):
    contract, payment = _held_payment(stripe_on)
    held = ls.retrieve_intent(stripe_on, payment.intent_id)
    capturable = ls.event_payload("evt_cap_2", "payment_intent.amount_capturable_updated", held)
    assert _post(client, capturable, ls.sign(capturable)).json()["result"] == "applied"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE and payment.amount_capturable_fen == contract.amount_fen
    # A stale "created" event arriving last changes nothing either.
    created = dict(held, status="requires_payment_method", latest_charge=None, charges={"data": []})
    stale = ls.event_payload("evt_created_2", "payment_intent.created", created)
    assert _post(client, stale, ls.sign(stale)).json()["result"] == "stale"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE
    # Delivered again: stored once, applied once.
    again = _post(client, capturable, ls.sign(capturable)).json()
    assert again["duplicate"] is True
    assert StripeEvent.objects.filter(event_id="evt_cap_2").count() == 1


@pytest.mark.django_db
def test_an_older_charge_refunded_event_leaves_the_total_stripe_has(client, stripe_on):
    """The refunded total is the refunds' (recomputed, not a maximum): an older charge.refunded that
    lists fewer refunds is re-read from Stripe and changes nothing."""
    contract, _t = signed_contract(pay_on_acceptance=False)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    payment_services.payment_sync(payment=start.payment)
    c = ls.client(stripe_on)
    c.v1.refunds.create({"payment_intent": start.payment.intent_id, "amount": 1000})
    after_one = ls.retrieve_intent(stripe_on, start.payment.intent_id)["latest_charge"]
    c.v1.refunds.create({"payment_intent": start.payment.intent_id, "amount": 500})
    after_two = ls.retrieve_intent(stripe_on, start.payment.intent_id)["latest_charge"]
    newer = ls.event_payload("evt_ref_2", "charge.refunded", after_two)
    older = ls.event_payload("evt_ref_1", "charge.refunded", after_one)
    assert _post(client, newer, ls.sign(newer)).json()["result"] == "applied"
    assert _post(client, older, ls.sign(older)).json()["result"] == "stale"
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.amount_refunded_fen == 1500 == after_two["amount_refunded"]


@pytest.mark.django_db
def test_event_for_an_unknown_intent_is_stored_and_ignored(client, stripe_on):
    payload = ls.event_payload("evt_other", "payment_intent.succeeded", {"id": "pi_not_ours", "object": "payment_intent",
                                                                        "status": "succeeded", "amount": 100})
    response = _post(client, payload, ls.sign(payload))
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert StripeEvent.objects.get(event_id="evt_other").payment is None
    assert not Contract.objects.filter(status=ContractStatus.CLOSED).exists()
