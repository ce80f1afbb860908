"""Writes of payments: start paying a contract, mirror it from Stripe, capture a hold, refund, release,
settle a cancelled contract; and the deadline job's retry of failed captures. Every write to Stripe
carries an idempotency key; what Stripe answers is mirrored by version (mirror.py)."""

from __future__ import annotations

import logging

import stripe
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions
from market.accounts.models import User
from market.contracts.models import Contract, ContractStatus
from market.contracts.services import contract_close, contract_lock
from market.core.audit import audit_record

from .mirror import _apply_fresh, _held_version
from .models import Payment, PaymentRefund, PaymentStatus
from .selectors import PAYABLE_STATUSES, PaymentView, live_payment, payment_view
from .stripe_client import (CURRENCY, PaymentUnavailable, _client, _Fresh, _from_stripe, _read_intent, _read_refunds,
                            _server_version, _stripe_call, _to_dict, idempotency_key, intent_snapshot, refund_snapshot,
                            stripe_enabled)

logger = logging.getLogger(__name__)

P = PaymentStatus


def payment_start(*, actor: User, contract: Contract) -> PaymentView:
    """The owner starts paying: a PaymentIntent for the contract amount (held when the contract pays
    on acceptance and the work is not accepted yet). Returns its client secret for Stripe.js. A
    repeated call returns the same PaymentIntent."""
    if not permissions.can_act_for(actor, contract.owner):
        raise PermissionDenied(_("Only the project owner pays the contract."))
    if not stripe_enabled():
        return payment_view(contract)
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.status not in PAYABLE_STATUSES:
            raise ValidationError(_("A contract is paid once both sides have signed and before it ends."),
                                  code="not_payable")
        existing = live_payment(contract)
        if existing is not None:
            if existing.status == P.SUCCEEDED:
                raise ValidationError(_("This contract is already paid."), code="already_paid")
            view = payment_view(contract)
            return PaymentView(view.status, view.label, existing, existing.client_secret, view.publishable_key)
        attempt = contract.payments.count() + 1
        manual = contract.pay_on_acceptance and contract.status != ContractStatus.ACCEPTED
        params = {
            "amount": contract.amount_fen, "currency": CURRENCY, "capture_method": "manual" if manual else "automatic",
            "payment_method_types": list(getattr(settings, "STRIPE_PAYMENT_METHOD_TYPES", ["card"])),
            "metadata": {"contract_id": str(contract.pk), "contract_number": contract.number,
                         "request_id": str(contract.request_id)},
        }
        key = idempotency_key(contract=contract, action=f"intent-{params['capture_method']}",
                              amount_fen=contract.amount_fen, attempt=attempt)
        try:
            intent = _to_dict(_client().v1.payment_intents.create(params, {"idempotency_key": key}))
        except stripe.StripeError as exc:
            logger.warning("PaymentIntent for contract %s not created: %s", contract.pk, exc)
            raise PaymentUnavailable(exc) from exc
        fresh = _Fresh(_server_version(), intent=_from_stripe(intent_snapshot, intent))
        now = timezone.now()
        payment = Payment.objects.create(contract=contract, attempt=attempt, intent_id=fresh.intent.id,
                                         client_secret=intent.get("client_secret") or "", amount_fen=contract.amount_fen,
                                         currency=CURRENCY, capture_method=params["capture_method"],
                                         started_by=actor, created_at=now, updated_at=now)
        audit_record(actor=actor, action="payment.start", obj=payment,
                     after={"contract": contract.pk, "intent": payment.intent_id, "amount_fen": payment.amount_fen,
                            "capture_method": payment.capture_method})
        _apply_fresh(payment, fresh, actor=actor, source="create")
    view = payment_view(contract)
    return PaymentView(view.status, view.label, payment, payment.client_secret, view.publishable_key)


def _locked_payment(payment_id: int) -> Payment:
    """Lock in the global order: request, contract, payment."""
    contract_id = Payment.objects.values_list("contract_id", flat=True).get(pk=payment_id)
    contract_lock(contract_id)
    return Payment.objects.select_for_update().select_related("contract").get(pk=payment_id)


def payment_sync(*, payment: Payment, actor: User | None = None) -> Payment:
    """Read the PaymentIntent from Stripe and mirror it; when the charge's refunded amount is not the
    total of the refunds held, read the refunds too."""
    if not stripe_enabled():
        return payment
    after = _held_version(payment.pk)
    fresh = _read_intent(payment.intent_id, after=after)
    refunds = None
    held_total = Payment.objects.values_list("amount_refunded_fen", flat=True).get(pk=payment.pk)
    if fresh.intent.charge_refunded is not None and fresh.intent.charge_refunded != held_total:
        refunds = _read_refunds(payment.intent_id, after=after)
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_fresh(payment, fresh, actor=actor, source="sync")
        if refunds is not None:
            _apply_fresh(payment, refunds, actor=actor, source="sync")
    _close_if_settled(payment.contract_id)
    return payment


def payment_capture(*, payment: Payment, actor: User | None = None) -> Payment:
    """Capture a held payment in full (at acceptance)."""
    payment = payment_sync(payment=payment, actor=actor)
    if payment.status != P.REQUIRES_CAPTURE:
        return payment
    key = idempotency_key(contract=payment.contract, action="capture", amount_fen=payment.amount_fen,
                          attempt=payment.attempt)
    after = _held_version(payment.pk)
    intent = _stripe_call(lambda: _client().v1.payment_intents.capture(
        payment.intent_id, {"amount_to_capture": payment.amount_fen, "expand": ["latest_charge"]},
        {"idempotency_key": key}))
    fresh = _Fresh(max(_server_version(), after), intent=_from_stripe(intent_snapshot, intent))
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_fresh(payment, fresh, actor=actor, source="capture")
    _close_if_settled(payment.contract_id)
    return payment


def payment_after_acceptance(*, contract: Contract, actor: User | None) -> Payment | None:
    """After acceptance: capture a held payment, or close the contract if it is already paid.
    A failure is logged, not raised: acceptance stands and the capture job retries."""
    if not stripe_enabled():
        return None
    payment = live_payment(contract)
    if payment is None:
        return None
    try:
        return payment_capture(payment=payment, actor=actor)
    except ValidationError as exc:
        logger.warning("capture of payment %s after acceptance failed: %s", payment.pk, exc)
        return payment


def payments_capture_accepted(*, now) -> int:
    """Deadline job: retry capturing held payments of accepted contracts (a capture that failed)."""
    if not stripe_enabled():
        return 0
    done = 0
    due = Payment.objects.filter(contract__status=ContractStatus.ACCEPTED, status=P.REQUIRES_CAPTURE)
    for payment in list(due.select_related("contract")[:200]):
        try:
            if payment_capture(payment=payment).status == P.SUCCEEDED:
                done += 1
        except ValidationError as exc:
            logger.warning("capture of payment %s failed again: %s", payment.pk, exc)
    return done


def payment_check_refund(*, contract: Contract, refund_fen: int | None) -> None:
    """Validate a refund amount before a contract is cancelled."""
    if refund_fen is None:
        return
    payment = live_payment(contract)
    refundable = payment.amount_received_fen - payment.amount_refunded_fen if payment else 0
    if payment is not None and payment.status == P.REQUIRES_CAPTURE:
        return  # a held payment is released in full; nothing is refunded
    if int(refund_fen) > refundable:
        raise ValidationError({"refund_fen": [_("At most %(n)s fen can be refunded.") % {"n": refundable}]})


def payment_refund(*, contract: Contract, actor: User | None, amount_fen: int | None = None, reason: str = "") -> Payment:
    """Refund a captured payment, whole (the rest not yet refunded) or `amount_fen`."""
    if actor is not None and not (permissions.can_act_for(actor, contract.owner) or permissions.is_regulator(actor)):
        raise PermissionDenied(_("Only the project owner or a regulator may refund."))
    payment = live_payment(contract)
    if payment is None or not stripe_enabled():
        raise ValidationError(_("There is no payment to refund."), code="no_payment")
    payment = payment_sync(payment=payment, actor=actor)
    if payment.status != P.SUCCEEDED:
        raise ValidationError(_("Only a captured payment can be refunded."), code="not_captured")
    refundable = payment.amount_received_fen - payment.amount_refunded_fen
    amount = refundable if amount_fen is None else int(amount_fen)
    if amount <= 0 or amount > refundable:
        raise ValidationError({"amount_fen": [_("Refund from 1 to %(n)s fen.") % {"n": refundable}]})
    key = idempotency_key(contract=contract, action=f"refund{payment.refunds.count() + 1}", amount_fen=amount,
                          attempt=payment.attempt)
    after = _held_version(payment.pk)
    refund = _stripe_call(lambda: _client().v1.refunds.create(
        {"payment_intent": payment.intent_id, "amount": amount, "metadata": {"contract_id": str(contract.pk)}},
        {"idempotency_key": key}))
    fresh = _Fresh(max(_server_version(), after), refunds=(_from_stripe(refund_snapshot, refund),))
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_fresh(payment, fresh, actor=actor, source="refund", reason=reason)
        row = PaymentRefund.objects.get(refund_id=fresh.refunds[0].id)
        if reason and not row.reason:  # its webhook got here first: the refund is ours, say why
            row.reason, row.created_by = reason, row.created_by or actor
            row.save(update_fields=["reason", "created_by"])
            audit_record(actor=actor, action="payment.refund_reason", obj=payment,
                         after={"refund": row.refund_id, "reason": reason})
    return payment


def payment_release(*, payment: Payment, actor: User | None, reason: str = "") -> Payment:
    """Cancel a PaymentIntent that has not been captured (releases a hold)."""
    key = idempotency_key(contract=payment.contract, action="cancel", amount_fen=payment.amount_fen,
                          attempt=payment.attempt)
    after = _held_version(payment.pk)
    intent = _stripe_call(lambda: _client().v1.payment_intents.cancel(payment.intent_id, {}, {"idempotency_key": key}))
    fresh = _Fresh(max(_server_version(), after), intent=_from_stripe(intent_snapshot, intent))
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_fresh(payment, fresh, actor=actor, source="cancel")
        if reason:
            audit_record(actor=actor, action="payment.release", obj=payment, after={"reason": reason})
    return payment


def payment_settle_on_cancel(*, contract: Contract, actor: User | None, refund_fen: int | None = None,
                             reason: str = "") -> Payment | None:
    """After a contract is cancelled: release a hold, or refund a captured payment (whole, or
    `refund_fen`). A Stripe failure is logged and raised for the caller to show; the contract stays cancelled."""
    if not stripe_enabled():
        return None
    payment = live_payment(contract)
    if payment is None:
        return None
    payment = payment_sync(payment=payment, actor=actor)
    if payment.status == P.SUCCEEDED:
        if refund_fen == 0:
            return payment
        return payment_refund(contract=contract, actor=actor, amount_fen=refund_fen, reason=reason)
    if payment.status in (P.REQUIRES_PAYMENT_METHOD, P.REQUIRES_CONFIRMATION, P.REQUIRES_ACTION, P.REQUIRES_CAPTURE):
        return payment_release(payment=payment, actor=actor, reason=reason)
    return payment


def _close_if_settled(contract_id: int) -> None:
    """An accepted contract whose payment has succeeded closes by itself."""
    contract = Contract.objects.get(pk=contract_id)
    if contract.status != ContractStatus.ACCEPTED:
        return
    payment = live_payment(contract)
    if payment is not None and payment.status == P.SUCCEEDED:
        try:
            contract_close(actor=None, contract=contract, reason=_("Accepted and paid."))
        except ValidationError as exc:  # a concurrent close got there first
            logger.info("contract %s not closed: %s", contract_id, exc)

