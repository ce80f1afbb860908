"""Input that can never be valid is refused at the edge, before any view, form or query sees it.

- NUL and the other control characters (C0 but tab, line feed and carriage return; DEL; C1) in the
  path, in query parameters (names and values), in form fields (names and values; file names, not file
  contents), in JSON strings (keys and values) and in cookies and the Authorization header. PostgreSQL
  cannot store NUL at all — a NUL that reached a query was a server error — and no field of the
  platform means to hold a control character.
- Lone surrogates in JSON strings ("\\ud800"): they are not characters and cannot be encoded; and JSON
  numbers too large for a float ("1e999999", which Python reads as infinity).
- JSON nested deeper than MAX_JSON_DEPTH: no request of the API nests more than a few levels, and
  parsing a deep one exhausts the interpreter's stack.
- An integer path parameter (`<int:pk>`) larger than any id a database column holds names nothing:
  404, as for any id that does not exist.

A refusal is 400 with a message in the request's language (the middleware sits after LocaleMiddleware):
JSON `{"message", "field", "code"}` under /api/, the 400 page elsewhere. Nothing is written: no view runs.
Bodies too large to read into memory are Django's to refuse (DATA_UPLOAD_MAX_MEMORY_SIZE), and bodies
that are not valid JSON the parser's.
"""

from __future__ import annotations

import json
import math
import re
from io import BytesIO

from django.contrib.auth.models import AnonymousUser
from django.db import DataError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from market.core.errors import API_PREFIX, data_error_field, data_error_message, error_json

MAX_JSON_DEPTH = 32
MAX_ID = 2**63 - 1  # the largest value of a bigint column (and of SQLite's INTEGER)

# Text (already decoded): C0 but \t \n \r, DEL, C1, and surrogates (only JSON's \u escapes can make them).
FORBIDDEN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Header values arrive decoded as Latin-1, where a byte of UTF-8 may look like a C1 character: C0 and DEL only.
FORBIDDEN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A number with an exponent: the only way JSON spells one that a float cannot hold ("1e999999" is infinity).
_EXPONENT = re.compile(r"\d[eE][+-]?\d")
# A JSON string (with its escapes) or a bracket; the strings are skipped when counting the depth.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class Refusal(Exception):
    credentials = False  # a cookie or the Authorization header is at fault

    def __init__(self, message: str, *, field: str | None, code: str):
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


def _shown(name: str) -> str:
    """A field name fit to show back: its forbidden characters replaced, at most 60 characters."""
    name = FORBIDDEN_TEXT.sub("\ufffd", name)
    return name if len(name) <= 60 else name[:59] + "…"


def _bad_character(field: str) -> Refusal:
    shown = _shown(field)
    return Refusal(_("“%(field)s” contains a character that is not allowed (NUL or another control character).")
                   % {"field": shown}, field=shown, code="invalid_character")


def check_text(field: str, value: str, pattern: re.Pattern = FORBIDDEN_TEXT) -> None:
    if pattern.search(field) or pattern.search(value):
        raise _bad_character(field)


def check_pairs(pairs, prefix: str = "") -> None:
    """Names and values of a QueryDict (query string or form)."""
    for key, values in pairs:
        for value in values:
            if isinstance(value, str):
                check_text(prefix + key, value)
            else:  # an uploaded file: its name is stored, its contents are the file's business
                check_text(prefix + key, getattr(value, "name", "") or "")


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects deeper than `limit` (brackets inside strings
    do not count). Linear and without recursion, so it is safe on any input the parser would see."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def check_json_value(value, path: str = "") -> None:
    """Every key and string of a parsed JSON document; iterative, so depth alone cannot break it."""
    stack = [(path, value)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            if FORBIDDEN_TEXT.search(node):
                raise _bad_character(where or "body")
        elif isinstance(node, float) and not math.isfinite(node):
            shown = _shown(where or "body")
            raise Refusal(_("“%(field)s” is a number too large to represent.") % {"field": shown}, field=shown,
                          code="out_of_range")
        elif isinstance(node, dict):
            for key, item in node.items():
                child = f"{where}.{key}" if where else str(key)
                if FORBIDDEN_TEXT.search(key):
                    raise _bad_character(child)
                stack.append((child, item))
        elif isinstance(node, list):
            stack.extend((f"{where}.{i}" if where else str(i), item) for i, item in enumerate(node))


def check_json_body(body: bytes) -> None:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return  # not JSON at all: the parser says so
    if json_too_deep(text):
        raise Refusal(_("The JSON body is nested too deeply (at most %(depth)d levels).") % {"depth": MAX_JSON_DEPTH},
                      field=None, code="too_deep")
    if "\\u" not in text and not FORBIDDEN_TEXT.search(text) and not _EXPONENT.search(text):
        return  # no escape, no control character, no exponent: nothing below could be found
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return  # malformed: the parser answers 400 with its own message
    check_json_value(value)


def check_head(request: HttpRequest) -> None:
    """The path, the query string, cookies and the Authorization header: before any middleware after
    this one or any view reads them."""
    if FORBIDDEN_TEXT.search(request.path_info):
        raise Refusal(_("The address contains a character that is not allowed (NUL or another control character)."),
                      field="path", code="invalid_character")
    if request.META.get("QUERY_STRING"):
        check_pairs(request.GET.lists())
    try:
        for name, value in request.COOKIES.items():
            check_text(name, value, FORBIDDEN_HEADER)
        authorization = request.META.get("HTTP_AUTHORIZATION")
        if authorization:
            check_text("Authorization", authorization, FORBIDDEN_HEADER)
    except Refusal as refusal:
        refusal.credentials = True  # the page that says so must not look the session up with it
        raise


def check_body(request: HttpRequest, view_func) -> None:
    """A JSON or form body, as the view will read it (see `view_reads`)."""
    content_type = request.content_type or ""
    if not _has_body(request) or not view_reads(view_func, content_type):
        return
    if content_type == "application/json" or content_type.endswith("+json"):
        check_json_body(request.body)
    elif content_type in FORM_TYPES:
        if request.method == "POST":
            check_pairs(request.POST.lists())
            check_pairs(request.FILES.lists())
        elif content_type == FORM_TYPES[0]:  # PUT and PATCH: Django parses forms of POST only
            check_pairs(QueryDict(request.body, encoding=request.encoding).lists())
        else:
            post, files = request.parse_file_upload(request.META, BytesIO(request.body))
            check_pairs(post.lists())
            check_pairs(files.lists())


def view_reads(view_func, content_type: str) -> bool:
    """Whether the view reads a body of this type as data. A REST framework view reads only what its
    parsers take (it answers 415 to the rest), and one that reads the raw bytes instead (Stripe's webhook
    verifies their signature) must find them unread: a form it does not parse is not parsed here either.
    Any other view may read any body."""
    from rest_framework.utils.mediatypes import media_type_matches
    from rest_framework.views import APIView

    cls = getattr(view_func, "cls", None)
    if not (isinstance(cls, type) and issubclass(cls, APIView)):
        return True
    return any(media_type_matches(parser.media_type, content_type) for parser in cls.parser_classes)


def _has_body(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def refusal_response(request: HttpRequest, *, message: str, field: str | None, code: str) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return error_json(message, field=field, code=code)
    return render(request, "400.html", {"message": message}, status=400)


class InputGuardMiddleware:
    """See the module's docstring. The path, query, cookies and Authorization header are checked when
    the request comes in, before the session or the user is looked up; the body once the URL names its
    view, before the view runs. Place it after LocaleMiddleware (its messages follow the request's language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_head(request)
        except Refusal as refusal:
            if refusal.credentials:
                request.user = AnonymousUser()
            return refusal_response(request, message=refusal.message, field=refusal.field, code=refusal.code)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # An integer URL parameter beyond any id names nothing (and would overflow the database's integer).
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and value > MAX_ID:
                if request.path.startswith(API_PREFIX):
                    return error_json(_("Not found."), code="not_found", http_status=404)
                return render(request, "404.html", status=404)
        try:
            check_body(request, view_func)
        except Refusal as refusal:
            return refusal_response(request, message=refusal.message, field=refusal.field, code=refusal.code)
        return None

    def process_exception(self, request, exception):
        """A page whose input the database refused (DataError) is the input's fault: 400, not a server error.
        (The API's views answer their own, in market.core.errors.)"""
        if isinstance(exception, DataError):
            return refusal_response(request, message=data_error_message(), field=data_error_field(exception),
                                    code="invalid_value")
        return None
