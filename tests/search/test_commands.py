"""rebuild_search_index and bench_search."""

import io
import socket

import pytest
from django.core.management import CommandError, call_command

from market.search.models import SearchEntry
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_rebuild_search_index_rebuilds_the_database_index():
    agency = indexed_agency("广州环评技术有限公司")
    output = run("rebuild_search_index", "--no-progress")
    assert "database agency: 1 documents" in output and "database item: 57 documents" in output
    assert SearchEntry.objects.filter(kind="agency", object_id=agency.pk).exists()
    assert "elasticsearch" not in output


def test_rebuild_one_kind():
    output = run("rebuild_search_index", "--kind", "item", "--no-progress")
    assert output.strip() == "database item: 57 documents"


def test_elasticsearch_options_need_elasticsearch():
    with pytest.raises(CommandError):
        run("rebuild_search_index", "--outbox")
    with pytest.raises(CommandError):
        run("rebuild_search_index", "--elasticsearch-only")


def test_an_unreachable_elasticsearch_fails_the_rebuild_clearly(settings):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(CommandError, match="Elasticsearch"):
        run("rebuild_search_index", "--kind", "item", "--elasticsearch-only", "--no-progress")


def test_bench_search_creates_agencies_and_prints_latency():
    output = run("bench_search", "--agencies", "30", "--runs", "2")
    assert "30 agencies indexed" in output
    summary = next(line for line in output.splitlines() if line.startswith("all queries")).split()
    cold_median, cold_p95, warm_median, warm_p95 = map(float, summary[2:6])
    assert 0 < cold_median <= cold_p95 and 0 < warm_median <= warm_p95
    assert "deleted 30 bench agencies" in run("bench_search", "--delete")
