"""A form sent twice — a double click: the same CSRF token, the same data, the same one-time form
token (market/once.py) — creates one object, for a new request (owner), a bid, a complaint and an
evaluation. The second POST is redirected to where the first one led. On PostgreSQL the two POSTs
also arrive at the same moment, from two connections."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from bids.models import Bid
from market.contracts.models import Evaluation
from market.core.models import AuditEvent
from market.requests.models import ServiceRequest
from market.core.once import FIELD
from supervision.models import Complaint
from tests.contracts.factories import accepted_contract, freeze, owner_user
from tests.factories import make_owner, make_user, org_admin
from tests.request_factories import active_agency, agency_admin, item_with_qualification, published_request

STATIC_SCRIPT = "market/js/forms.js"


def hidden(html: str, name: str) -> str:
    found = re.findall(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]+)"', html)
    assert len(set(found)) == 1, f"expected one value of {name}, found {found}"
    return found[0]


def form_page(client: Client, url: str) -> dict:
    """GET the page like a browser: the CSRF token and the form token of its form."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content.decode()
    return {"csrfmiddlewaretoken": hidden(html, "csrfmiddlewaretoken"), FIELD: hidden(html, FIELD)}


def browser_as(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post_twice(client: Client, url: str, data: dict):
    first, second = client.post(url, data), client.post(url, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    assert second.status_code == 302, second.content.decode()[:2000]
    assert second["Location"] == first["Location"]
    return first


def new_request_data(owner, **overrides) -> dict:
    item = item_with_qualification()
    deadline = timezone.now() + dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"], hours=2)
    data = {
        "owner": owner.pk, "project_name": "某片区城市更新测绘服务", "project_code": "", "service_item": item.pk,
        "region": "", "description": "1:500 地形图测绘", "fiscal_share": "100", "state_share": "0", "social_share": "0",
        "quote_mode": "price", "budget_fen": "80,000.00", "discount_min_bp": "", "discount_max_bp": "",
        "service_term_days": "30", "required_qualifications": [q.pk for q in item.qualification_types.all()],
        "selection_method": "lowest", "price_weight": "", "quality_criteria": "", "direct_exemption": "",
        "bid_deadline": timezone.localtime(deadline).strftime("%Y-%m-%dT%H:%M"), "selection_time": "",
        "min_bidders": "", "contact_name": "李四", "contact_phone": "020-12345678", "avoidances": "",
    }
    data.update(overrides)
    return data


def complaint_data(agency) -> dict:
    return {"subject_type": "agency", "reference": agency.organization.uscc,
            "grounds": "该机构承诺的服务期限严重超期，且多次联系未果。"}


# --- each form, sent twice -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_request_sent_twice_is_drafted_once():
    owner = make_owner(verified=True)
    client = browser_as(org_admin(owner))
    data = {**new_request_data(owner), **form_page(client, "/requests/new/")}
    first = post_twice(client, "/requests/new/", data)
    request = ServiceRequest.objects.get()
    assert first["Location"] == f"/requests/{request.pk}/"
    assert AuditEvent.objects.filter(action="request.create").count() == 1


@pytest.mark.django_db
def test_a_bid_sent_twice_is_one_bid():
    request = published_request()
    agency = active_agency(item=request.service_item)
    client = browser_as(agency_admin(agency))
    data = {"bid-agency": agency.pk, "bid-price_fen": "45000", **form_page(client, f"/requests/{request.pk}/")}
    post_twice(client, f"/requests/{request.pk}/bid/", data)
    assert Bid.objects.filter(request=request).count() == 1
    assert AuditEvent.objects.filter(action="bid.submit").count() == 1
    # The second answer is the first's result, not "you already have a bid".
    page = client.get(f"/requests/{request.pk}/")
    assert page.status_code == 200


@pytest.mark.django_db
def test_a_complaint_sent_twice_is_lodged_once():
    agency = active_agency()
    user = make_user()
    client = browser_as(user)
    data = {**complaint_data(agency), **form_page(client, "/supervision/complaints/new/")}
    post_twice(client, "/supervision/complaints/new/", data)
    assert Complaint.objects.filter(complainant=user).count() == 1


@pytest.mark.django_db
def test_an_evaluation_sent_twice_is_published_once():
    contract, accepted_at = accepted_contract()
    with freeze(accepted_at + dt.timedelta(hours=1)):
        client = browser_as(owner_user(contract))
        data = {"quality": "5", "timeliness": "4", "attitude": "5", "fee_compliance": "5", "conduct": "5",
                "comment": "响应及时", **form_page(client, f"/contracts/{contract.pk}/")}
        first = post_twice(client, f"/contracts/{contract.pk}/evaluation/", data)
    assert first["Location"] == f"/contracts/{contract.pk}/"
    assert Evaluation.objects.filter(contract=contract).count() == 1


# --- the token's rules -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_form_can_be_corrected_and_sent_with_the_same_token():
    owner = make_owner(verified=True)
    client = browser_as(org_admin(owner))
    tokens = form_page(client, "/requests/new/")
    refused = client.post("/requests/new/", {**new_request_data(owner, budget_fen="12.345"), **tokens})
    assert refused.status_code == 400
    assert hidden(refused.content.decode(), FIELD)  # the form comes back with a token
    assert client.post("/requests/new/", {**new_request_data(owner), **tokens}).status_code == 302
    assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db
def test_each_page_view_issues_a_new_token_and_each_token_creates_once():
    agency = active_agency()
    user = make_user()
    client = browser_as(user)
    for _ in range(2):  # two complaints, deliberately, from two visits to the form
        data = {**complaint_data(agency), **form_page(client, "/supervision/complaints/new/")}
        assert client.post("/supervision/complaints/new/", data).status_code == 302
    assert Complaint.objects.filter(complainant=user).count() == 2


@pytest.mark.django_db
def test_a_token_belongs_to_its_user():
    agency = active_agency()
    first_user, second_user = make_user(), make_user()
    first = browser_as(first_user)
    data = {**complaint_data(agency), **form_page(first, "/supervision/complaints/new/")}
    assert first.post("/supervision/complaints/new/", data).status_code == 302
    second = browser_as(second_user)
    data["csrfmiddlewaretoken"] = form_page(second, "/supervision/complaints/new/")["csrfmiddlewaretoken"]
    assert second.post("/supervision/complaints/new/", data).status_code == 302
    assert Complaint.objects.filter(complainant=second_user).count() == 1


@pytest.mark.django_db
def test_without_a_token_the_form_works_as_before(client):
    agency = active_agency()
    client.force_login(make_user())
    assert client.post("/supervision/complaints/new/", complaint_data(agency)).status_code == 302
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_pages_load_the_submit_button_script_from_a_file(client):
    from django.contrib.staticfiles import finders

    html = client.get("/requests/").content.decode()
    assert f'src="/static/{STATIC_SCRIPT}"' in html
    assert "<script>" not in html  # the policy allows no inline script
    assert finders.find(STATIC_SCRIPT)
    assert "script-src 'self'" in client.get("/requests/")["Content-Security-Policy"]


# --- at the same moment, on PostgreSQL ------------------------------------------------------------------------


def post_together(clients: list[Client], url: str, data: dict) -> list:
    """POST from each client in its own thread (its own connection), released together."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)

    def send(i: int) -> None:
        try:
            barrier.wait()
            responses[i] = clients[i].post(url, data)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return responses


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")
@pytest.mark.parametrize("form", ["request", "complaint"])
def test_two_posts_at_the_same_moment_create_one_object(form):
    if form == "request":
        owner = make_owner(verified=True)
        user, url, model = org_admin(owner), "/requests/new/", ServiceRequest
        data = new_request_data(owner)
    else:
        user, url, model = make_user(), "/supervision/complaints/new/", Complaint
        data = complaint_data(active_agency())
    first = browser_as(user)
    data.update(form_page(first, url))
    second = Client(enforce_csrf_checks=True)
    second.cookies = first.cookies  # the same browser: the same session and CSRF cookie

    responses = post_together([first, second], url, data)

    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0]["Location"] == responses[1]["Location"]
    assert model.objects.count() == 1
