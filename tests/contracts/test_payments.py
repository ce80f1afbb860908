"""Payment against a real localstripe server: hold and capture at acceptance, capture at once,
release on cancellation, whole and partial refunds — the marketplace's records always matching
what Stripe (localstripe) returns for the PaymentIntent. And without keys: "offline", no errors."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError


from market.contracts import services as contract_services
from market.contracts.models import ContractStatus
from market.payments import selectors as payment_selectors
from market.payments import services as payment_services
from market.payments.models import Payment, PaymentRefund, PaymentStatus
from market.core.models import AuditEvent
from market.requests.models import RequestStatus, ServiceRequest

from . import stripe_helpers as ls
from .factories import agency_user, freeze, owner_user, pdf, signed_contract

pytestmark = pytest.mark.django_db


def _matches_stripe(base: str, payment: Payment) -> dict:
    """The Payment mirrors the PaymentIntent as localstripe returns it."""
    payment.refresh_from_db()
    intent = ls.retrieve_intent(base, payment.intent_id)
    charge = intent["latest_charge"] or {}
    assert intent["status"] == payment.status
    assert intent["amount"] == payment.amount_fen and intent["currency"] == "cny"
    assert intent["capture_method"] == payment.capture_method
    assert intent["metadata"]["contract_id"] == str(payment.contract_id)
    if intent["status"] == "succeeded":
        assert charge["captured"] is True and payment.amount_received_fen == charge["amount"]
    else:
        assert payment.amount_received_fen == 0
    if intent["status"] == "requires_capture":
        assert charge["captured"] is False and payment.amount_capturable_fen == charge["amount"]
    assert payment.amount_refunded_fen == (charge.get("amount_refunded") or 0)
    return intent


def _deliver_and_accept(contract, at):
    with freeze(at):
        delivery = contract_services.deliverable_upload(actor=agency_user(contract), contract=contract,
                                                        note="成果报告", files=[pdf()])
    with freeze(at + dt.timedelta(hours=1)):
        contract_services.deliverable_accept(actor=owner_user(contract), delivery_round=delivery)
    contract.refresh_from_db()


def test_hold_then_capture_at_acceptance(stripe_on):
    contract, signed_at = signed_contract(pay_on_acceptance=True)
    owner = owner_user(contract)
    start = payment_services.payment_start(actor=owner, contract=contract)
    payment = start.payment
    assert start.client_secret and start.client_secret.startswith(payment.intent_id)
    assert start.publishable_key == ls.PUBLISHABLE_KEY
    assert (payment.capture_method, payment.amount_fen, payment.currency) == ("manual", contract.amount_fen, "cny")
    _matches_stripe(stripe_on, payment)

    again = payment_services.payment_start(actor=owner, contract=contract)  # a double click: the same intent
    assert again.payment.pk == payment.pk and again.client_secret == start.client_secret
    assert Payment.objects.filter(contract=contract).count() == 1

    ls.pay_with_card(stripe_on, payment.intent_id)  # the owner's browser confirms the card
    payment_services.payment_sync(payment=payment)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_CAPTURE and payment.is_held
    _matches_stripe(stripe_on, payment)

    _deliver_and_accept(contract, signed_at + dt.timedelta(days=2))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_received_fen == contract.amount_fen
    _matches_stripe(stripe_on, payment)
    assert contract.status == ContractStatus.CLOSED  # accepted and paid
    assert ServiceRequest.objects.get(pk=contract.request_id).status == RequestStatus.CLOSED
    assert AuditEvent.objects.filter(action="payment.succeeded", object_id=str(payment.pk)).count() == 1


def test_captured_at_once_without_pay_on_acceptance(stripe_on):
    contract, signed_at = signed_contract(pay_on_acceptance=False)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    assert start.payment.capture_method == "automatic"
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    payment = payment_services.payment_sync(payment=start.payment)
    assert payment.status == PaymentStatus.SUCCEEDED
    _matches_stripe(stripe_on, payment)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE  # paid, but the work is not accepted yet
    _deliver_and_accept(contract, signed_at + dt.timedelta(days=2))
    assert contract.status == ContractStatus.CLOSED


def test_cancelling_releases_the_hold(stripe_on):
    contract, signed_at = signed_contract(pay_on_acceptance=True)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    with freeze(signed_at + dt.timedelta(days=1)):
        contract_services.contract_cancel(actor=owner_user(contract), contract=contract, reason="项目终止")
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.status == PaymentStatus.CANCELED and payment.amount_capturable_fen == 0
    intent = _matches_stripe(stripe_on, payment)
    assert intent["status"] == "canceled"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLED
    with pytest.raises(ValidationError):  # a cancelled contract is not paid again
        payment_services.payment_start(actor=owner_user(contract), contract=contract)


def test_partial_refund_when_a_paid_contract_is_cancelled(stripe_on):
    contract, signed_at = signed_contract(pay_on_acceptance=False)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    payment_services.payment_sync(payment=start.payment)
    part = contract.amount_fen // 4
    with freeze(signed_at + dt.timedelta(days=1)):
        with pytest.raises(ValidationError) as exc:  # more than was paid
            contract_services.contract_cancel(actor=owner_user(contract), contract=contract, reason="终止",
                                              refund_fen=contract.amount_fen + 1)
        assert "refund_fen" in exc.value.error_dict
        contract_services.contract_cancel(actor=owner_user(contract), contract=contract,
                                          reason="已完成外业部分，退还剩余款项", refund_fen=part)
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.amount_refunded_fen == part
    _matches_stripe(stripe_on, payment)
    refunds = ls.list_refunds(stripe_on, payment.intent_id)
    assert [r["amount"] for r in refunds] == [part]
    assert list(PaymentRefund.objects.filter(payment=payment).values_list("refund_id", "amount_fen")) == \
        [(refunds[0]["id"], part)]
    # The rest, later, by a regulator: the whole remainder.
    from tests.factories import make_regulator

    with pytest.raises(PermissionDenied):
        payment_services.payment_refund(contract=contract, actor=agency_user(contract))
    payment_services.payment_refund(contract=contract, actor=make_regulator(), reason="协商退还全部")
    payment.refresh_from_db()
    assert payment.amount_refunded_fen == contract.amount_fen
    _matches_stripe(stripe_on, payment)
    assert sorted(r["amount"] for r in ls.list_refunds(stripe_on, payment.intent_id)) == \
        sorted([part, contract.amount_fen - part])
    with pytest.raises(ValidationError):
        payment_services.payment_refund(contract=contract, actor=owner_user(contract))  # nothing left


def test_whole_refund_by_default(stripe_on):
    contract, signed_at = signed_contract(pay_on_acceptance=False)
    start = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    ls.pay_with_card(stripe_on, start.payment.intent_id)
    with freeze(signed_at + dt.timedelta(days=1)):
        contract_services.contract_cancel(actor=owner_user(contract), contract=contract, reason="项目取消")
    payment = Payment.objects.get(pk=start.payment.pk)
    assert payment.amount_received_fen == payment.amount_refunded_fen == contract.amount_fen
    _matches_stripe(stripe_on, payment)


def test_only_the_owner_pays_and_only_a_signed_contract(stripe_on):
    from .factories import drafted_contract

    contract, _signed_at = signed_contract()
    with pytest.raises(PermissionDenied):
        payment_services.payment_start(actor=agency_user(contract), contract=contract)
    drafted, _bids, _t = drafted_contract()
    with pytest.raises(ValidationError) as exc:
        payment_services.payment_start(actor=owner_user(drafted), contract=drafted)
    assert exc.value.code == "not_payable"


def test_an_unreachable_stripe_is_a_clear_error_not_a_crash(settings):
    from .stripe_helpers import free_port

    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    contract, _t = signed_contract()
    with pytest.raises(ValidationError) as exc:
        payment_services.payment_start(actor=owner_user(contract), contract=contract)
    assert exc.value.code == "payment_unavailable"
    assert not Payment.objects.exists()


def test_without_keys_payment_is_offline_and_nothing_breaks(client):
    contract, signed_at = signed_contract(pay_on_acceptance=True)
    view = payment_services.payment_start(actor=owner_user(contract), contract=contract)
    assert view.offline and view.client_secret is None and view.payment is None
    _deliver_and_accept(contract, signed_at + dt.timedelta(days=1))
    assert contract.status == ContractStatus.ACCEPTED  # nothing to capture
    contract_services.contract_close(actor=owner_user(contract), contract=contract, reason="线下已付款")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CLOSED
    assert payment_selectors.payment_view(contract).status == "offline"
