"""Payment of contracts through Stripe PaymentIntents, and Stripe's webhooks.

- The owner pays the contract amount (integer fen, currency CNY). When the contract says
  pay-on-acceptance the PaymentIntent uses manual capture: the money is held and captured at
  acceptance. Otherwise it is captured at once.
- A cancelled contract releases a held payment, or refunds a captured one, whole or in part.
- Every write to Stripe carries an idempotency key derived from the contract, the action and the
  amount, so a retried request never charges or refunds twice.
- Webhooks are verified by signature, stored once by event id (a unique constraint) and applied
  once. They may arrive in any order or more than once: a payment's status only moves up the rank
  of PAYMENT_STATUS_RANK and amounts only grow, so a late event never moves a payment back.
- Without STRIPE_SECRET_KEY the site runs as before and payment shows as "offline".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions
from .audit import audit_record
from .contract_models import (PAYMENT_STATUS_RANK, Contract, ContractStatus, Payment, PaymentRefund, PaymentStatus,
                              StripeEvent)
from .models import User

logger = logging.getLogger(__name__)

CURRENCY = "cny"
OFFLINE = "offline"
PAYABLE_STATUSES = (ContractStatus.IN_SERVICE, ContractStatus.DELIVERED, ContractStatus.ACCEPTED)
P = PaymentStatus


def stripe_enabled() -> bool:
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def _client():
    import stripe

    base = getattr(settings, "STRIPE_API_BASE", "")
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base} if base else None,
                               max_network_retries=2)


def idempotency_key(*, contract: Contract, action: str, amount_fen: int, attempt: int = 1) -> str:
    return f"zjcs-contract-{contract.pk}-{action}-{amount_fen}-{attempt}"


class PaymentUnavailable(ValidationError):
    def __init__(self, exc: Exception):
        import stripe

        if isinstance(exc, stripe.APIConnectionError):  # unreachable: say so, without its address
            super().__init__(_("Payment is unavailable right now: the payment service cannot be reached. Nothing was "
                               "charged or recorded; the contract is not affected. Please try again later."),
                             code="payment_unavailable")
            return
        message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
        super().__init__(_("The payment service answered: %(m)s") % {"m": message[:300]}, code="payment_unavailable")


def _to_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# --- reading Stripe's objects -----------------------------------------------------------------------------


def _charge_of(intent: dict) -> dict | None:
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        return charge
    charges = (intent.get("charges") or {}).get("data") or []
    return charges[-1] if charges and isinstance(charges[-1], dict) else None


def intent_state(intent: dict) -> dict[str, Any]:
    """Status and amounts (fen) of a PaymentIntent, whichever fields the API version sends."""
    status = intent.get("status") or P.REQUIRES_PAYMENT_METHOD
    amount = int(intent.get("amount") or 0)
    charge = _charge_of(intent)
    if "amount_capturable" in intent:
        capturable = int(intent.get("amount_capturable") or 0)
    else:
        capturable = amount if status == P.REQUIRES_CAPTURE else 0
    if "amount_received" in intent:
        received = int(intent.get("amount_received") or 0)
    else:
        received = amount if status == P.SUCCEEDED else 0
    refunded = int(charge.get("amount_refunded") or 0) if charge else None
    error = (intent.get("last_payment_error") or {}).get("message") or ""
    return {"status": status, "capturable": capturable, "received": received, "refunded": refunded, "error": error}


def _apply_intent(payment: Payment, intent: dict, *, actor: User | None, source: str) -> bool:
    """Mirror a PaymentIntent onto the payment, never backwards. Caller holds the payment lock.
    Returns whether the status moved."""
    state = intent_state(intent)
    new = state["status"]
    fields = {"updated_at"}
    moved = False
    before = {"status": payment.status, "received": payment.amount_received_fen, "refunded": payment.amount_refunded_fen}
    if new in PAYMENT_STATUS_RANK and PAYMENT_STATUS_RANK[new] > payment.rank:
        payment.status = new
        payment.amount_capturable_fen = state["capturable"]
        fields |= {"status", "amount_capturable_fen"}
        moved = True
    elif new == payment.status and state["capturable"] != payment.amount_capturable_fen and new == P.REQUIRES_CAPTURE:
        payment.amount_capturable_fen = state["capturable"]
        fields.add("amount_capturable_fen")
    if payment.status in (P.SUCCEEDED, P.CANCELED) and payment.amount_capturable_fen:
        payment.amount_capturable_fen = 0
        fields.add("amount_capturable_fen")
    if state["received"] > payment.amount_received_fen:
        payment.amount_received_fen = state["received"]
        fields.add("amount_received_fen")
    if state["refunded"] is not None and state["refunded"] > payment.amount_refunded_fen:
        payment.amount_refunded_fen = state["refunded"]
        fields.add("amount_refunded_fen")
    if state["error"] and state["error"] != payment.last_error:
        payment.last_error = state["error"][:255]
        fields.add("last_error")
    payment.updated_at = timezone.now()
    payment.save(update_fields=sorted(fields))
    after = {"status": payment.status, "received": payment.amount_received_fen, "refunded": payment.amount_refunded_fen}
    if after != before:
        audit_record(actor=actor, action=f"payment.{payment.status}" if moved else "payment.update", obj=payment,
                     before=before, after={**after, "source": source})
    return moved


def _apply_refund(payment: Payment, refund: dict, *, actor: User | None, reason: str = "") -> PaymentRefund:
    """Record a Stripe refund once (unique refund id) and raise the refunded total. Caller holds the lock."""
    amount = int(refund.get("amount") or 0)
    row, created = PaymentRefund.objects.get_or_create(
        refund_id=refund["id"], defaults={"payment": payment, "amount_fen": amount, "status": refund.get("status") or "",
                                          "reason": reason, "created_by": actor, "created_at": timezone.now()})
    if not created and refund.get("status") and row.status != refund["status"]:
        row.status = refund["status"]
        row.save(update_fields=["status"])
    total = sum(r.amount_fen for r in payment.refunds.exclude(status__in=["failed", "canceled"]))
    if total > payment.amount_refunded_fen:
        before = payment.amount_refunded_fen
        payment.amount_refunded_fen = total
        payment.updated_at = timezone.now()
        payment.save(update_fields=["amount_refunded_fen", "updated_at"])
        audit_record(actor=actor, action="payment.refund", obj=payment, before={"refunded": before},
                     after={"refunded": total, "refund": row.refund_id, "amount": amount, "reason": reason})
    return row


# --- reads used by pages, the API and the contract services ------------------------------------------------


def live_payment(contract: Contract) -> Payment | None:
    return contract.payments.exclude(status=P.CANCELED).order_by("-attempt").first()


@dataclass(frozen=True)
class PaymentView:
    status: str  # "offline", "none" (not started) or a PaymentStatus value
    label: str
    payment: Payment | None
    client_secret: str | None = None
    publishable_key: str = ""

    @property
    def offline(self) -> bool:
        return self.status == OFFLINE


def payment_view(contract: Contract) -> PaymentView:
    payment = contract.payments.order_by("-attempt").first()
    if payment is None:
        if not stripe_enabled():
            return PaymentView(OFFLINE, _("offline: payment is settled outside the platform"), None)
        return PaymentView("none", _("not paid yet"), None, publishable_key=settings.STRIPE_PUBLISHABLE_KEY)
    label = PaymentStatus(payment.status).label
    if payment.amount_refunded_fen:
        label = (_("refunded") if payment.amount_refunded_fen >= payment.amount_received_fen
                 else _("partly refunded"))
    return PaymentView(payment.status, label, payment, publishable_key=getattr(settings, "STRIPE_PUBLISHABLE_KEY", ""))


def payment_blocks_close(contract: Contract) -> str | None:
    """Why the owner may not close the contract yet, or None."""
    if not stripe_enabled():
        return None
    payment = live_payment(contract)
    if payment is None:
        return _("Pay the contract amount before closing it.")
    if payment.status != P.SUCCEEDED:
        return _("The payment is not complete yet (%(s)s).") % {"s": PaymentStatus(payment.status).label}
    return None


# --- writes -----------------------------------------------------------------------------------------------


def payment_start(*, actor: User, contract: Contract) -> PaymentView:
    """The owner starts paying: a PaymentIntent for the contract amount (held when the contract pays
    on acceptance and the work is not accepted yet). Returns its client secret for Stripe.js. A
    repeated call returns the same PaymentIntent."""
    if not permissions.can_act_for(actor, contract.owner):
        raise PermissionDenied(_("Only the project owner pays the contract."))
    if not stripe_enabled():
        return payment_view(contract)
    import stripe

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
        now = timezone.now()
        payment = Payment.objects.create(contract=contract, attempt=attempt, intent_id=intent["id"],
                                         client_secret=intent.get("client_secret") or "", amount_fen=contract.amount_fen,
                                         currency=CURRENCY, capture_method=params["capture_method"],
                                         started_by=actor, created_at=now, updated_at=now)
        audit_record(actor=actor, action="payment.start", obj=payment,
                     after={"contract": contract.pk, "intent": payment.intent_id, "amount_fen": payment.amount_fen,
                            "capture_method": payment.capture_method})
        _apply_intent(payment, intent, actor=actor, source="create")
    view = payment_view(contract)
    return PaymentView(view.status, view.label, payment, payment.client_secret, view.publishable_key)


def _locked_payment(payment_id: int) -> Payment:
    """Lock in the global order: request, contract, payment."""
    from .contract_services import _lock

    contract_id = Payment.objects.values_list("contract_id", flat=True).get(pk=payment_id)
    _lock(contract_id)
    return Payment.objects.select_for_update().select_related("contract").get(pk=payment_id)


def payment_sync(*, payment: Payment, actor: User | None = None) -> Payment:
    """Read the PaymentIntent from Stripe and mirror it (never backwards)."""
    if not stripe_enabled():
        return payment
    import stripe

    try:
        intent = _to_dict(_client().v1.payment_intents.retrieve(payment.intent_id, {"expand": ["latest_charge"]}))
    except stripe.StripeError as exc:
        raise PaymentUnavailable(exc) from exc
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_intent(payment, intent, actor=actor, source="sync")
    _close_if_settled(payment.contract_id)
    return payment


def payment_capture(*, payment: Payment, actor: User | None = None) -> Payment:
    """Capture a held payment in full (at acceptance)."""
    import stripe

    payment = payment_sync(payment=payment, actor=actor)
    if payment.status != P.REQUIRES_CAPTURE:
        return payment
    key = idempotency_key(contract=payment.contract, action="capture", amount_fen=payment.amount_fen,
                          attempt=payment.attempt)
    try:
        intent = _to_dict(_client().v1.payment_intents.capture(
            payment.intent_id, {"amount_to_capture": payment.amount_fen, "expand": ["latest_charge"]},
            {"idempotency_key": key}))
    except stripe.StripeError as exc:
        raise PaymentUnavailable(exc) from exc
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_intent(payment, intent, actor=actor, source="capture")
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
    import stripe

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
    try:
        refund = _to_dict(_client().v1.refunds.create({"payment_intent": payment.intent_id, "amount": amount,
                                                       "metadata": {"contract_id": str(contract.pk)}},
                                                      {"idempotency_key": key}))
    except stripe.StripeError as exc:
        raise PaymentUnavailable(exc) from exc
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_refund(payment, refund, actor=actor, reason=reason)
    return payment


def payment_release(*, payment: Payment, actor: User | None, reason: str = "") -> Payment:
    """Cancel a PaymentIntent that has not been captured (releases a hold)."""
    import stripe

    key = idempotency_key(contract=payment.contract, action="cancel", amount_fen=payment.amount_fen,
                          attempt=payment.attempt)
    try:
        intent = _to_dict(_client().v1.payment_intents.cancel(payment.intent_id, {}, {"idempotency_key": key}))
    except stripe.StripeError as exc:
        raise PaymentUnavailable(exc) from exc
    with transaction.atomic():
        payment = _locked_payment(payment.pk)
        _apply_intent(payment, intent, actor=actor, source="cancel")
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
    from .contract_services import contract_close

    contract = Contract.objects.get(pk=contract_id)
    if contract.status != ContractStatus.ACCEPTED:
        return
    payment = live_payment(contract)
    if payment is not None and payment.status == P.SUCCEEDED:
        try:
            contract_close(actor=None, contract=contract, reason=_("Accepted and paid."))
        except ValidationError as exc:  # a concurrent close got there first
            logger.info("contract %s not closed: %s", contract_id, exc)


# --- webhooks -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    type: str
    duplicate: bool
    result: str


def _intent_id_of(event_type: str, obj: dict) -> str | None:
    if event_type.startswith("payment_intent."):
        return obj.get("id")
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        return intent.get("id")
    return intent


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookResult:
    """Verify a webhook by its signature, store the event once and apply it once."""
    import stripe

    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        raise ValidationError(_("Stripe webhooks are not configured on this site."), code="webhook_not_configured")
    if not signature:
        raise ValidationError(_("The Stripe-Signature header is missing."), code="bad_signature")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError:
        raise ValidationError(_("The Stripe signature does not match this payload; the event was refused."),
                              code="bad_signature")
    except ValueError:
        raise ValidationError(_("The webhook payload is not valid JSON."), code="bad_payload")
    event = json.loads(payload.decode("utf-8") if isinstance(payload, (bytes, bytearray)) else payload)
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id or not event_type:
        raise ValidationError(_("The event has no id or type."), code="bad_payload")
    obj = ((event.get("data") or {}).get("object")) or {}
    intent_id = _intent_id_of(event_type, obj)
    payment = Payment.objects.filter(intent_id=intent_id).first() if intent_id else None
    close_contract = None
    try:
        with transaction.atomic():
            if payment is not None:
                payment = _locked_payment(payment.pk)
            stored = StripeEvent.objects.create(event_id=event_id, type=event_type, created=int(event.get("created") or 0),
                                                payload=event, received_at=timezone.now(), payment=payment)
            result = _apply_event(payment, event_type, obj)
            stored.result = result
            stored.save(update_fields=["result"])
            if payment is not None:
                close_contract = payment.contract_id
    except IntegrityError:
        existing = StripeEvent.objects.filter(event_id=event_id).first()
        if existing is None:
            raise
        return WebhookResult(event_id, event_type, True, existing.result)
    if close_contract is not None:
        _close_if_settled(close_contract)
    return WebhookResult(event_id, event_type, False, result)


def _apply_event(payment: Payment | None, event_type: str, obj: dict) -> str:
    if payment is None:
        return "ignored"
    if event_type.startswith("payment_intent."):
        if obj.get("object") not in (None, "payment_intent"):
            return "ignored"
        return "applied" if _apply_intent(payment, obj, actor=None, source=event_type) else "stale"
    if event_type.startswith("charge.") and obj.get("object") == "charge":
        refunded = int(obj.get("amount_refunded") or 0)
        if refunded > payment.amount_refunded_fen:
            before = payment.amount_refunded_fen
            payment.amount_refunded_fen = refunded
            payment.updated_at = timezone.now()
            payment.save(update_fields=["amount_refunded_fen", "updated_at"])
            audit_record(actor=None, action="payment.refund", obj=payment, before={"refunded": before},
                         after={"refunded": refunded, "source": event_type})
            return "applied"
        return "stale"
    if event_type.startswith(("refund.", "charge.refund.")) and obj.get("object") == "refund" and obj.get("id"):
        _apply_refund(payment, obj, actor=None)
        return "applied"
    return "ignored"
