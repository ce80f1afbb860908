"""The Elasticsearch backend without a server: the index definition (analyzers included), the
documents made from model instances, and the request bodies of searches."""

import datetime as dt

import pytest

from market.search import analysis
from market.search.backends.base import build_query
from market.search.backends.elastic import ElasticsearchBackend, document_class, es_document
from market.search.registry import build_documents
from market.catalogue.models import ServiceItem
from tests.request_factories import published_request
from tests.search.conftest import indexed_agency

NOW = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.timezone.utc)
ZH_TEXT = {"type": "text", "analyzer": "zh_index", "search_analyzer": "zh_search"}
COMMON_PROPERTIES = {
    "kind": {"type": "keyword"},
    "object_id": {"type": "long"},
    "name": {**ZH_TEXT, "copy_to": "all_text"},
    "body": {**ZH_TEXT, "copy_to": "all_text"},
    "all_text": ZH_TEXT,
    "url": {"type": "keyword", "index": False},
    "data": {"type": "object", "enabled": False},
    "service_item": {"type": "keyword"},
    "region": {"type": "keyword"},
    "status": {"type": "keyword"},
    "deadline": {"type": "date"},
    "grade": {"type": "keyword"},
    "red": {"type": "boolean"},
    "credit_score": {"type": "integer"},
    "sort_name": {"type": "keyword"},
    "sort_date": {"type": "date"},
}


@pytest.fixture
def es():
    return ElasticsearchBackend("http://127.0.0.1:9", prefix="market")


def expected_settings():
    return {
        "number_of_shards": 1,
        "number_of_replicas": 0,
        "analysis": {
            "char_filter": {"zh_fold": {"type": "mapping", "mappings": analysis.es_char_filter_mappings()}},
            "filter": {"zh_synonyms": {"type": "synonym_graph", "synonyms": analysis.es_synonym_rules()}},
            "analyzer": {
                "zh_index": {"type": "custom", "tokenizer": "standard", "char_filter": ["zh_fold"],
                             "filter": ["cjk_width", "lowercase", "cjk_bigram"]},
                "zh_search": {"type": "custom", "tokenizer": "standard", "char_filter": ["zh_fold"],
                              "filter": ["cjk_width", "lowercase", "cjk_bigram", "zh_synonyms"]},
            },
        },
    }


@pytest.mark.parametrize("kind, extra", [
    ("agency", {"qualification": {"type": "keyword"}, "agency_type": {"type": "keyword"}}),
    ("request", {"method": {"type": "keyword"}}),
    ("item", {"category": {"type": "keyword"}, "pricing_mode": {"type": "keyword"}, "level": {"type": "keyword"}}),
])
def test_the_index_mapping_is_exactly_this(es, kind, extra):
    assert es.index_body(kind) == {"settings": expected_settings(),
                                   "mappings": {"properties": {**COMMON_PROPERTIES, **extra}}}


def test_the_analyzer_rules_are_the_database_backends_tables(es):
    analysis_settings = es.index_body("agency")["settings"]["analysis"]
    rules = analysis_settings["char_filter"]["zh_fold"]["mappings"]
    assert {"環 => 环", "評 => 评", "價 => 价", "廣 => 广", "東 => 东", "Ａ => a", "０ => 0", "\\u2fa6 => 金"} <= set(rules)
    assert len(rules) == len(analysis.fold_table()) > 3000
    synonyms = analysis_settings["filter"]["zh_synonyms"]["synonyms"]
    assert synonyms[:4] == ["环评, 环境影响评价", "安评, 安全评价", "能评, 节能评估", "水保, 水土保持"]
    assert "地灾, 地灾评估, 地质灾害危险性评估" in synonyms and "图审, 施工图审查, 施工图设计文件审查" in synonyms


def test_the_index_template_covers_the_versioned_indices(es):
    template = es.template("agency").to_dict()
    assert template["index_patterns"] == ["market-agency-*"]
    assert template["template"] == es.index_body("agency")
    assert template["priority"] == 100


def test_aliases_and_document_classes(es):
    assert [es.alias(k) for k in ("agency", "request", "item")] == ["market-agency", "market-request", "market-item"]
    assert es.index("agency", "market-agency-20260501").to_dict() == es.index_body("agency")
    assert tuple(document_class(k)._index._name for k in ("agency", "request", "item")) == (
        "market-agency", "market-request", "market-item")


@pytest.mark.django_db
def test_the_document_of_an_agency(es):
    agency = indexed_agency("廣州環評技術有限公司", items=["GD-ZJ-HP-001", "GD-ZJ-SB-001"], region="440106", grade="A",
                            score=96, introduction="专业从事环境影响评价")
    docs, gone = build_documents("agency", [agency.pk])
    assert gone == set()
    org = agency.organization
    actual = es_document(docs[0]).to_dict(include_meta=True)
    assert actual == {
        "_id": str(agency.pk),
        "_index": "market-agency",
        "_source": {
            "kind": "agency", "object_id": agency.pk, "name": "廣州環評技術有限公司",
            "body": f"专业从事环境影响评价\n建设项目环境影响报告书编制、生产建设项目水土保持方案报告书编制\n环境影响评价、水土保持\n"
                    f"广东省广州市天河区\n{org.uscc}",
            "url": f"/agencies/{agency.pk}/",
            "data": {"region": "广东省广州市天河区", "uscc": org.uscc, "grade": "A", "score": 96,
                     "items": ["建设项目环境影响报告书编制", "生产建设项目水土保持方案报告书编制"], "n_items": 2,
                     "qualifications": []},
            "grade": "A", "red": True, "credit_score": 96, "sort_name": "廣州環評技術有限公司",
            "sort_date": agency.created_at,
            "service_item": ["GD-ZJ-HP-001", "GD-ZJ-SB-001"], "region": ["440100", "440106"],
            "agency_type": ["company"],  # no valid qualification: the empty list is left out
        },
    }


@pytest.mark.django_db
def test_the_document_of_a_request_holds_no_sealed_data(es, owner_org):
    request = published_request(owner=owner_org, project_name="某道路改造工程测绘服务")
    docs, _ = build_documents("request", [request.pk])
    source = es_document(docs[0]).to_dict(include_meta=True)["_source"]
    assert source["kind"] == "request" and source["status"] == "published"
    assert source["deadline"] == request.bid_deadline and source["method"] == ["lowest"]
    assert source["service_item"] == [request.service_item.code]
    assert set(source) == {"kind", "object_id", "name", "body", "url", "data", "status", "deadline", "red",
                           "credit_score", "sort_name", "sort_date", "service_item", "region", "method"}
    assert set(source["data"]) == {"owner", "item", "item_code", "region", "method", "quote_mode", "budget",
                                   "deadline", "published_at"}
    assert request.secret not in str(source)


@pytest.mark.django_db
def test_the_document_of_a_catalogue_item(es):
    item = ServiceItem.objects.get(code="GD-ZJ-HP-001")
    docs, _ = build_documents("item", [item.pk])
    source = es_document(docs[0]).to_dict()
    assert source["name"] == "建设项目环境影响报告书编制"
    assert (source["service_item"], source["category"], source["pricing_mode"], source["level"]) == (
        ["GD-ZJ-HP-001"], [item.category.code], [item.pricing_mode], [item.level])
    assert source["url"].endswith("/GD-ZJ-HP-001/")


def test_the_query_body_of_a_text_query_with_filters_facets_and_paging(es):
    query = build_query(q="環評 广州", kinds=["agency"], filters={"region": "440100", "grade": "A"},
                        facets=["service_item", "region", "grade"], page=2, page_size=10, now=NOW)
    assert es.build_search(query).to_dict() == {
        "query": {"bool": {
            "must": [{"bool": {"should": [
                {"match": {"all_text": {"query": "环评 广州", "operator": "and"}}},
                {"match": {"all_text": {"query": "环境影响评价 广州", "operator": "and"}}},
            ], "minimum_should_match": 1}}],
            "should": [
                {"match": {"name": {"query": "环评 广州", "operator": "and", "boost": 2.5}}},
                {"match": {"name": {"query": "环境影响评价 广州", "operator": "and", "boost": 2.5}}},
            ],
            "filter": [
                {"terms": {"kind": ["agency"]}},
                {"terms": {"region": ["440100"]}},
                {"terms": {"grade": ["A"]}},
            ],
        }},
        "aggs": {
            "service_item": {"terms": {"field": "service_item", "size": 250}},
            "region": {"terms": {"field": "region", "size": 250}},
            "grade": {"terms": {"field": "grade", "size": 250}},
        },
        "highlight": {
            "pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html", "require_field_match": False,
            "fields": {"name": {"number_of_fragments": 0}, "body": {"fragment_size": 80, "number_of_fragments": 2}},
        },
        "sort": ["_score", {"red": {"order": "desc"}}, {"credit_score": {"order": "desc"}},
                 {"sort_date": {"order": "desc", "missing": "_last"}}, {"sort_name": {"order": "asc"}},
                 {"object_id": {"order": "asc"}}, {"kind": {"order": "asc"}}],
        "_source": {"excludes": ["body", "all_text"]},
        "track_total_hits": True,
        "from": 10,
        "size": 10,
    }


def test_the_query_body_of_requests_by_derived_status_without_words(es):
    query = build_query(kinds=["request"], filters={"status": ["bidding_closed", "awarded"], "method": "random"},
                        facets=["status"], sort="newest", page=1, page_size=20, now=NOW)
    closed = {"bool": {"filter": [{"term": {"status": "published"}},
                                  {"range": {"deadline": {"lte": "2026-05-01T08:00:00+00:00"}}}]}}
    assert es.build_search(query).to_dict() == {
        "query": {"bool": {"filter": [
            {"terms": {"kind": ["request"]}},
            {"bool": {"filter": [{"term": {"kind": "request"}}], "should": [closed, {"term": {"status": "awarded"}}],
                      "minimum_should_match": 1}},
            {"terms": {"method": ["random"]}},
        ]}},
        "aggs": {"status": {"terms": {"field": "status", "size": 250}}, "bidding_closed": {"filter": closed}},
        "sort": [{"sort_date": {"order": "desc", "missing": "_last"}}, {"object_id": {"order": "desc"}},
                 {"kind": {"order": "asc"}}],
        "_source": {"excludes": ["body", "all_text"]},
        "track_total_hits": True,
        "from": 0,
        "size": 20,
    }


def test_a_search_across_kinds_reads_every_alias(es):
    query = build_query(q="测绘", now=NOW)
    search = es.build_search(query)
    assert search._index == ["market-agency", "market-request", "market-item"]
    body = search.to_dict()
    assert body["query"]["bool"]["filter"] == [{"terms": {"kind": ["agency", "request", "item"]}}]
    assert [c["match"]["all_text"]["query"] for c in body["query"]["bool"]["must"][0]["bool"]["should"]] == [
        "测绘", "测量", "勘测"]


def test_bulk_actions_write_to_the_alias_and_delete_by_id(es, monkeypatch):
    from market.search.documents import SearchDocument

    sent = []
    monkeypatch.setattr("market.search.backends.elastic.helpers.bulk",
                        lambda client, actions, **kw: sent.extend(actions) or (len(sent), []))
    monkeypatch.setattr(ElasticsearchBackend, "ensure_indices", lambda self, kinds: None)
    doc = SearchDocument(kind="item", object_id=7, name="测绘", facets={"kind": ["item"], "level": ["city"]})
    es.write("item", [doc], [9])
    assert [(a.get("_op_type", "index"), a["_index"], a["_id"]) for a in sent] == [
        ("index", "market-item", "7"), ("delete", "market-item", "9")]
    assert sent[0]["_source"]["level"] == ["city"]
