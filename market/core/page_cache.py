"""Rendered public pages for anonymous visitors, kept for a few seconds (MARKET["PUBLIC_PAGE_CACHE_SECONDS"];
0, the default, turns it off).

Most of a public page's time is spent rendering it, not in the database; a province's visitors
mostly read the same few pages (home, directory, announcements, results). With the cache on, an
anonymous GET of an HTML page is answered from the cache when the same page (host, path and query,
language) was rendered less than that many seconds ago and nothing was written since:

- every committed write of a marketplace model (market, agencies, bids, credit, cms, supervision,
  Wagtail pages and snippets) bumps a generation that is part of every key, so a page never shows
  older data than the last commit once the next request renders it; only time-derived states (a
  deadline passing with no write) could lag, by at most the configured seconds — and the request
  pages and lists say when their page changes by itself (`expires_at`: the bid deadlines shown), so
  they are never kept past it; every action re-checks server time anyway;
- the same holds for the two public JSON APIs that other platforms poll (open data under
  /api/v1/ocds/ and agencies' standing under /api/v1/credit/), for requests without credentials;
- signed-in users never get a cached page and their pages are never stored, nor is a response that
  sets a cookie of its own, carries messages, has a one-time form token (market/once.py) or a status
  other than 200;
- the CSRF token of the language switch (and any other form) is taken out before storing and a fresh
  one for the current visitor put in at each hit, so forms on cached pages keep working.

The cache is Django's default cache: Redis when REDIS_URL is set (shared by all workers), else each
process's local memory.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone

GENERATION_KEY = "public-page-cache:generation"
EXCLUDED_PREFIXES = ("/accounts/", "/admin/", "/django-admin/", "/api/", "/healthz/", "/static/", "/media/")
PUBLIC_API_PREFIXES = ("/api/v1/ocds/", "/api/v1/credit/")  # open data and agencies' standing: the same for everyone
WATCHED_APPS = {"market", "agencies", "bids", "credit", "cms", "supervision", "wagtailcore", "wagtailsnippets"}
IGNORED_MODELS = {"market.user", "market_search.searchentry", "market.formsubmission"}
CSRF_FIELD = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
PLACEHOLDER = "\x00csrf\x00"


def _seconds() -> int:
    return int(settings.MARKET.get("PUBLIC_PAGE_CACHE_SECONDS", 0) or 0)


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY) or 1
    return int(value)


def invalidate() -> None:
    """Every cached page is stale from now on."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def _written(sender, **kwargs) -> None:
    if not _seconds():
        return
    label = sender._meta.label_lower
    if sender._meta.app_label not in WATCHED_APPS or label in IGNORED_MODELS:
        return
    transaction.on_commit(invalidate)


def connect_signals() -> None:
    post_save.connect(_written, dispatch_uid="public-page-cache-save")
    post_delete.connect(_written, dispatch_uid="public-page-cache-delete")


def expires_at(request, *moments) -> None:
    """A view whose page changes by itself at these moments (a bid deadline: "open" becomes
    "bidding closed") says so; the page is then kept no later than the first of them still ahead."""
    now = timezone.now()
    ahead = [m for m in moments if m is not None and m > now]
    if ahead:
        current = getattr(request, "_page_cache_expires", None)
        request._page_cache_expires = min(ahead + ([current] if current else []))


def _timeout(request, seconds: int) -> int:
    expires = getattr(request, "_page_cache_expires", None)
    if expires is None:
        return seconds
    return min(seconds, int((expires - timezone.now()).total_seconds()))


def _key(request) -> str:
    raw = "|".join([request.get_host(), request.get_full_path(), getattr(request, "LANGUAGE_CODE", ""), str(generation())])
    return "public-page:" + hashlib.sha256(raw.encode()).hexdigest()


def _may_use(request) -> bool:
    path = request.path
    return (request.method in ("GET", "HEAD")
            and (not path.startswith(EXCLUDED_PREFIXES) or path.startswith(PUBLIC_API_PREFIXES))
            and "HTTP_AUTHORIZATION" not in request.META and not request.user.is_authenticated)


class PublicPageCacheMiddleware:
    """Placed after the authentication, message and locale middleware (it needs the user and the
    language) and inside the CSRF, security and content-security-policy middleware (they still
    treat every response, cached or not)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seconds = _seconds()
        if not seconds or not _may_use(request):
            return self.get_response(request)
        key = _key(request)
        stored = cache.get(key)
        if stored is not None:
            content, content_type = stored
            if PLACEHOLDER.encode() in content:
                content = content.replace(PLACEHOLDER.encode(), get_token(request).encode())
            response = HttpResponse(content, content_type=content_type)
            response["X-Page-Cache"] = "hit"
            return response
        response = self.get_response(request)
        timeout = _timeout(request, seconds)
        if timeout > 0 and self._storable(request, response):
            body = CSRF_FIELD.sub(lambda m: m.group(1) + PLACEHOLDER + m.group(2), response.content.decode(response.charset))
            cache.set(key, (body.encode(response.charset), response["Content-Type"]), timeout=timeout)
            response["X-Page-Cache"] = "miss"
        return response

    @staticmethod
    def _storable(request, response) -> bool:
        if response.status_code != 200 or response.streaming or response.cookies:
            return False
        content_type = response.get("Content-Type", "")
        api = request.path.startswith(PUBLIC_API_PREFIXES)
        if not content_type.startswith("application/json" if api else "text/html") or "Content-Security-Policy" in response:
            return False  # a page with its own policy (the pay page) is never public anyway
        if response.has_header("Cache-Control") and "private" in response["Cache-Control"]:
            return False
        if getattr(request, "session", None) is not None and request.session.modified:
            return False
        storage = getattr(request, "_messages", None)
        if storage is not None and (getattr(storage, "_queued_messages", None) or getattr(storage, "_loaded_data", None)):
            return False
        return b'name="form_token"' not in response.content

