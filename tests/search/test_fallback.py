"""Elasticsearch configured but unreachable: searches fall back to the database with a logged
warning, changes are queued in the outbox, and written when Elasticsearch answers again."""

import logging
import socket

import pytest

from market.search import backends, indexing
from market.search.api import search
from market.search.backends.elastic import ElasticsearchBackend
from market.search.models import SearchOutbox
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def unreachable(settings, closed_port):
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{closed_port}"
    settings.ELASTICSEARCH_TIMEOUT = 2
    return settings.ELASTICSEARCH_URL


def test_search_falls_back_to_the_database_with_a_warning(reindex, unreachable, caplog):
    agency = indexed_agency("广州环境影响评价技术有限公司")
    reindex("agency")
    with caplog.at_level(logging.WARNING, logger="market.search"):
        result = search(q="环评", kinds=["agency"], facets=["grade"])
    assert result.fallback and result.backend == "database"
    assert [h.id for h in result.hits] == [agency.pk]
    assert result.facets["grade"][0].value == "A"
    assert any("Elasticsearch" in r.getMessage() and unreachable in r.getMessage() for r in caplog.records)
    assert not backends.elasticsearch_up()


def test_while_marked_down_elasticsearch_is_not_asked_again(reindex, unreachable, monkeypatch):
    reindex("item")
    search(q="测绘", kinds=["item"])
    monkeypatch.setattr(ElasticsearchBackend, "search", lambda self, query: pytest.fail("asked a dead cluster"))
    assert search(q="测绘", kinds=["item"]).fallback


def test_changes_are_queued_and_written_when_elasticsearch_returns(unreachable, monkeypatch,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        agency = indexed_agency("广州环境影响评价技术有限公司")
    # the database index has it at once, so searches meanwhile find it
    assert [h.id for h in search(q="环评", kinds=["agency"]).hits] == [agency.pk]
    assert SearchOutbox.objects.filter(kind="agency", object_id=agency.pk).exists()
    row = SearchOutbox.objects.get(kind="agency", object_id=agency.pk)
    assert "Connection" in row.last_error or "marked down" in row.last_error

    written = []
    monkeypatch.setattr(ElasticsearchBackend, "write",
                        lambda self, kind, docs, deleted: written.append((kind, [d.object_id for d in docs], list(deleted))))
    backends.mark_elasticsearch_up()  # it is back
    assert indexing.drain_outbox() == 1
    assert written == [("agency", [agency.pk], [])]
    assert not SearchOutbox.objects.exists()


def test_a_deletion_while_down_is_written_as_a_deletion(unreachable, monkeypatch, django_capture_on_commit_callbacks):
    from agencies.models import Agency

    agency = indexed_agency("广州环评技术有限公司")
    with django_capture_on_commit_callbacks(execute=True):
        Agency.objects.get(pk=agency.pk).delete()
    written = []
    monkeypatch.setattr(ElasticsearchBackend, "write",
                        lambda self, kind, docs, deleted: written.append((kind, list(docs), sorted(deleted))))
    backends.mark_elasticsearch_up()
    indexing.drain_outbox()
    assert written == [("agency", [], [agency.pk])]


def test_the_sync_job_drains_the_outbox_when_elasticsearch_answers(unreachable, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        indexed_agency("广州环评技术有限公司")
    assert SearchOutbox.objects.count() == 1
    monkeypatch.setattr(ElasticsearchBackend, "write", lambda self, kind, docs, deleted: None)
    backends.mark_elasticsearch_up()
    indexing.sync()
    assert not SearchOutbox.objects.exists()


def test_a_failed_drain_keeps_the_rows(unreachable):
    SearchOutbox.objects.create(kind="item", object_id=1)
    assert indexing.drain_outbox() == 0
    row = SearchOutbox.objects.get()
    assert row.attempts == 1 and row.last_error
