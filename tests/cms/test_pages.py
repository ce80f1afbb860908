import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.catalogue.models import QualificationType, ServiceCategory, ServiceItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(db):
    from cms.demo import seed

    seed()


def test_home_is_chinese_by_default(client, site):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hans"' in html and "收费标准" in html


def test_language_switch_to_english(client, site):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert 'lang="en"' in html and "Fee schedules" in html


def test_no_asset_from_the_internet(client, site):
    for url in ["/", "/fees/", "/notices/", "/api/docs/"]:
        html = client.get(url).content.decode()
        for attr in ('src="http', "src='http", 'href="http'):
            assert attr not in html.replace('href="https://github.com', ""), (url, attr)


def test_pages_send_a_strict_content_security_policy(client, site):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_fee_schedule_filters_and_detail(client, site):
    item = ServiceItem.objects.filter(pricing_mode="government_set").select_related("category").first()
    html = client.get(f"/fees/?pricing_mode=government_set&category={item.category.code}").content.decode()
    assert item.name in html
    market_item = ServiceItem.objects.filter(pricing_mode="market").first()
    assert market_item.name not in html
    detail = client.get(f"/fees/{item.code}/")
    assert detail.status_code == 200
    body = detail.content.decode()
    assert item.fee_standard[:10] in body and item.department in body
    assert client.get("/fees/NO-SUCH/").status_code == 404


def test_fee_schedule_search_by_name(client, site):
    item = ServiceItem.objects.first()
    html = client.get("/fees/", {"q": item.name}).content.decode()
    assert item.code in html


def test_notices_policies_and_guides_have_content(client, site):
    for url, text in [("/notices/", "一地入驻"), ("/policies/", "管理办法"), ("/guides/", "中介机构办事指南")]:
        response = client.get(url)
        assert response.status_code == 200 and text in response.content.decode(), url


def _add_items(n, start=0):
    cat = ServiceCategory.objects.first()
    quals = list(QualificationType.objects.all()[:2])
    for i in range(start, start + n):
        item = ServiceItem.objects.create(code=f"BULK-{i:04d}", name=f"批量事项{i}", category=cat, legal_basis="x",
                                          approval="x", department="某部门", service_content="x", result="x",
                                          time_limit_days=5, pricing_mode="market", fee_standard="面议", level="city")
        item.qualification_types.set(quals)


def _count(client, url):
    from market.search import indexing

    indexing.flush_pending()  # the index writes a commit before this request would have made
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/fees/?page=2", "/fees/?category=surveying", "/api/v1/service-items/?page_size=100", "/"])
def test_query_count_is_constant_for_10_and_100_rows(client, site, url):
    ServiceItem.objects.all().delete()
    _add_items(10)
    client.get(url)  # warm caches (site root, content types)
    small = _count(client, url)
    _add_items(90, start=10)
    large = _count(client, url)
    assert small == large, (url, small, large)
