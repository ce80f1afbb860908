"""The catalogue of service items (中介服务事项清单) with its fee schedule."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from market.core.money import fen_to_yuan


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
        if self.pricing_mode != PricingMode.MARKET and self.fee_cap_fen is None:
            raise ValidationError({"fee_cap_fen": _("A government-set or government-guided item needs a fee cap.")})

    @property
    def fee_cap_yuan(self) -> str | None:
        return None if self.fee_cap_fen is None else fen_to_yuan(self.fee_cap_fen)
