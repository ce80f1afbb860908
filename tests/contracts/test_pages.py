"""Contract pages: public summary for all, private parts only to the parties and regulators, and
the actions done from the page."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from market.contracts.models import ContractStatus, DeliveryStatus, Evaluation
from tests.factories import PASSWORD, make_owner, make_regulator, org_admin

from .factories import (accepted_contract, agency_user, delivered_contract, drafted_contract, freeze, owner_user, pdf,
                        signed_contract)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def long_sessions(settings):
    """The tests move server time weeks ahead; a login must outlive that."""
    settings.SESSION_COOKIE_AGE = 10 * 365 * 24 * 3600


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_public_list_and_summary_show_parties_amount_and_dates(client):
    contract, _t = signed_contract()
    listing = client.get("/contracts/")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert contract.number in body and contract.agency.organization.name in body and "40,000.00" in body
    page = client.get(f"/contracts/{contract.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and contract.owner.name in body and contract.owner.uscc in body
    assert 'id="payment-heading"' not in body and 'id="delivery-heading"' not in body  # private parts hidden
    assert client.get("/contracts/?status=in_service&q=" + contract.number).content.decode().count(contract.number) >= 1


def test_private_parts_only_to_parties_and_regulators(client):
    contract, delivery, _t = delivered_contract()
    file_id = delivery.files.get().pk
    url = f"/contracts/{contract.pk}/files/{file_id}/"
    assert client.get(url).status_code == 302  # to the login page
    login(client, org_admin(make_owner()))
    assert client.get(url).status_code == 403
    assert 'id="delivery-heading"' not in client.get(f"/contracts/{contract.pk}/").content.decode()
    for user in (owner_user(contract), agency_user(contract), make_regulator()):
        client.logout()
        login(client, user)
        page = client.get(f"/contracts/{contract.pk}/").content.decode()
        assert 'id="delivery-heading"' in page and 'id="payment-heading"' in page
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_signing_refusing_and_delivering_from_the_page(client, breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        login(client, agency_user(contract))
        page = client.get(f"/contracts/{contract.pk}/").content.decode()
        assert "Sign for the agency" in page or "代表中介机构签署" in page or 'value="agency"' in page
        response = client.post(f"/contracts/{contract.pk}/confirm/", {"side": "agency"})
        assert response.status_code == 302
        client.logout()
        login(client, owner_user(contract))
        assert client.post(f"/contracts/{contract.pk}/confirm/", {"side": "owner"}).status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE
    client.logout()
    login(client, agency_user(contract))
    with freeze(awarded_at + dt.timedelta(days=2)):
        bad = client.post(f"/contracts/{contract.pk}/deliveries/",
                          {"note": "成果", "files": [SimpleUploadedFile("a.pdf", b"MZ..exe")]})
        assert bad.status_code == 400
        ok = client.post(f"/contracts/{contract.pk}/deliveries/", {"note": "成果报告", "files": [pdf(), pdf("图件.pdf")]})
        assert ok.status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DELIVERED
    assert contract.delivery_rounds.get().files.count() == 2


def test_owner_returns_then_accepts_and_evaluates_from_the_page(client):
    contract, delivery, delivered_at = delivered_contract()
    login(client, owner_user(contract))
    with freeze(delivered_at + dt.timedelta(hours=1)):
        missing_reason = client.post(f"/contracts/{contract.pk}/deliveries/1/review/", {"decision": "return"})
        assert missing_reason.status_code == 400
        assert client.post(f"/contracts/{contract.pk}/deliveries/1/review/",
                           {"decision": "return", "reason": "缺少坐标成果表"}).status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETURNED
    client.logout()
    login(client, agency_user(contract))
    with freeze(delivered_at + dt.timedelta(days=1)):
        client.post(f"/contracts/{contract.pk}/deliveries/", {"note": "补充坐标成果表", "files": [pdf()]})
    client.logout()
    login(client, owner_user(contract))
    with freeze(delivered_at + dt.timedelta(days=1, hours=1)):
        assert client.post(f"/contracts/{contract.pk}/deliveries/2/review/", {"decision": "accept"}).status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACCEPTED
    scores = {"quality": "5", "timeliness": "3", "attitude": "4", "fee_compliance": "5", "conduct": "5", "comment": "较好"}
    assert client.post(f"/contracts/{contract.pk}/evaluation/", scores).status_code == 302
    assert client.post(f"/contracts/{contract.pk}/evaluation/", scores).status_code == 400  # only once
    assert Evaluation.objects.get().timeliness == 3
    # Offline payment: the owner closes once settled.
    assert client.post(f"/contracts/{contract.pk}/close/").status_code == 302
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CLOSED


def test_agency_cannot_act_for_the_owner(client):
    contract, delivery, delivered_at = delivered_contract()
    login(client, agency_user(contract))
    with freeze(delivered_at + dt.timedelta(hours=1)):
        assert client.post(f"/contracts/{contract.pk}/deliveries/1/review/", {"decision": "accept"}).status_code == 403
        assert client.post(f"/contracts/{contract.pk}/cancel/", {"reason": "x"}).status_code == 403


def test_regulator_hides_a_comment_from_the_page_and_the_agency_snippet(client):
    contract, _t = accepted_contract()
    from market.contracts import services as contract_services

    contract_services.evaluation_submit(actor=owner_user(contract), contract=contract,
                                        scores={"quality": 1, "timeliness": 1, "attitude": 1, "fee_compliance": 1,
                                                "conduct": 1}, comment="骂人的话")
    login(client, make_regulator())
    assert client.post(f"/contracts/{contract.pk}/evaluation/visibility/", {"reason": "侮辱性言论"}).status_code == 302
    client.logout()
    page = client.get(f"/contracts/{contract.pk}/").content.decode()
    assert "骂人的话" not in page and "侮辱性言论" in page
    from django.template import Context, Template

    html = Template("{% load contract_tags %}{% agency_evaluations agency %}").render(Context({"agency": contract.agency}))
    assert "1.00" in html and "骂人的话" not in html


def test_request_snippet_and_desk(client):
    contract, _t = signed_contract()
    from django.template import Context, Template

    html = Template("{% load contract_tags %}{% request_contract sr %}").render(Context({"sr": contract.request}))
    assert contract.number in html
    assert client.get(f"/contracts/request/{contract.request_id}/").status_code == 302
    login(client, agency_user(contract))
    from django.test import RequestFactory

    rf = RequestFactory().get("/")
    rf.user = agency_user(contract)
    desk = Template("{% load contract_tags %}{% contracts_dashboard %}").render(Context({"user": rf.user, "request": rf}))
    assert contract.number in desk


def test_pay_page_offline_and_with_stripe(client, stripe_on):
    contract, _t = signed_contract()
    login(client, owner_user(contract))
    response = client.post(f"/contracts/{contract.pk}/pay/")
    assert response.status_code == 200
    body = response.content.decode()
    # By default no outside script: the page names the PaymentIntent and keeps the strict policy.
    assert "js.stripe.com" not in body and "pi_" in body
    assert "js.stripe.com" not in response["Content-Security-Policy"]


def test_pay_without_keys_redirects_with_offline_notice(client):
    contract, _t = signed_contract()
    login(client, owner_user(contract))
    response = client.post(f"/contracts/{contract.pk}/pay/", follow=True)
    assert response.status_code == 200 and response.redirect_chain


# --- the snippets on the site's own pages ---------------------------------------------------------------------

SCORES = {"quality": 5, "timeliness": 4, "attitude": 4, "fee_compliance": 5, "conduct": 4}  # average 4.40


def test_agency_page_shows_evaluation_averages_and_comments(client):
    from market.contracts import services as contract_services

    contract, _t = accepted_contract()
    url = f"/agencies/{contract.agency_id}/"
    before = client.get(url)
    assert before.status_code == 200
    assert f'id="evaluations-{contract.agency_id}"' in before.content.decode()  # the section, empty so far
    contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES,
                                        comment="成果规范，按期交付")
    body = client.get(url).content.decode()
    assert "4.40" in body and "成果规范，按期交付" in body and contract.number in body
    assert f'href="/contracts/{contract.pk}/"' in body
    assert "5.00" in body and "★★★★★" in body  # the quality average, as a number and as stars


def test_request_page_shows_its_contract_summary(client):
    contract, _t = signed_contract()
    body = client.get(f"/requests/{contract.request_id}/").content.decode()
    assert 'id="contract-heading"' in body and contract.number in body
    assert f'href="/contracts/{contract.pk}/"' in body and contract.agency.organization.name in body
    assert "40,000.00" in body and 'status-in_service' in body


def test_request_page_without_contract_has_no_contract_section(client):
    from tests.request_factories import published_request

    request = published_request()
    response = client.get(f"/requests/{request.pk}/")
    assert response.status_code == 200 and 'id="contract-heading"' not in response.content.decode()


def test_desk_shows_contracts_to_sign(client):
    contract, _bids, awarded_at = drafted_contract()
    login(client, owner_user(contract))
    with freeze(awarded_at + dt.timedelta(hours=1)):
        body = client.get("/accounts/dashboard/").content.decode()
    assert 'id="desk-contracts"' in body and contract.number in body
    assert contract.agency.organization.name in body  # the other party
    assert 'status-drafted' in body


def test_desk_shows_overdue_contracts_to_the_parties_and_regulators(client):
    contract, _signed_at = signed_contract()
    late = contract.due_at + dt.timedelta(days=1)
    with freeze(late):
        for user in (agency_user(contract), owner_user(contract)):
            client.logout()
            login(client, user)
            body = client.get("/accounts/dashboard/").content.decode()
            assert contract.number in body and 'class="badge"' in body and 'role="alert"' in body
        client.logout()
        login(client, make_regulator())
        body = client.get("/accounts/dashboard/").content.decode()
        assert contract.number in body and contract.agency.organization.name in body
    # Before the due date it is listed, not flagged.
    client.logout()
    login(client, agency_user(contract))
    with freeze(contract.due_at - dt.timedelta(days=1)):
        body = client.get("/accounts/dashboard/").content.decode()
    assert contract.number in body and 'role="alert"' not in body


def test_desk_without_contracts_has_no_contract_section(client):
    login(client, org_admin(make_owner()))
    response = client.get("/accounts/dashboard/")
    assert response.status_code == 200 and 'id="desk-contracts"' not in response.content.decode()


def test_pay_page_with_stripe_js_allows_only_its_origin_and_stripe(client, stripe_on, settings):
    settings.STRIPE_JS_URL = "https://pay.intranet.example.gov.cn/stripe/v3/"
    contract, _t = signed_contract()
    login(client, owner_user(contract))
    response = client.post(f"/contracts/{contract.pk}/pay/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'src="https://pay.intranet.example.gov.cn/stripe/v3/"' in body and 'id="payment-form"' in body
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' https://pay.intranet.example.gov.cn https://js.stripe.com;" in policy
