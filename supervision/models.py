"""Supervision (监管): warning signs, complaints (投诉), random inspections (双随机一公开), and the
notifications everyone receives (in-site inbox and e-mail).

Models hold fields, properties and constraints; the workflows live in services.py (warnings,
complaints, inspections) and notifications.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from market.accounts.models import Organization, Region, User
from market.catalogue.models import ServiceItem
from market.requests.models import ServiceRequest

# --- Warning signs (风险预警) ---------------------------------------------------------------------


class WarningRule(models.TextChoices):
    BID_ROTATION = "bid_rotation", _("bidding together and taking turns to win")
    IDENTICAL_PRICES = "identical_prices", _("identical prices")
    ABNORMALLY_LOW = "abnormally_low", _("abnormally low price")
    OWNER_CONCENTRATION = "owner_concentration", _("one owner awarding most requests to one agency")
    SINGLE_QUALIFIED = "single_qualified", _("requirements that only one agency meets")


class WarningStatus(models.TextChoices):
    OPEN = "open", _("open")
    DISMISSED = "dismissed", _("dismissed")
    ESCALATED = "escalated", _("turned into a breach case")


class SubjectType(models.TextChoices):
    REQUEST = "request", _("service request")
    AGENCY = "agency", _("agency")
    AGENCY_PAIR = "agency_pair", _("pair of agencies")
    OWNER = "owner", _("project owner")


class RiskWarning(models.Model):
    """A warning sign computed from the data: the rule it meets, its subject and the evidence.

    Refreshing recomputes every rule: a warning found again keeps its identity (rule + subject key)
    and, while open, takes the new evidence; one no longer found is kept, marked not current."""

    rule = models.CharField(_("rule"), max_length=32, choices=WarningRule.choices, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=16, choices=SubjectType.choices)
    subject_key = models.CharField(_("subject key"), max_length=120)
    subject_label = models.CharField(_("subject"), max_length=255)
    request = models.ForeignKey(ServiceRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                verbose_name=_("service request"))
    owner = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("project owner"))
    agencies = models.ManyToManyField(Agency, blank=True, related_name="risk_warnings", verbose_name=_("agencies"))
    evidence = models.JSONField(_("evidence"), default=dict)
    status = models.CharField(_("status"), max_length=16, choices=WarningStatus.choices, default=WarningStatus.OPEN,
                              db_index=True)
    status_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    breaches = models.ManyToManyField("credit.Breach", blank=True, related_name="+", verbose_name=_("breaches"))
    first_seen_at = models.DateTimeField(_("first detected"))
    last_seen_at = models.DateTimeField(_("last detected"))
    current = models.BooleanField(_("still detected"), default=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        verbose_name = _("warning sign")
        verbose_name_plural = _("warning signs")
        constraints = [models.UniqueConstraint(fields=["rule", "subject_key"], name="warning_unique_rule_subject")]
        indexes = [models.Index(fields=["status", "current"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.subject_label}"


class IndicatorRun(models.Model):
    """One refresh of the warning signs."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    found = models.JSONField(default=dict, help_text="findings per rule")
    created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]


# --- Complaints (投诉) ------------------------------------------------------------------------------


class ComplaintStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("rejected")
    INVESTIGATING = "investigating", _("under investigation")
    DECIDED = "decided", _("decided")


class ComplaintOutcome(models.TextChoices):
    UPHELD = "upheld", _("upheld")
    PARTLY_UPHELD = "partly_upheld", _("partly upheld")
    NOT_UPHELD = "not_upheld", _("not upheld")


class Complaint(models.Model):
    """A complaint about a request, an agency or an owner. Public: number, subject, dates, status,
    outcome and decision. Private (complainant and regulators): the complainant, grounds, contact."""

    number = models.CharField(_("number"), max_length=24, unique=True, null=True, blank=True)
    complainant = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="complaints",
                                    verbose_name=_("complainant"))
    subject_type = models.CharField(_("about"), max_length=16, choices=[
        (SubjectType.REQUEST, SubjectType.REQUEST.label), (SubjectType.AGENCY, SubjectType.AGENCY.label),
        (SubjectType.OWNER, SubjectType.OWNER.label)])
    request = models.ForeignKey(ServiceRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints",
                                verbose_name=_("service request"))
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints",
                               verbose_name=_("agency"))
    owner = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="complaints",
                              verbose_name=_("project owner"))
    subject_label = models.CharField(_("subject"), max_length=255)
    grounds = models.TextField(_("grounds"))
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ComplaintStatus.choices,
                              default=ComplaintStatus.RECEIVED, db_index=True)
    lodged_at = models.DateTimeField(_("lodged at"))
    accept_by = models.DateTimeField(_("accept or reject by"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    rejected_at = models.DateTimeField(_("rejected at"), null=True, blank=True)
    investigating_at = models.DateTimeField(_("investigation started"), null=True, blank=True)
    decide_by = models.DateTimeField(_("decide by"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=ComplaintOutcome.choices, blank=True)
    decision = models.TextField(_("published decision"), blank=True,
                                help_text=_("Published as written: no names, phone numbers or other personal data."))
    handled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-lodged_at", "-pk"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            models.CheckConstraint(name="complaint_one_subject", condition=(
                Q(subject_type="request", request__isnull=False, agency__isnull=True, owner__isnull=True)
                | Q(subject_type="agency", request__isnull=True, agency__isnull=False, owner__isnull=True)
                | Q(subject_type="owner", request__isnull=True, agency__isnull=True, owner__isnull=False))),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    def is_overdue_at(self, now) -> bool:
        """Past the deadline of the current step (derived from time)."""
        if self.status == ComplaintStatus.RECEIVED:
            return now >= self.accept_by
        if self.status in (ComplaintStatus.ACCEPTED, ComplaintStatus.INVESTIGATING):
            return self.decide_by is not None and now >= self.decide_by
        return False


# --- Random inspections (双随机一公开) ------------------------------------------------------------


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published, draw pending")
    DRAWN = "drawn", _("drawn, inspections under way")
    COMPLETED = "completed", _("completed")


class InspectionPlan(models.Model):
    """A random inspection plan: the population (agencies offering the service items and/or in the
    regions), the sample size and the pool of inspectors. On publication the population and the pool
    are frozen and published with the commitment; the draw reveals the secret."""

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("scope and basis"), blank=True)
    service_items = models.ManyToManyField(ServiceItem, blank=True, related_name="+", verbose_name=_("service items"))
    regions = models.ManyToManyField(Region, blank=True, related_name="+", verbose_name=_("regions"))
    sample_size = models.PositiveIntegerField(_("agencies to inspect"))
    inspectors_per_agency = models.PositiveSmallIntegerField(_("inspectors per agency"), default=2)
    inspectors = models.ManyToManyField(User, related_name="+", verbose_name=_("pool of inspectors"))
    status = models.CharField(_("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT,
                              db_index=True)
    draw_at = models.DateTimeField(_("draw time"))
    commitment = models.CharField(_("commitment"), max_length=64, blank=True)
    secret = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(_("published parameters"), null=True, blank=True)
    result = models.JSONField(_("published draw"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")
        constraints = [
            models.CheckConstraint(condition=Q(sample_size__gt=0) & Q(inspectors_per_agency__gt=0),
                                   name="plan_sizes_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class InspectionOutcome(models.TextChoices):
    COMPLIANT = "compliant", _("no problems found")
    RECTIFY = "rectify", _("problems found, rectification ordered")
    VIOLATION = "violation", _("violation found")
    NOT_INSPECTED = "not_inspected", _("could not be inspected")


class Inspection(models.Model):
    """One drawn agency of a plan, its randomly assigned inspectors and the published result."""

    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE, related_name="inspections")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("agency"))
    rank = models.PositiveIntegerField(_("order drawn"))
    ticket = models.CharField(_("ticket"), max_length=64)
    inspectors = models.ManyToManyField(User, related_name="inspections", verbose_name=_("inspectors"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=InspectionOutcome.choices, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)

    class Meta:
        ordering = ["plan", "rank"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            models.UniqueConstraint(fields=["plan", "agency"], name="inspection_unique_agency"),
            models.UniqueConstraint(fields=["plan", "rank"], name="inspection_unique_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} #{self.rank}"


# --- Notifications --------------------------------------------------------------------------------


class NotificationKind(models.TextChoices):
    REQUEST_PUBLISHED = "request.published", _("new request for your service items")
    QUESTION_ANSWERED = "question.answered", _("clarification answered")
    REQUEST_AMENDED = "request.amended", _("request amended")
    DEADLINE_APPROACHING = "deadline.approaching", _("bid deadline approaching")
    SELECTION_RESULT = "selection.result", _("selection result")
    OBJECTION_LODGED = "objection.lodged", _("objection lodged")
    OBJECTION_RULED = "objection.ruled", _("objection ruled on")
    CONTRACT_TO_CONFIRM = "contract.to_confirm", _("contract to confirm")
    DELIVERABLE_RETURNED = "deliverable.returned", _("deliverable returned")
    BREACH_RECORDED = "breach.recorded", _("breach recorded")
    QUALIFICATION_EXPIRING = "qualification.expiring", _("qualification expiring")
    COMPLAINT_LODGED = "complaint.lodged", _("new complaint")
    COMPLAINT_STATUS = "complaint.status", _("complaint status")


def _default_email_kinds() -> list[str]:
    return list(NotificationKind.values)


class NotificationPreference(models.Model):
    """A user's language for notifications and the kinds to receive by e-mail (all by default)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="notification_preference")
    language = models.CharField(_("language"), max_length=16, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    email_kinds = models.JSONField(_("kinds sent by e-mail"), default=_default_email_kinds, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language})"


class EmailStatus(models.TextChoices):
    NONE = "none", _("not e-mailed")
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class Notification(models.Model):
    """One message in a user's inbox, rendered in the user's language when it was made."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    subject = models.CharField(_("subject"), max_length=255)
    body = models.TextField(_("message"))
    url = models.CharField(_("link"), max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=200)
    created_at = models.DateTimeField(_("time"), db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    email_status = models.CharField(_("e-mail"), max_length=8, choices=EmailStatus.choices, default=EmailStatus.NONE)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            # The same event never reaches the same person twice (tasks may be retried, jobs re-run).
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_event"),
        ]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.subject


class DeadlineReminder(models.Model):
    """The bid-deadline reminder went to this bidder for this request (once)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "agency"], name="deadline_reminder_once")]
