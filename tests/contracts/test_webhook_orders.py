"""Every Stripe event type the webhook subscribes to, in realistic sequences applied in every order:
the payment always ends as Stripe's final objects say.

Each sequence is played on localstripe the way a payer and the site do it, and each event carries
a snapshot of the object as localstripe returned it at that step, stamped with the second Stripe
would stamp it (one step a second; steps Stripe takes in one go share a second). The site may re-read
an object from Stripe when an event cannot be ordered: localstripe then answers with its current,
final object. Two things localstripe cannot play are built on its objects: a customer-balance
(bank transfer) PaymentIntent waiting for funds, and refunds that are pending and then fail; for the
latter the test answers the site's re-reads with the final refunds (`stripe_final_refunds`).

Every permutation runs in a savepoint rolled back afterwards, on one payment."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from market.payments import services as payment_services
from market.payments import stripe_client, webhooks
from market.payments.models import Payment, PaymentRefund, PaymentStatus, StripeEvent

from . import stripe_helpers as ls
from .factories import owner_user, signed_contract

pytestmark = pytest.mark.django_db

# The sequences, by the event types they are made of (built below, in the same order).
SEQUENCES = {
    "card_3ds_refused_then_paid": ["payment_intent.created", "payment_intent.requires_action",
                                   "payment_intent.payment_failed", "payment_intent.succeeded"],
    "card_3ds_refused": ["payment_intent.created", "payment_intent.requires_action", "payment_intent.payment_failed"],
    "sepa_processing_then_failed": ["payment_intent.created", "payment_intent.processing",
                                    "payment_intent.payment_failed"],
    "held_captured_refunded": ["payment_intent.created", "payment_intent.amount_capturable_updated",
                               "payment_intent.succeeded", "refund.created", "charge.refunded"],
    "held_then_released": ["payment_intent.created", "payment_intent.amount_capturable_updated",
                           "payment_intent.canceled"],
    "bank_transfer_partly_then_fully_funded": ["payment_intent.created", "payment_intent.requires_action",
                                               "payment_intent.partially_funded", "payment_intent.succeeded"],
    "two_refunds_one_fails": ["refund.created", "refund.created", "charge.refunded", "refund.updated",
                              "refund.failed"],
}


def test_the_sequences_cover_every_subscribed_event_type():
    covered = set().union(*SEQUENCES.values())
    assert covered == webhooks.WEBHOOK_EVENT_TYPES


@dataclass
class Played:
    payment: Payment
    events: list[tuple[str, dict, int]]  # (type, object, created)
    final_refunds: list[dict] | None = None  # when localstripe cannot hold them (answered to the site's re-reads)


def _start(stripe_on, *, pay_on_acceptance: bool = False) -> tuple[Payment, int]:
    contract, _t = signed_contract(pay_on_acceptance=pay_on_acceptance)
    payment = payment_services.payment_start(actor=owner_user(contract), contract=contract).payment
    payment.refresh_from_db()
    return payment, payment.stripe_version


def _intent(stripe_on, payment) -> dict:
    return ls.retrieve_intent(stripe_on, payment.intent_id)


def play_card_3ds_refused_then_paid(stripe_on) -> Played:
    payment, t = _start(stripe_on)
    created = _intent(stripe_on, payment)
    action = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on, ls.THREE_D_SECURE_CARD))
    failed = ls.authenticate(stripe_on, payment.intent_id, success=False)
    paid = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on))
    assert [created["status"], action["status"], failed["status"], paid["status"]] == \
        ["requires_payment_method", "requires_action", "requires_payment_method", "succeeded"]
    return Played(payment, [("payment_intent.created", created, t), ("payment_intent.requires_action", action, t + 1),
                            ("payment_intent.payment_failed", failed, t + 2),
                            ("payment_intent.succeeded", paid, t + 3)])


def play_card_3ds_refused(stripe_on) -> Played:
    payment, t = _start(stripe_on)
    created = _intent(stripe_on, payment)
    action = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on, ls.THREE_D_SECURE_CARD))
    failed = ls.authenticate(stripe_on, payment.intent_id, success=False)
    return Played(payment, [("payment_intent.created", created, t), ("payment_intent.requires_action", action, t + 1),
                            ("payment_intent.payment_failed", failed, t + 1)])  # the bank answers in the same second


def play_sepa_processing_then_failed(stripe_on) -> Played:
    payment, t = _start(stripe_on)
    created = _intent(stripe_on, payment)
    processing = ls.confirm_with(stripe_on, payment.intent_id, ls.sepa_method(stripe_on))
    failed = ls.wait_for(lambda: (i := _intent(stripe_on, payment))["status"] == "requires_payment_method" and i)
    assert processing["status"] == "processing" and failed["last_payment_error"]
    return Played(payment, [("payment_intent.created", created, t), ("payment_intent.processing", processing, t + 1),
                            ("payment_intent.payment_failed", failed, t + 3)])


def play_held_captured_refunded(stripe_on) -> Played:
    payment, t = _start(stripe_on, pay_on_acceptance=True)
    c = ls.client(stripe_on)
    created = _intent(stripe_on, payment)
    held = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on))
    captured = c.v1.payment_intents.capture(payment.intent_id).to_dict()
    refund = c.v1.refunds.create({"payment_intent": payment.intent_id, "amount": 1200}).to_dict()
    charge = ls.retrieve_charge(stripe_on, payment.intent_id)
    assert [held["status"], captured["status"], charge["amount_refunded"]] == ["requires_capture", "succeeded", 1200]
    return Played(payment, [("payment_intent.created", created, t),
                            ("payment_intent.amount_capturable_updated", held, t + 1),
                            ("payment_intent.succeeded", captured, t + 2),
                            ("refund.created", refund, t + 3), ("charge.refunded", charge, t + 3)])


def play_held_then_released(stripe_on) -> Played:
    payment, t = _start(stripe_on, pay_on_acceptance=True)
    created = _intent(stripe_on, payment)
    held = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on))
    released = ls.client(stripe_on).v1.payment_intents.cancel(payment.intent_id).to_dict()
    assert released["status"] == "canceled"
    return Played(payment, [("payment_intent.created", created, t),
                            ("payment_intent.amount_capturable_updated", held, t + 1),
                            ("payment_intent.canceled", released, t + 2)])


def play_bank_transfer_partly_then_fully_funded(stripe_on) -> Played:
    """localstripe has no customer balance: the waiting PaymentIntent is its object with the status
    and next action Stripe gives one; the last step is a real payment."""
    payment, t = _start(stripe_on)
    created = _intent(stripe_on, payment)
    instructions = {"type": "display_bank_transfer_instructions",
                    "display_bank_transfer_instructions": {"amount_remaining": created["amount"], "currency": "cny"}}
    waiting = dict(created, status="requires_action", next_action=instructions)
    partly = dict(waiting, next_action={**instructions, "display_bank_transfer_instructions": {
        "amount_remaining": created["amount"] // 2, "currency": "cny"}})
    paid = ls.confirm_with(stripe_on, payment.intent_id, ls.card_method(stripe_on))
    return Played(payment, [("payment_intent.created", created, t),
                            ("payment_intent.requires_action", waiting, t),  # confirmed at creation: same second
                            ("payment_intent.partially_funded", partly, t + 5),
                            ("payment_intent.succeeded", paid, t + 9)])


def play_two_refunds_one_fails(stripe_on) -> Played:
    """A paid payment, two refunds pending, one succeeds and one fails (localstripe's refunds succeed
    at once, so these refunds are built on its charge and the site's re-reads are answered with them)."""
    payment, _t = _start(stripe_on)
    ls.pay_with_card(stripe_on, payment.intent_id)
    payment_services.payment_sync(payment=payment)
    payment.refresh_from_db()
    t = payment.stripe_version
    charge = ls.retrieve_charge(stripe_on, payment.intent_id)
    suffix = payment.intent_id[3:]

    def refund(n: int, amount: int, status: str) -> dict:
        return {"id": f"re_{n}{suffix}", "object": "refund", "amount": amount, "currency": "cny",
                "charge": charge["id"], "payment_intent": payment.intent_id, "status": status, "created": t,
                "metadata": {}, "reason": None, "failure_reason": "lost_or_stolen_card" if status == "failed" else None}

    r1, r2 = refund(1, 1000, "pending"), refund(2, 700, "pending")
    refunded = dict(charge, amount_refunded=1700, refunded=False,
                    refunds={"object": "list", "data": [r1, r2], "has_more": False})
    return Played(payment, [("refund.created", r1, t + 1), ("refund.created", r2, t + 2),
                            ("charge.refunded", refunded, t + 2),
                            ("refund.updated", dict(r1, status="succeeded"), t + 3),
                            ("refund.failed", refund(2, 700, "failed"), t + 4)],
                  final_refunds=[dict(r1, status="succeeded"), refund(2, 700, "failed")])


PLAYS = {name: globals()[f"play_{name}"] for name in SEQUENCES}


def _expected(stripe_on, played: Played) -> dict:
    """The payment as Stripe's final objects say (computed here, not by the code under test)."""
    intent = ls.retrieve_intent(stripe_on, played.payment.intent_id)
    if played.final_refunds is not None:
        refunds = played.final_refunds
    else:  # (localstripe lists refunds only of a PaymentIntent that has a charge)
        refunds = ls.list_refunds(stripe_on, played.payment.intent_id) if intent["latest_charge"] else []
    amount, status = intent["amount"], intent["status"]
    return {
        "status": status,
        "held": intent.get("amount_capturable", amount if status == "requires_capture" else 0),
        "received": intent.get("amount_received", amount if status == "succeeded" else 0),
        "error": (intent.get("last_payment_error") or {}).get("message") or "",
        "refunded": sum(r["amount"] for r in refunds if r["status"] in ("pending", "succeeded")),
        "refunds": {r["id"]: r["status"] for r in refunds},
    }


def _held(payment: Payment) -> dict:
    payment.refresh_from_db()
    return {"status": payment.status, "held": payment.amount_capturable_fen, "received": payment.amount_received_fen,
            "error": payment.last_error, "refunded": payment.amount_refunded_fen,
            "refunds": dict(PaymentRefund.objects.filter(payment=payment).values_list("refund_id", "status"))}


@pytest.fixture
def reads(monkeypatch):
    """Count the site's re-reads of Stripe's objects (and answer refunds localstripe cannot hold)."""
    counted = {"n": 0, "final_refunds": None}
    real = {name: getattr(stripe_client, name) for name in ("_fetch_intent", "_fetch_refund", "_fetch_refunds")}

    def counting(name):
        def fetch(object_id):
            counted["n"] += 1
            final = counted["final_refunds"]
            if final is not None and name == "_fetch_refund":
                return next(r for r in final if r["id"] == object_id)
            if final is not None and name == "_fetch_refunds":
                return list(final)
            return real[name](object_id)
        return fetch

    for name in real:
        monkeypatch.setattr(stripe_client, name, counting(name))
    return counted


def _deliver(event_id: str, event_type: str, obj: dict, created: int) -> webhooks.WebhookResult:
    payload = ls.event_payload(event_id, event_type, obj, created=created)
    return webhooks.webhook_receive(payload=payload, signature=ls.sign(payload))


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_every_order_ends_in_stripes_final_state(stripe_on, reads, name):
    played = PLAYS[name](stripe_on)
    assert [event_type for event_type, _obj, _t in played.events] == SEQUENCES[name]
    reads["final_refunds"] = played.final_refunds
    expected = _expected(stripe_on, played)
    events = played.events
    orders = 0
    for order in itertools.permutations(range(len(events))):
        with transaction.atomic():
            results = [_deliver(f"evt_{i}", *events[i]) for i in order]
            again = _deliver(f"evt_{order[0]}", *events[order[0]])  # a redelivery changes nothing
            assert again.duplicate and StripeEvent.objects.filter(payment=played.payment).count() == len(events)
            held = _held(played.payment)
            assert held == expected, (f"{name}: delivered as {[events[i][0] for i in order]} "
                                      f"({[r.result for r in results]})")
            transaction.set_rollback(True)
        orders += 1
    assert orders == len(list(itertools.permutations(events)))
    # Nothing of the permutations stayed behind.
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("name", ["card_3ds_refused_then_paid", "sepa_processing_then_failed",
                                  "held_captured_refunded"])
def test_events_in_order_need_no_call_to_stripe(stripe_on, reads, name):
    played = PLAYS[name](stripe_on)
    before = reads["n"]
    results = [_deliver(f"evt_{i}", *event) for i, event in enumerate(played.events)]
    assert reads["n"] == before, [r.result for r in results]
    assert _held(played.payment) == _expected(stripe_on, played)


def test_an_event_that_cannot_be_ordered_while_stripe_is_unreachable_is_refused_then_redelivered(
        stripe_on, reads, settings):
    played = play_card_3ds_refused(stripe_on)
    (_c, created, t0), (_a, action, t1), (_f, failed, _t2) = played.events
    _deliver("evt_failed", "payment_intent.payment_failed", failed, t1 + 1)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{ls.free_port()}"
    # requires_action stamped in the same second as the failure it preceded: only Stripe can say which is newer.
    with pytest.raises(ValidationError) as refused:
        _deliver("evt_action", "payment_intent.requires_action", action, t1 + 1)
    assert refused.value.code == "payment_unavailable"
    assert not StripeEvent.objects.filter(event_id="evt_action").exists()
    assert _held(played.payment)["status"] == PaymentStatus.REQUIRES_PAYMENT_METHOD
    settings.STRIPE_API_BASE = stripe_on  # Stripe delivers it again later
    result = _deliver("evt_action", "payment_intent.requires_action", action, t1 + 1)
    assert not result.duplicate and result.result == "stale"
    assert _held(played.payment) == _expected(stripe_on, played)


@pytest.mark.parametrize("event_type", ["charge.succeeded", "payment_intent.future_status", "customer.created"])
def test_event_types_not_subscribed_are_stored_and_ignored(stripe_on, event_type):
    payment, t = _start(stripe_on)
    before = _held(payment)
    obj = dict(_intent(stripe_on, payment), status="succeeded")
    result = _deliver("evt_other", event_type, obj, int(time.time()))
    assert result.result == "ignored" and event_type not in webhooks.WEBHOOK_EVENT_TYPES
    assert StripeEvent.objects.get(event_id="evt_other").result == "ignored"
    assert _held(payment) == before


def test_a_late_event_after_a_final_status_needs_no_call_to_stripe(stripe_on, reads, settings):
    """Stripe never leaves succeeded: a late amount_capturable_updated is known to be older without
    asking Stripe, even stamped in the same second, even with Stripe unreachable."""
    played = play_held_captured_refunded(stripe_on)
    for i, event in enumerate(played.events):
        _deliver(f"evt_{i}", *event)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{ls.free_port()}"
    before, calls = _held(played.payment), reads["n"]
    _type, held, _t = played.events[1]
    late = _deliver("evt_late_hold", "payment_intent.amount_capturable_updated", held, played.events[-1][2])
    assert late.result == "stale" and reads["n"] == calls
    assert _held(played.payment) == before
