"""Public pages cached for anonymous visitors (MARKET_PUBLIC_PAGE_CACHE_SECONDS): served without
touching the database, never stale after a committed write, never for signed-in users, per language,
and with working forms."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_agency

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.MARKET = {**settings.MARKET, "PUBLIC_PAGE_CACHE_SECONDS": 30}
    cache.clear()
    yield
    cache.clear()


def _get(client, url, **extra):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    return response, len(ctx.captured_queries)


def test_second_anonymous_view_comes_from_the_cache_without_queries(client):
    make_agency(name="缓存测试中介有限公司")
    first, first_queries = _get(client, "/agencies/")
    second, second_queries = _get(client, "/agencies/")
    assert first.status_code == second.status_code == 200
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first_queries > 0 and second_queries == 0
    assert "缓存测试中介有限公司" in second.content.decode()
    assert "Content-Security-Policy" in second  # the outer middleware still treat the cached response


def test_a_committed_write_makes_every_cached_page_stale(client, django_capture_on_commit_callbacks):
    client.get("/agencies/")
    assert client.get("/agencies/")["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        make_agency(name="新入驻中介有限公司")
    response = client.get("/agencies/")
    assert response["X-Page-Cache"] == "miss"
    assert "新入驻中介有限公司" in response.content.decode()


def test_signed_in_users_never_get_or_leave_a_cached_page(client, regulator):
    client.get("/agencies/")
    client.force_login(regulator)
    response = client.get("/agencies/")
    assert "X-Page-Cache" not in response
    assert regulator.username in response.content.decode()
    client.logout()
    anonymous = client.get("/agencies/")
    assert regulator.username not in anonymous.content.decode()


def test_each_language_has_its_own_copy(client):
    chinese = client.get("/agencies/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get("/agencies/", HTTP_ACCEPT_LANGUAGE="en")
    assert english["X-Page-Cache"] == "miss"
    assert "Agency directory" in english.content.decode() and "Agency directory" not in chinese.content.decode()
    assert client.get("/agencies/", HTTP_ACCEPT_LANGUAGE="en")["X-Page-Cache"] == "hit"


def test_a_cached_page_carries_the_visitors_own_csrf_token(client):
    from django.test import Client

    client.get("/agencies/")
    other = Client(enforce_csrf_checks=True)
    page = other.get("/agencies/")
    assert page["X-Page-Cache"] == "hit"
    import re

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert "\x00" not in token
    switched = other.post("/i18n/setlang/", {"language": "en", "next": "/agencies/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302  # the language switch on a cached page works


def test_off_by_default(client, settings):
    settings.MARKET = {**settings.MARKET, "PUBLIC_PAGE_CACHE_SECONDS": 0}
    client.get("/agencies/")
    assert "X-Page-Cache" not in client.get("/agencies/")


def test_public_json_apis_are_cached_for_anonymous_callers_only(client):
    agency = make_agency(name="信用查询中介有限公司")
    url = f"/api/v1/credit/agencies/{agency.organization.uscc}/"
    first = client.get(url)
    assert first.status_code == 200 and first["X-Page-Cache"] == "miss"
    hit, queries = _get(client, url)
    assert hit["X-Page-Cache"] == "hit" and queries == 0 and hit.json() == first.json()
    assert "X-Page-Cache" not in client.get(url, HTTP_AUTHORIZATION="Token abc")  # credentials: never cached
    assert "X-Page-Cache" not in client.get("/api/v1/service-items/")  # other APIs: never cached


def test_a_request_page_is_not_kept_past_its_bid_deadline(client):
    """"Open" becomes "bidding closed" at the deadline without any write: the cached page expires then."""
    import datetime as dt
    import time

    from django.utils import timezone

    from market.requests.models import ServiceRequest
    from tests.request_factories import published_request

    sr = published_request()
    deadline = timezone.now() + dt.timedelta(seconds=2)
    ServiceRequest.objects.filter(pk=sr.pk).update(bid_deadline=deadline)
    url = f"/requests/{sr.pk}/"
    assert client.get(url)["X-Page-Cache"] == "miss"
    assert client.get(url)["X-Page-Cache"] == "hit"
    time.sleep(max(0.0, (deadline - timezone.now()).total_seconds()) + 0.3)
    after = client.get(url)
    assert after["X-Page-Cache"] != "hit"
