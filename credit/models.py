"""Credit (信用): breach rules, breaches, appeals and credit repair."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.search import index

from agencies.models import Agency
from market.accounts.models import User


class Severity(models.TextChoices):
    MINOR = "minor", _("minor")
    MAJOR = "major", _("major")
    SERIOUS = "serious", _("serious")


class BreachRule(index.Indexed, models.Model):
    """A kind of breach (失信行为) with its point deduction and ban length."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"))
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    points = models.PositiveSmallIntegerField(_("points deducted"))
    ban_days = models.PositiveIntegerField(_("ban length (days)"), default=0, help_text=_("0: no ban"))
    automatic = models.BooleanField(_("recorded by the system"), default=False)
    is_active = models.BooleanField(_("in force"), default=True)

    search_fields = [index.SearchField("name"), index.SearchField("code")]

    class Meta:
        ordering = ["code"]
        verbose_name = _("breach rule")
        verbose_name_plural = _("breach rules")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class BreachStatus(models.TextChoices):
    ACTIVE = "active", _("in force")
    REVOKED = "revoked", _("revoked on appeal")
    REPAIRED = "repaired", _("repaired")


class Breach(models.Model):
    class Source(models.TextChoices):
        SYSTEM = "system", _("recorded by the system")
        REGULATOR = "regulator", _("recorded by a regulator")

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="breaches", verbose_name=_("agency"))
    rule = models.ForeignKey(BreachRule, on_delete=models.PROTECT, related_name="breaches", verbose_name=_("rule"))
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    evidence = models.TextField(_("evidence"))
    related_type = models.CharField(max_length=100, blank=True)
    related_id = models.CharField(max_length=64, blank=True)
    points = models.PositiveSmallIntegerField(_("points deducted"))
    status = models.CharField(_("status"), max_length=16, choices=BreachStatus.choices, default=BreachStatus.ACTIVE,
                              db_index=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), db_index=True)
    ban_until = models.DateTimeField(_("banned until"), null=True, blank=True, db_index=True)
    appeal_deadline = models.DateTimeField(_("appeal deadline"))
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        indexes = [models.Index(fields=["agency", "status"]), models.Index(fields=["status", "ban_until"])]
        constraints = [
            # The system records one breach per rule per related object (a job may run twice).
            models.UniqueConstraint(fields=["agency", "rule", "related_type", "related_id"],
                                    condition=Q(source="system") & ~Q(related_id=""), name="breach_system_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agency} {self.rule.code} {self.recorded_at:%Y-%m-%d}"


class Appeal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        GRANTED = "granted", _("granted")
        REFUSED = "refused", _("refused")

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="appeals")
    lodged_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(_("grounds"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    ruling = models.TextField(_("ruling"), blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["breach"], condition=Q(status="open"), name="appeal_one_open")]


class RepairRequest(models.Model):
    """Credit repair (信用修复): after a period, with evidence of correction."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="repairs")
    lodged_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    evidence = models.TextField(_("evidence of correction"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    ruling = models.TextField(_("ruling"), blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["breach"], condition=Q(status="open"), name="repair_one_open")]
