"""The payment is what Stripe's object says, whatever order the events come in — including the
transitions that go "down" a naive ladder — and a malformed event, even correctly signed, is a 400
JSON error that changes nothing.

The PaymentIntents are real localstripe objects driven the way a payer does it (a 3-D Secure card
refused at the bank's page, a SEPA debit that is processing and then fails); the events carry those
objects and are signed with Stripe's scheme. localstripe cannot fail a refund, so the failed refund
is the refund localstripe made, with the status Stripe gives a failed one."""

from __future__ import annotations

import copy
import json
import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from market.payments import selectors as payment_selectors
from market.payments import services as payment_services
from market.payments import stripe_client, webhooks
from market.payments.models import Payment, PaymentRefund, PaymentStatus, StripeEvent
from market.core.models import AuditEvent

from . import stripe_helpers as ls
from .factories import owner_user, signed_contract

pytestmark = pytest.mark.django_db

WEBHOOK_PATH = "/api/v1/payments/stripe/webhook/"


def _post(client, payload: bytes, signature: str | None = None):
    return client.post(WEBHOOK_PATH, data=payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature if signature is not None else ls.sign(payload))


def _post_event(client, event_id: str, event_type: str, obj: dict, created: int):
    return _post(client, ls.event_payload(event_id, event_type, obj, created=created))


def _started(stripe_on, *, pay_on_acceptance: bool = False) -> Payment:
    contract, _t = signed_contract(pay_on_acceptance=pay_on_acceptance)
    return payment_services.payment_start(actor=owner_user(contract), contract=contract).payment


def _state(payment: Payment) -> dict:
    payment.refresh_from_db()
    return {"status": payment.status, "held": payment.amount_capturable_fen, "received": payment.amount_received_fen,
            "refunded": payment.amount_refunded_fen, "error": payment.last_error}


# --- the symptoms --------------------------------------------------------------------------------------------


def test_processing_then_payment_failed_ends_failed(client, stripe_on):
    """A SEPA debit is processing, then the bank refuses it: Stripe's PaymentIntent goes back to
    requires_payment_method with the error. It used to stay "processing" (the ladder only went up)."""
    payment = _started(stripe_on)
    processing = ls.confirm_with(stripe_on, payment.intent_id, ls.sepa_method(stripe_on))
    assert processing["status"] == "processing"
    failed = ls.wait_for(lambda: (i := ls.retrieve_intent(stripe_on, payment.intent_id))["status"]
                         == "requires_payment_method" and i)
    assert failed and failed["last_payment_error"]["message"]
    t = int(time.time()) + 1
    assert _post_event(client, "evt_sepa_processing", "payment_intent.processing", processing, t).json()["result"] \
        == "applied"
    assert _state(payment)["status"] == PaymentStatus.PROCESSING
    response = _post_event(client, "evt_sepa_failed", "payment_intent.payment_failed", failed, t + 2)
    assert response.status_code == 200 and response.json()["result"] == "applied"
    state = _state(payment)
    assert state["status"] == PaymentStatus.REQUIRES_PAYMENT_METHOD == failed["status"]
    assert state["error"] == failed["last_payment_error"]["message"]
    assert AuditEvent.objects.filter(action="payment.requires_payment_method", object_id=str(payment.pk)).exists()


def test_requires_action_then_payment_failed_ends_failed(client, stripe_on):
    """3-D Secure asked for, then failed at the bank's page: requires_payment_method, not requires_action."""
    payment = _started(stripe_on)
    action = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on, ls.THREE_D_SECURE_CARD))
    assert action["status"] == "requires_action"
    failed = ls.authenticate(stripe_on, payment.intent_id, success=False)
    assert failed["status"] == "requires_payment_method"
    t = int(time.time()) + 1
    assert _post_event(client, "evt_3ds_action", "payment_intent.requires_action", action, t).json()["result"] \
        == "applied"
    assert _state(payment)["status"] == PaymentStatus.REQUIRES_ACTION
    assert _post_event(client, "evt_3ds_failed", "payment_intent.payment_failed", failed, t + 1).json()["result"] \
        == "applied"
    state = _state(payment)
    assert state["status"] == PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert state["error"] == failed["last_payment_error"]["message"]


def test_late_requires_action_after_payment_failed_changes_nothing(client, stripe_on):
    """The same two events the other way round: the older one (requires_action) is recognised as
    older and Stripe's current object (re-read) confirms the failure."""
    payment = _started(stripe_on)
    action = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on, ls.THREE_D_SECURE_CARD))
    failed = ls.authenticate(stripe_on, payment.intent_id, success=False)
    t = int(time.time()) + 1
    assert _post_event(client, "evt_3ds_failed_b", "payment_intent.payment_failed", failed, t + 1).json()["result"] \
        == "applied"
    assert _post_event(client, "evt_3ds_action_b", "payment_intent.requires_action", action, t).json()["result"] \
        == "stale"
    assert _state(payment)["status"] == PaymentStatus.REQUIRES_PAYMENT_METHOD


def _paid(client, stripe_on) -> Payment:
    payment = _started(stripe_on)
    ls.pay_with_card(stripe_on, payment.intent_id)
    payment_services.payment_sync(payment=payment)
    assert _state(payment)["status"] == PaymentStatus.SUCCEEDED
    return payment


@pytest.mark.parametrize("order", ["created_then_failed", "failed_then_created"])
def test_failed_refund_is_not_in_the_refunded_total(client, stripe_on, order):
    payment = _paid(client, stripe_on)
    refund = ls.client(stripe_on).v1.refunds.create({"payment_intent": payment.intent_id, "amount": 1000}).to_dict()
    created = dict(refund, status="pending")
    failed = dict(refund, status="failed", failure_reason="expired_or_canceled_card")
    t = int(time.time()) + 1
    events = [("evt_refund_created", "refund.created", created, t),
              ("evt_refund_failed", "refund.failed", failed, t + 3)]
    if order == "failed_then_created":
        events.reverse()
    for event_id, event_type, obj, created_at in events:
        assert _post_event(client, event_id, event_type, obj, created_at).status_code == 200
        if event_type == "refund.created" and order == "created_then_failed":
            assert _state(payment)["refunded"] == 1000  # a pending refund counts
    assert _state(payment)["refunded"] == 0
    assert PaymentRefund.objects.get(refund_id=refund["id"]).status == "failed"
    assert payment_selectors.payment_view(payment.contract).label == PaymentStatus.SUCCEEDED.label  # not "refunded"


def test_refunded_total_is_recomputed_from_the_refunds(client, stripe_on):
    """Two refunds, one fails: the total is the other one, not what was ever added up."""
    payment = _paid(client, stripe_on)
    c = ls.client(stripe_on)
    first = c.v1.refunds.create({"payment_intent": payment.intent_id, "amount": 1000}).to_dict()
    second = c.v1.refunds.create({"payment_intent": payment.intent_id, "amount": 700}).to_dict()
    t = int(time.time()) + 1
    _post_event(client, "evt_r1_created", "refund.created", dict(first, status="pending"), t)
    _post_event(client, "evt_r2_created", "refund.created", dict(second, status="pending"), t)
    assert _state(payment)["refunded"] == 1700
    _post_event(client, "evt_r2_failed", "refund.failed", dict(second, status="failed"), t + 1)
    _post_event(client, "evt_r1_updated", "refund.updated", dict(first, status="succeeded"), t + 2)
    assert _state(payment)["refunded"] == 1000


# --- malformed but correctly signed ----------------------------------------------------------------------------


def _valid_failed_event(stripe_on) -> tuple[Payment, dict]:
    """A payment, and a valid payment_intent.payment_failed event for it (3-D Secure refused)."""
    payment = _started(stripe_on)
    ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on, ls.THREE_D_SECURE_CARD))
    failed = ls.authenticate(stripe_on, payment.intent_id, success=False)
    event = json.loads(ls.event_payload("evt_valid", "payment_intent.payment_failed", failed,
                                        created=int(time.time()) + 1))
    return payment, event


def _nothing_changed(payment: Payment, before: dict, audit_count: int) -> None:
    assert _state(payment) == before
    assert not StripeEvent.objects.exists()
    assert AuditEvent.objects.count() == audit_count


# A request whose body holds NUL, a lone surrogate, a non-finite number or absurd nesting may be
# refused at the edge (a middleware checking every JSON body) before the webhook's view runs, with a
# code of its own; either way it is a 400 JSON error with a message. The service refuses the same
# payloads by itself (`_refused_by_service`, code bad_payload), whatever sits in front of it.


def _assert_refused(response) -> None:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] and body["message"]


def _refused_by_service(payload: bytes, signature: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        webhooks.webhook_receive(payload=payload, signature=signature or ls.sign(payload))
    assert refused.value.code == "bad_payload" and refused.value.messages[0]
    return refused.value


def _malformed_message(field: str) -> str:
    with translation.override("zh-hans"):
        return stripe_client.malformed_message(field)


def test_nul_character_in_a_string_is_a_400_not_a_503(client, stripe_on):
    payment, event = _valid_failed_event(stripe_on)
    before, audit_count = _state(payment), AuditEvent.objects.count()
    event["data"]["object"]["last_payment_error"]["message"] = "declined\u0000"
    payload = json.dumps(event).encode()
    assert b"\\u0000" in payload
    _assert_refused(_post(client, payload))
    _nothing_changed(payment, before, audit_count)
    with translation.override("zh-hans"):
        refused = _refused_by_service(payload)
    assert refused.messages[0] == _malformed_message("data.object.last_payment_error.message")
    _nothing_changed(payment, before, audit_count)


def test_non_numeric_amount_received_is_a_400_not_a_500(client, stripe_on):
    payment, event = _valid_failed_event(stripe_on)
    before, audit_count = _state(payment), AuditEvent.objects.count()
    event["data"]["object"]["amount_received"] = "12a"
    response = _post(client, json.dumps(event).encode())
    assert response.status_code == 400 and response.json()["code"] == "bad_payload"
    assert response.json()["message"] == _malformed_message("data.object.amount_received")
    assert response.json()["message"] != "" and "amount_received" in response.json()["message"]
    _nothing_changed(payment, before, audit_count)


def _set(path: str, value):
    def mutate(event: dict) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        target[last] = value
    return mutate


def _drop(path: str):
    def mutate(event: dict) -> None:
        *parents, last = path.split(".")
        target = event
        for key in parents:
            target = target[key]
        del target[last]
    return mutate


MUTATIONS = {
    # NUL and invalid Unicode anywhere, even in a field the site does not read
    "nul in metadata": _set("data.object.metadata", {"note": "a\u0000b"}),
    "nul in a key": _set("data.object.metadata", {"k\u0000": "v"}),
    "nul in the event id": _set("id", "evt_\u0000"),
    "lone surrogate": _set("data.object.metadata", {"note": "\ud800"}),
    # non-numeric, wrong-typed and absurd amounts
    "amount_received float": _set("data.object.amount_received", 12.5),
    "amount_received bool": _set("data.object.amount_received", True),
    "amount_received negative": _set("data.object.amount_received", -1),
    "amount_received beyond int64": _set("data.object.amount_received", 2 ** 70),
    "amount_received above amount": _set("data.object.amount_received", 10 ** 9),
    "amount_capturable text": _set("data.object.amount_capturable", "all"),
    "amount as text": _set("data.object.amount", "5000"),
    "amount not the payment's": _set("data.object.amount", 1),
    "currency not the payment's": _set("data.object.currency", "usd"),
    # wrong types and unknown values
    "status unknown": _set("data.object.status", "teleported"),
    "status not a string": _set("data.object.status", 7),
    "status very long": _set("data.object.status", "x" * 500),
    "error not an object": _set("data.object.last_payment_error", "declined"),
    "error message not a string": _set("data.object.last_payment_error", {"message": 42}),
    "object of another kind": _set("data.object.object", "charge"),
    "data not an object": _set("data", ["x"]),
    "intent id not a string": _set("data.object.id", 123),
    "created as text": _set("created", "yesterday"),
    "created absurd": _set("created", 10 ** 15),
    "created negative": _set("created", -5),
    "event id too long": _set("id", "evt_" + "x" * 300),
    "event type not a string": _set("type", ["payment_intent.succeeded"]),
    "event type too long": _set("type", "payment_intent." + "x" * 200),
    # missing fields
    "no status": _drop("data.object.status"),
    "no amount": _drop("data.object.amount"),
    "no object kind": _drop("data.object.object"),
    "no data object": _drop("data.object"),
    "no created": _drop("created"),
    "no id": _drop("id"),
    "no type": _drop("type"),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_malformed_signed_event_is_a_400_and_changes_nothing(client, stripe_on, mutation):
    payment, event = _valid_failed_event(stripe_on)
    good = copy.deepcopy(event)
    before, audit_count = _state(payment), AuditEvent.objects.count()
    MUTATIONS[mutation](event)
    payload = json.dumps(event).encode()
    _assert_refused(_post(client, payload))
    _nothing_changed(payment, before, audit_count)
    _refused_by_service(payload)
    _nothing_changed(payment, before, audit_count)
    # The same event unharmed is applied: the refusal was about the mutation alone.
    assert _post(client, json.dumps(good).encode()).json()["result"] == "applied"
    assert _state(payment)["status"] == PaymentStatus.REQUIRES_PAYMENT_METHOD


RAW_PAYLOADS = {
    "not an object": b"[1, 2, 3]",
    "a bare string": b'"payment_intent.succeeded"',
    "NaN": b'{"id": "evt_nan", "type": "payment_intent.succeeded", "created": NaN, "data": {"object": {}}}',
    "infinite float": b'{"id": "evt_inf", "type": "x.y", "created": 1e999, "data": {"object": {}}}',
    "nested beyond reason": b"[" * 100_000 + b"]" * 100_000,
    "invalid UTF-8": b'{"id": "evt_\xff", "type": "x.y"}',
    "huge integer": b'{"id": "evt_big", "type": "x.y", "created": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("name", list(RAW_PAYLOADS), ids=list(RAW_PAYLOADS))
def test_signed_payload_that_is_not_an_event_is_a_400(client, stripe_on, name):
    payload = RAW_PAYLOADS[name]
    signature = ls.sign(payload) if name != "invalid UTF-8" else _sign_bytes(payload)
    _assert_refused(_post(client, payload, signature))
    _refused_by_service(payload, signature)
    assert not StripeEvent.objects.exists()


def _sign_bytes(payload: bytes) -> str:
    import hashlib
    import hmac

    t = int(time.time())
    return f"t={t},v1={hmac.new(ls.WEBHOOK_SECRET.encode(), f'{t}.'.encode() + payload, hashlib.sha256).hexdigest()}"


REFUND_MUTATIONS = {
    "refund amount as text": ("refund.created", _set("data.object.amount", "1000")),
    "refund amount above the payment": ("refund.created", _set("data.object.amount", 10 ** 12)),
    "refund amount zero": ("refund.created", _set("data.object.amount", 0)),
    "refund status unknown": ("refund.updated", _set("data.object.status", "evaporated")),
    "refund with no status": ("refund.failed", _drop("data.object.status")),
    "refund of another intent": ("refund.created", _set("data.object.payment_intent", 17)),
    "charge refunded above its amount": ("charge.refunded", _set("data.object.amount_refunded", 10 ** 12)),
    "charge refunds not a list": ("charge.refunded", _set("data.object.refunds", {"data": "many"})),
    "charge refund malformed": ("charge.refunded", _set("data.object.refunds", {"data": [{"id": "re_x"}]})),
    "charge amount_refunded missing": ("charge.refunded", _drop("data.object.amount_refunded")),
}


@pytest.mark.parametrize("mutation", list(REFUND_MUTATIONS), ids=list(REFUND_MUTATIONS))
def test_malformed_refund_and_charge_events_are_a_400(client, stripe_on, mutation):
    payment = _paid(client, stripe_on)
    refund = ls.client(stripe_on).v1.refunds.create({"payment_intent": payment.intent_id, "amount": 1000}).to_dict()
    charge = ls.retrieve_charge(stripe_on, payment.intent_id)
    event_type, mutate = REFUND_MUTATIONS[mutation]
    obj = charge if event_type == "charge.refunded" else refund
    event = json.loads(ls.event_payload("evt_bad_refund", event_type, obj, created=int(time.time()) + 1))
    before, audit_count = _state(payment), AuditEvent.objects.count()
    events_before = StripeEvent.objects.count()
    mutate(event)
    payload = json.dumps(event).encode()
    _assert_refused(_post(client, payload))
    _refused_by_service(payload)
    assert _state(payment) == before and AuditEvent.objects.count() == audit_count
    assert StripeEvent.objects.count() == events_before and not PaymentRefund.objects.exists()
