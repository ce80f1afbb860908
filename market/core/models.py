"""Core models: the audit log and one-time form tokens (market/core/once.py)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["AuditEvent", "FormSubmission"]


class FormSubmission(models.Model):
    """A form token consumed by a submission that succeeded, with where that submission led. It is
    written in the same transaction as what the submission created, so it exists only if that does."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    path = models.CharField(max_length=255)
    result_url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "market"
        constraints = [models.UniqueConstraint(fields=["user", "token"], name="formsubmission_token_once")]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.path} → {self.result_url}"


class AuditEvent(models.Model):
    """One state change, chained to the previous event by hash."""

    created_at = models.DateTimeField(_("time"), db_index=True)
    # No database constraint: the id is part of the hashed content and must survive the user.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor_repr = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    # The chain this event belongs to (market.core.audit.stream_of); prev_hash is its predecessor there.
    stream = models.PositiveSmallIntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The formula `hash` was computed with (market.core.audit.event_hash): 1 for events written before
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
