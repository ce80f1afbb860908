"""Mirroring Stripe's objects by version (the "Order" of market/payments/__init__.py): a
PaymentIntent onto its Payment and a Refund onto its PaymentRefund, each applied only when it is
newer than what is held; the refunded total is recomputed from the refunds. Callers hold the
payment's lock."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Sum
from django.utils import timezone

from market.accounts.models import User
from market.core.audit import audit_record

from .models import Payment, PaymentRefund, PaymentStatus
from .stripe_client import IntentSnapshot, RefundSnapshot, _Fresh

P = PaymentStatus

# A PaymentIntent in one of these never changes status again; nor does a Refund in REFUND_FINAL.
FINAL_INTENT_STATUSES = frozenset({P.SUCCEEDED, P.CANCELED})
REFUND_COUNTED = frozenset({"pending", "succeeded"})
REFUND_FINAL = frozenset({"failed", "canceled"})

APPLIED, STALE, IGNORED = "applied", "stale", "ignored"
_NEEDS_READ = "needs_read"


def _held_version(payment_id: int) -> int:
    """The newest version held for the payment or any of its refunds. An answer of Stripe's API asked
    for after this is at least as new: everything held was received before the question was asked."""
    payment_version = Payment.objects.values_list("stripe_version", flat=True).get(pk=payment_id)
    refunds_version = PaymentRefund.objects.filter(payment_id=payment_id).aggregate(v=Max("stripe_version"))["v"]
    return max(payment_version, refunds_version or 0)


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
