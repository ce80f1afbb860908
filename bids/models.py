"""Bids (报名/报价), quality scoring, selection results and objections (质疑)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from market.accounts.models import User
from market.requests.models import ServiceRequest


class BidStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Bid(models.Model):
    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="bids")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="bids")
    submitted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=BidStatus.choices, default=BidStatus.ACTIVE)
    price_fen = models.PositiveBigIntegerField(_("price (fen)"))
    discount_bp = models.PositiveIntegerField(_("discount rate (basis points)"), null=True, blank=True)
    nonce = models.CharField(_("nonce"), max_length=128)
    proposal = models.TextField(_("proposal"), blank=True)
    content_hash = models.CharField(max_length=64)
    submitted_at = models.DateTimeField(_("submitted at"))
    updated_at = models.DateTimeField(_("updated at"))
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        constraints = [
            models.UniqueConstraint(fields=["request", "agency"], condition=Q(status="active"),
                                    name="bid_one_active_per_agency_and_request"),
        ]
        indexes = [models.Index(fields=["request", "status"])]

    def __str__(self) -> str:
        return f"bid #{self.pk}"


class Evaluator(models.Model):
    """A member of the owner's quality panel for the weighted-score method."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="evaluators")
    name = models.CharField(_("evaluator"), max_length=64)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["request", "name"], name="evaluator_unique_name")]


class QualityScore(models.Model):
    evaluator = models.ForeignKey(Evaluator, on_delete=models.CASCADE, related_name="scores")
    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="quality_scores")
    criterion = models.CharField(_("criterion"), max_length=100)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["evaluator", "bid", "criterion"], name="quality_score_unique")]


class SelectionRun(models.Model):
    """One run of the selection for a request, with everything a verifier needs.

    A request normally has one run; an upheld objection triggers another without the winner.
    """

    class Outcome(models.TextChoices):
        SELECTED = "selected", _("provider selected")
        FAILED = "failed", _("failed round")
        VOID = "void", _("voided by an upheld objection")

    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="selection_runs")
    run = models.PositiveSmallIntegerField(default=1)
    method = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    winner = models.ForeignKey(Bid, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published = models.JSONField(_("published result"))
    performed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["request", "run"]
        constraints = [
            models.UniqueConstraint(fields=["request", "run"], name="selection_run_unique"),
            # At most one standing (non-void) result per request: one winner.
            models.UniqueConstraint(fields=["request"], condition=Q(outcome="selected"), name="selection_one_winner"),
        ]


class ResultObjection(models.Model):
    """An objection (质疑) by a bidder against a result during its publicity."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        UPHELD = "upheld", _("upheld")
        DISMISSED = "dismissed", _("dismissed")

    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="result_objections")
    selection_run = models.ForeignKey(SelectionRun, on_delete=models.PROTECT, related_name="objections")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="objections")
    lodged_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    ruling = models.TextField(_("ruling"), blank=True)
    ruled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ruled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
