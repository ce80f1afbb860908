"""The database backend (FTS5 on SQLite, full text on PostgreSQL): Chinese queries, filters,
facet counts and ranking. CI runs these on both databases."""

import datetime as dt

import pytest
from django.db import connection

from market.search.api import search
from market.search.models import SearchEntry
from tests.request_factories import published_request
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db

HP_ITEMS = {"GD-ZJ-HP-001", "GD-ZJ-HP-002", "GD-ZJ-HP-003", "GD-ZJ-HP-004"}


def names(result):
    return [h.name for h in result.hits]


def item_codes(result):
    return {h.data["code"] for h in result.hits if h.kind == "item"}


def test_the_backend_is_the_database_on_this_engine(reindex):
    reindex("item")
    result = search(q="环境影响", kinds=["item"])
    assert result.backend == "database" and not result.fallback
    assert connection.vendor in ("sqlite", "postgresql")


@pytest.mark.parametrize("query", ["环境影响评价", "环境影响", "环评", "環境影響", "環境影響評價", "環評"])
def test_full_partial_abbreviated_and_traditional_terms_find_the_same_agency(reindex, query):
    indexed_agency("广州环境影响评价技术有限公司")
    indexed_agency("深圳安全评价有限公司")
    reindex("agency")
    assert names(search(q=query, kinds=["agency"])) == ["广州环境影响评价技术有限公司"]


@pytest.mark.parametrize("query", ["环境影响", "环评", "環境影響", "環評"])
def test_environmental_impact_queries_find_the_catalogue_items(reindex, query):
    reindex("item")
    assert HP_ITEMS <= item_codes(search(q=query, kinds=["item"], page_size=50))


def test_other_abbreviations_find_their_items(reindex):
    reindex("item")
    assert {"GD-ZJ-AP-001", "GD-ZJ-AP-002"} <= item_codes(search(q="安评", kinds=["item"], page_size=50))
    assert {"GD-ZJ-SB-001", "GD-ZJ-SB-003"} <= item_codes(search(q="水保", kinds=["item"], page_size=50))
    assert {"GD-ZJ-DZZH-001", "GD-ZJ-DZZH-002"} <= item_codes(search(q="地灾", kinds=["item"], page_size=50))
    assert {"GD-ZJ-ST-001", "GD-ZJ-ST-004"} <= item_codes(search(q="图审", kinds=["item"], page_size=50))
    assert {"GD-ZJ-NY-001"} <= item_codes(search(q="能评", kinds=["item"], page_size=50))


def test_every_term_of_the_query_must_match(reindex):
    indexed_agency("广州环境影响评价技术有限公司")
    indexed_agency("深圳环境影响评价技术有限公司", region="440305")
    reindex("agency")
    assert names(search(q="环评 深圳", kinds=["agency"])) == ["深圳环境影响评价技术有限公司"]
    assert search(q="环评 珠海", kinds=["agency"]).total == 0


def test_an_agency_is_found_by_what_it_offers(reindex):
    indexed_agency("广州市粤海工程咨询有限公司", items=["GD-ZJ-SB-001"])
    reindex("agency")
    result = search(q="水土保持方案", kinds=["agency"])
    assert names(result) == ["广州市粤海工程咨询有限公司"]
    assert any("<mark>" in f for f in result.hits[0].fragments)


def test_highlights_mark_the_matched_terms_in_the_name(reindex):
    indexed_agency("廣州環境影響評價技術有限公司")
    reindex("agency")
    hit = search(q="环评", kinds=["agency"]).hits[0]
    assert hit.name_html == "廣州<mark>環境影響評價</mark>技術有限公司"


@pytest.fixture
def three_agencies(reindex):
    a1 = indexed_agency("广州市测绘院有限公司", items=["GD-ZJ-CH-001"], region="440106", grade="A")
    a2 = indexed_agency("深圳地理信息测绘有限公司", items=["GD-ZJ-CH-001", "GD-ZJ-CH-002"], region="440305", grade="B")
    a3 = indexed_agency("广州环保科技有限公司", items=["GD-ZJ-HP-001"], region="440104", grade="A")
    reindex("agency")
    return a1, a2, a3


def facet(result, name):
    return {v.value: v.count for v in result.facets[name]}


def test_facet_counts_follow_the_matches(three_agencies):
    result = search(q="测绘", kinds=["agency"], facets=["region", "service_item", "grade", "kind"])
    assert result.total == 2
    assert facet(result, "region") == {"440100": 1, "440106": 1, "440300": 1, "440305": 1}
    assert facet(result, "service_item") == {"GD-ZJ-CH-001": 2, "GD-ZJ-CH-002": 1}
    assert facet(result, "grade") == {"A": 1, "B": 1}
    assert facet(result, "kind") == {"agency": 2}
    labels = {v.value: v.label for v in result.facets["region"]}
    assert labels["440100"] == "广州市" and labels["440305"] == "南山区"


def test_filters_by_region_prefix_service_item_and_grade(three_agencies):
    assert names(search(kinds=["agency"], filters={"region": "440100"}, sort="name")) == [
        "广州市测绘院有限公司", "广州环保科技有限公司"]
    assert names(search(kinds=["agency"], filters={"region": "440305"})) == ["深圳地理信息测绘有限公司"]
    assert search(kinds=["agency"], filters={"region": "440000"}).total == 3  # the whole province
    assert names(search(q="测绘", kinds=["agency"], filters={"service_item": "GD-ZJ-CH-002"})) == ["深圳地理信息测绘有限公司"]
    assert set(names(search(kinds=["agency"], filters={"grade": "A"}))) == {"广州市测绘院有限公司", "广州环保科技有限公司"}
    assert search(kinds=["agency"], filters={"grade": ["A", "B"]}).total == 3


def test_facet_counts_apply_the_filters(three_agencies):
    result = search(kinds=["agency"], filters={"grade": "A"}, facets=["region", "grade"])
    assert facet(result, "grade") == {"A": 2}
    assert facet(result, "region") == {"440100": 2, "440104": 1, "440106": 1}


def test_red_list_agencies_rank_first_at_equal_relevance(reindex):
    b = indexed_agency("广州甲环评技术有限公司", grade="B", score=80)
    a = indexed_agency("广州乙环评技术有限公司", grade="A", score=92)
    a_higher = indexed_agency("广州丙环评技术有限公司", grade="A", score=98)
    reindex("agency")
    result = search(q="环评", kinds=["agency"])
    assert [h.id for h in result.hits] == [a_higher.pk, a.pk, b.pk]
    assert result.hits[0].score == result.hits[1].score == result.hits[2].score


def test_a_match_in_the_name_ranks_above_one_in_the_text_whatever_the_grade(reindex):
    body_only = indexed_agency("广州市粤海工程咨询有限公司", grade="A", introduction="可承担水土保持方案编制工作")
    in_name = indexed_agency("广州水土保持咨询有限公司", grade="C")
    reindex("agency")
    assert [h.id for h in search(q="水土保持", kinds=["agency"]).hits] == [in_name.pk, body_only.pk]


def test_without_words_the_red_list_comes_first(three_agencies):
    a1, a2, a3 = three_agencies
    assert [h.id for h in search(kinds=["agency"]).hits][-1] == a2.pk


def test_pages(reindex):
    for i in range(5):
        indexed_agency(f"广州第{i}环评技术有限公司")
    reindex("agency")
    first = search(q="环评", kinds=["agency"], page=1, page_size=2)
    second = search(q="环评", kinds=["agency"], page=2, page_size=2)
    third = search(q="环评", kinds=["agency"], page=3, page_size=2)
    assert first.total == 5 and first.num_pages == 3
    assert len(first.hits) == 2 and len(second.hits) == 2 and len(third.hits) == 1
    assert len({h.id for h in first.hits + second.hits + third.hits}) == 5
    past = search(q="环评", kinds=["agency"], page=9, page_size=2)
    assert past.page == 3 and [h.id for h in past.hits] == [h.id for h in third.hits]


def test_requests_filters_and_status_facet_follow_the_deadline(reindex, owner_org):
    lowest = published_request(owner=owner_org, project_name="某道路改造工程环境影响评价")
    random_draw = published_request(owner=owner_org, project_name="某片区环境影响评价", selection_method="random")
    reindex("request")
    now = lowest.bid_deadline - dt.timedelta(hours=2)
    result = search(q="环评", kinds=["request"], facets=["method", "status"], now=now)
    assert result.total == 2
    assert facet(result, "method") == {"lowest": 1, "random": 1}
    assert facet(result, "status") == {"published": 2}
    assert [h.id for h in search(q="环评", kinds=["request"], filters={"method": "random"}, now=now).hits] == [
        random_draw.pk]
    later = max(lowest.bid_deadline, random_draw.bid_deadline) + dt.timedelta(seconds=1)
    closed = search(q="环评", kinds=["request"], facets=["status"], filters={"status": "bidding_closed"}, now=later)
    assert closed.total == 2 and facet(closed, "status") == {"bidding_closed": 2}
    assert search(q="环评", kinds=["request"], filters={"status": "published"}, now=later).total == 0
    assert closed.hits[0].status_at(later) == "bidding_closed"


def test_search_across_kinds_with_a_kind_facet(reindex, owner_org):
    indexed_agency("广州环境影响评价技术有限公司")
    published_request(owner=owner_org, project_name="某园区规划环境影响评价")
    reindex()
    result = search(q="环评", facets=["kind"])
    assert facet(result, "kind") == {"item": 4, "agency": 1, "request": 1}
    only = search(q="环评", filters={"kind": "request"}, facets=["kind"])
    assert [h.kind for h in only.hits] == ["request"]


def test_a_query_of_punctuation_finds_nothing(reindex):
    reindex("item")
    assert search(q="！？", kinds=["item"]).total == 0


def test_the_index_holds_the_analysed_terms(reindex):
    agency = indexed_agency("廣州環評技術有限公司")
    reindex("agency")
    entry = SearchEntry.objects.get(kind="agency", object_id=agency.pk)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT vector::text, name_vector::text FROM market_search_entry WHERE id = %s", [entry.pk])
            vector, name_vector = cur.fetchone()
            assert "'环评'" in vector.split() and "'天河'" in vector.split()  # the name's terms and the text's
            assert name_vector.split() == ["'公司':9", "'州环':2", "'广州':1", "'技术':5", "'有限':7", "'术有':6",
                                           "'环评':3", "'评技':4", "'限公':8"]
        else:
            cur.execute("SELECT name FROM market_search_fts WHERE rowid = %s", [entry.pk])
            assert cur.fetchone()[0].split() == ["广州", "州环", "环评", "评技", "技术", "术有", "有限", "限公", "公司"]


def test_counts_are_cached_until_the_index_changes(reindex):
    indexed_agency("广州环评技术有限公司")
    reindex("agency")
    first = search(q="环评", kinds=["agency"], facets=["grade"])
    assert first.total == 1
    second = search(q="环评", kinds=["agency"], facets=["grade"])
    assert (second.total, facet(second, "grade")) == (1, {"A": 1})
    indexed_agency("深圳环评技术有限公司", grade="B")
    reindex("agency")  # every index write drops the cached counts
    third = search(q="环评", kinds=["agency"], facets=["grade"])
    assert (third.total, facet(third, "grade")) == (2, {"A": 1, "B": 1})
