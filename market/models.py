"""Core models: accounts, organizations and their members, regions, the service-item
catalogue with its fee schedule, and the audit log.

Models hold fields, properties and validation; workflows live in services.py.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from wagtail.search import index

from .uscc import validate_uscc


class User(AbstractUser):
    """A person. One account may belong to several organizations with a role in each."""

    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    def check_password(self, raw_password) -> bool:
        """Every check of this account's password counts against the login lockout (market/lockout.py)."""
        from .lockout import check_password_guarded  # the lockout's backend needs the auth app, loaded after models

        def check() -> bool:
            self._rehashing = True  # a hash upgraded on log-in keeps the password, and the API tokens
            try:
                return super(User, self).check_password(raw_password)
            finally:
                self._rehashing = False

        return check_password_guarded(self.get_username(), check)

    def set_password(self, raw_password) -> None:
        super().set_password(raw_password)
        if not getattr(self, "_rehashing", False):
            self._revoke_tokens = True

    def save(self, *args, **kwargs) -> None:
        new = self._state.adding  # a new account has no token yet
        super().save(*args, **kwargs)
        if getattr(self, "_revoke_tokens", False) and not new:
            # A new password ends every API token of the account (sessions end by Django's session hash).
            from rest_framework.authtoken.models import Token

            Token.objects.filter(user=self).delete()
        self._revoke_tokens = False

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Region(models.Model):
    """A GB/T 2260 administrative division (province, prefecture, county, or a town of a
    prefecture without counties, such as Dongguan)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("province")
        PREFECTURE = "prefecture", _("prefecture")
        COUNTY = "county", _("county")
        TOWN = "town", _("town")

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    full_name = models.CharField(_("full name"), max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.full_name or self.name

    @property
    def prefecture_code(self) -> str:
        return self.code[:4] + "00"


class Organization(models.Model):
    """A project owner, an agency or a regulator, identified by its USCC."""

    class Kind(models.TextChoices):
        OWNER = "owner", _("project owner")
        AGENCY = "agency", _("agency")
        REGULATOR = "regulator", _("regulator")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting verification")
        VERIFIED = "verified", _("verified")
        REJECTED = "rejected", _("rejected")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, validators=[validate_uscc])
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=255, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=64, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=64, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    status_comment = models.TextField(_("verification comment"), blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    members = models.ManyToManyField(User, through="Membership", related_name="organizations")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "uscc"], name="organization_unique_uscc_per_kind"),
        ]
        # The agency directory lists by name: at 100,000 agencies it reads the first rows of this index
        # instead of sorting every organization (see README, "Benchmark at large scale").
        indexes = [models.Index(fields=["name"], name="organization_name_idx")]
        permissions = [
            ("act_for_organization", _("Can act for the organization")),
            ("manage_organization", _("Can manage the organization's profile and members")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED


class OrganizationUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object permissions (guardian) for organizations."""

    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class OrganizationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Organization, on_delete=models.CASCADE)


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("administrator")
        STAFF = "staff", _("staff")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="membership_unique_user_org")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


# --- The catalogue of service items (中介服务事项清单) -------------------------------------


class ServiceCategory(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=64)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("service category")
        verbose_name_plural = _("service categories")

    def __str__(self) -> str:
        return self.name


class QualificationType(models.Model):
    """A kind of qualification certificate an agency may hold (资质类型)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    issuer = models.CharField(_("issuing authority"), max_length=100, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("qualification type")
        verbose_name_plural = _("qualification types")

    def __str__(self) -> str:
        return self.name


class PricingMode(models.TextChoices):
    GOVERNMENT_SET = "government_set", _("government-set price")
    GOVERNMENT_GUIDED = "government_guided", _("government-guided price")
    MARKET = "market", _("market-regulated price")


class ApprovalLevel(models.TextChoices):
    PROVINCE = "province", _("provincial")
    CITY = "city", _("city")
    COUNTY = "county", _("county")


class ServiceItem(index.Indexed, models.Model):
    """An intermediary service item (中介服务事项) with its fee schedule."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, related_name="items", verbose_name=_("category"))
    legal_basis = models.TextField(_("legal basis"))
    approval = models.CharField(_("approval served"), max_length=255)
    department = models.CharField(_("approving department"), max_length=100)
    qualification_types = models.ManyToManyField(
        QualificationType, blank=True, related_name="service_items", verbose_name=_("required qualifications")
    )
    service_content = models.TextField(_("service content"))
    result = models.CharField(_("service result"), max_length=255)
    time_limit_days = models.PositiveIntegerField(_("time limit (working days)"))
    pricing_mode = models.CharField(_("pricing mode"), max_length=24, choices=PricingMode.choices)
    fee_basis = models.TextField(_("fee basis"), blank=True)
    fee_standard = models.TextField(_("fee standard"))
    fee_cap_fen = models.PositiveBigIntegerField(
        _("fee cap (fen)"), null=True, blank=True,
        help_text=_("Highest fee in fen for government-set or government-guided items; a request's ceiling may not exceed it."),
    )
    level = models.CharField(_("level"), max_length=16, choices=ApprovalLevel.choices)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    search_fields = [
        index.SearchField("name"),
        index.AutocompleteField("name"),
        index.SearchField("approval"),
        index.SearchField("service_content"),
        index.FilterField("pricing_mode"),
        index.FilterField("level"),
    ]

    class Meta:
        ordering = ["category__sort_order", "code"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        constraints = [
            models.CheckConstraint(
                condition=Q(pricing_mode="market") | Q(fee_cap_fen__isnull=False),
                name="service_item_regulated_price_has_cap",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.pricing_mode != PricingMode.MARKET and self.fee_cap_fen is None:
            raise ValidationError({"fee_cap_fen": _("A government-set or government-guided item needs a fee cap.")})

    @property
    def fee_cap_yuan(self) -> str | None:
        from .money import fen_to_yuan

        return None if self.fee_cap_fen is None else fen_to_yuan(self.fee_cap_fen)


# --- Audit log ---------------------------------------------------------------------------------


class AuditEvent(models.Model):
    """One state change, chained to the previous event by hash."""

    created_at = models.DateTimeField(_("time"), db_index=True)
    # No database constraint: the id is part of the hashed content and must survive the user.
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor_repr = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    # The chain this event belongs to (market.audit.stream_of); prev_hash is its predecessor there.
    stream = models.PositiveSmallIntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The formula `hash` was computed with (market.audit.event_hash): 1 for events written before
    # every stored field was hashed, 2 since each stream's opening event (the cut-over).
    hash_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"]),
                   models.Index(fields=["stream", "-id"], name="market_audit_stream_head")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"


# --- Official calendar (working days) -----------------------------------------------------------


class CalendarDay(models.Model):
    """An exception to the Monday–Friday week on China's official calendar: a public holiday
    on a weekday, or an adjusted workday (调休上班) on a weekend."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday")
        WORKDAY = "workday", _("adjusted workday")

    date = models.DateField(_("date"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class HolidayYear(models.Model):
    """A year whose holidays and adjusted workdays have been entered (by the package or a regulator)."""

    year = models.PositiveIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=32, default="manual")
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("holiday year")
        verbose_name_plural = _("holiday years")

    def __str__(self) -> str:
        return str(self.year)


# --- Service requests (采购公告) ---------------------------------------------------------------


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
from .contracts.models import *  # noqa: E402,F401,F403
from .opendata.models import *  # noqa: E402,F401,F403
from .once_models import *  # noqa: E402,F401,F403
