"""Bad input is refused at the edge with 400 (or 404 for an id no row can have), never a 5xx.

NUL bytes only break PostgreSQL, so the tests do not rely on the database failing: they prove that the
refusal happens before any view runs — no query at all for anonymous requests, nothing written for
signed-in ones — and hold on SQLite and PostgreSQL alike. Money is bounded integers of fen (MAX_FEN),
a DataError is the client's 400 while a lost connection stays 503, and every 404 under /api/ is JSON.
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.db import DataError, OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agencies.models import AgencyServiceItem
from bids.models import Bid
from market.accounts.models import Organization, User
from market.requests.models import ServiceRequest
from market.core.money import MAX_FEN, yuan_to_fen
from tests.factories import agency_admin, make_agency, make_owner, make_regulator, next_uscc, org_admin
from tests.request_factories import active_agency, item_with_qualification, published_request, request_fields

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
NUL_ZH = "控制字符"  # the Chinese message names the kind of character


@pytest.fixture
def api():
    return APIClient(raise_request_exception=False)


@pytest.fixture
def browser():
    return Client(raise_request_exception=False)


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def assert_json_400(response, *, field: str | None, code: str = "invalid_character") -> dict:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"message", "field", "code"} and body["message"]
    assert body["field"] == field and body["code"] == code
    return body


# --- NUL and control characters: query string, path, bodies, cookies ------------------------------------


@pytest.mark.parametrize("url", ["/contracts/?q=%00", "/fees/?q=%00", "/agencies/?region=%00", "/requests/?q=a%00b",
                                 "/search/?q=%01", "/results/?q=%7F"])
def test_control_characters_in_a_page_query_are_refused_before_any_query(browser, django_assert_num_queries, url):
    with django_assert_num_queries(0):
        response = browser.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert NUL_ZH in response.content.decode()  # Chinese by default


@pytest.mark.parametrize("url,field", [
    ("/api/v1/requests/?q=%00", "q"), ("/api/v1/agencies/?region=44%0001", "region"),
    ("/api/v1/service-items/?category=%00", "category"), ("/api/v1/contracts/?status=%00", "status"),
    ("/api/v1/credit/blacklist/?page=%00", "page"), ("/api/v1/supervision/complaints/?status=%1b", "status"),
    ("/api/v1/ocds/releases/?since=%00", "since"), ("/api/v1/evaluations/?agency=1%00", "agency"),
    ("/api/v1/requests/?%00=1", "\ufffd"),
])
def test_control_characters_in_an_api_query_are_400_naming_the_parameter(api, django_assert_num_queries, url, field):
    with django_assert_num_queries(0):
        response = api.get(url)
    body = assert_json_400(response, field=field)
    assert NUL_ZH in body["message"]


def test_the_refusal_speaks_english_when_asked(api, browser):
    body = assert_json_400(api.get("/api/v1/requests/?q=%00", **EN), field="q")
    assert body["message"] == "“q” contains a character that is not allowed (NUL or another control character)."
    assert "not allowed" in browser.get("/fees/?q=%00", **EN).content.decode()


@pytest.mark.parametrize("url", ["/api/v1/service-items/%00/", "/api/v1/credit/agencies/%00/",
                                 "/api/v1/ocds/records/ocds-x%00/", "/api/v1/requests/%00/"])
def test_control_characters_in_an_api_path_are_400(api, django_assert_num_queries, url):
    with django_assert_num_queries(0):
        response = api.get(url)
    assert_json_400(response, field="path")


@pytest.mark.parametrize("url", ["/fees/%00/", "/agencies/invitations/%00/", "/supervision/figures/a%00.csv"])
def test_control_characters_in_a_page_path_are_400(browser, django_assert_num_queries, url):
    with django_assert_num_queries(0):
        response = browser.get(url)
    assert response.status_code == 400 and NUL_ZH in response.content.decode()


def test_tabs_and_line_breaks_are_ordinary_text(api, browser):
    assert api.get("/api/v1/requests/?q=%E6%B5%8B%E7%BB%98%09a%0Ab%0Dc").status_code == 200
    assert browser.get("/agencies/?q=a%09b").status_code == 200


@pytest.mark.parametrize("value", ["user\x00", "us\x01er", "user\x7f", "user\x85", "\ud800user"])
def test_control_characters_in_a_json_body_are_400_and_nothing_is_stored(api, value):
    payload = json.dumps({"username": value, "email": "a@example.com", "password": "Strong-pass-2026"})
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/auth/register/", payload, content_type="application/json")
    assert_json_400(response, field="username")
    assert queries.captured_queries == [] and not User.objects.exists()


def test_a_control_character_deep_in_a_json_body_names_its_path(api):
    payload = {"username": "nested", "email": "n@example.com", "password": "Strong-pass-2026",
               "organization": {"name": "某公司\u0000", "uscc": next_uscc("440604"), "region": "440604"}}
    assert_json_400(api.post("/api/v1/auth/register/", payload, format="json"), field="organization.name")
    payload["organization"] = {"name": "某公司", "uscc": next_uscc("440604"), "region": "440604", "x\u0001": 1}
    assert_json_400(api.post("/api/v1/auth/register/", payload, format="json"), field="organization.x\ufffd")
    assert not User.objects.exists() and not Organization.objects.filter(name="某公司").exists()


def test_control_characters_in_a_signed_in_form_post_write_nothing(browser):
    owner = make_owner(verified=True)
    item = item_with_qualification()
    browser.force_login(org_admin(owner))
    before = ServiceRequest.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = browser.post("/requests/new/", {"owner": owner.pk, "project_name": "测绘\x00服务", "service_item": item.pk})
    assert response.status_code == 400 and NUL_ZH in response.content.decode()
    assert "project_name" in response.content.decode()
    assert writes(queries.captured_queries) == [] and ServiceRequest.objects.count() == before


def test_control_characters_in_a_public_form_are_400(browser, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = browser.post("/accounts/signup/", {"username": "a\x00", "email": "a@example.com",
                                                      "password1": "x", "password2": "x"})
    assert response.status_code == 400 and not User.objects.exists()


def test_control_characters_in_a_multipart_field_are_400_but_file_contents_are_not_checked(api):
    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    url = f"/api/v1/agencies/{agency.pk}/licence-files/"
    from tests.factories import PNG_BYTES, pdf_upload

    assert_json_400(api.post(url, {"kind": "business_licence\x00", "file": pdf_upload()}, format="multipart"),
                    field="kind")
    named = api.post(url, {"file": pdf_upload(name="执照\x00.pdf")}, format="multipart")  # Django drops it from names
    assert named.status_code == 201 and named.json()["original_name"] == "执照.pdf"
    # A file is bytes, NULs and all (a PNG's header has them): its contents are the file checks' business.
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = SimpleUploadedFile("执照.png", PNG_BYTES, content_type="image/png")
    assert b"\x00" in PNG_BYTES
    response = api.post(url, {"kind": "business_licence", "file": png}, format="multipart")
    assert response.status_code == 201, response.json()


def test_a_control_character_in_a_patch_form_body_is_400(api):
    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", "name=%E6%9F%90%00", content_type="application/x-www-form-urlencoded")
    assert_json_400(response, field="name")


def test_a_session_cookie_with_a_nul_is_400_without_looking_the_session_up(browser, django_assert_num_queries):
    browser.cookies["sessionid"] = "\x00" * 32
    with django_assert_num_queries(0):
        response = browser.get("/requests/")
    assert response.status_code == 400


def test_a_token_with_a_control_character_is_400(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/api/v1/requests/", HTTP_AUTHORIZATION="Token abc\x00def")
    assert_json_400(response, field="Authorization")


def test_a_body_django_refuses_before_any_view_is_a_400_in_the_api_s_shape(api, browser):
    fields = "&".join(f"f{i}=1" for i in range(10_001))  # more than DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = api.post("/api/v1/auth/register/", fields, content_type="application/x-www-form-urlencoded")
    assert_json_400(response, field=None, code="bad_request")
    page = browser.post("/accounts/signup/", fields, content_type="application/x-www-form-urlencoded")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


# --- JSON nesting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000,
                                  "[" * 100_000, '{"organization": ' + "[" * 50 + "]" * 50 + "}"])
def test_json_nested_very_deep_is_400_not_a_recursion_error(api, django_assert_num_queries, body):
    with django_assert_num_queries(0):
        response = api.post("/api/v1/auth/register/", body, content_type="application/json")
    assert_json_400(response, field=None, code="too_deep")
    assert "32" in response.json()["message"]


def test_brackets_inside_json_strings_do_not_count_as_nesting(api):
    payload = {"username": "[" * 200 + "{" * 200, "email": "b@example.com", "password": "Strong-pass-2026"}
    response = api.post("/api/v1/auth/register/", payload, format="json")
    assert response.status_code == 400 and response.json()["code"] != "too_deep"  # the user name's own rule refuses it
    assert response.json()["field"] == "username"


def test_json_nested_to_the_limit_passes_the_guard(api):
    deep = "[" * 31 + "]" * 31
    response = api.post("/api/v1/auth/register/", '{"username": ' + deep + "}", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] != "too_deep"


# --- the register API: every field typed and bounded ------------------------------------------------------------


def _register(api, **organization):
    org = {"name": "佛山市某公司", "uscc": next_uscc("440604", "91"), "region": "440604", **organization}
    return api.post("/api/v1/auth/register/", {"username": "newowner", "email": "o@example.com",
                                               "password": "Strong-pass-2026", "organization": org}, format="json")


@pytest.mark.parametrize("organization,field", [
    ({"contact_email": "not an email"}, "organization.contact_email"),
    ({"name": {"x": 1}}, "organization.name"),
    ({"name": ["a"]}, "organization.name"),
    ({"name": "某" * 201}, "organization.name"),
    ({"address": "路" * 256}, "organization.address"),
    ({"contact_phone": "1" * 33}, "organization.contact_phone"),
    ({"contact_name": "名" * 65}, "organization.contact_name"),
    ({"legal_representative": "名" * 65}, "organization.legal_representative"),
    ({"contact_email": "a" * 250 + "@example.com"}, "organization.contact_email"),
    ({"region": "4" * 100}, "organization.region"),
    ({"kind": "nonsense"}, "organization.kind"),
])
def test_register_refuses_a_bad_organization_field_by_name_and_stores_nothing(api, organization, field):
    response = _register(api, **organization)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert not User.objects.filter(username="newowner").exists()
    assert not Organization.objects.filter(name="佛山市某公司").exists()


def test_register_refuses_a_bad_account_field_by_name(api):
    for payload, field in [({"email": "not an email"}, "email"), ({"username": {"x": 1}}, "username"),
                           ({"username": "u" * 151}, "username"), ({"email": "e" * 250 + "@example.com"}, "email")]:
        body = {"username": "newowner", "email": "o@example.com", "password": "Strong-pass-2026", **payload}
        cache.clear()  # sign-ups are throttled per address; each of these is a first attempt
        response = api.post("/api/v1/auth/register/", body, format="json")
        assert response.status_code == 400 and response.json()["field"] == field
    assert not User.objects.exists()


def test_register_with_an_empty_organization_registers_none(api):
    response = api.post("/api/v1/auth/register/", {"username": "plain", "email": "p@example.com",
                                                   "password": "Strong-pass-2026", "organization": {}}, format="json")
    assert response.status_code == 201 and response.json()["organization"] is None


def test_register_still_works_with_a_good_organization(api):
    response = _register(api, address="佛山市禅城区某路1号", contact_phone="0757-12345678", contact_email="c@example.com")
    assert response.status_code == 201, response.json()
    assert Organization.objects.get(name="佛山市某公司").contact_email == "c@example.com"


# --- money: bounded integers of fen ---------------------------------------------------------------------------


BAD_FEN_LITERALS = ["1e999999", "1E+30", "99999999999999999999", str(10**20), str(MAX_FEN + 1), "-1", "1.5", '"1E+30"',
                    "true", '"12 345"']


@pytest.mark.parametrize("literal", BAD_FEN_LITERALS)
def test_a_bad_budget_through_the_api_is_400_naming_the_field(api, literal):
    owner = make_owner(verified=True)
    item = item_with_qualification()
    api.force_authenticate(org_admin(owner))
    fields = request_fields(item)
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items()}
    body["service_item"] = item.code
    text = json.dumps({**body, "budget_fen": "@@"}).replace('"@@"', literal)
    before = ServiceRequest.objects.count()
    response = api.post("/api/v1/requests/", text, content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "budget_fen", response.content
    assert ServiceRequest.objects.count() == before


@pytest.mark.parametrize("literal", BAD_FEN_LITERALS + ["0"])
def test_a_bad_price_through_the_api_is_400_naming_the_field(api, literal):
    request = published_request()
    agency = active_agency(item=request.service_item)
    api.force_authenticate(agency_admin(agency))
    text = json.dumps({"agency": agency.pk, "price_fen": "@@"}).replace('"@@"', literal)
    response = api.post(f"/api/v1/requests/{request.pk}/bids/", text, content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "price_fen", response.content
    assert not Bid.objects.filter(request=request).exists()


@pytest.mark.parametrize("literal", BAD_FEN_LITERALS)
def test_a_bad_fee_quote_through_the_api_is_400_naming_the_field(api, literal):
    agency = make_agency(status="draft")
    offered = agency.offered_items.select_related("service_item").get()
    api.force_authenticate(agency_admin(agency))
    text = json.dumps({"service_items": [{"code": offered.service_item.code, "fee_quote": "按标准", "fee_quote_fen": "@@"}]})
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", text.replace('"@@"', literal), content_type="application/json")
    assert response.status_code == 400 and response.json()["field"] == "service_items.0.fee_quote_fen", response.content
    assert AgencyServiceItem.objects.get(pk=offered.pk).fee_quote_fen == offered.fee_quote_fen


def test_the_largest_amount_is_accepted_and_one_fen_more_is_not(api):
    agency = make_agency(status="draft")
    offered = agency.offered_items.select_related("service_item").get()
    api.force_authenticate(agency_admin(agency))
    url = f"/api/v1/agencies/{agency.pk}/"
    item = {"code": offered.service_item.code, "fee_quote": "按标准"}
    if offered.service_item.fee_cap_fen is None:
        assert api.patch(url, {"service_items": [{**item, "fee_quote_fen": MAX_FEN}]}, format="json").status_code == 200
    response = api.patch(url, {"service_items": [{**item, "fee_quote_fen": MAX_FEN + 1}]}, format="json", **EN)
    assert response.status_code == 400 and "at most 100000000000000 fen" in response.json()["message"]


@pytest.mark.parametrize("typed", ["1e999999", "1E+30", "99999999999999999999", "-5", "1e5", "Infinity", "NaN", "0x10"])
def test_a_bad_budget_on_the_request_page_is_a_form_error_not_a_server_error(browser, typed):
    from tests.bids.test_pages import _new_request_data

    owner = make_owner(verified=True)
    item = item_with_qualification()
    browser.force_login(org_admin(owner))
    before = ServiceRequest.objects.count()
    response = browser.post("/requests/new/", _new_request_data(item, owner, budget_fen=typed))
    assert response.status_code == 400
    assert ServiceRequest.objects.count() == before


@pytest.mark.parametrize("typed", ["1E+30", "1e999999", "-1E+30"])
def test_a_discount_rate_with_an_exponent_is_a_form_error(browser, typed):
    from tests.bids.test_pages import _new_request_data

    owner = make_owner(verified=True)
    item = item_with_qualification()
    browser.force_login(org_admin(owner))
    response = browser.post("/requests/new/", _new_request_data(item, owner, quote_mode="discount",
                                                                discount_min_bp=typed, discount_max_bp="20"))
    assert response.status_code == 400


def test_an_id_beyond_any_column_among_multiple_choices_is_a_form_error(browser):
    from tests.bids.test_pages import _new_request_data

    owner = make_owner(verified=True)
    item = item_with_qualification()
    browser.force_login(org_admin(owner))
    response = browser.post("/requests/new/", _new_request_data(item, owner,
                                                                required_qualifications=["99999999999999999999"]))
    assert response.status_code == 400 and ServiceRequest.objects.count() == 0


def test_a_json_number_beyond_a_float_is_400_naming_the_field(api, django_assert_num_queries):
    api.force_authenticate(make_regulator())
    with django_assert_num_queries(0):
        response = api.post("/api/v1/credit/breaches/", '{"agency": 1e999999, "rule": "X", "evidence": "证据"}',
                            content_type="application/json")
    assert_json_400(response, field="agency", code="out_of_range")


@pytest.mark.parametrize("typed", ["1e999999", "1E+30", "99999999999999999999", "-5"])
def test_a_bad_price_on_the_bid_page_is_a_form_error(browser, typed):
    request = published_request()
    agency = active_agency(item=request.service_item)
    browser.force_login(agency_admin(agency))
    response = browser.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": typed})
    assert response.status_code in (200, 400) and response.status_code < 500
    assert not Bid.objects.filter(request=request).exists()


@pytest.mark.parametrize("typed", ["1e999999", "1E+30", "99999999999999999999", "-5"])
def test_a_bad_typical_fee_on_the_agency_page_is_a_form_error(browser, typed):
    agency = make_agency(status="draft")
    offered = agency.offered_items.select_related("service_item").get()
    browser.force_login(agency_admin(agency))
    response = browser.post(f"/agencies/register/{agency.pk}/items/", {
        "service_item": offered.service_item.pk, "fee_quote": "按标准", "fee_quote_yuan": typed})
    assert response.status_code < 500
    assert AgencyServiceItem.objects.get(pk=offered.pk).fee_quote_fen == offered.fee_quote_fen


@pytest.mark.parametrize("typed,ok", [("1234.5", 123450), ("1,000,000,000,000", MAX_FEN), ("0", 0), (".5", 50)])
def test_yuan_to_fen_parses_plain_amounts(typed, ok):
    assert yuan_to_fen(typed) == ok


@pytest.mark.parametrize("typed", ["1e999999", "1E+30", "99999999999999999999", "1000000000000.01", "-0.01", "1.005",
                                   "Infinity", "NaN", "", "¥5", "1_000", "100.00000000000000000000000001"])
def test_yuan_to_fen_refuses_anything_else_with_a_validation_error(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        yuan_to_fen(typed)


# --- DataError is the client's 400; a lost connection stays 503 ------------------------------------------------


class _Diag:
    column_name = "contact_phone"


class _DriverError(Exception):
    diag = _Diag()


def _data_error() -> DataError:
    exc = DataError("value too long for type character varying(32)")
    exc.__cause__ = _DriverError()
    return exc


def test_a_data_error_in_the_api_is_400_with_the_column_not_503(api, monkeypatch):
    from agencies import services as agency_services

    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))

    def refuse(**kwargs):
        raise _data_error()

    monkeypatch.setattr(agency_services, "agency_update_profile", refuse)
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", {"name": "新名字"}, format="json", **EN)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "contact_phone" and "nothing was saved" in body["message"]


def test_a_data_error_without_a_column_is_400_without_a_field(api, monkeypatch):
    from agencies import services as agency_services

    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    monkeypatch.setattr(agency_services, "agency_update_profile", lambda **kw: (_ for _ in ()).throw(DataError("x")))
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", {"name": "新名字"}, format="json")
    assert response.status_code == 400 and response.json()["field"] is None


def test_a_lost_connection_in_the_api_is_still_503(api, monkeypatch):
    from agencies import services as agency_services

    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    monkeypatch.setattr(agency_services, "agency_update_profile",
                        lambda **kw: (_ for _ in ()).throw(OperationalError("server closed the connection")))
    assert api.patch(f"/api/v1/agencies/{agency.pk}/", {"name": "新名字"}, format="json").status_code == 503


def test_a_data_error_on_a_page_is_400_not_500(browser, monkeypatch):
    from market.requests import views as request_views

    owner = make_owner(verified=True)
    browser.force_login(org_admin(owner))
    monkeypatch.setattr(request_views, "RequestForm", lambda *a, **kw: (_ for _ in ()).throw(_data_error()))
    response = browser.get("/requests/new/", **EN)
    assert response.status_code == 400 and "nothing was saved" in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a real DataError needs PostgreSQL")
def test_a_real_postgresql_data_error_is_400(api, monkeypatch):
    from agencies import services as agency_services

    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))

    def overflow(**kwargs):
        with transaction.atomic(), connection.cursor() as cursor:  # the savepoint keeps the test's transaction usable
            cursor.execute("SELECT %s::smallint", [10**6])

    monkeypatch.setattr(agency_services, "agency_update_profile", overflow)
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", {"name": "新名字"}, format="json")
    assert response.status_code == 400 and response.json()["message"]


# --- 404 under /api/ is JSON; ids beyond any column are 404 -------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/contracts/abc/", "/api/v1/requests/1x/bids/", "/api/v1/no-such-route/",
                                 "/api/v1/agencies/-1/", "/api/v1/contracts/99999999999999999999999/",
                                 "/api/v1/requests/99999999999999999999/bids/"])
def test_every_api_404_is_json(api, url):
    response = api.get(url)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and body["message"] and body["field"] is None


def test_a_post_to_an_id_beyond_any_column_is_404_not_an_overflow(api):
    agency = active_agency()
    api.force_authenticate(agency_admin(agency))
    response = api.post("/api/v1/requests/99999999999999999999/bids/", {"price_fen": 100}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_pages_keep_their_html_404(browser):
    response = browser.get("/contracts/99999999999999999999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert browser.get("/no-such-page/").status_code == 404


# --- 414: documented, since the web server answers it before the application ------------------------------------


def test_every_api_operation_documents_the_servers_414(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = [op for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert operations and all("414" in op["responses"] for op in operations)
