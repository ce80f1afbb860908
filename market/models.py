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
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"])]

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
