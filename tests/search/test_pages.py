"""/search/?q=: agencies, announcements and catalogue items with facets and pages."""

import re

import pytest

from tests.request_factories import published_request
from tests.search.conftest import indexed_agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(reindex, owner_org):
    agency = indexed_agency("广州环境影响评价技术有限公司", items=["GD-ZJ-HP-001"], grade="A")
    request = published_request(owner=owner_org, project_name="某园区规划环境影响评价")
    reindex()
    return agency, request


def test_the_search_page_finds_every_kind_with_highlights(client, data):
    agency, request = data
    response = client.get("/search/", {"q": "環評"})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/agencies/{agency.pk}/"' in html and f'href="/requests/{request.pk}/"' in html
    assert "<mark>环境影响评价</mark>" in html
    assert "建设项目<mark>环境影响</mark>报告书编制" in html  # a catalogue item
    assert response.context["result"].total == 6


def test_every_form_field_has_a_label(client, data):
    html = client.get("/search/", {"q": "环评"}).content.decode()
    form = html[html.index('<form method="get" action="/search/"'):]
    form = form[:form.index("</form>")]
    ids = re.findall(r'<(?:input|select)[^>]*\sid="([^"]+)"', form)
    assert set(ids) == {"id_q", "id_kind", "id_sort"}
    for field_id in ids:
        assert f'<label for="{field_id}">' in form
    assert all('type="hidden"' in tag for tag in re.findall(r"<input[^>]*>", form) if 'id="' not in tag)


def test_facets_link_to_filtered_results(client, data):
    agency, _ = data
    response = client.get("/search/", {"q": "环评"})
    groups = {g["name"]: g for g in response.context["facet_groups"]}
    kinds = {link["value"]: link for link in groups["kind"]["links"]}
    assert (kinds["agency"]["count"], kinds["request"]["count"], kinds["item"]["count"]) == (1, 1, 4)
    regions = {link["value"]: link["count"] for link in groups["region"]["links"]}
    assert regions == {"440100": 2}  # the agency (天河区) and the request (越秀区): prefectures until one is chosen
    filtered = client.get("/search/" + kinds["agency"]["href"])
    assert [h.id for h in filtered.context["result"].hits] == [agency.pk]
    grade = client.get("/search/", {"q": "环评", "grade": "A"})
    assert [h.kind for h in grade.context["result"].hits] == ["agency"]
    assert "Credit grade" in grade.content.decode() or "信用等级" in grade.content.decode()


def test_a_chosen_prefecture_shows_its_counties(client, data):
    response = client.get("/search/", {"q": "环评", "region": "440100"})
    groups = {g["name"]: g for g in response.context["facet_groups"]}
    assert {link["value"] for link in groups["region"]["links"]} == {"440100", "440104", "440106"}


def test_pages_of_results(client, reindex):
    for i in range(25):
        indexed_agency(f"广州第{i}环评技术有限公司")
    reindex("agency")
    first = client.get("/search/", {"q": "环评", "kind": "agency"})
    second = client.get("/search/", {"q": "环评", "kind": "agency", "page": "2"})
    assert len(first.context["result"].hits) == 20 and len(second.context["result"].hits) == 5
    assert 'page=2' in first.content.decode()
    assert first.context["page_obj"].paginator.num_pages == 2


def test_the_status_filter_uses_the_deadline(client, data):
    response = client.get("/search/", {"kind": "request", "status": "published"})
    assert response.context["result"].total == 1
    assert client.get("/search/", {"kind": "request", "status": "bidding_closed"}).context["result"].total == 0


def test_nonsense_parameters_are_ignored(client, data):
    response = client.get("/search/", {"q": "环评", "kind": "nope", "sort": "nope", "page": "x", "grade": "Z"})
    assert response.status_code == 200 and response.context["result"].total == 0


def test_an_empty_search_lists_everything(client, data):
    response = client.get("/search/")
    assert response.status_code == 200
    assert response.context["result"].total == 57 + 2
