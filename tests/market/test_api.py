import pytest
from rest_framework.test import APIClient

from market.accounts.models import Organization, User
from market.catalogue.models import ServiceItem
from tests.factories import make_user, next_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_token_for_good_credentials(api):
    make_user("apiuser")
    response = api.post("/api/v1/auth/token/", {"username": "apiuser", "password": "Test-pass-2026!"}, format="json")
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_token_refused_with_message(api):
    make_user("apiuser")
    response = api.post("/api/v1/auth/token/", {"username": "apiuser", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "用户名或密码错误。"


def test_token_missing_field_names_the_field(api):
    response = api.post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "password" and body["message"]


def test_register_with_owner_organization(api):
    code = next_uscc("440604", "91")
    response = api.post("/api/v1/auth/register/", {
        "username": "foshan", "email": "fs@example.com", "password": "Strong-pass-2026",
        "organization": {"name": "佛山市禅城区某公司", "uscc": code, "region": "440604", "contact_name": "李四"}},
        format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["organization"]["status"] == "pending"
    assert Organization.objects.get(uscc=code).memberships.get().user.username == "foshan"


def test_register_with_bad_uscc_is_400_and_writes_nothing(api):
    response = api.post("/api/v1/auth/register/", {
        "username": "bad", "email": "bad@example.com", "password": "Strong-pass-2026",
        "organization": {"name": "某公司", "uscc": "914403001922038217", "region": "440604"}}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "organization.uscc"
    assert "第18位" in body["message"]
    assert not User.objects.filter(username="bad").exists()


def test_register_with_weak_password_names_password(api):
    response = api.post("/api/v1/auth/register/", {"username": "weak", "email": "w@example.com", "password": "123"},
                        format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "password"


@pytest.mark.parametrize("payload", ["not json", "[]", '{"username": []}', '{"username": null, "password": 5}'])
def test_malformed_bodies_are_4xx_json(api, payload):
    response = api.post("/api/v1/auth/register/", payload, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "message" in response.json()


def test_english_error_when_asked(api):
    make_user("apiuser")
    response = api.post("/api/v1/auth/token/", {"username": "apiuser", "password": "wrong"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "The user name or password is wrong."


def test_service_items_filters(api):
    total = ServiceItem.objects.count()
    assert api.get("/api/v1/service-items/?page_size=100").json()["count"] == total
    body = api.get("/api/v1/service-items/?pricing_mode=government_set&page_size=100").json()
    assert body["count"] == ServiceItem.objects.filter(pricing_mode="government_set").count() > 0
    assert {r["pricing_mode"] for r in body["results"]} == {"government_set"}
    body = api.get("/api/v1/service-items/?category=eia").json()
    assert body["count"] > 0 and {r["category"] for r in body["results"]} == {"eia"}
    assert api.get("/api/v1/service-items/?q=不存在的事项名称").json()["count"] == 0


def test_service_item_detail_and_404(api):
    item = ServiceItem.objects.first()
    assert api.get(f"/api/v1/service-items/{item.code}/").json()["name"] == item.name
    response = api.get("/api/v1/service-items/NOPE/")
    assert response.status_code == 404 and response.json()["message"]


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/service-items/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"https://" not in docs.content.replace(b"https://github.com", b"")  # assets served locally
