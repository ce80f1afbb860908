"""What every change of a registration's draft, certificates or people shares: the statuses that
allow it, the lock that checks the actor may make it, and the storing of uploaded files."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from market.accounts.models import User

from .. import permissions
from ..models import Agency, AgencyStatus, private_storage
from ..uploads import check_upload

logger = logging.getLogger(__name__)

S = AgencyStatus
# The draft (organization, licences, offered items) may be changed only while it is with the agency.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED})
# Certificates and practitioners may also be kept current once the agency is active (renewals).
CERTIFICATE_EDITABLE_STATUSES = frozenset({S.DRAFT, S.RETURNED, S.ACTIVE, S.SUSPENDED})


def lock_for_edit(*, actor: User, agency: Agency, statuses=EDITABLE_STATUSES) -> Agency:
    """Lock the registration and check the actor may change it in its present status."""
    locked = Agency.objects.select_for_update().select_related("organization").get(pk=agency.pk)
    permissions.require_edit(actor, locked)
    if locked.status not in statuses:
        raise ValidationError(
            _("The registration is “%(status)s” and cannot be changed now.") % {"status": locked.get_status_display()},
            code="not_editable")
    return locked


def store_upload(*, instance, upload: UploadedFile, field: str = "file") -> None:
    """Check an upload's real content and size, and save it under a server-made name."""
    checked = check_upload(upload, field=field)
    getattr(instance, field).save(f"upload.{checked.extension}", upload, save=False)
    instance.original_name = checked.original_name
    instance.content_type = checked.content_type
    if hasattr(instance, "size"):
        instance.size = checked.size


def delete_on_failure(instance, field: str = "file"):
    """Context: if the transaction fails after a file was stored, remove the orphan file."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            name = getattr(getattr(instance, field), "name", "")
            if exc_type is not None and name:
                try:
                    private_storage().delete(name)
                except OSError:  # pragma: no cover
                    logger.warning("could not remove orphan upload %s", name)
            return False

    return _Guard()

