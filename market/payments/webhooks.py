"""Stripe's webhooks: each event verified by its signature, parsed strictly (a malformed one is
refused before anything is stored), stored once by its id and applied once, by version, in whatever
order events arrive (market/payments/__init__.py)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .mirror import _NEEDS_READ, APPLIED, IGNORED, STALE, _apply_fresh, _held_version, _mirror_intent, _mirror_refund
from .models import Payment, PaymentRefund, StripeEvent
from .services import _close_if_settled, _locked_payment
from .stripe_client import (_STRIPE_ID, ChargeSnapshot, IntentSnapshot, MalformedEvent, RefundSnapshot, Snapshot,
                            _Fresh, _Reader, _read_intent, _read_refund, _read_refunds, _server_version,
                            charge_snapshot, intent_snapshot, refund_snapshot)

# The Stripe events the webhook endpoint subscribes to (README: payment_intent.*, charge.refunded,
# refund.*) and the only ones applied; any other type is stored and answered "ignored".
WEBHOOK_EVENT_TYPES = frozenset({
    "payment_intent.created",
    "payment_intent.requires_action",
    "payment_intent.processing",
    "payment_intent.partially_funded",
    "payment_intent.amount_capturable_updated",
    "payment_intent.payment_failed",
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
})

EARLIEST_EVENT = 1262304000  # 2010-01-01: older than any Stripe event
EVENT_CLOCK_SKEW = 86400  # an event stamped more than a day in the future is not Stripe's
WEBHOOK_TOLERANCE = 300  # seconds a signature stays valid (Stripe's default)

_EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL (PostgreSQL cannot store it) and lone surrogates

_PARSERS = {"payment_intent": intent_snapshot, "charge": charge_snapshot, "refund": refund_snapshot}


def _object_kind(event_type: str) -> str | None:
    if event_type not in WEBHOOK_EVENT_TYPES:
        return None
    return event_type.split(".", 1)[0] if not event_type.startswith("charge.") else "charge"


def _unstorable_at(value: Any) -> str | None:
    """The path of the first string or key holding NUL or a lone surrogate, or None. Iterative."""
    stack = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if _UNSTORABLE.search(node):
                return path or "event"
        elif isinstance(node, dict):
            for key, item in node.items():
                shown = _UNSTORABLE.sub("\ufffd", key)[:60]
                child = f"{path}.{shown}" if path else shown
                if _UNSTORABLE.search(key):
                    return child
                stack.append((child, item))
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}" if path else str(i), item) for i, item in enumerate(node))
    return None


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    type: str
    duplicate: bool
    result: str


@dataclass(frozen=True)
class StripeEventIn:
    """A verified, well-formed event: its object parsed when its type is one of WEBHOOK_EVENT_TYPES."""

    id: str
    type: str
    created: int
    payload: dict
    obj: Snapshot | None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _verified_event(*, payload: bytes | str, signature: str | None) -> StripeEventIn:
    """Verify the signature, then parse the event strictly: a malformed one is a ValidationError."""
    secret = getattr(settings, "STRIPE_WEBHOOK_SECRET", "")
    if not secret:
        raise ValidationError(_("Stripe webhooks are not configured on this site."), code="webhook_not_configured")
    if not signature:
        raise ValidationError(_("The Stripe-Signature header is missing."), code="bad_signature")
    not_json = ValidationError(_("The webhook payload is not valid JSON."), code="bad_payload")
    try:
        text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8")
        text.encode("utf-8")
    except UnicodeError:
        raise not_json from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=WEBHOOK_TOLERANCE)
    except stripe.SignatureVerificationError:
        raise ValidationError(_("The Stripe signature does not match this payload; the event was refused."),
                              code="bad_signature") from None
    try:
        event = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise not_json from None
    bad = _unstorable_at(event)
    if bad is not None:
        raise MalformedEvent(bad)
    r = _Reader(event, "")
    event_id = r.text("id", pattern=_STRIPE_ID)
    event_type = r.text("type", pattern=_EVENT_TYPE)
    if len(event_type) > StripeEvent._meta.get_field("type").max_length:
        raise MalformedEvent("type")
    if event.get("object") not in (None, "event"):
        raise MalformedEvent("object")
    created = r.integer("created", low=EARLIEST_EVENT, high=_server_version() + EVENT_CLOCK_SKEW)
    data = r.child("data")
    if data is None:
        raise MalformedEvent("data")
    obj = data.obj.get("object")
    if not isinstance(obj, dict):
        raise MalformedEvent("data.object")
    kind = _object_kind(event_type)
    snapshot = _PARSERS[kind](obj, "data.object") if kind else None
    return StripeEventIn(id=event_id, type=event_type, created=created, payload=event, obj=snapshot)


def _payment_for(event: StripeEventIn) -> Payment | None:
    obj = event.obj
    if obj is None:
        return None
    intent_id = obj.id if isinstance(obj, IntentSnapshot) else obj.intent_id
    if intent_id:
        return Payment.objects.filter(intent_id=intent_id).first()
    if isinstance(obj, RefundSnapshot):  # a refund that names no PaymentIntent: ours if we know its id
        row = PaymentRefund.objects.filter(refund_id=obj.id).select_related("payment").first()
        return row.payment if row else None
    return None


def _check_refund_fits(payment: Payment, refund: RefundSnapshot, path: str) -> None:
    if refund.amount > payment.amount_fen:
        raise MalformedEvent(f"{path}.amount")
    if refund.intent_id is not None and refund.intent_id != payment.intent_id:
        raise MalformedEvent(f"{path}.payment_intent")
    if PaymentRefund.objects.filter(refund_id=refund.id).exclude(payment=payment).exists():
        raise MalformedEvent(f"{path}.id")


def _check_fits(payment: Payment, event: StripeEventIn) -> None:
    """The event's object is one of this payment's: its amounts can be the payment's."""
    obj = event.obj
    if isinstance(obj, IntentSnapshot):
        if obj.amount != payment.amount_fen:
            raise MalformedEvent("data.object.amount")
        if obj.currency is not None and obj.currency != payment.currency:
            raise MalformedEvent("data.object.currency")
    elif isinstance(obj, RefundSnapshot):
        _check_refund_fits(payment, obj, "data.object")
    elif isinstance(obj, ChargeSnapshot):
        if obj.amount != payment.amount_fen:
            raise MalformedEvent("data.object.amount")
        for i, refund in enumerate(obj.refunds):
            _check_refund_fits(payment, refund, f"data.object.refunds.data.{i}")


def _apply_event(payment: Payment, event: StripeEventIn, fresh: _Fresh | None) -> str:
    """Apply the event's object (and, when it could not be ordered, Stripe's object just re-read)."""
    obj, source = event.obj, event.type
    mirror = {"version": event.created, "authoritative": False, "actor": None, "source": source}
    results = []
    if isinstance(obj, IntentSnapshot):
        results.append(_mirror_intent(payment, obj, **mirror))
    elif isinstance(obj, RefundSnapshot):
        results.append(_mirror_refund(payment, obj, **mirror))
    elif isinstance(obj, ChargeSnapshot):
        results += [_mirror_refund(payment, refund, **mirror) for refund in obj.refunds]
        if payment.amount_refunded_fen != obj.amount_refunded:
            results.append(_NEEDS_READ)  # refunds we do not hold, or an older charge: read the refunds
    if fresh is not None:
        results += _apply_fresh(payment, fresh, actor=None, source=f"{source}, re-read")
    elif _NEEDS_READ in results:
        return _NEEDS_READ
    return APPLIED if APPLIED in results else STALE


class _NeedsRead(Exception):
    def __init__(self, after: int):
        super().__init__(after)
        self.after = after  # the newest version held when the read was found needed


def _read_for(payment: Payment, event: StripeEventIn, *, after: int) -> _Fresh:
    obj = event.obj
    if isinstance(obj, IntentSnapshot):
        return _read_intent(payment.intent_id, after=after)
    if isinstance(obj, RefundSnapshot):
        return _read_refund(obj.id, after=after)
    return _read_refunds(payment.intent_id, after=after)


def _store_and_apply(event: StripeEventIn, payment: Payment | None, fresh: _Fresh | None) -> str:
    with transaction.atomic():
        if payment is not None:
            payment = _locked_payment(payment.pk)
            _check_fits(payment, event)
        stored = StripeEvent.objects.create(event_id=event.id, type=event.type, created=event.created,
                                            payload=event.payload, received_at=timezone.now(), payment=payment)
        result = _apply_event(payment, event, fresh) if payment is not None else IGNORED
        if result == _NEEDS_READ:
            # Undo the lot; read Stripe without holding the locks, then again.
            raise _NeedsRead(_held_version(payment.pk))
        stored.result = result
        stored.save(update_fields=["result"])
    return result


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookResult:
    """Verify a webhook by its signature, check it is well formed, store it once and apply it once,
    by version (see the module's docstring)."""
    event = _verified_event(payload=payload, signature=signature)
    existing = StripeEvent.objects.filter(event_id=event.id).first()
    if existing is not None:
        return WebhookResult(event.id, event.type, True, existing.result)
    payment = _payment_for(event)
    fresh = None
    while True:
        try:
            result = _store_and_apply(event, payment, fresh)
        except _NeedsRead as needed:
            if fresh is not None:  # cannot happen: with Stripe's object at hand nothing is left to read
                raise
            # Unreachable: 400 payment_unavailable, nothing stored; Stripe delivers the event again.
            fresh = _read_for(payment, event, after=needed.after)
            continue
        except IntegrityError:
            existing = StripeEvent.objects.filter(event_id=event.id).first()
            if existing is None:
                raise
            return WebhookResult(event.id, event.type, True, existing.result)
        break
    if payment is not None:
        _close_if_settled(payment.contract_id)
    return WebhookResult(event.id, event.type, False, result)
