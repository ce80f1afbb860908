"""Bid submission through the API: what it answers and what it stores."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bids.models import Bid
from market.requests import services as request_services
from market.core.audit import audit_verify
from market.core.models import AuditEvent
from tests.factories import make_owner, org_admin
from tests.request_factories import active_agency, agency_admin, published_request, request_fields

pytestmark = pytest.mark.django_db


def _client(user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def test_a_submission_answers_201_with_the_bid_and_audits_its_hash():
    request = published_request()
    agency = active_agency(item=request.service_item)
    response = _client(agency_admin(agency)).post(f"/api/v1/requests/{request.pk}/bids/",
                                                  {"agency": agency.pk, "price_fen": 1_234_500, "proposal": "方案"},
                                                  format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    bid = Bid.objects.get(request=request, agency=agency)
    assert body["id"] == bid.pk and body["request"] == request.pk and body["agency"] == agency.pk
    assert body["agency_name"] == agency.organization.name
    assert body["price_fen"] == 1_234_500 and body["discount_bp"] is None and body["status"] == "active"
    assert body["content_hash"] == bid.content_hash and len(body["nonce"]) >= 32
    event = AuditEvent.objects.get(action="bid.submit", object_id=str(bid.pk))
    assert event.after["content_hash"] == bid.content_hash
    assert audit_verify() is None


@pytest.mark.parametrize("which", ["missing", "huge", "someone else's draft"])
def test_a_request_the_user_cannot_see_is_not_found(which):
    item_request = published_request()
    agency = active_agency(item=item_request.service_item)
    if which == "missing":
        pk = item_request.pk + 10_000
    elif which == "huge":
        pk = 2**70
    else:
        owner = make_owner(verified=True)
        pk = request_services.request_create(actor=org_admin(owner), owner=owner, required_qualifications=[],
                                             **request_fields(item_request.service_item)).pk
    response = _client(agency_admin(agency)).post(f"/api/v1/requests/{pk}/bids/",
                                                  {"agency": agency.pk, "price_fen": 1_000_000}, format="json")
    assert response.status_code == 404, response.content
    assert not Bid.objects.filter(agency=agency).exists()


def test_the_owners_own_draft_is_not_open_for_bids():
    """The owner's staff see their draft, so they are told it is not open (not that it is missing)."""
    owner = make_owner(verified=True)
    probe = published_request(owner=owner)
    draft = request_services.request_create(actor=org_admin(owner), owner=owner, required_qualifications=[],
                                            **request_fields(probe.service_item))
    response = _client(org_admin(owner)).post(f"/api/v1/requests/{draft.pk}/bids/", {"price_fen": 1_000_000},
                                              format="json")
    assert response.status_code in (400, 403), response.content
    assert not Bid.objects.filter(request=draft).exists()


def test_another_agencys_id_is_not_found_and_nothing_is_stored():
    request = published_request()
    mine, theirs = active_agency(item=request.service_item), active_agency(item=request.service_item)
    response = _client(agency_admin(mine)).post(f"/api/v1/requests/{request.pk}/bids/",
                                                {"agency": theirs.pk, "price_fen": 1_000_000}, format="json")
    assert response.status_code == 404
    assert not Bid.objects.filter(request=request).exists()


def test_a_second_submission_is_a_409_conflict():
    request = published_request()
    agency = active_agency(item=request.service_item)
    api = _client(agency_admin(agency))
    url = f"/api/v1/requests/{request.pk}/bids/"
    assert api.post(url, {"agency": agency.pk, "price_fen": 1_000_000}, format="json").status_code == 201
    again = api.post(url, {"agency": agency.pk, "price_fen": 900_000}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    assert Bid.objects.filter(request=request, agency=agency).count() == 1
