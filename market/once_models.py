"""One-time form tokens (see market/once.py): the first POST that carries a token consumes it."""

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["FormSubmission"]


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
