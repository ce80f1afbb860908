"""Contracts (合同), delivery rounds (服务成果), extensions and evaluations (服务评价) — what
happens after an award. The payment of a contract is market.payments' (market/payments/models.py).

Models hold fields, properties and constraints; the workflows (one status enum, one transition
table and one guarded setter per state machine) live in market/contracts/services/.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agencies.models import private_storage

__all__ = [
    "ContractStatus", "Contract", "DeliveryStatus", "DeliveryRound", "Deliverable", "ExtensionStatus",
    "ExtensionRequest", "EvaluationStatus", "EVALUATION_DIMENSIONS", "Evaluation", "deliverable_upload_path",
]


def deliverable_upload_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"contracts/{instance.delivery_round.contract_id}/{uuid.uuid4().hex}.{ext}"


def _private_storage():  # named in migration 0004
    return private_storage()


class ContractStatus(models.TextChoices):
    DRAFTED = "drafted", _("awaiting signatures")
    IN_SERVICE = "in_service", _("in service")
    DELIVERED = "delivered", _("delivered, awaiting acceptance")
    ACCEPTED = "accepted", _("accepted")
    CLOSED = "closed", _("closed")
    BREACHED = "breached", _("not signed by the agency (breach)")
    REFUSED = "refused", _("refused by the owner")
    CANCELLED = "cancelled", _("cancelled")


# A request has at most one contract in these states at a time.
LIVE_CONTRACT_STATUSES = [ContractStatus.DRAFTED, ContractStatus.IN_SERVICE, ContractStatus.DELIVERED,
                          ContractStatus.ACCEPTED, ContractStatus.CLOSED]


class Contract(models.Model):
    """The contract the platform drafts from a request and its winning (or runner-up) bid.

    Public: number, parties, service item, amount, term and dates. Private to the two parties and
    regulators: deliverable files and payment details."""

    number = models.CharField(_("contract number"), max_length=40, unique=True)
    request = models.ForeignKey("market.ServiceRequest", on_delete=models.PROTECT, related_name="contracts",
                                verbose_name=_("service request"))
    bid = models.OneToOneField("bids.Bid", on_delete=models.PROTECT, related_name="contract", verbose_name=_("bid"))
    owner = models.ForeignKey("market.Organization", on_delete=models.PROTECT, related_name="contracts",
                              verbose_name=_("project owner"))
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="contracts",
                               verbose_name=_("agency"))
    service_item = models.ForeignKey("market.ServiceItem", on_delete=models.PROTECT, related_name="contracts",
                                     verbose_name=_("service item"))
    sequence = models.PositiveSmallIntegerField(_("place in the ranking"), default=1,
                                                help_text=_("1: the winner; 2: the runner-up; …"))
    amount_fen = models.PositiveBigIntegerField(_("amount (fen)"))
    term_days = models.PositiveIntegerField(_("service term (days)"))
    deliverables = models.TextField(_("deliverables"))
    pay_on_acceptance = models.BooleanField(
        _("pay on acceptance"), default=True,
        help_text=_("The payment is held when made and captured only when the owner accepts the work."))
    status = models.CharField(_("status"), max_length=16, choices=ContractStatus.choices,
                              default=ContractStatus.DRAFTED, db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    drafted_at = models.DateTimeField(_("drafted at"))
    confirm_deadline = models.DateTimeField(_("sign by"), db_index=True)
    owner_confirmed_at = models.DateTimeField(_("signed by the owner at"), null=True, blank=True)
    owner_confirmed_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    agency_confirmed_at = models.DateTimeField(_("signed by the agency at"), null=True, blank=True)
    agency_confirmed_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    due_at = models.DateTimeField(_("service due"), null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True,
                                    help_text=_("When the contract was breached, refused or cancelled."))
    overrun_breach_at = models.DateTimeField(_("overrun recorded at"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-drafted_at", "-pk"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        constraints = [
            models.UniqueConstraint(fields=["request"], condition=Q(status__in=LIVE_CONTRACT_STATUSES),
                                    name="contract_one_live_per_request"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="contract_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.number

    def is_overdue_at(self, now) -> bool:
        """Past the (possibly extended) due date with the work not delivered: derived from time."""
        return self.status == ContractStatus.IN_SERVICE and self.due_at is not None and now >= self.due_at

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("awaiting the owner's review")
    ACCEPTED = "accepted", _("accepted")
    RETURNED = "returned", _("returned for changes")


class DeliveryRound(models.Model):
    """One delivery (服务成果) by the agency and the owner's decision on it; every round is kept."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="delivery_rounds")
    number = models.PositiveSmallIntegerField(_("round"))
    note = models.TextField(_("note"))
    submitted_by = models.ForeignKey("market.User", null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    review_deadline = models.DateTimeField(_("review by"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING, db_index=True)
    decision_reason = models.TextField(_("reasons"), blank=True)
    decided_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    deemed = models.BooleanField(_("deemed accepted"), default=False,
                                 help_text=_("Accepted because the owner did not review it in time."))

    class Meta:
        ordering = ["contract", "number"]
        verbose_name = _("delivery round")
        verbose_name_plural = _("delivery rounds")
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="delivery_round_unique_number"),
            models.UniqueConstraint(fields=["contract"], condition=Q(status="pending"),
                                    name="delivery_round_one_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} #{self.number}"


class Deliverable(models.Model):
    delivery_round = models.ForeignKey(DeliveryRound, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(_("file"), upload_to=deliverable_upload_path, storage=_private_storage, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["delivery_round", "pk"]
        verbose_name = _("deliverable")
        verbose_name_plural = _("deliverables")

    def __str__(self) -> str:
        return self.original_name


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("awaiting the owner's consent")
    GRANTED = "granted", _("granted")
    REFUSED = "refused", _("refused")


class ExtensionRequest(models.Model):
    """The agency asks for more time; only the owner's consent moves the due date."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="extensions")
    days = models.PositiveIntegerField(_("extra days"))
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey("market.User", null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    status = models.CharField(_("status"), max_length=16, choices=ExtensionStatus.choices,
                              default=ExtensionStatus.PENDING)
    decision_note = models.TextField(_("owner's note"), blank=True)
    decided_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    due_before = models.DateTimeField(null=True, blank=True)
    due_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["contract", "pk"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(fields=["contract"], condition=Q(status="pending"), name="extension_one_pending"),
            models.CheckConstraint(condition=Q(days__gt=0), name="extension_days_positive"),
        ]


class EvaluationStatus(models.TextChoices):
    PUBLISHED = "published", _("published")
    HIDDEN = "hidden", _("comment hidden by a regulator")


# (field, label): the five dimensions of an evaluation, each scored 1–5.
EVALUATION_DIMENSIONS = (
    ("quality", _("service quality")),
    ("timeliness", _("timeliness")),
    ("attitude", _("attitude")),
    ("fee_compliance", _("fee compliance")),
    ("conduct", _("conduct")),
)

_score = dict(validators=[MinValueValidator(1), MaxValueValidator(5)], help_text=_("1 to 5"))


class Evaluation(models.Model):
    """The owner's evaluation (服务评价) of the agency after acceptance: one per contract."""

    contract = models.OneToOneField(Contract, on_delete=models.PROTECT, related_name="evaluation")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="evaluations")
    quality = models.PositiveSmallIntegerField(_("service quality"), **_score)
    timeliness = models.PositiveSmallIntegerField(_("timeliness"), **_score)
    attitude = models.PositiveSmallIntegerField(_("attitude"), **_score)
    fee_compliance = models.PositiveSmallIntegerField(_("fee compliance"), **_score)
    conduct = models.PositiveSmallIntegerField(_("conduct"), **_score)
    comment = models.TextField(_("comment"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=EvaluationStatus.choices,
                              default=EvaluationStatus.PUBLISHED, db_index=True)
    hidden_reason = models.TextField(_("reason for hiding"), blank=True)
    hidden_by = models.ForeignKey("market.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hidden_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey("market.User", null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        constraints = [
            models.CheckConstraint(
                condition=Q(quality__gte=1, quality__lte=5) & Q(timeliness__gte=1, timeliness__lte=5)
                & Q(attitude__gte=1, attitude__lte=5) & Q(fee_compliance__gte=1, fee_compliance__lte=5)
                & Q(conduct__gte=1, conduct__lte=5),
                name="evaluation_scores_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.average}"

    @property
    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name, _label in EVALUATION_DIMENSIONS}

    @property
    def average(self):
        values = list(self.scores.values())
        return (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def comment_visible(self) -> bool:
        return self.status == EvaluationStatus.PUBLISHED
