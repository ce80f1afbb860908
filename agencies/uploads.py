"""Checks on uploaded registration documents: the content decides the type, not the file name.

Accepted: PDF, JPEG and PNG, recognised by their first bytes (magic numbers), at most
settings.UPLOAD_MAX_BYTES. A renamed program (an executable called "licence.pdf") is refused.
The stored name is made by the server from the detected type.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# (leading bytes, content type, extension)
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)
EXECUTABLE_SIGNATURES = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
CONTENT_TYPES = {ctype: ext for _sig, ctype, ext in SIGNATURES}


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    extension: str
    size: int
    original_name: str


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) for the first bytes of a file, or None if not an accepted type."""
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


def _max_mb() -> str:
    return f"{settings.UPLOAD_MAX_BYTES / (1024 * 1024):g}"


def check_upload(upload: UploadedFile, *, field: str = "file") -> CheckedUpload:
    """Refuse (ValidationError on `field`) anything that is not a PDF, JPEG or PNG of allowed size."""
    name = (getattr(upload, "name", "") or "upload").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, 2)
        size = upload.tell()
    if size == 0:
        raise ValidationError({field: [ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="file_empty")]})
    if size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError({field: [ValidationError(
            _("“%(name)s” is %(size).1f MB; files may be at most %(max)s MB.")
            % {"name": name, "size": size / (1024 * 1024), "max": _max_mb()}, code="file_too_large")]})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    detected = sniff(head)
    if detected is None:
        if head.startswith(EXECUTABLE_SIGNATURES):
            message = _("“%(name)s” is a program, not a document: whatever its name, its content is executable code. "
                        "Upload the document as a PDF, JPEG or PNG file.") % {"name": name}
        else:
            message = _("“%(name)s” is not a PDF, JPEG or PNG file: its content does not match any of them "
                        "(renaming a file does not change its type).") % {"name": name}
        raise ValidationError({field: [ValidationError(message, code="file_type")]})
    content_type, extension = detected
    return CheckedUpload(content_type=content_type, extension=extension, size=size, original_name=name)
