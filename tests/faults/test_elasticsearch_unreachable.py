"""Elasticsearch configured but unreachable (ELASTICSEARCH_URL pointing at a closed port): /search/,
the agency directory and the announcement list still answer, from the database index, with a logged
warning and a notice on the page; a change made meanwhile is in the database index at once and
queued (SearchOutbox) for Elasticsearch."""

from __future__ import annotations

import logging

import pytest

from market.requests.models import RequestStatus, ServiceRequest
from market.search import backends, indexing
from market.search.backends import database
from market.search.models import SearchOutbox
from tests.factories import org_admin
from tests.request_factories import request_fields
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NOTICE = "The search engine is unavailable; these results come from the database index."


@pytest.fixture
def elasticsearch_unreachable(settings, closed_port):
    indexing._local.pending = None  # marks left by earlier tests' never-committed transactions
    database.bump_generation()
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{closed_port}"
    settings.ELASTICSEARCH_TIMEOUT = 2
    backends.mark_elasticsearch_up()  # it has not failed yet: the first search finds out
    yield settings.ELASTICSEARCH_URL
    backends.mark_elasticsearch_up()


@pytest.fixture
def agency(db):
    agency = indexed_agency("广州环境影响评价技术有限公司", items=["GD-ZJ-HP-001"])
    indexing.rebuild_database()
    return agency


def warned(caplog, url: str) -> bool:
    return any(r.levelno == logging.WARNING and "Elasticsearch" in r.getMessage() and url in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("path", ["/search/?q=环评", "/agencies/?q=环评"])
def test_search_and_directory_answer_from_the_database_with_a_warning(client, agency, elasticsearch_unreachable,
                                                                       caplog, path):
    with caplog.at_level(logging.WARNING, logger="market.search"):
        response = client.get(path, **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/agencies/{agency.pk}/"' in html
    assert NOTICE in html
    assert warned(caplog, elasticsearch_unreachable)
    assert not backends.elasticsearch_up()  # marked down: the next pages do not wait for it
    again = client.get(path, **EN)
    assert again.status_code == 200 and NOTICE in again.content.decode()


def test_a_request_published_meanwhile_is_listed_and_queued_for_elasticsearch(
        client, owner_org, elasticsearch_unreachable, caplog, django_capture_on_commit_callbacks):
    from market.requests import services as request_services
    from tests.request_factories import item_with_qualification

    draft = request_services.request_create(actor=org_admin(owner_org), owner=owner_org,
                                            **request_fields(item_with_qualification(), project_name="某园区规划测绘服务"))
    indexing.rebuild_database()
    client.force_login(org_admin(owner_org))
    with caplog.at_level(logging.WARNING, logger="market.search"), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/requests/{draft.pk}/publish/")
    assert response.status_code == 302
    assert ServiceRequest.objects.get(pk=draft.pk).status == RequestStatus.PUBLISHED
    assert warned(caplog, elasticsearch_unreachable)
    queued = SearchOutbox.objects.get(kind="request", object_id=draft.pk)
    assert queued.last_error  # why it waits: the connection error, or "marked down"
    # The database index has it already: the announcement list (a search) shows it.
    html = client.get("/requests/", **EN).content.decode()
    assert "某园区规划测绘服务" in html and NOTICE in html
