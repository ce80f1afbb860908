"""Every API error is JSON with a message and, where one field is at fault, that field.

Database errors are told apart: a DataError is the client's input that the database refused (a value
too long, out of range, a character it cannot store) and is answered 400, naming the field when the
database says which; a lost connection (OperationalError, InterfaceError) is the server's trouble and is
answered 503 "try again". Routes under /api/ that do not exist, and requests refused before any view
(a malformed body, see market/input_guard.py), get the same JSON shape through `page_not_found` and
`bad_request`, the project's handler404 and handler400."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _flatten(detail) -> tuple[str, str | None, dict]:
    """Return (first message, its field, all errors as {field: [messages]}). Nested errors are named
    by their path: {"organization": {"name": [...]}} is "organization.name", the second item of a
    list "service_items.1.fee_quote_fen"."""
    if isinstance(detail, dict):
        errors: dict[str, list[str]] = {}
        _collect(detail, "", errors)
        if not errors:
            return _("Invalid input."), None, {}
        field = next(iter(errors))
        message = errors[field][0] if errors[field] else _("Invalid input.")
        return message, None if field in ("non_field_errors", "__all__") else field, errors
    if isinstance(detail, list):
        message = str(detail[0]) if detail else _("Invalid input.")
        return message, None, {"non_field_errors": [str(d) for d in detail]}
    return str(detail), None, {}


def _collect(detail, prefix: str, errors: dict[str, list[str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            _collect(value, f"{prefix}.{key}" if prefix else str(key), errors)
        return
    items = detail if isinstance(detail, list) else [detail]
    if any(isinstance(item, (dict, list)) for item in items):  # a list serializer's errors: one entry per item
        for index, item in enumerate(items):
            if item:
                _collect(item, f"{prefix}.{index}", errors)
        return
    errors.setdefault(prefix, []).extend(str(item) for item in items)


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


def error_json(message: str, *, field: str | None = None, code: str = "invalid", http_status: int = 400) -> JsonResponse:
    """The same body as error_response, for code outside DRF's views (middleware, URL handlers)."""
    return JsonResponse({"message": str(message), "field": field, "code": code}, status=http_status,
                        json_dumps_params={"ensure_ascii": False})


def data_error_field(exc: DataError) -> str | None:
    """The column PostgreSQL names in a DataError, when it names one (psycopg's diagnostics)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "column_name", None) or None


def data_error_message() -> str:
    return _("A value is not valid for its field (too long, out of range or with a character that cannot be "
             "stored); nothing was saved.")


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
    elif isinstance(exc, DataError):  # the input, not the server: retrying cannot help
        logger.warning("data error in API: %s", exc)
        field = data_error_field(exc)
        exc = exceptions.ValidationError({field: [data_error_message()]} if field else [data_error_message()])
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


# --- handler404 and handler400 (market/urls.py) -----------------------------------------------------------


def page_not_found(request, exception=None):
    """A 404 under /api/ is JSON like every other API error (an id the URL pattern does not match, an
    unknown route); elsewhere the site's page."""
    if request.path.startswith(API_PREFIX):
        return error_json(_("Not found."), code="not_found", http_status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """A request refused before any view (a body that cannot be parsed, too many fields): JSON under
    /api/, the site's page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return error_json(_("The request is malformed."), code="bad_request")
    return defaults.bad_request(request, exception)
