"""Against a real Elasticsearch: runs only when ELASTICSEARCH_URL is set in the environment
(each test uses its own index prefix and removes its indices and templates afterwards)."""

import os
import uuid

import pytest

from market.search import analysis, backends, indexing
from market.search.api import search
from market.search.backends import database
from market.search.backends.base import build_query
from tests.search.conftest import indexed_agency

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not os.environ.get("ELASTICSEARCH_URL"), reason="ELASTICSEARCH_URL is not set"),
]

SAMPLES = ["環境影響評價報告書（廣東）", "ISO9001 质量管理体系", "ＡＢＣ１２３ 3.14 1,000", "测，绘图", "⾦属 ㎡ ①",
           "建设用地地质灾害危险性评估", "v1.2 GB50300-2013"]


@pytest.fixture
def live(settings):
    settings.ELASTICSEARCH_URL = os.environ["ELASTICSEARCH_URL"]
    settings.ELASTICSEARCH_INDEX_PREFIX = f"test-market-{uuid.uuid4().hex[:10]}"
    settings.ELASTICSEARCH_REFRESH_ON_WRITE = True
    backends.mark_elasticsearch_up()
    es = backends.elasticsearch_backend()
    yield es
    client = es.client
    for kind in ("agency", "request", "item"):
        alias = es.alias(kind)
        names = list(client.indices.get(index=f"{alias}-*", allow_no_indices=True, ignore_unavailable=True).keys())
        for name in names:
            client.indices.delete(index=name, ignore_unavailable=True)
        if client.indices.exists_index_template(name=f"{alias}-template"):
            client.indices.delete_index_template(name=f"{alias}-template")


def tokens(es, text, analyzer="zh_index"):
    response = es.client.indices.analyze(index=es.alias("agency"), analyzer=analyzer, text=text)
    return [t["token"] for t in response["tokens"]]


def test_the_elasticsearch_analyzer_cuts_text_as_the_database_backend_does(live):
    live.ensure_indices(["agency"])
    for text in SAMPLES:
        assert tokens(live, text) == analysis.terms(text), text


def test_the_search_analyzer_adds_the_synonyms(live):
    live.ensure_indices(["agency"])
    assert set(tokens(live, "环评", "zh_search")) >= {"环评", "环境", "评价"}


def test_rebuild_swaps_the_alias_without_a_gap(live, reindex):
    agency = indexed_agency("广州环境影响评价技术有限公司")
    first = indexing.rebuild_elasticsearch(["agency"])["agency"]
    second = indexing.rebuild_elasticsearch(["agency"])["agency"]
    assert first != second
    assert list(live.client.indices.get_alias(name=live.alias("agency")).keys()) == [second]
    assert not live.client.indices.exists(index=first)
    result = search(q="环评", kinds=["agency"])
    assert result.backend == "elasticsearch" and [h.id for h in result.hits] == [agency.pk]


@pytest.mark.parametrize("query", ["环境影响", "环评", "環境影響", "環評", "测绘", "水保 广州"])
def test_both_backends_find_the_same_documents(live, reindex, query, owner_org):
    from tests.request_factories import published_request

    indexed_agency("广州环境影响评价技术有限公司", items=["GD-ZJ-HP-001"])
    indexed_agency("广州市测绘院有限公司", items=["GD-ZJ-CH-001"], grade="B")
    indexed_agency("广州水土保持咨询有限公司", items=["GD-ZJ-SB-001"], region="440104")
    published_request(owner=owner_org, project_name="某园区规划环境影响评价")
    reindex()
    indexing.rebuild_elasticsearch()
    q = build_query(q=query, facets=["kind", "service_item", "region", "grade"], page_size=100)
    es_result, db_result = live.search(q), database.search(q)
    assert {(h.kind, h.id) for h in es_result.hits} == {(h.kind, h.id) for h in db_result.hits}
    assert es_result.total == db_result.total
    for name in ("kind", "service_item", "region", "grade"):
        assert {(v.value, v.count) for v in es_result.facets[name]} == {(v.value, v.count) for v in db_result.facets[name]}


def test_red_list_first_at_equal_relevance(live, reindex):
    b = indexed_agency("广州甲环评技术有限公司", grade="B", score=80)
    a = indexed_agency("广州乙环评技术有限公司", grade="A", score=92)
    indexing.rebuild_elasticsearch(["agency"])
    assert [h.id for h in search(q="环评", kinds=["agency"]).hits] == [a.pk, b.pk]


def test_changes_are_written_after_the_commit(live, django_capture_on_commit_callbacks):
    indexing.rebuild_elasticsearch(["agency"])
    with django_capture_on_commit_callbacks(execute=True):
        agency = indexed_agency("广州地质灾害评估有限公司")
    result = search(q="地灾", kinds=["agency"])
    assert result.backend == "elasticsearch" and [h.id for h in result.hits] == [agency.pk]
    assert "<mark>" in result.hits[0].name_html
