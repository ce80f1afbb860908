"""The functions the agency directory and the request lists call."""

import datetime as dt

import pytest

from agencies.selectors import AgencyFilters
from market.requests.selectors import RESULT_STATUSES, RequestFilters
from agencies.search import agency_directory_search
from market.requests.search import request_list_search
from tests.request_factories import published_request
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db


def test_the_directory_search_returns_a_page_of_agencies(reindex):
    b = indexed_agency("广州甲环评技术有限公司", items=["GD-ZJ-HP-001"], grade="B")
    a = indexed_agency("广州乙环评技术有限公司", items=["GD-ZJ-HP-001"], grade="A")
    indexed_agency("深圳测绘有限公司", items=["GD-ZJ-CH-001"], region="440305")
    reindex("agency")
    page, result = agency_directory_search(filters=AgencyFilters(q="環評"), page=1, page_size=20)
    assert [x.pk for x in page] == [a.pk, b.pk]  # red list first at equal relevance
    assert page.paginator.count == 2 and page.number == 1
    first = page.object_list[0]
    assert first.organization.name == "广州乙环评技术有限公司" and [o.service_item.code for o in first.offers] == [
        "GD-ZJ-HP-001"]
    assert "<mark>" in first.search_hit.name_html
    assert {v.value: v.count for v in result.facets["grade"]} == {"A": 1, "B": 1}


def test_the_directory_filters_and_sorts_as_before(reindex):
    indexed_agency("广州甲测绘有限公司", items=["GD-ZJ-CH-001"], grade="C")
    indexed_agency("广州乙测绘有限公司", items=["GD-ZJ-CH-002"], grade="A")
    indexed_agency("深圳丙测绘有限公司", items=["GD-ZJ-CH-001"], region="440305", grade="B")
    reindex("agency")
    names = lambda page: [a.organization.name for a in page]  # noqa: E731
    assert names(agency_directory_search(filters=AgencyFilters(sort="name"))[0]) == [
        "广州乙测绘有限公司", "广州甲测绘有限公司", "深圳丙测绘有限公司"]
    assert names(agency_directory_search(filters=AgencyFilters(sort="grade"))[0]) == [
        "广州乙测绘有限公司", "深圳丙测绘有限公司", "广州甲测绘有限公司"]
    assert names(agency_directory_search(filters=AgencyFilters(region="440100", sort="name"))[0]) == [
        "广州乙测绘有限公司", "广州甲测绘有限公司"]
    assert names(agency_directory_search(filters=AgencyFilters(service_item="GD-ZJ-CH-001", sort="name"))[0]) == [
        "广州甲测绘有限公司", "深圳丙测绘有限公司"]
    assert names(agency_directory_search(filters=AgencyFilters(q="测绘", sort="grade"))[0]) == [  # equal relevance
        "广州乙测绘有限公司", "深圳丙测绘有限公司", "广州甲测绘有限公司"]


def test_the_request_list_search(reindex, owner_org):
    old = published_request(owner=owner_org, project_name="某道路环境影响评价")
    new = published_request(owner=owner_org, project_name="某园区测绘服务")
    reindex("request")
    page, result = request_list_search(filters=RequestFilters(), page=1)
    assert [r.pk for r in page] == [new.pk, old.pk]  # newest first
    assert page.object_list[0].bid_count == 0
    page, _ = request_list_search(filters=RequestFilters(q="环评"))
    assert [r.pk for r in page] == [old.pk]
    after = old.bid_deadline + dt.timedelta(seconds=1)
    page, result = request_list_search(filters=RequestFilters(status="bidding_closed"), now=after)
    assert {r.pk for r in page} == {old.pk, new.pk}
    assert {v.value: v.count for v in result.facets["status"]} == {"bidding_closed": 2}
    page, _ = request_list_search(filters=RequestFilters(), statuses=RESULT_STATUSES)
    assert list(page) == []
