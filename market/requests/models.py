"""Service requests (采购公告): the request, its avoidances, questions and amendments."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from market.accounts.models import Organization, Region, User
from market.catalogue.models import QualificationType, ServiceItem


class FundingSource(models.TextChoices):
    FISCAL = "fiscal", _("fiscal funds")
    STATE = "state", _("state-owned funds")
    SOCIAL = "social", _("social funds")


class SelectionMethod(models.TextChoices):
    RANDOM = "random", _("random draw")
    LOWEST = "lowest", _("lowest price")
    REFERENCE = "reference", _("closest to reference price")
    WEIGHTED = "weighted", _("weighted score")
    DIRECT = "direct", _("direct choice")


class QuoteMode(models.TextChoices):
    PRICE = "price", _("price quote")
    DISCOUNT = "discount", _("discount rate on the budget")


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("bidding open")
    BIDDING_CLOSED = "bidding_closed", _("bidding closed")  # derived from the deadline, never stored
    SELECTED = "selected", _("selected")  # a transient state inside selection; publicity follows at once
    PUBLICITY = "publicity", _("result in publicity")
    AWARDED = "awarded", _("awarded")
    CONTRACTED = "contracted", _("contracted")
    IN_SERVICE = "in_service", _("in service")
    DELIVERED = "delivered", _("delivered")
    ACCEPTED = "accepted", _("accepted")
    CLOSED = "closed", _("closed")
    CANCELLED = "cancelled", _("cancelled")
    FAILED = "failed", _("failed round")


class ServiceRequest(models.Model):
    owner = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="service_requests",
                              verbose_name=_("project owner"))
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    project_name = models.CharField(_("project name"), max_length=200)
    project_code = models.CharField(_("investment project code"), max_length=64, blank=True)
    service_item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="requests",
                                     verbose_name=_("service item"))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="requests", verbose_name=_("region"))
    description = models.TextField(_("service requirements"), blank=True)
    fiscal_share = models.PositiveSmallIntegerField(_("fiscal funds share (%)"), default=0)
    state_share = models.PositiveSmallIntegerField(_("state-owned funds share (%)"), default=0)
    social_share = models.PositiveSmallIntegerField(_("social funds share (%)"), default=0)
    quote_mode = models.CharField(_("quote mode"), max_length=16, choices=QuoteMode.choices, default=QuoteMode.PRICE)
    budget_fen = models.PositiveBigIntegerField(_("budget / price ceiling (fen)"))
    discount_min_bp = models.PositiveIntegerField(_("lowest discount rate (basis points)"), null=True, blank=True)
    discount_max_bp = models.PositiveIntegerField(_("highest discount rate (basis points)"), null=True, blank=True)
    service_term_days = models.PositiveIntegerField(_("service term (days)"))
    required_qualifications = models.ManyToManyField(QualificationType, blank=True, related_name="requests",
                                                     verbose_name=_("required qualifications"))
    selection_method = models.CharField(_("selection method"), max_length=16, choices=SelectionMethod.choices)
    price_weight = models.PositiveSmallIntegerField(_("price weight"), null=True, blank=True)
    quality_criteria = models.JSONField(_("quality criteria"), default=list, blank=True,
                                        help_text=_('[{"name": "...", "weight": 20}, ...]'))
    direct_exemption = models.TextField(_("legal exemption for direct choice"), blank=True)
    bid_deadline = models.DateTimeField(_("bid deadline"), db_index=True)
    selection_time = models.DateTimeField(_("selection time"))
    min_bidders = models.PositiveSmallIntegerField(_("minimum valid bids"), null=True, blank=True,
                                                   help_text=_("Empty: 3 with fiscal or state-owned funds, 1 otherwise."))
    contact_name = models.CharField(_("contact person"), max_length=64)
    contact_phone = models.CharField(_("contact phone"), max_length=32)
    status = models.CharField(_("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT,
                              db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    round_number = models.PositiveSmallIntegerField(_("round"), default=1)
    previous_round = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="next_round")
    # The verifiable draw: the commitment is public from publication, the secret only with the result.
    commitment = models.CharField(_("commitment"), max_length=64, blank=True)
    secret = models.CharField(max_length=64, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    amended_at = models.DateTimeField(_("amended at"), null=True, blank=True)
    publicity_ends_at = models.DateTimeField(_("publicity ends"), null=True, blank=True, db_index=True)
    awarded_at = models.DateTimeField(_("awarded at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-pk"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        constraints = [
            models.CheckConstraint(condition=Q(fiscal_share__lte=100) & Q(state_share__lte=100) & Q(social_share__lte=100),
                                   name="request_shares_are_percentages"),
            models.CheckConstraint(condition=Q(selection_time__gte=models.F("bid_deadline")),
                                   name="request_selection_after_deadline"),
        ]
        indexes = [models.Index(fields=["status", "bid_deadline"])]

    def __str__(self) -> str:
        return self.project_name

    @property
    def uses_state_funds(self) -> bool:
        return (self.fiscal_share or 0) + (self.state_share or 0) > 0

    @property
    def effective_min_bidders(self) -> int:
        if self.min_bidders:
            return self.min_bidders
        return 3 if self.uses_state_funds else 1

    def bidding_open_at(self, now) -> bool:
        return self.status == RequestStatus.PUBLISHED and now < self.bid_deadline

    def effective_status(self, now) -> str:
        """State follows from server time: bidding is closed once the deadline has passed."""
        if self.status == RequestStatus.PUBLISHED and now >= self.bid_deadline:
            return RequestStatus.BIDDING_CLOSED
        return self.status

    def is_sealed_at(self, now) -> bool:
        """Prices and nonces stay sealed until bidding closes (by server time)."""
        return now < self.bid_deadline

    @property
    def funding_label(self) -> str:
        parts = []
        for share, label in ((self.fiscal_share, FundingSource.FISCAL.label), (self.state_share, FundingSource.STATE.label),
                             (self.social_share, FundingSource.SOCIAL.label)):
            if share:
                parts.append(f"{label} {share}%")
        return "、".join(parts)


class RequestAvoidance(models.Model):
    """An agency the request avoids (回避单位), with the reason."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="avoidances")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="avoided_in")
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "agency"], name="avoidance_unique")]


class RequestQuestion(models.Model):
    """A clarification (答疑): an agency asks, the owner answers, the answer is published to all."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="questions")
    asked_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    asked_by_user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    question = models.TextField(_("question"))
    answer = models.TextField(_("answer"), blank=True)
    asked_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "pk"]


class RequestAmendment(models.Model):
    """An amendment (变更公告) with the fields it changed."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="amendments")
    reason = models.TextField(_("reason"))
    changes = models.JSONField(default=dict)
    material = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
