"""Property: whatever a client sends to whichever route, the answer is never a 5xx.

Every route of the URL resolver (the site's pages and forms and the whole API; not the Django and
Wagtail admins, which are third-party, nor Wagtail's page serving beyond a fuzzed path) is called as
four users — anonymous, a project owner, an agency's administrator and a regulator — with values drawn
by Hypothesis: NUL and other control characters, lone surrogates, huge and negative numbers, exponents
("1e999999"), over-long strings, wrong JSON types and JSON nested 100,000 deep, in the path, the query
string and form or JSON bodies. Form fields are the ones the page itself renders (with its values as a
start, so that some requests get past the first check); API fields are the ones the OpenAPI schema
names. Ids in paths are the world's own (so views reach their objects), 0, and ids beyond any column.

Each route first gets fixed "fills" (every parameter and field set to NUL-laden text; to huge numbers,
exponents and over-long text; to JSON nested 100,000 deep), then drawn examples; each is sent as every
user. Bounded in time (about a minute for both tests on SQLite): one drawn example per route by default
(BAD_INPUT_EXAMPLES to draw more), a fixed seed (BAD_INPUT_SEED to vary it), no deadline, no example
database. NUL bytes fail only on PostgreSQL; CI runs the suite there too (.ci/run)."""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.contracts.factories import agency_user, delivered_contract, owner_user
from tests.factories import make_regulator
from tests.request_factories import published_request

pytestmark = pytest.mark.django_db

SEED = int(os.environ.get("BAD_INPUT_SEED", "2026"))
EXAMPLES = int(os.environ.get("BAD_INPUT_EXAMPLES", "1"))  # drawn examples per route, besides the fills
SKIPPED_PREFIXES = ("admin/", "django-admin/", "documents/", "_util/", "api/docs/", "api/schema/")
SKIPPED_ROUTES = {"accounts/logout/"}  # it would sign the user's client out for the routes after it
USERS = ("anonymous", "owner", "agency", "regulator")

# --- values -----------------------------------------------------------------------------------------------

CONTROL = st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"])
NASTY_TEXT = st.sampled_from([
    "", " ", "1e999999", "1E+30", "-1E+30", "99999999999999999999", str(10**20), str(2**63), "-1", "0", "1.5", "NaN",
    "Infinity", "-Infinity", "0x10", "1_000", "١٢٣", "¥5", "9" * 400, "a" * 300, "字" * 10_001, "%00", "../../etc/passwd",
    "<script>x</script>", "' OR 1=1 --", "2026-02-30", "2026-13-01T25:61", "9999-12-31T23:59", "0001-01-01", "true",
    "[]", "{}", "null", "\ufffd", "\U0001f600", "a\u200bb",
])
CLEAN_TEXT = st.one_of(NASTY_TEXT, st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40))
DIRTY_TEXT = st.one_of(
    st.builds(lambda a, c, b: a + c + b, CLEAN_TEXT, CONTROL, CLEAN_TEXT),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: s + "\x00"),
)
HUGE_INTS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                      st.sampled_from([0, -1, 10**14, 10**14 + 1, 10**20, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]))
DEEP = "[" * 100_000 + "]" * 100_000


def json_values(text):
    scalars = st.one_of(text, HUGE_INTS, st.floats(allow_nan=False), st.booleans(), st.none())
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(text, inner, max_size=3)), max_leaves=6)


# --- the world and its users -------------------------------------------------------------------------------


class World:
    def __init__(self):
        self.contract, self.delivery, _moment = delivered_contract()
        self.owner, self.agency = owner_user(self.contract), agency_user(self.contract)
        self.regulator = make_regulator()
        request = self.contract.request
        self.open_request = published_request(owner=self.contract.owner, item=request.service_item)
        file_ids = list(self.delivery.files.values_list("pk", flat=True))
        self.ids = {
            "request": [request.pk, self.open_request.pk],
            "contract": [self.contract.pk],
            "agency": [self.contract.agency_id],
            "bid": list(request.bids.values_list("pk", flat=True)),
            "organization": [self.contract.owner_id, self.contract.agency.organization_id],
            "number": [self.delivery.number],
            "file": file_ids,
        }
        self.every_id = sorted({i for ids in self.ids.values() for i in ids})
        self.pages = {}
        for name in USERS:
            client = Client(raise_request_exception=False)
            user = getattr(self, name, None)
            if user is not None:
                client.force_login(user)
            self.pages[name] = client
        self.apis = {}
        for name in USERS:
            client = APIClient(raise_request_exception=False)
            if name != "anonymous":
                client.force_authenticate(getattr(self, name))
            self.apis[name] = client

    def ids_for(self, route: str, param: str) -> list[int]:
        key = {"bid_id": "bid", "agency_id": "agency", "number": "number", "file_id": "file", "request_pk": "request"}.get(param)
        if key is None and param == "pk":
            for prefix, kind in (("requests/", "request"), ("contracts/", "contract"), ("agencies/", "agency"),
                                 ("organizations/", "organization")):
                if prefix in route:
                    key = kind
                    break
        return (self.ids.get(key) or self.every_id) + [0, 2**63 - 1, 2**63, 10**20]


@pytest.fixture
def world():
    return World()  # throttles count in the cache, which is cleared before each user's requests


# --- routes ------------------------------------------------------------------------------------------------


PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def routes() -> list[str]:
    """Every route pattern ("requests/<int:pk>/bid/") of the project's URL conf, but the admins'."""
    found = []

    def walk(resolver, prefix: str):
        for pattern in resolver.url_patterns:
            text = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not (prefix + text).startswith(SKIPPED_PREFIXES):
                    walk(pattern, prefix + text)
            elif isinstance(pattern, URLPattern) and isinstance(pattern.pattern, RoutePattern):
                route = prefix + text
                if not route.startswith(SKIPPED_PREFIXES) and route not in SKIPPED_ROUTES:
                    found.append(route)

    walk(get_resolver(), "")
    return sorted(set(found))


def path_strategy(world: World, route: str, dirty: bool):
    """The route's path, each parameter drawn: ids of the world (or beyond any column) for <int:…>,
    text for the others."""
    parts = []
    pieces = PARAM.split(route)  # with two groups: text, converter, name, text, converter, name, …, text
    for index, piece in enumerate(pieces):
        kind = index % 3
        if kind == 0:
            parts.append(st.just(piece))
        elif kind == 2:
            if pieces[index - 1] == "int":
                parts.append(st.sampled_from(world.ids_for(route, piece)).map(str))
            else:
                text = DIRTY_TEXT if dirty else CLEAN_TEXT
                parts.append(text.map(lambda v: quote(v, safe="") or "x"))
    return st.tuples(*parts).map(lambda ps: "/" + "".join(ps))


class _Fields(HTMLParser):
    """The names and present values of the fields of a page's forms (a select's selected option, or its
    first; a checked box or radio)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and name != "csrfmiddlewaretoken":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a or name not in self.fields:
                    self.fields[name] = a.get("value") or "on"
            elif a.get("type") != "file":
                self.fields.setdefault(name, a.get("value") or "")
        elif tag == "textarea" and name:
            self.fields.setdefault(name, "")
            self._textarea = name
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select:
            if self._select not in self.fields or "selected" in a:
                self.fields[self._select] = a.get("value") or ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def form_fields(client: Client, path: str) -> dict[str, str]:
    response = client.get(path)
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
        return {}
    parser = _Fields()
    parser.feed(response.content.decode(errors="replace"))
    return parser.fields


def api_fields(schema: dict, route: str, method: str) -> list[str]:
    path = "/" + re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", route)
    operation = schema.get("paths", {}).get(path, {}).get(method, {})
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json") or next(iter(content.values()), {})
    ref = body.get("schema", {}).get("$ref", "")
    component = schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1], {})
    return sorted(component.get("properties", {}))


def assert_not_5xx(response, what: str) -> None:
    if response.status_code >= 500:
        detail = ""
        exc_info = getattr(response, "exc_info", None)
        if exc_info:
            import traceback

            detail = "".join(traceback.format_exception(*exc_info))[-3000:]
        what = what if len(what) <= 800 else what[:800] + "…"
        raise AssertionError(f"{what} answered {response.status_code}\n{detail}")


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                    phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))


# --- the properties ----------------------------------------------------------------------------------------

# Besides the drawn examples, every route and user gets these: each field and parameter set to the
# fill's value at its index (so that, between the fills, each field meets several of them at once).
FILLS = {
    "nul": ["a\x00b", "\x00", "x\x1by"],
    "numbers": ["1e999999", "99999999999999999999", "1E+30", "-1", "字" * 10_001],
    "numbers, shifted": ["1E+30", "-1", "字" * 10_001, "1e999999", "99999999999999999999"],
}
JSON_FILLS = {  # raw JSON literals
    "nul": ['"a\\u0000b"', '"\\u0001"', '"\\ud800"'],
    "numbers": ["1e999999", "99999999999999999999", "1E+30", "-1", '"1e999999"', json.dumps("字" * 10_001)],
    "deep": [DEEP],
}
PAGE_FILLS = ("nul", "numbers")  # pages cost more to render than the API: one fill of numbers
PAGE_KEYS = ["q", "page", "status", "region", "sort", "next", "kind", "category", "service_item", "qualification",
             "method", "agency", "request", "since", "until", "page_size"]


def filled(names, values) -> dict:
    return {name: values[i % len(values)] for i, name in enumerate(names)}


def explicit_path(world: World, route: str, value: str) -> str:
    """The route with the world's first fitting id for <int:…> and `value` for the other parameters."""
    def fill(match):
        if match.group("converter") == "int":
            return str(world.ids_for(route, match.group("name"))[0])
        return quote(value, safe="")
    return "/" + PARAM.sub(fill, route)


def _exercise_page(world: World, route: str) -> None:
    """The fills and a drawn example for one page route; each is sent as every user: a GET with the
    query, then a POST of the page's own form (its fields and values) with some fields replaced."""
    fields_seen: dict[tuple[str, str], dict[str, str]] = {}
    examples = [dict(fill=name, dirty=name == "nul", path=explicit_path(world, route, FILLS[name][0]),
                     query=filled(PAGE_KEYS, FILLS[name]), changes=[]) for name in PAGE_FILLS]

    def run(fill, dirty, path, query, changes):
        url = path + ("?" + urlencode(query) if query else "")
        for user in USERS:
            cache.clear()
            client = world.pages[user]
            assert_not_5xx(client.get(url), f"GET {url} as {user}")
            if (user, path) not in fields_seen:
                fields_seen[user, path] = form_fields(client, path)
            fields = fields_seen[user, path]
            names = sorted(fields) or ["name", "reason", "q"]
            if fill:
                body = {**fields, **filled(names, FILLS[fill])}
            else:
                body = {**fields, **{names[i % len(names)]: value for i, value in changes}}
            assert_not_5xx(client.post(path, body), f"POST {path} {body!r} as {user}")

    @seed(SEED)
    @_settings(EXAMPLES)
    @given(fill=st.none(), dirty=st.shared(st.booleans(), key="dirty"),
           path=st.shared(st.booleans(), key="dirty").flatmap(lambda d: path_strategy(world, route, d)),
           query=st.shared(st.booleans(), key="dirty").flatmap(lambda d: st.dictionaries(
               st.sampled_from(PAGE_KEYS) | (DIRTY_TEXT if d else CLEAN_TEXT), DIRTY_TEXT if d else CLEAN_TEXT, max_size=3)),
           changes=st.shared(st.booleans(), key="dirty").flatmap(lambda d: st.lists(st.tuples(
               st.integers(0, 50), st.one_of(DIRTY_TEXT if d else CLEAN_TEXT, st.lists(CLEAN_TEXT, max_size=2))),
               min_size=1, max_size=4)))
    def check(**kwargs):
        run(**kwargs)

    for example in examples:
        run(**example)
    check()


def _exercise_api(world: World, schema: dict, route: str) -> None:
    """The fills and drawn examples for one API route; each is sent as every user: a GET with the query,
    POST, PATCH and DELETE with a JSON body of the fields the schema names, and a multipart POST."""

    def bodies_of(fill: str) -> list[tuple[str, str]]:
        out = []
        for method in ("post", "patch", "delete"):
            names = api_fields(schema, route, method) or ["name"]
            literals = JSON_FILLS[fill]
            out.append((method, "{" + ", ".join(f"{json.dumps(n)}: {literals[i % len(literals)]}"
                                                for i, n in enumerate(names)) + "}"))
        return out

    def run(path, query, bodies, form):
        url = path + ("?" + urlencode(query) if query else "")
        for user in USERS:
            cache.clear()
            client = world.apis[user]
            if query is not None:
                assert_not_5xx(client.get(url), f"GET {url} as {user}")
            for method, body in bodies:
                response = getattr(client, method)(path, body, content_type="application/json")
                assert_not_5xx(response, f"{method.upper()} {path} {body[:500]!r} as {user}")
            if form:
                assert_not_5xx(client.post(path, form, format="multipart"), f"POST multipart {path} {form!r} as {user}")

    post_names = api_fields(schema, route, "post") or ["name"]
    for fill, values in FILLS.items():
        run(explicit_path(world, route, values[0]), filled(PAGE_KEYS, values), [], filled(post_names, values))
    for fill in JSON_FILLS:
        run(explicit_path(world, route, "1"), None, bodies_of(fill), {})

    @seed(SEED)
    @_settings(EXAMPLES)
    @given(data=st.data())
    def check(data):
        dirty = data.draw(st.booleans(), label="dirty")
        text = DIRTY_TEXT if dirty else CLEAN_TEXT
        path = data.draw(path_strategy(world, route, dirty), label="path")
        query = data.draw(st.dictionaries(st.sampled_from(PAGE_KEYS) | text, text, max_size=3), label="query")
        bodies = []
        for method in ("post", "patch", "delete"):
            names = api_fields(schema, route, method) or ["name"]
            shape = data.draw(st.sampled_from(["fields", "fields", "scalar"]), label=f"{method} shape")
            if shape == "scalar":
                body = json.dumps(data.draw(json_values(text), label=f"{method} body"))
            else:
                body = json.dumps(data.draw(st.dictionaries(st.sampled_from(names) | text, json_values(text), max_size=6),
                                            label=f"{method} body"))
            bodies.append((method, body))
        form = data.draw(st.dictionaries(st.sampled_from(post_names) | text, text, max_size=4), label="multipart")
        run(path, query, bodies, form)

    check()


def test_no_page_or_form_answers_5xx(world):
    pages = [r for r in routes() if not r.startswith("api/")] + ["<str:anything>/", "fees/<str:code>/"]
    assert len(pages) > 60
    for route in pages:
        _exercise_page(world, route)


def test_no_api_route_answers_5xx(world):
    schema = world.apis["anonymous"].get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    api_routes = [r for r in routes() if r.startswith("api/")] + ["api/v1/<str:anything>/"]
    assert len(api_routes) > 50
    for route in api_routes:
        _exercise_api(world, schema, route)
