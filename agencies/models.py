"""Agencies (中介机构): one registration, reviewed once, valid province-wide.

The agency's legal identity (name, USCC, region, address, legal representative, contacts) is its
market.Organization of kind "agency"; this module holds the registration and what it offers.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from market.accounts.models import Membership, Organization, User
from market.catalogue.models import QualificationType, ServiceItem
from market.core.money import fen_to_yuan


def _new_key() -> str:
    return uuid.uuid4().hex


class PrivateStorage(Storage):
    """The "private" storage from settings.STORAGES, looked up at each call, so that a changed
    setting (another deployment location, a test's temporary directory) takes effect at once."""

    @property
    def backend(self) -> Storage:
        return storages["private"]

    def open(self, name, mode="rb"):
        return self.backend.open(name, mode)

    def save(self, name, content, max_length=None):
        return self.backend.save(name, content, max_length=max_length)

    def delete(self, name):
        return self.backend.delete(name)

    def exists(self, name):
        return self.backend.exists(name)

    def size(self, name):
        return self.backend.size(name)

    def listdir(self, path):
        return self.backend.listdir(path)

    def path(self, name):
        return self.backend.path(name)

    def url(self, name):
        raise NotImplementedError("private files have no public URL; they are served by permission-checking views")

    def generate_filename(self, filename):
        return self.backend.generate_filename(filename)

    def get_available_name(self, name, max_length=None):
        return self.backend.get_available_name(name, max_length=max_length)

    def get_valid_name(self, name):
        return self.backend.get_valid_name(name)

    def get_modified_time(self, name):
        return self.backend.get_modified_time(name)


_private_storage = PrivateStorage()


def private_storage():
    """Uploads are stored outside MEDIA_URL and streamed only by permission-checking views."""
    return _private_storage


def upload_path(instance, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"agencies/{instance.agency_id}/{uuid.uuid4().hex}.{ext}"


class AgencyStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted for review")
    RETURNED = "returned", _("returned for changes")
    PUBLICITY = "publicity", _("in publicity")
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")
    BANNED = "banned", _("banned")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


# A USCC may hold only one registration in these states at a time.
LIVE_STATUSES = [
    AgencyStatus.DRAFT, AgencyStatus.SUBMITTED, AgencyStatus.RETURNED, AgencyStatus.PUBLICITY,
    AgencyStatus.ACTIVE, AgencyStatus.SUSPENDED, AgencyStatus.BANNED,
]


class AgencyType(models.TextChoices):
    COMPANY = "company", _("company")
    PARTNERSHIP = "partnership", _("partnership")
    INSTITUTION = "institution", _("public institution")
    SOCIAL = "social", _("social organization")
    OTHER = "other", _("other")


class Agency(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="agency_registrations",
                                     verbose_name=_("organization"))
    agency_type = models.CharField(_("agency type"), max_length=16, choices=AgencyType.choices, default=AgencyType.COMPANY)
    status = models.CharField(_("status"), max_length=16, choices=AgencyStatus.choices, default=AgencyStatus.DRAFT,
                              db_index=True)
    introduction = models.TextField(_("introduction"), blank=True)
    draft_step = models.PositiveSmallIntegerField(_("registration step"), default=1)
    review_comment = models.TextField(_("regulator's comment"), blank=True)
    status_reason = models.TextField(_("reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    publicity_started_at = models.DateTimeField(_("publicity started"), null=True, blank=True)
    publicity_ends_at = models.DateTimeField(_("publicity ends"), null=True, blank=True, db_index=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Credit (kept current by the credit module): score 0–100 and grade A–D.
    credit_score = models.PositiveSmallIntegerField(_("credit score"), default=100)
    credit_grade = models.CharField(_("credit grade"), max_length=1, default="A", db_index=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["organization__name"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], condition=Q(status__in=LIVE_STATUSES),
                                    name="agency_one_live_registration_per_organization"),
        ]
        indexes = [
            models.Index(fields=["status", "credit_grade"]),
            # The directory's default order (the red list first): read in order, not sorted whole.
            models.Index(fields=["status", "credit_grade", "-credit_score"], name="agency_directory_grade_idx"),
        ]

    def __str__(self) -> str:
        return self.organization.name

    @property
    def name(self) -> str:
        return self.organization.name

    @property
    def is_active(self) -> bool:
        return self.status == AgencyStatus.ACTIVE


class LicenceFile(models.Model):
    """The business licence and other registration papers (营业执照等)."""

    class Kind(models.TextChoices):
        BUSINESS_LICENCE = "business_licence", _("business licence")
        OTHER = "other", _("other document")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="licence_files")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.BUSINESS_LICENCE)
    file = models.FileField(_("file"), storage=private_storage, upload_to=upload_path)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("licence file")
        verbose_name_plural = _("licence files")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"


class AgencyServiceItem(models.Model):
    """A service item the agency offers, with its fee quote and service commitment."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="offered_items")
    service_item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="offered_by")
    fee_quote = models.CharField(_("fee quote"), max_length=255)
    fee_quote_fen = models.PositiveBigIntegerField(_("typical fee (fen)"), null=True, blank=True)
    commitment = models.TextField(_("service commitment"), blank=True)

    class Meta:
        verbose_name = _("offered service item")
        verbose_name_plural = _("offered service items")
        constraints = [models.UniqueConstraint(fields=["agency", "service_item"], name="agency_item_unique")]

    def __str__(self) -> str:
        return f"{self.agency_id}: {self.service_item_id}"

    @property
    def fee_quote_yuan(self) -> str | None:
        return None if self.fee_quote_fen is None else fen_to_yuan(self.fee_quote_fen)


class Qualification(models.Model):
    """A qualification certificate (资质证书) with its validity."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="qualifications")
    qualification_type = models.ForeignKey(QualificationType, on_delete=models.PROTECT, related_name="certificates",
                                           verbose_name=_("qualification type"))
    certificate_number = models.CharField(_("certificate number"), max_length=64)
    level = models.CharField(_("level"), max_length=32, blank=True)
    issuer = models.CharField(_("issuer"), max_length=100)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), db_index=True)
    file = models.FileField(_("scanned certificate"), storage=private_storage, upload_to=upload_path, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True, null=True)

    class Meta:
        ordering = ["valid_to"]
        verbose_name = _("qualification certificate")
        verbose_name_plural = _("qualification certificates")
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="qualification_valid_range"),
            models.UniqueConstraint(fields=["agency", "qualification_type", "certificate_number"],
                                    name="qualification_unique_certificate"),
        ]

    def __str__(self) -> str:
        return f"{self.qualification_type} {self.certificate_number}"

    def is_valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def days_left(self, day: dt.date) -> int:
        """Days from `day` to the last valid day (negative once expired)."""
        return (self.valid_to - day).days


class Practitioner(models.Model):
    """A practitioner (执业人员) of the agency."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="practitioners")
    name = models.CharField(_("name"), max_length=64)
    title = models.CharField(_("professional title"), max_length=64, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("practitioner")
        verbose_name_plural = _("practitioners")

    def __str__(self) -> str:
        return self.name


class PublicityObjection(models.Model):
    """An objection lodged against an agency during its registration publicity (入驻公示异议)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        UPHELD = "upheld", _("upheld")
        DISMISSED = "dismissed", _("dismissed")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="objections")
    lodged_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact_name = models.CharField(_("your name"), max_length=64)
    contact_phone = models.CharField(_("your phone"), max_length=32, blank=True)
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    ruling = models.TextField(_("ruling"), blank=True)
    ruled_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ruled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("publicity objection")
        verbose_name_plural = _("publicity objections")

    def __str__(self) -> str:
        return f"#{self.pk} {self.agency} ({self.get_status_display()})"


class AgencyInvitation(models.Model):
    """An e-mail invitation to join an agency's staff with a role. The link carries a signed token
    (agencies.services.invitation_token); accepting adds the membership."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REVOKED = "revoked", _("revoked")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role.choices, default=Membership.Role.STAFF)
    key = models.CharField(max_length=32, unique=True, default=_new_key, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("staff invitation")
        verbose_name_plural = _("staff invitations")
        constraints = [
            models.UniqueConstraint(fields=["agency", "email"], condition=Q(status="pending"),
                                    name="agency_invitation_one_pending_per_email"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.agency}"
