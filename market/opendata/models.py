"""Open data: every published change of a request is kept as an OCDS 1.1 release."""

from django.db import models

__all__ = ["OcdsRelease"]


class OcdsRelease(models.Model):
    ocid = models.CharField(max_length=100, db_index=True)
    release_id = models.CharField(max_length=140, unique=True)
    request = models.ForeignKey("market.ServiceRequest", on_delete=models.CASCADE, related_name="ocds_releases")
    date = models.DateTimeField(db_index=True)
    tags = models.JSONField(default=list)
    data = models.JSONField()

    class Meta:
        app_label = "market"
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["ocid", "date"])]

    def __str__(self) -> str:
        return self.release_id
