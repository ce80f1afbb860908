"""Every route that checks a password locks after repeated failures — even for the right password.

The lockout lives below the views (market/lockout.py): the authentication backend for every log-in,
`User.check_password` for forms that check the current password, and a per-address guard for
Wagtail's shared page and document passwords. `test_every_password_route_is_known` reads the code of
every URL pattern's view (and its base classes and forms) for a password check, so a new log-in route
(a package's, or ours) fails until it is listed here and shown to lock."""

from __future__ import annotations

import ast
import functools
import inspect
import re
import sys
import textwrap

import pytest
from django.core.cache import cache
from django.db import models as django_models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-pass-2026!"

# What a password check looks like in a view, its base classes, forms and the functions it calls.
MARKERS = (r"(?<![.\w])(?<!def )authenticate\(", r"\.check_password\(", r"\bAuthenticationForm\b",
           r"\bPasswordChangeForm\b", r"\bPasswordChangeView\b", r"\bPasswordViewRestrictionForm\b", r"\bLoginView\b")
PACKAGES = ("market", "agencies", "bids", "credit", "cms", "supervision", "wagtail", "django.contrib", "rest_framework",
            "drf_spectacular", "guardian")


def _routes() -> dict[str, tuple[str, object]]:
    out: dict[str, tuple[str, object]] = {}

    def walk(resolver, prefix="", namespace=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}".strip(":") if p.namespace else namespace
                walk(p, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace else str(p.name)
                out.setdefault(name, (prefix + str(p.pattern), p.callback))  # the first pattern of a name wins

    walk(get_resolver())
    return out


@functools.lru_cache(maxsize=None)
def _source(target) -> str:
    try:
        return textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return ""


@functools.lru_cache(maxsize=None)
def _names(source: str) -> frozenset[str]:
    try:
        return frozenset(n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name))
    except SyntaxError:
        return frozenset()


def _code_reached(obj, depth: int = 2, seen: set | None = None) -> str:
    """The source of a view, of its base classes and forms, and of the module-level functions and
    classes it names, `depth` steps deep (models excluded: they are not views)."""
    seen = set() if seen is None else seen
    target = getattr(obj, "view_class", None) or getattr(obj, "cls", None) or obj
    target = getattr(target, "__func__", target)
    if callable(target) and not inspect.isclass(target):
        target = inspect.unwrap(target)
    if id(target) in seen or (inspect.isclass(target) and issubclass(target, django_models.Model)):
        return ""
    seen.add(id(target))
    module = getattr(target, "__module__", "") or ""
    if not module.startswith(PACKAGES):
        return ""
    source = _source(target)
    if not source:
        return ""
    parts = [source]
    if depth > 0:
        if inspect.isclass(target):
            parts += [_code_reached(base, depth - 1, seen) for base in target.__mro__[1:]]
            parts += [_code_reached(getattr(target, a), depth - 1, seen)
                      for a in ("form_class", "authentication_form") if getattr(target, a, None)]
        namespace = vars(sys.modules[module]) if module in sys.modules else {}
        parts += [_code_reached(namespace[n], depth - 1, seen) for n in _names(source)
                  if inspect.isfunction(namespace.get(n)) or inspect.isclass(namespace.get(n))]
    return "\n".join(parts)


def _password_routes() -> set[str]:
    pattern = re.compile("|".join(MARKERS))
    return {name for name, (_path, callback) in _routes().items() if pattern.search(_code_reached(callback))}


# --- the attempts, route by route: each returns whether it got in ----------------------------------------------


@pytest.fixture
def person():
    return make_user("guarded", is_staff=True, is_superuser=True, first_name="守", last_name="卫")


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def _form_login(url):
    def attempt(client, user, password):
        client.post(url, {"username": user.username, "password": password})
        return _logged_in(client)

    return attempt


def _token(client, user, password):
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": password},
                           content_type="application/json")
    return response.status_code == 200 and "token" in response.json()


def _other_panels(client, url) -> dict:
    """The Wagtail account page posts every settings panel at once: send the others unchanged."""
    data = {}
    response = client.get(url)
    for panels in (response.context or {}).get("panels_by_tab", {}).values():
        for panel in panels:
            form = panel.get_form()
            for field in form:
                value = field.value()
                if value not in (None, "") and not field.html_name.startswith("password-"):
                    data[field.html_name] = value
    return data


def _password_change(url, prefix=""):
    def attempt(client, user, password):
        client.force_login(user)
        data = _other_panels(client, url) if prefix else {}
        client.post(url, {**data, f"{prefix}old_password": password, f"{prefix}new_password1": NEW_PASSWORD,
                          f"{prefix}new_password2": NEW_PASSWORD})
        user.refresh_from_db()
        changed = user.check_password(NEW_PASSWORD)
        if changed:  # put it back for the next attempt
            user.set_password(PASSWORD)
            user.save()
        return changed

    return attempt


def _page_password(client, user, password):
    from wagtail.models import Page, PageViewRestriction

    page = Page.objects.filter(depth=2).first()
    restriction, _ = PageViewRestriction.objects.get_or_create(
        page=page, defaults={"restriction_type": PageViewRestriction.PASSWORD, "password": PASSWORD})
    response = client.post(f"/_util/authenticate_with_password/{restriction.pk}/{page.pk}/",
                           {"password": password, "return_url": "/"})
    return response.status_code == 302


def _document_password(client, user, password):
    from wagtail.models import Collection, CollectionViewRestriction

    collection = Collection.get_first_root_node()
    restriction, _ = CollectionViewRestriction.objects.get_or_create(
        collection=collection, defaults={"restriction_type": CollectionViewRestriction.PASSWORD, "password": PASSWORD})
    response = client.post(f"/documents/authenticate_with_password/{restriction.pk}/",
                           {"password": password, "return_url": "/"})
    return response.status_code == 302


ATTEMPTS = {
    "login": _form_login("/accounts/login/"),
    "api:auth-token": _token,
    "wagtailcore_login": _form_login("/_util/login/"),
    "wagtailadmin_login": _form_login("/admin/login/"),
    "admin:login": _form_login("/django-admin/login/"),
    "admin:password_change": _password_change("/django-admin/password_change/"),
    "wagtailadmin_account": _password_change("/admin/account/", prefix="password-"),
    "wagtailcore_authenticate_with_password": _page_password,
    "wagtaildocs_authenticate_with_password": _document_password,
}


def test_every_password_route_is_known():
    found = _password_routes()
    assert found == set(ATTEMPTS), (f"new password routes, add them to ATTEMPTS: {sorted(found - set(ATTEMPTS))}; "
                                    f"gone: {sorted(set(ATTEMPTS) - found)}")


@pytest.mark.parametrize("route", sorted(ATTEMPTS))
def test_every_password_route_locks(route, person, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "login": None}}  # the lockout, not the rate, is tested
    attempt = ATTEMPTS[route]
    assert attempt(Client(), person, PASSWORD), "the control: the right password gets in"
    cache.clear()
    for _ in range(5):
        assert not attempt(Client(), person, "wrong-guess")
    assert not attempt(Client(), person, PASSWORD), f"{route}: the right password got in after 5 failures"
    cache.clear()  # the lock expires
    assert attempt(Client(), person, PASSWORD)


def test_a_lock_on_one_route_holds_on_every_other(person):
    for _ in range(5):
        _form_login("/_util/login/")(Client(), person, "wrong-guess")
    for route in ("login", "api:auth-token", "wagtailadmin_login", "admin:login"):
        assert not ATTEMPTS[route](Client(), person, PASSWORD), route
