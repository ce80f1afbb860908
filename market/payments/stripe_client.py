"""Stripe's API as the payments see it: the client, idempotency keys, the errors Stripe's answers
become, Stripe's objects parsed strictly into snapshots, and the re-reads of an object (the tests
stand in for _fetch_* where localstripe cannot play a part)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from market.contracts.models import Contract

from .models import PaymentStatus

CURRENCY = "cny"
P = PaymentStatus

REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded", "failed", "canceled"})

MAX_FEN = 2**53 - 1  # the largest integer a JSON number carries exactly; any amount beyond is absurd

_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
_CURRENCY = re.compile(r"[a-z]{3}")


def stripe_enabled() -> bool:
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def _client():
    base = getattr(settings, "STRIPE_API_BASE", "")
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base} if base else None,
                               max_network_retries=2)


def idempotency_key(*, contract: Contract, action: str, amount_fen: int, attempt: int = 1) -> str:
    return f"zjcs-contract-{contract.pk}-{action}-{amount_fen}-{attempt}"


class PaymentUnavailable(ValidationError):
    def __init__(self, exc: Exception):
        if isinstance(exc, stripe.APIConnectionError):  # unreachable: say so, without its address
            super().__init__(_("Payment is unavailable right now: the payment service cannot be reached. Nothing was "
                               "charged or recorded; the contract is not affected. Please try again later."),
                             code="payment_unavailable")
            return
        message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
        super().__init__(_("The payment service answered: %(m)s") % {"m": message[:300]}, code="payment_unavailable")


def malformed_message(field: str) -> str:
    return _("The Stripe event is malformed: %(field)s is missing or not valid. Nothing was changed.") % {
        "field": field}


class MalformedEvent(ValidationError):
    """A field of a Stripe object is missing, of the wrong type or out of range; `field` is its path."""

    def __init__(self, field: str):
        super().__init__(malformed_message(field), code="bad_payload")
        self.field = field


def _to_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _server_version() -> int:
    return int(timezone.now().timestamp())



# --- Stripe's objects, parsed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentSnapshot:
    id: str
    status: str
    amount: int
    currency: str | None
    capturable: int
    received: int
    error: str
    charge_refunded: int | None  # the latest charge's amount_refunded, when the charge is expanded


@dataclass(frozen=True)
class RefundSnapshot:
    id: str
    amount: int
    status: str
    intent_id: str | None


@dataclass(frozen=True)
class ChargeSnapshot:
    id: str
    amount: int
    amount_refunded: int
    intent_id: str | None
    refunds: tuple[RefundSnapshot, ...]


Snapshot = IntentSnapshot | RefundSnapshot | ChargeSnapshot


class _Reader:
    """Typed reads of one object of a Stripe payload; a failure names the field's path."""

    def __init__(self, obj: Any, path: str):
        if not isinstance(obj, dict):
            raise MalformedEvent(path or "event")
        self.obj, self.path = obj, path

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def kind(self, expected: str) -> None:
        if self.obj.get("object") != expected:
            raise MalformedEvent(self.where("object"))

    def integer(self, key: str, *, low: int = 0, high: int = MAX_FEN, required: bool = True) -> int | None:
        value = self.obj.get(key)
        if value is None and not required:
            return None
        if type(value) is not int or not low <= value <= high:  # bool is not an amount
            raise MalformedEvent(self.where(key))
        return value

    def text(self, key: str, *, pattern: re.Pattern | None = None, choices=None, required: bool = True) -> str | None:
        value = self.obj.get(key)
        if value is None and not required:
            return None
        if (not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value))
                or (choices is not None and value not in choices)):
            raise MalformedEvent(self.where(key))
        return value

    def child(self, key: str) -> _Reader | None:
        value = self.obj.get(key)
        return None if value is None else _Reader(value, self.where(key))

    def ref(self, key: str) -> str | None:
        """An id, or an expanded object's id, or None."""
        value = self.obj.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            return _Reader(value, self.where(key)).text("id", pattern=_STRIPE_ID)
        return self.text(key, pattern=_STRIPE_ID)


def intent_snapshot(obj: Any, path: str = "payment_intent") -> IntentSnapshot:
    """A PaymentIntent, whichever optional fields the API version sends (fen)."""
    r = _Reader(obj, path)
    r.kind("payment_intent")
    status = r.text("status", choices=P.values)
    amount = r.integer("amount", low=1)
    capturable = r.integer("amount_capturable", high=amount, required=False)
    received = r.integer("amount_received", high=amount, required=False)
    error = r.child("last_payment_error")
    charge = obj.get("latest_charge")
    charge_refunded = None
    if isinstance(charge, dict):
        charge_refunded = _Reader(charge, r.where("latest_charge")).integer("amount_refunded", required=False)
    else:
        r.ref("latest_charge")
    return IntentSnapshot(
        id=r.text("id", pattern=_STRIPE_ID), status=status, amount=amount,
        currency=r.text("currency", pattern=_CURRENCY, required=False),
        capturable=capturable if capturable is not None else (amount if status == P.REQUIRES_CAPTURE else 0),
        received=received if received is not None else (amount if status == P.SUCCEEDED else 0),
        error=(error.text("message", required=False) or "") if error is not None else "",
        charge_refunded=charge_refunded)


def refund_snapshot(obj: Any, path: str = "refund") -> RefundSnapshot:
    r = _Reader(obj, path)
    r.kind("refund")
    r.ref("charge")
    return RefundSnapshot(id=r.text("id", pattern=_STRIPE_ID), amount=r.integer("amount", low=1),
                          status=r.text("status", choices=REFUND_STATUSES), intent_id=r.ref("payment_intent"))


def charge_snapshot(obj: Any, path: str = "charge") -> ChargeSnapshot:
    r = _Reader(obj, path)
    r.kind("charge")
    amount = r.integer("amount", low=1)
    refunded = r.integer("amount_refunded", high=amount)
    refunds: tuple[RefundSnapshot, ...] = ()
    listed = obj.get("refunds")
    if listed is not None:  # a list object {"data": [...]} (or, in old API versions, a bare list)
        where = r.where("refunds")
        if isinstance(listed, dict):
            listed, where = listed.get("data"), f"{where}.data"
        if not isinstance(listed, list):
            raise MalformedEvent(where)
        refunds = tuple(refund_snapshot(item, f"{where}.{i}") for i, item in enumerate(listed))
    return ChargeSnapshot(id=r.text("id", pattern=_STRIPE_ID), amount=amount, amount_refunded=refunded,
                          intent_id=r.ref("payment_intent"), refunds=refunds)



def _from_stripe(parse, obj: Any) -> Snapshot:
    """An object Stripe's API answered with, parsed; a malformed answer is Stripe's failure."""
    try:
        return parse(_to_dict(obj))
    except MalformedEvent as exc:
        raise ValidationError(_("The payment service answered: %(m)s") % {"m": exc.field},
                              code="payment_unavailable") from exc


@dataclass(frozen=True)
class _Fresh:
    """Objects just read from Stripe's API, and their version: the server second the answer arrived,
    or the newest version held when the question was asked if that is later (`_held_version`)."""

    version: int
    intent: IntentSnapshot | None = None
    refunds: tuple[RefundSnapshot, ...] = ()


# --- reading Stripe's API -------------------------------------------------------------------------------------


def _stripe_call(call):
    try:
        return call()
    except stripe.StripeError as exc:
        raise PaymentUnavailable(exc) from exc


def _fetch_intent(intent_id: str) -> dict:
    return _to_dict(_stripe_call(lambda: _client().v1.payment_intents.retrieve(intent_id,
                                                                                {"expand": ["latest_charge"]})))


def _fetch_refund(refund_id: str) -> dict:
    return _to_dict(_stripe_call(lambda: _client().v1.refunds.retrieve(refund_id)))


def _fetch_refunds(intent_id: str) -> list[dict]:
    return _stripe_call(lambda: [_to_dict(r) for r in _client().v1.refunds.list(
        {"payment_intent": intent_id, "limit": 100}).auto_paging_iter()])


def _read_intent(intent_id: str, *, after: int) -> _Fresh:
    intent = _from_stripe(intent_snapshot, _fetch_intent(intent_id))
    return _Fresh(max(_server_version(), after), intent=intent)


def _read_refund(refund_id: str, *, after: int) -> _Fresh:
    refund = _from_stripe(refund_snapshot, _fetch_refund(refund_id))
    return _Fresh(max(_server_version(), after), refunds=(refund,))


def _read_refunds(intent_id: str, *, after: int) -> _Fresh:
    refunds = tuple(_from_stripe(refund_snapshot, r) for r in _fetch_refunds(intent_id))
    return _Fresh(max(_server_version(), after), refunds=refunds)

