"""The public directory and agency pages: active agencies only, the user's filters only, and a
constant number of queries however many agencies there are."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_agencies_bulk, make_agency

pytestmark = pytest.mark.django_db
ITEMS = ["GD-ZJ-CH-001", "GD-ZJ-CH-002"]
QUALS = ["QT-CH-A", "QT-CH-B"]


def names(response) -> str:
    return response.content.decode()


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_directory_and_agency_pages_run_the_same_queries_for_10_and_500_agencies(client, api):
    agencies = make_agencies_bulk(10, service_items=ITEMS, qualification_types=QUALS,
                                  region_codes=("440104", "440304", "441900003"))
    first = agencies[0]
    urls = ["/agencies/", "/agencies/?sort=grade", "/agencies/?region=440100&service_item=GD-ZJ-CH-001&qualification=QT-CH-A",
            f"/agencies/{first.pk}/", "/agencies/?page=1&q=批量"]
    few = {url: count_queries(client, url) for url in urls}
    with CaptureQueriesContext(connection) as ctx:
        api.get("/api/v1/agencies/")
    api_few = len(ctx.captured_queries)
    make_agencies_bulk(490, service_items=ITEMS, qualification_types=QUALS, region_codes=("440104", "440304", "441900003"))
    many = {url: count_queries(client, url) for url in urls}
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/api/v1/agencies/")
    assert response.json()["count"] == 500
    assert many == few
    assert len(ctx.captured_queries) == api_few


def test_the_directory_lists_active_agencies_only(client):
    shown = make_agency(status="active", name="在册中介有限公司")
    hidden = [make_agency(status=s, name=f"{s}中介有限公司") for s in
              ("draft", "submitted", "returned", "publicity", "suspended", "banned", "rejected", "withdrawn")]
    page = names(client.get("/agencies/"))
    assert shown.name in page
    for agency in hidden:
        assert agency.name not in page
        assert client.get(f"/agencies/{agency.pk}/").status_code == 404


def test_filter_by_service_item(client):
    surveyor = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"])
    other = make_agency()
    page = names(client.get("/agencies/?service_item=GD-ZJ-CH-001"))
    assert surveyor.name in page and other.name not in page


def test_a_prefecture_filter_matches_its_counties_and_towns(client):
    yuexiu = make_agency(region_code="440104")
    panyu = make_agency(region_code="440113")
    nanshan = make_agency(region_code="440305")
    dongguan_town = make_agency(region_code="441900003")
    page = names(client.get("/agencies/?region=440100"))
    assert yuexiu.name in page and panyu.name in page and nanshan.name not in page
    page = names(client.get("/agencies/?region=440104"))
    assert yuexiu.name in page and panyu.name not in page
    assert dongguan_town.name in names(client.get("/agencies/?region=441900"))


def test_without_a_region_filter_agencies_of_every_region_are_listed(client):
    agencies = [make_agency(region_code=code) for code in ("440104", "440305", "440604", "445302")]
    page = names(client.get("/agencies/"))
    assert all(a.name in page for a in agencies)


def test_sort_by_credit_grade_puts_a_first(client):
    from agencies.models import Agency

    c = make_agency(name="甲乙丙C级中介有限公司")
    a = make_agency(name="甲乙丙A级中介有限公司")
    Agency.objects.filter(pk=c.pk).update(credit_grade="C", credit_score=65)
    Agency.objects.filter(pk=a.pk).update(credit_grade="A", credit_score=98)
    page = names(client.get("/agencies/?sort=grade&q=甲乙丙"))
    assert page.index(a.name) < page.index(c.name)
    page = names(client.get("/agencies/?sort=name&q=甲乙丙"))
    assert page.index("甲乙丙A") < page.index("甲乙丙C")


def test_directory_is_paginated(client):
    make_agencies_bulk(45)
    first = client.get("/agencies/")
    assert first.context["page_obj"].paginator.num_pages == 3
    assert len(first.context["page_obj"].object_list) == 20
    assert len(client.get("/agencies/?page=3").context["page_obj"].object_list) == 5


def test_agency_page_shows_items_fee_quotes_and_qualification_validity_but_not_the_scans(client):
    today = timezone.localdate()
    agency = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"],
                         valid_to=today + dt.timedelta(days=300), fee_quote_fen=1_234_500)
    page = names(client.get(f"/agencies/{agency.pk}/"))
    assert "建设工程规划条件核实测量" in page and "按收费标准下浮10%" in page and "12,345.00" in page
    assert (today + dt.timedelta(days=300)).isoformat() in page
    assert "/agencies/files/" not in page


def test_members_and_regulators_see_their_non_active_agency_page(client):
    from tests.factories import agency_admin, make_regulator

    agency = make_agency(status="submitted")
    client.force_login(agency_admin(agency))
    assert client.get(f"/agencies/{agency.pk}/").status_code == 200
    client.force_login(make_regulator())
    assert client.get(f"/agencies/{agency.pk}/").status_code == 200


def test_the_directory_searches_by_meaning_with_counts_and_red_list_first(client):
    """The directory is the search: an abbreviation finds the full term, each filter choice shows how
    many agencies it leaves, and at equal relevance the red-list (grade A) agency comes first."""
    from agencies.models import Agency
    from market.search import indexing

    plain = make_agency(service_items=["GD-ZJ-HP-001"], name="广州A环境影响评价有限公司")
    red = make_agency(service_items=["GD-ZJ-HP-001"], name="广州B环境影响评价有限公司")
    other = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"], name="广州丙测绘有限公司")
    Agency.objects.filter(pk=plain.pk).update(credit_score=70, credit_grade="C")
    Agency.objects.filter(pk=red.pk).update(credit_score=95, credit_grade="A")
    indexing.mark("agency", [plain.pk, red.pk])  # update() sends no signal
    response = client.get("/agencies/", {"q": "环评"})
    assert response.status_code == 200
    listed = [a.pk for a in response.context["page_obj"]]
    assert listed[:2] == [red.pk, plain.pk] and other.pk not in listed
    html = response.content.decode()
    assert f'value="GD-ZJ-HP-001">' in html and "(2)</option>" in html
    assert client.get("/agencies/", {"q": "环评", "sort": "name"}).context["page_obj"][0].pk == plain.pk  # A before B
