"""The contract API: confirm/refuse, deliveries (multipart), accept/return, payment start,
evaluations — and errors as JSON with a message and code."""

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token

from market.contracts.models import ContractStatus, Evaluation
from tests.factories import make_owner, org_admin

from .factories import accepted_contract, agency_user, drafted_contract, freeze, owner_user, pdf, signed_contract

pytestmark = pytest.mark.django_db


def auth(api, user):
    token, _ = Token.objects.get_or_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return api


def test_contract_detail_is_public_and_private_parts_for_parties(api):
    contract, _t = signed_contract()
    public = api.get(f"/api/v1/contracts/{contract.pk}/").json()
    assert public["number"] == contract.number and public["amount_fen"] == contract.amount_fen
    assert public["agency"] == contract.agency.organization.name and public["private"] is None
    listed = api.get("/api/v1/contracts/", {"request": contract.request_id}).json()
    assert [c["id"] for c in listed["results"]] == [contract.pk]
    mine = auth(api, owner_user(contract)).get(f"/api/v1/contracts/{contract.pk}/").json()
    assert mine["private"]["sides"] == ["owner"] and mine["private"]["payment"]["status"] == "offline"


def test_confirm_and_refuse_through_the_api(api, breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        outsider = auth(api, org_admin(make_owner())).post(f"/api/v1/contracts/{contract.pk}/confirm/")
        assert outsider.status_code == 403 and outsider.json()["message"]
        ok = auth(api, owner_user(contract)).post(f"/api/v1/contracts/{contract.pk}/confirm/")
        assert ok.status_code == 200 and ok.json()["owner_confirmed_at"]
        again = api.post(f"/api/v1/contracts/{contract.pk}/confirm/")
        assert again.status_code == 400 and again.json()["code"] == "already_confirmed"
        no_reason = auth(api, agency_user(contract)).post(f"/api/v1/contracts/{contract.pk}/refuse/", {})
        assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
        refused = api.post(f"/api/v1/contracts/{contract.pk}/refuse/", {"reason": "无法按期完成"}, format="json")
        assert refused.status_code == 200 and refused.json()["status"] == ContractStatus.BREACHED
        illegal = api.post(f"/api/v1/contracts/{contract.pk}/confirm/")
        assert illegal.status_code == 400 and illegal.json()["code"] == "illegal_transition"
    assert [b["rule_code"] for b in breaches] == ["REFUSE_SIGN"]


def test_delivery_upload_accept_and_return(api):
    contract, signed_at = signed_contract()
    with freeze(signed_at + dt.timedelta(days=1)):
        auth(api, agency_user(contract))
        created = api.post(f"/api/v1/contracts/{contract.pk}/deliveries/",
                           {"note": "第一稿", "files": [pdf(), pdf("附图.pdf")]}, format="multipart")
        assert created.status_code == 201, created.json()
        assert created.json()["number"] == 1 and len(created.json()["files"]) == 2
        wrong = api.post(f"/api/v1/contracts/{contract.pk}/deliveries/1/accept/")
        assert wrong.status_code == 403
        auth(api, owner_user(contract))
        returned = api.post(f"/api/v1/contracts/{contract.pk}/deliveries/1/return/", {"reason": "缺少附图说明"},
                            format="json")
        assert returned.status_code == 200 and returned.json()["status"] == ContractStatus.IN_SERVICE
        rounds = returned.json()["private"]["deliveries"]
        assert rounds[0]["status"] == "returned" and rounds[0]["decision_reason"] == "缺少附图说明"
        file_url = rounds[0]["files"][0]["url"]
        download = api.get(file_url)
        assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
        assert auth(api, org_admin(make_owner())).get(file_url).status_code == 403
        api.credentials()
        assert api.get(file_url).status_code in (401, 403)
        auth(api, owner_user(contract))
        auth(api, agency_user(contract))
        api.post(f"/api/v1/contracts/{contract.pk}/deliveries/", {"note": "第二稿", "files": [pdf()]}, format="multipart")
        auth(api, owner_user(contract))
        accepted = api.post(f"/api/v1/contracts/{contract.pk}/deliveries/2/accept/")
        assert accepted.status_code == 200 and accepted.json()["status"] == ContractStatus.ACCEPTED
        assert api.post(f"/api/v1/contracts/{contract.pk}/deliveries/2/accept/").json()["code"] == "illegal_transition"


def test_extension_through_the_api(api):
    contract, signed_at = signed_contract()
    with freeze(signed_at + dt.timedelta(days=1)):
        ext = auth(api, agency_user(contract)).post(f"/api/v1/contracts/{contract.pk}/extensions/",
                                                    {"days": 7, "reason": "等待规划条件"}, format="json")
        assert ext.status_code == 201
        decided = auth(api, owner_user(contract)).post(
            f"/api/v1/contracts/{contract.pk}/extensions/{ext.json()['id']}/decide/", {"grant": True}, format="json")
        assert decided.status_code == 200 and decided.json()["status"] == "granted"


def test_payment_start_offline_and_with_stripe(api, settings, localstripe_server):
    contract, _t = signed_contract()
    offline = auth(api, owner_user(contract)).post(f"/api/v1/contracts/{contract.pk}/payment/")
    assert offline.status_code == 200 and offline.json()["status"] == "offline" and offline.json()["client_secret"] is None
    from . import stripe_helpers as ls

    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = ls.API_KEY, localstripe_server
    settings.STRIPE_PUBLISHABLE_KEY = ls.PUBLISHABLE_KEY
    started = api.post(f"/api/v1/contracts/{contract.pk}/payment/")
    body = started.json()
    assert started.status_code == 200 and body["client_secret"].startswith(body["payment"]["payment_intent"])
    assert body["payment"]["capture_method"] == "manual" and body["publishable_key"] == ls.PUBLISHABLE_KEY
    assert ls.retrieve_intent(localstripe_server, body["payment"]["payment_intent"])["client_secret"] == body["client_secret"]
    assert auth(api, agency_user(contract)).post(f"/api/v1/contracts/{contract.pk}/payment/").status_code == 403


def test_evaluations_through_the_api(api):
    contract, _t = accepted_contract()
    scores = {"contract": contract.pk, "quality": 4, "timeliness": 5, "attitude": 5, "fee_compliance": 4, "conduct": 5,
              "comment": "专业"}
    assert auth(api, agency_user(contract)).post("/api/v1/evaluations/", scores, format="json").status_code == 403
    bad = auth(api, owner_user(contract)).post("/api/v1/evaluations/", {**scores, "quality": 6}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "quality"
    created = api.post("/api/v1/evaluations/", scores, format="json")
    assert created.status_code == 201 and created.json()["average"] == "4.60"
    twice = api.post("/api/v1/evaluations/", scores, format="json")
    assert twice.status_code == 400 and twice.json()["code"] == "already_evaluated"
    api.credentials()
    listed = api.get("/api/v1/evaluations/", {"agency": contract.agency_id}).json()
    assert [e["comment"] for e in listed["results"]] == ["专业"]
    summary = api.get(f"/api/v1/evaluations/summary/{contract.agency_id}/").json()
    assert summary["count"] == 1 and summary["averages"]["timeliness"] == "5.00"
    assert Evaluation.objects.count() == 1
    assert api.get("/api/v1/evaluations/").status_code == 400


def test_schema_lists_the_contract_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/contracts/{id}/confirm/", "/api/v1/payments/stripe/webhook/", "/api/v1/evaluations/",
                 "/api/v1/contracts/{id}/deliveries/"):
        assert path in schema
