"""Reads of payments used by the pages, the API and the receivers."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from market.contracts.models import Contract, ContractStatus

from .models import Payment, PaymentStatus
from .stripe_client import stripe_enabled

P = PaymentStatus

OFFLINE = "offline"
PAYABLE_STATUSES = (ContractStatus.IN_SERVICE, ContractStatus.DELIVERED, ContractStatus.ACCEPTED)


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
