"""Serving private uploads: only to those who may see them, always as a download."""

from __future__ import annotations

import os

from django.http import FileResponse, Http404

from .models import LicenceFile, Qualification
from .permissions import require_see_private
from .uploads import sniff

FILE_KINDS = {"licence": LicenceFile, "qualification": Qualification}


def private_file_get(*, kind: str, pk: int, user) -> LicenceFile | Qualification:
    """The stored document, if it exists and the user may see it (else Http404 / PermissionDenied)."""
    model = FILE_KINDS.get(kind)
    if model is None:
        raise Http404
    obj = model.objects.select_related("agency", "agency__organization").filter(pk=pk).first()
    if obj is None or not obj.file:
        raise Http404
    require_see_private(user, obj.agency)
    return obj


def private_file_response(obj: LicenceFile | Qualification) -> FileResponse:
    try:
        handle = obj.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = obj.content_type
    if not content_type:
        detected = sniff(handle.read(16))
        handle.seek(0)
        content_type = detected[0] if detected else "application/octet-stream"
    filename = obj.original_name or os.path.basename(obj.file.name)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
