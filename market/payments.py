"""Payment of contracts through Stripe PaymentIntents, and Stripe's webhooks.

- The owner pays the contract amount (integer fen, currency CNY). When the contract says
  pay-on-acceptance the PaymentIntent uses manual capture: the money is held and captured at
  acceptance. Otherwise it is captured at once.
- A cancelled contract releases a held payment, or refunds a captured one, whole or in part.
- Every write to Stripe carries an idempotency key derived from the contract, the action and the
  amount, so a retried request never charges or refunds twice.
- Webhooks are verified by signature, stored once by event id (a unique constraint) and applied
  once, in whatever order they arrive (below). The events handled are WEBHOOK_EVENT_TYPES; others
  are stored and ignored.
- Without STRIPE_SECRET_KEY the site runs as before and payment shows as "offline".

The payment is Stripe's object
------------------------------
A Payment mirrors its PaymentIntent and a PaymentRefund mirrors its Refund: status, amounts held and
received, the last error and a refund's status are what Stripe's object says, not a ladder that only
climbs (a processing SEPA debit can fail and a refused 3-D Secure check ends a requires_action: both
go back to requires_payment_method). The refunded total is recomputed from the refunds on every
change, never added up: a refund counts while its own status is pending or succeeded
(REFUND_COUNTED), not once it has failed or was canceled.

Order
-----
Stripe's objects carry no version (their `created` is when they were made, not changed), so each
mirrored object keeps `stripe_version`, the Unix second as of which it is true:

- for an event's object, the event's `created` (Stripe's clock, on every event);
- for an object read from Stripe's API (payment_sync, a capture, a cancel, a refund, a re-read),
  the server second at which the answer arrived or, if later, the newest version held for the
  payment and its refunds when the question was asked: everything held had been received by then, so
  the answer is at least as new (a version held can be ahead of the server's clock).

An event's object is applied when it is newer than the version held. Seconds are coarse — Stripe
stamps several events of one object in the same second — and the server's clock is not Stripe's, so
an event that is not newer but *disagrees* with what is held is ambiguous: the object is then re-read
from Stripe and that answer applied (one API call, only for a late or same-second event that
disagrees; events in order need none). If Stripe cannot be reached for that read the event is
refused (400, code payment_unavailable, nothing stored) and Stripe delivers it again later.
Stripe's own state machine settles the rest without a read: a PaymentIntent never leaves succeeded
or canceled and a Refund never leaves failed or canceled, so an object in such a final status is
newer than any object that is not, and nothing moves a final one.

Why the order cannot matter: take the newest event of an object. When it is handled it is either
newer than what is held (applied), or not newer and agreeing, or not newer and disagreeing (re-read:
Stripe's current object, at least as new); in each case the object held is then Stripe's newest, with
a version at least the newest event's (an agreeing event still raises the version), so every event
handled afterwards is not newer and can only agree or cause a re-read. A `charge.refunded` event
carries the charge with its refunds (each applied as above) and the charge's `amount_refunded`; if
the recomputed total differs from it, the refunds are re-read.

Malformed events
----------------
A correctly signed event can still be malformed (a NUL character in a string, which PostgreSQL
cannot store; an amount that is not an integer, negative, beyond what the payment could hold or not
the payment's; a missing field; a wrong type; an unknown status). It is refused with a 400 JSON error
(code bad_payload, naming the field) before anything is stored, so it changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from market.accounts import permissions
from market.core.audit import audit_record
from .contracts.models import Contract, ContractStatus, Payment, PaymentRefund, PaymentStatus, StripeEvent
from market.accounts.models import User

logger = logging.getLogger(__name__)

CURRENCY = "cny"
OFFLINE = "offline"
PAYABLE_STATUSES = (ContractStatus.IN_SERVICE, ContractStatus.DELIVERED, ContractStatus.ACCEPTED)
P = PaymentStatus

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

# A PaymentIntent in one of these never changes status again; nor does a Refund in REFUND_FINAL.
FINAL_INTENT_STATUSES = frozenset({P.SUCCEEDED, P.CANCELED})
REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded", "failed", "canceled"})
REFUND_COUNTED = frozenset({"pending", "succeeded"})
REFUND_FINAL = frozenset({"failed", "canceled"})

MAX_FEN = 2**53 - 1  # the largest integer a JSON number carries exactly; any amount beyond is absurd
EARLIEST_EVENT = 1262304000  # 2010-01-01: older than any Stripe event
EVENT_CLOCK_SKEW = 86400  # an event stamped more than a day in the future is not Stripe's
WEBHOOK_TOLERANCE = 300  # seconds a signature stays valid (Stripe's default)

_STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
_EVENT_TYPE = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)+")
_CURRENCY = re.compile(r"[a-z]{3}")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")  # NUL (PostgreSQL cannot store it) and lone surrogates

APPLIED, STALE, IGNORED = "applied", "stale", "ignored"
_NEEDS_READ = "needs_read"


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


def _held_version(payment_id: int) -> int:
    """The newest version held for the payment or any of its refunds. An answer of Stripe's API asked
    for after this is at least as new: everything held was received before the question was asked."""
    payment_version = Payment.objects.values_list("stripe_version", flat=True).get(pk=payment_id)
    refunds_version = PaymentRefund.objects.filter(payment_id=payment_id).aggregate(v=Max("stripe_version"))["v"]
    return max(payment_version, refunds_version or 0)


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


def _from_stripe(parse, obj: Any) -> Snapshot:
    """An object Stripe's API answered with, parsed; a malformed answer is Stripe's failure."""
    try:
        return parse(_to_dict(obj))
    except MalformedEvent as exc:
        raise ValidationError(_("The payment service answered: %(m)s") % {"m": exc.field},
                              code="payment_unavailable") from exc


# --- mirroring, by version ------------------------------------------------------------------------------------


def _order(*, held_status: str, new_status: str, final: frozenset, version: int, held_version: int,
           authoritative: bool) -> str:
    """Whether an object that differs from the one held is newer (APPLIED), older (STALE) or cannot
    be told (_NEEDS_READ). `authoritative`: the object was just read from Stripe's API."""
    if held_status in final and new_status != held_status:
        return STALE  # Stripe never leaves a final status
    if new_status in final and held_status not in final:
        return APPLIED  # … so an object in one is newer than any object that is not
    if version > held_version or (authoritative and version == held_version):
        return APPLIED
    return STALE if authoritative else _NEEDS_READ  # a read older than an event applied meanwhile is stale


def _intent_fields(snap: IntentSnapshot) -> dict[str, Any]:
    return {"status": snap.status, "amount_capturable_fen": snap.capturable, "amount_received_fen": snap.received,
            "last_error": snap.error[:255]}


def _mirror_intent(payment: Payment, snap: IntentSnapshot, *, version: int, authoritative: bool,
                   actor: User | None, source: str) -> str:
    """Make the payment Stripe's PaymentIntent if `snap` is newer than what it holds. Caller holds the lock."""
    new = _intent_fields(snap)
    if new == {field: getattr(payment, field) for field in new}:
        if version > payment.stripe_version:
            payment.stripe_version = version
            payment.save(update_fields=["stripe_version"])
        return STALE
    order = _order(held_status=payment.status, new_status=snap.status, final=FINAL_INTENT_STATUSES, version=version,
                   held_version=payment.stripe_version, authoritative=authoritative)
    if order != APPLIED:
        return order
    before = {"status": payment.status, "held": payment.amount_capturable_fen,
              "received": payment.amount_received_fen, "error": payment.last_error}
    for field, value in new.items():
        setattr(payment, field, value)
    payment.stripe_version = max(payment.stripe_version, version)
    payment.updated_at = timezone.now()
    payment.save(update_fields=[*new, "stripe_version", "updated_at"])
    moved = payment.status != before["status"]
    audit_record(actor=actor, action=f"payment.{payment.status}" if moved else "payment.update", obj=payment,
                 before=before, after={"status": payment.status, "held": payment.amount_capturable_fen,
                                       "received": payment.amount_received_fen, "error": payment.last_error,
                                       "refunded": payment.amount_refunded_fen, "source": source,
                                       "version": version})
    return APPLIED


def _refunded_total(payment: Payment) -> int:
    return payment.refunds.filter(status__in=REFUND_COUNTED).aggregate(total=Sum("amount_fen"))["total"] or 0


def _mirror_refund(payment: Payment, snap: RefundSnapshot, *, version: int, authoritative: bool,
                   actor: User | None, source: str, reason: str = "") -> str:
    """Make the refund row Stripe's Refund if `snap` is newer than what it holds, and recompute the
    payment's refunded total. Caller holds the payment lock."""
    row = PaymentRefund.objects.filter(refund_id=snap.id).first()
    before_status = None
    if row is None:
        row = PaymentRefund.objects.create(payment=payment, refund_id=snap.id, amount_fen=snap.amount,
                                           status=snap.status, reason=reason, created_by=actor,
                                           created_at=timezone.now(), stripe_version=version)
    elif (row.amount_fen, row.status) == (snap.amount, snap.status):
        if version > row.stripe_version:
            row.stripe_version = version
            row.save(update_fields=["stripe_version"])
        return STALE
    else:
        order = _order(held_status=row.status, new_status=snap.status, final=REFUND_FINAL, version=version,
                       held_version=row.stripe_version, authoritative=authoritative)
        if order != APPLIED:
            return order
        before_status = row.status
        row.amount_fen, row.status = snap.amount, snap.status
        row.stripe_version = max(row.stripe_version, version)
        row.save(update_fields=["amount_fen", "status", "stripe_version"])
    before_total, total = payment.amount_refunded_fen, _refunded_total(payment)
    if total != before_total:
        payment.amount_refunded_fen = total
        payment.updated_at = timezone.now()
        payment.save(update_fields=["amount_refunded_fen", "updated_at"])
    audit_record(actor=actor, action="payment.refund", obj=payment,
                 before={"refunded": before_total, "refund_status": before_status},
                 after={"refunded": total, "refund": row.refund_id, "amount": row.amount_fen, "status": row.status,
                        "reason": row.reason, "source": source, "version": version})
    return APPLIED


@dataclass(frozen=True)
class _Fresh:
    """Objects just read from Stripe's API, and their version: the server second the answer arrived,
    or the newest version held when the question was asked if that is later (`_held_version`)."""

    version: int
    intent: IntentSnapshot | None = None
    refunds: tuple[RefundSnapshot, ...] = ()


def _apply_fresh(payment: Payment, fresh: _Fresh, *, actor: User | None, source: str, reason: str = "") -> list[str]:
    results = []
    if fresh.intent is not None:
        results.append(_mirror_intent(payment, fresh.intent, version=fresh.version, authoritative=True, actor=actor,
                                      source=source))
    for refund in fresh.refunds:
        if refund.intent_id in (None, payment.intent_id):
            results.append(_mirror_refund(payment, refund, version=fresh.version, authoritative=True, actor=actor,
                                          source=source, reason=reason))
    return results


# --- reading Stripe's API (the tests stand in for _fetch_* where localstripe cannot play a part) ------------


def _stripe_call(call):
    import stripe

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
    from .contracts.services import _lock

    contract_id = Payment.objects.values_list("contract_id", flat=True).get(pk=payment_id)
    _lock(contract_id)
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
    from .contracts.services import contract_close

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
    import stripe

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
