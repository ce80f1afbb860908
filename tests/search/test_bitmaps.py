"""PostgreSQL's bitmaps (backends/bitmaps.py): they follow every write of the index exactly, and a
search over them gives what the SQL path over the entries gives — hits, scores, totals, facet
counts — for every sort, filter, page and kind."""

import datetime as dt
from collections import defaultdict
from fractions import Fraction

import pytest
from django.db import connection

from agencies.models import Agency
from market.search import indexing
from market.search.api import search
from market.search.backends import bitmaps, database
from market.search.backends.base import build_query
from market.search.models import SearchBitmap, SearchEntry, SearchState
from tests.request_factories import published_request
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="bitmaps are PostgreSQL's")


def stored(kind):
    """{(field, value): set of object ids} as the bitmaps hold them."""
    out = {}
    with connection.cursor() as cur:
        cur.execute("SELECT field, value, varbit_send(bits) FROM market_search_bitmap WHERE kind = %s", [kind])
        lengths = set()
        for field, value, data in cur.fetchall():
            bits, size = bitmaps.from_send(data)
            lengths.add(size)
            out[(field, value)] = set(bitmaps.ids_of(bits, size))
    assert len(lengths) <= 1, "every bitmap of a kind has one length"
    return out


def expected(kind):
    """{(field, value): set of object ids} from the entries."""
    out = defaultdict(set)
    with connection.cursor() as cur:
        cur.execute("SELECT object_id, facet_keys, status, tsvector_to_array(vector), tsvector_to_array(name_vector) "
                    "FROM market_search_entry WHERE kind = %s", [kind])
        for object_id, facet_keys, status, terms, names in cur.fetchall():
            for key in bitmaps.keys_of(kind, facet_keys, status, terms, names):
                out[key].add(object_id)
    return out


def assert_consistent(kind):
    """Every facet value has its bitmap, and every bitmap (term ones included) holds exactly the
    entries that have its key."""
    have, want = stored(kind), expected(kind)
    assert SearchState.objects.filter(key=bitmaps.ready_key(kind)).exists()
    for key, ids in want.items():
        if key[0] not in (bitmaps.TERM, bitmaps.NAME):
            assert have.get(key) == ids, key
    for key, ids in have.items():
        assert ids == want.get(key, set()), key
    return have


def results(query, *, sql=False, monkeypatch=None):
    database.bump_generation()
    if sql:
        with monkeypatch.context() as m:
            m.setattr(database, "_bitmapped", lambda: False)
            r = database.search(query)
    else:
        r = database.search(query)
    return (r.total, r.page, [(h.kind, h.id, h.score) for h in r.hits],
            {name: [(v.value, v.count) for v in values] for name, values in r.facets.items()})


def test_tiers_group_the_matches_by_the_share_of_a_variant_held_by_the_name():
    # Documents 0..5 (bit i of the int: document i); variants (a, b) and (c,).
    names = {"a": 0b000111, "b": 0b000101, "c": 0b010000}
    matches = 0b111111
    groups = bitmaps.tiers(matches, [("a", "b"), ("c",)], names)
    assert groups == [(Fraction(1), 0b010101), (Fraction(1, 2), 0b000010), (Fraction(0), 0b101000)]
    assert bitmaps.tiers(0, [("a",)], names) == []


def test_bitmap_ints_and_their_literals():
    size = 16
    bits = bitmaps.from_ids([0, 3, 15], size)
    assert bitmaps.ids_of(bits, size) == [0, 3, 15]
    assert bitmaps.to_param(bits, size) == "x9001"
    assert bitmaps.has(bits, size, 3) and not bitmaps.has(bits, size, 4) and not bitmaps.has(bits, size, 99)


@pytest.fixture(params=["default", "dense"])
def mode(request, monkeypatch):
    """default: the thresholds as shipped (with few documents: no term bitmap, counts and pages
    read from the entries by id); dense: every term has bitmaps, counts come from the bitmaps and
    pages from walking the indexes — as with many documents."""
    if request.param == "dense":
        monkeypatch.setattr(bitmaps, "MIN_TERM_DOCS", 1)
        monkeypatch.setattr(bitmaps, "COUNT_BY_ROW", 0)
        monkeypatch.setattr(bitmaps, "SPARSE_IDS", 0)
    return request.param


@pytest.fixture
def agencies(mode, reindex):
    made = [
        indexed_agency("广州市测绘院有限公司", items=["GD-ZJ-CH-001"], region="440106", grade="A"),
        indexed_agency("深圳地理信息测绘有限公司", items=["GD-ZJ-CH-001", "GD-ZJ-CH-002"], region="440305", grade="B"),
        indexed_agency("广州环保科技有限公司", items=["GD-ZJ-HP-001"], region="440104", grade="A",
                       introduction="承担环境影响评价与测绘工作"),
        indexed_agency("广州环境影响评价技术有限公司", items=["GD-ZJ-HP-001", "GD-ZJ-HP-002"], region="440106",
                       grade="C"),
        indexed_agency("珠海水土保持咨询有限公司", items=["GD-ZJ-SB-001"], region="440402", grade="D"),
        indexed_agency("广州乙环评技术有限公司", grade="A", score=92),
        indexed_agency("广州丙环评技术有限公司", grade="A", score=98),
    ]
    reindex()
    return made


QUERIES = [
    {"q": "测绘", "kinds": ["agency"], "facets": ["region", "service_item", "grade", "kind"]},
    {"q": "环评", "facets": ["kind", "service_item", "region", "grade", "method", "status", "category"]},
    {"q": "环评 广州", "kinds": ["agency"], "facets": ["grade"]},
    {"q": "有限公司", "kinds": ["agency"], "facets": ["grade", "region"], "page_size": 2, "page": 2},
    {"q": "有限公司", "kinds": ["agency"], "sort": "name", "page_size": 3, "page": 3},
    {"q": "有限公司", "kinds": ["agency"], "sort": "grade", "page_size": 3},
    {"q": "有限公司", "kinds": ["agency"], "sort": "newest", "page_size": 3, "page": 9},  # past the last page
    {"kinds": ["agency"], "sort": "grade", "facets": ["grade", "service_item"]},
    {"kinds": ["agency"], "filters": {"region": "440100"}, "facets": ["region"]},
    {"kinds": ["agency"], "filters": {"grade": ["A", "D"], "service_item": "GD-ZJ-HP-001"}, "facets": ["grade"]},
    {"kinds": ["agency", "item"], "sort": "name", "facets": ["kind"], "page_size": 5, "page": 2},
    {"q": "环境影响评价", "kinds": ["item", "agency"], "facets": ["kind", "level"], "page_size": 3},
    {"q": "水土保持方案", "facets": ["kind"]},
    {"q": "珠江", "kinds": ["agency"], "facets": ["grade"]},  # nothing
]


@on_postgresql
@pytest.mark.parametrize("kwargs", QUERIES)
def test_the_bitmaps_answer_as_the_entries_do(mode, agencies, kwargs, monkeypatch):
    query = build_query(**kwargs)
    assert database._bitmapped() and bitmaps.searchable(connection.cursor(), query.kinds)
    have = assert_consistent("agency")
    assert any(field == bitmaps.TERM for field, _ in have) == (mode == "dense")
    assert results(query) == results(query, sql=True, monkeypatch=monkeypatch)


@on_postgresql
@pytest.mark.parametrize("min_docs", [1, 10_000])
def test_terms_with_and_without_bitmaps_match_alike(reindex, min_docs, monkeypatch):
    """Frequent terms are ANDed as bitmaps; others are read from the entries."""
    monkeypatch.setattr(bitmaps, "MIN_TERM_DOCS", min_docs)
    for i in range(4):
        indexed_agency(f"广州第{i}环评技术有限公司", grade="AB"[i % 2])
    indexed_agency("深圳测绘有限公司", grade="C")
    reindex("agency")
    have = assert_consistent("agency")
    assert any(field == bitmaps.TERM for field, _ in have) == (min_docs == 1)
    for q in ("环评", "有限公司 广州", "测绘", "环境影响评价"):
        query = build_query(q=q, kinds=["agency"], facets=["grade"], page_size=2)
        assert results(query) == results(query, sql=True, monkeypatch=monkeypatch)


@on_postgresql
def test_request_statuses_follow_the_deadline_on_both_paths(reindex, owner_org, monkeypatch):
    open_request = published_request(owner=owner_org, project_name="某道路改造工程环境影响评价")
    published_request(owner=owner_org, project_name="某片区环境影响评价", selection_method="random")
    reindex("request")
    now = open_request.bid_deadline - dt.timedelta(hours=1)
    later = open_request.bid_deadline + dt.timedelta(days=60)
    for when in (now, later):
        for filters in ({}, {"status": "published"}, {"status": "bidding_closed"}, {"status": ["published", "bidding_closed"]},
                        {"method": "random"}):
            query = build_query(q="环评", kinds=["request"], filters=filters, facets=["status", "method"], now=when)
            assert results(query) == results(query, sql=True, monkeypatch=monkeypatch)
    assert results(build_query(q="环评", kinds=["request"], facets=["status"], now=later))[3] == {
        "status": [("bidding_closed", 2)]}


@on_postgresql
def test_the_bitmaps_follow_every_change(agencies, owner_org, django_capture_on_commit_callbacks):
    from agencies.models import AgencyServiceItem
    from market.accounts.models import Organization
    from market.catalogue.models import ServiceItem

    assert_consistent("agency")
    first, second = agencies[0], agencies[1]
    with django_capture_on_commit_callbacks(execute=True):
        AgencyServiceItem.objects.create(agency=first, service_item=ServiceItem.objects.get(code="GD-ZJ-SB-001"),
                                         fee_quote="按标准")
        Organization.objects.filter(pk=second.organization_id).update(region_id="440304")
        org = Organization.objects.get(pk=second.organization_id)
        org.name = "深圳福田水土保持有限公司"
        org.save()
    assert_consistent("agency")
    assert [h.id for h in search(q="水保", kinds=["agency"], filters={"region": "440304"}).hits] == [second.pk]
    Agency.objects.filter(pk=first.pk).update(credit_grade="D", credit_score=40)
    indexing.sync()
    assert_consistent("agency")
    assert {v.value: v.count for v in search(kinds=["agency"], facets=["grade"]).facets["grade"]}["D"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        Agency.objects.get(pk=first.pk).delete()
    have = assert_consistent("agency")
    assert first.pk not in have[("kind", "agency")]
    with django_capture_on_commit_callbacks(execute=True):
        request = published_request(owner=owner_org, project_name="某园区规划环境影响评价")
    assert_consistent("request")
    assert [h.id for h in search(q="环评", kinds=["request"]).hits] == [request.pk]


@on_postgresql
def test_every_bitmap_grows_when_an_object_id_reaches_their_length(reindex):
    indexed_agency("广州环评技术有限公司")
    reindex("agency")
    size = bitmaps.length(connection.cursor(), "agency")
    from market.search.documents import SearchDocument

    far = SearchDocument(kind="agency", object_id=size + 5, name="深圳远方环评有限公司", body="测绘",
                         facets={"kind": ["agency"], "grade": ["B"], "region": ["440300"]}, grade="B")
    database.index_documents([far])
    assert bitmaps.length(connection.cursor(), "agency") > size + 5
    have = assert_consistent("agency")
    assert size + 5 in have[("kind", "agency")] and have[("region", "440300")] == {size + 5}
    assert [h.id for h in search(q="环评", kinds=["agency"], filters={"grade": "B"}).hits] == [size + 5]
    database.delete_documents("agency", [size + 5])
    assert size + 5 not in assert_consistent("agency")[("kind", "agency")]


@on_postgresql
def test_entries_without_bitmaps_are_searched_by_sql_until_they_are_built(agencies, monkeypatch):
    query = build_query(q="测绘", kinds=["agency"], facets=["grade", "region"])
    before = results(query)
    with connection.cursor() as cur:
        bitmaps.forget(cur, "agency")
        assert not bitmaps.searchable(cur, ["agency"])
    assert not SearchBitmap.objects.filter(kind="agency").exists()
    assert results(query) == before  # the SQL path
    indexed = SearchEntry.objects.filter(kind="agency").count()
    assert database.build_bitmaps(["agency"]) == {"agency": indexed}
    assert_consistent("agency")
    assert results(query) == before


@on_postgresql
def test_an_empty_kind_starts_its_bitmaps_with_its_first_document(reindex):
    SearchState.objects.filter(key__startswith="bitmaps:").delete()
    SearchBitmap.objects.all().delete()
    SearchEntry.objects.filter(kind="agency").delete()
    agency = indexed_agency("广州环评技术有限公司", items=["GD-ZJ-HP-001"])
    indexing.apply_changes({"agency": {agency.pk}})
    have = assert_consistent("agency")
    assert have[("kind", "agency")] == {agency.pk}
    assert [h.id for h in search(q="环评", kinds=["agency"], filters={"service_item": "GD-ZJ-HP-001"}).hits] == [
        agency.pk]


@on_postgresql
def test_a_kind_with_too_large_an_id_is_searched_by_sql(agencies, monkeypatch):
    query = build_query(q="测绘", kinds=["agency"], facets=["grade"])
    before = results(query)
    monkeypatch.setattr(bitmaps, "MAX_ID", max(a.pk for a in agencies))
    from market.search.documents import SearchDocument

    database.index_documents([SearchDocument(kind="agency", object_id=bitmaps.MAX_ID + 1, name="深圳远方咨询有限公司",
                                             facets={"kind": ["agency"], "grade": ["B"]}, grade="B")])
    assert not bitmaps.searchable(connection.cursor(), ["agency"])
    assert not SearchBitmap.objects.filter(kind="agency").exists()
    assert results(query) == before
    assert database.build_bitmaps(["agency"]) == {"agency": 0}
    assert not bitmaps.searchable(connection.cursor(), ["agency"])
