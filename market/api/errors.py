"""Every API error is JSON with a message and, where one field is at fault, that field."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, IntegrityError, InterfaceError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def _flatten(detail) -> tuple[str, str | None, dict]:
    """Return (first message, its field, all errors as {field: [messages]})."""
    if isinstance(detail, dict):
        errors = {}
        for key, value in detail.items():
            msgs = value if isinstance(value, list) else [value]
            flat = []
            for m in msgs:
                if isinstance(m, dict):
                    sub_msg, _sub_field, _ = _flatten(m)
                    flat.append(sub_msg)
                else:
                    flat.append(str(m))
            errors[str(key)] = flat
        if not errors:
            return _("Invalid input."), None, {}
        field = next(iter(errors))
        message = errors[field][0] if errors[field] else _("Invalid input.")
        return message, None if field in ("non_field_errors", "__all__") else field, errors
    if isinstance(detail, list):
        message = str(detail[0]) if detail else _("Invalid input.")
        return message, None, {"non_field_errors": [str(d) for d in detail]}
    return str(detail), None, {}


def django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {key: [str(m) for m in DjangoValidationError(value).messages] for key, value in exc.error_dict.items()}
    return list(exc.messages)


def error_response(message: str, *, field: str | None = None, errors: dict | None = None, code: str = "invalid",
                   http_status: int = 400) -> Response:
    body = {"message": message, "field": field, "code": code}
    if errors:
        body["errors"] = errors
    return Response(body, status=http_status)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, IntegrityError):
        logger.warning("integrity error in API: %s", exc)
        exc = exceptions.APIException(_("The request conflicts with existing data."))
        exc.status_code = status.HTTP_409_CONFLICT
    elif isinstance(exc, (DatabaseError, InterfaceError)):  # InterfaceError: the connection is gone
        logger.exception("database error in API")
        exc = exceptions.APIException(_("The database is unavailable; nothing was saved. Please try again."))
        exc.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    message, field, errors = _flatten(detail)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if isinstance(code, (dict, list)):
        code = "invalid"
    body = {"message": message, "field": field, "code": code}
    if errors:
        body["errors"] = errors
    response.data = body
    return response
