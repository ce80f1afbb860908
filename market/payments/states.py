"""The payment's state machine (market.core.statemachine). A Payment mirrors its Stripe PaymentIntent
(market/payments/__init__.py): its status is whatever Stripe's object says, not a ladder — a
processing debit can fail back to requires_payment_method — except that a PaymentIntent never leaves
succeeded or canceled. So every status that is not final may go to every other one; the move is
named after where it ends. Stripe decides, so whoever's request brought Stripe's answer (the system
for a webhook) makes the move."""

from __future__ import annotations

from market.core.statemachine import Machine, Move, Who, register

from .models import PaymentStatus

P = PaymentStatus
FINAL = frozenset({P.SUCCEEDED, P.CANCELED})
STRIPE = Who("Stripe's answer (system or the user who asked)", lambda actor, payment: True)

_NAMES = {
    P.REQUIRES_PAYMENT_METHOD: "require_payment_method",
    P.REQUIRES_CONFIRMATION: "require_confirmation",
    P.REQUIRES_ACTION: "require_action",
    P.PROCESSING: "process",
    P.REQUIRES_CAPTURE: "hold",
    P.SUCCEEDED: "succeed",
    P.CANCELED: "cancel",
}

PAYMENT = Machine(
    name="payment",
    model="market.Payment",
    states=PaymentStatus,
    description="A contract's payment, mirrored from its Stripe PaymentIntent.",
    moves=tuple(
        Move(_NAMES[target], {s for s in P.values if s not in FINAL and s != target}, target, STRIPE,
             audit_action=f"payment.{target}")
        for target in P.values
    ),
)

register(PAYMENT)
