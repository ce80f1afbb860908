"""What payments do when a contract moves (market.contracts.events): connected once, when the app
is ready (market/apps.py).

- a contract about to be cancelled: the refund asked for must fit what was paid (a ValidationError
  refuses the cancellation);
- a contract cancelled: a held payment is released, a captured one refunded (whole or in part); a
  Stripe failure is logged, the contract stays cancelled and the refund can be retried from its page;
- a delivery accepted: a held payment is captured, or a paid contract closed;
- a contract may close only once paid (with Stripe): the close guard;
- the contract's page and the API show the payment.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError

from market.contracts import events
from market.contracts.models import Contract

from . import api as payment_api
from . import views as payment_views
from .selectors import payment_blocks_close
from .services import payment_after_acceptance, payment_check_refund, payment_settle_on_cancel

logger = logging.getLogger(__name__)


def check_refund(sender, *, contract: Contract, refund_fen: int | None, **kwargs) -> None:
    payment_check_refund(contract=contract, refund_fen=refund_fen)


def settle_cancelled(sender, *, contract: Contract, actor, refund_fen: int | None, reason: str, **kwargs) -> None:
    try:
        payment_settle_on_cancel(contract=contract, actor=actor, refund_fen=refund_fen, reason=reason)
    except ValidationError as exc:  # the contract stays cancelled; the refund can be retried from its page
        logger.warning("payment of cancelled contract %s not settled: %s", contract.pk, exc)


def capture_accepted(sender, *, contract: Contract, actor, **kwargs) -> None:
    payment_after_acceptance(contract=contract, actor=actor)


def connect() -> None:
    events.contract_cancelling.connect(check_refund, sender=Contract, dispatch_uid="payments.check_refund")
    events.contract_cancelled.connect(settle_cancelled, sender=Contract, dispatch_uid="payments.settle_cancelled")
    events.contract_accepted.connect(capture_accepted, sender=Contract, dispatch_uid="payments.capture_accepted")
    events.close_guard_register(payment_blocks_close)
    events.page_section_register(payment_views.contract_page_section)
    events.private_section_register("payment", payment_api.payment_data)
