"""The payment of a contract through a Stripe PaymentIntent, its refunds, and every Stripe event
received — each a mirror of Stripe's object (market/payments/__init__.py). The models keep the
`market` app label: their tables and migrations are where they were."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from market.contracts.models import Contract

__all__ = ["PaymentStatus", "Payment", "PaymentRefund", "StripeEvent"]


class PaymentStatus(models.TextChoices):
    """A PaymentIntent's status as Stripe names it."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method", _("awaiting payment")
    REQUIRES_CONFIRMATION = "requires_confirmation", _("awaiting confirmation")
    REQUIRES_ACTION = "requires_action", _("awaiting authentication")
    PROCESSING = "processing", _("processing")
    REQUIRES_CAPTURE = "requires_capture", _("held, to be captured at acceptance")
    SUCCEEDED = "succeeded", _("paid")
    CANCELED = "canceled", _("cancelled, hold released")


class Payment(models.Model):
    """The owner's payment of a contract through a Stripe PaymentIntent, mirrored from Stripe."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveSmallIntegerField(default=1)
    intent_id = models.CharField(_("PaymentIntent"), max_length=255, unique=True)
    client_secret = models.CharField(max_length=255)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="cny")
    capture_method = models.CharField(_("capture"), max_length=16)
    status = models.CharField(_("status"), max_length=32, choices=PaymentStatus.choices,
                              default=PaymentStatus.REQUIRES_PAYMENT_METHOD)
    amount_capturable_fen = models.PositiveBigIntegerField(_("held (fen)"), default=0)
    amount_received_fen = models.PositiveBigIntegerField(_("captured (fen)"), default=0)
    amount_refunded_fen = models.PositiveBigIntegerField(_("refunded (fen)"), default=0)
    last_error = models.CharField(max_length=255, blank=True)
    # The Unix second as of which the fields above are the PaymentIntent's (an event's `created`, or
    # when an answer of Stripe's API arrived): a webhook's object is applied only if newer (market/payments/mirror.py).
    stripe_version = models.BigIntegerField(default=0)
    started_by = models.ForeignKey("market.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["contract", "attempt"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["contract", "attempt"], name="payment_unique_attempt"),
            models.UniqueConstraint(fields=["contract"], condition=~Q(status="canceled"), name="payment_one_live"),
        ]

    def __str__(self) -> str:
        return self.intent_id

    @property
    def is_held(self) -> bool:
        return self.status == PaymentStatus.REQUIRES_CAPTURE

    @property
    def net_fen(self) -> int:
        return self.amount_received_fen - self.amount_refunded_fen


class PaymentRefund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=255, unique=True)
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    status = models.CharField(max_length=32)
    stripe_version = models.BigIntegerField(default=0)  # as Payment.stripe_version, for this Refund
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["payment", "pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")


class StripeEvent(models.Model):
    """Every webhook event received, once: the unique event id makes a repeated delivery a no-op."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    created = models.BigIntegerField(help_text=_("Stripe's creation time (Unix seconds)"))
    payload = models.JSONField()
    received_at = models.DateTimeField()
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    result = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["received_at", "pk"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
