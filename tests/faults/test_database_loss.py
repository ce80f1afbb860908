"""The database connection drops in the middle of a request (issue #9): the user gets an error
response — the server's 500 page, or JSON with 503 from the API — at once, not a hang, and nothing
of that request stays: no bid, no contract, no signature, no audit event.

The loss is simulated by making the service step that follows the transaction's first write raise
what Django raises when the connection is gone (OperationalError, InterfaceError). On PostgreSQL a
real one is added: a second connection terminates the request's backend (pg_terminate_backend)
after the first write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import InterfaceError, OperationalError, connection

from bids import services as bid_services
from bids.models import Bid
from market.contracts.services import contracts as contract_services  # the module whose audit_record is replaced
from market.contracts.models import Contract, ContractStatus
from market.core.models import AuditEvent
from market.requests.models import ServiceRequest
from tests.contracts.factories import agency_user, drafted_contract, freeze, owner_user
from tests.request_factories import active_agency, agency_admin, published_request

LOST = [
    pytest.param(OperationalError("server closed the connection unexpectedly"), id="OperationalError"),
    pytest.param(InterfaceError("connection already closed"), id="InterfaceError"),
]


def lose_connection_at(monkeypatch, module, action: str, error: Exception, *, written) -> list:
    """Make `module.audit_record` raise `error` when it is called for `action`, i.e. right after the
    service's first write in its transaction. `written()` is asked at that moment, to prove the
    write had happened; the answers are returned."""
    real = module.audit_record
    seen = []

    def audit_record(**kwargs):
        if kwargs.get("action") == action:
            seen.append(written())
            raise error
        return real(**kwargs)

    monkeypatch.setattr(module, "audit_record", audit_record)
    return seen


def assert_server_error_page(response) -> None:
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def assert_json_unavailable(response) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["message"] and body["code"]


# --- bid submission ---------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", LOST)
def test_connection_lost_while_bidding_on_the_page_leaves_no_bid(browser, monkeypatch, error):
    request = published_request()
    agency = active_agency(item=request.service_item)
    browser.force_login(agency_admin(agency))
    seen = lose_connection_at(monkeypatch, bid_services, "bid.submit", error,
                              written=lambda: Bid.objects.filter(request=request).exists())

    response = browser.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "45000"})

    assert_server_error_page(response)
    assert seen == [True]  # the bid row had been written when the connection went
    assert not Bid.objects.filter(request=request).exists()
    assert not AuditEvent.objects.filter(action="bid.submit").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("error", LOST)
def test_connection_lost_while_bidding_through_the_api_leaves_no_bid(api_client, monkeypatch, error):
    request = published_request()
    agency = active_agency(item=request.service_item)
    api_client.force_authenticate(agency_admin(agency))
    seen = lose_connection_at(monkeypatch, bid_services, "bid.submit", error,
                              written=lambda: Bid.objects.filter(request=request).exists())

    response = api_client.post(f"/api/v1/requests/{request.pk}/bids/", {"agency": agency.pk, "price_fen": 4_500_000},
                               format="json")

    assert_json_unavailable(response)
    assert seen == [True]
    assert not Bid.objects.filter(request=request).exists()
    assert not AuditEvent.objects.filter(action="bid.submit").exists()


# --- contract drafting and signing --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", LOST)
def test_connection_lost_while_drafting_the_runner_up_contract_leaves_no_contract(browser, monkeypatch, error):
    contract, bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="放弃")
        drafts_before = AuditEvent.objects.filter(action="contract.draft").count()
        browser.force_login(owner_user(contract))
        seen = lose_connection_at(monkeypatch, contract_services, "contract.draft", error,
                                  written=lambda: Contract.objects.filter(request=contract.request).count() == 2)

        response = browser.post(f"/contracts/{contract.pk}/runner-up/")

    assert_server_error_page(response)
    assert seen == [True]
    assert list(Contract.objects.filter(request=contract.request)) == [contract]
    assert not Contract.objects.filter(bid=bids[1]).exists()
    assert AuditEvent.objects.filter(action="contract.draft").count() == drafts_before


@pytest.mark.django_db
@pytest.mark.parametrize("error", LOST)
def test_connection_lost_while_signing_on_the_page_leaves_no_signature(browser, monkeypatch, error):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        browser.force_login(agency_user(contract))
        seen = lose_connection_at(monkeypatch, contract_services, "contract.confirm", error,
                                  written=lambda: Contract.objects.get(pk=contract.pk).agency_confirmed_at is not None)

        response = browser.post(f"/contracts/{contract.pk}/confirm/", {"side": "agency"})

    assert_server_error_page(response)
    assert seen == [True]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFTED
    assert contract.agency_confirmed_at is None and contract.agency_confirmed_by_id is None
    assert not AuditEvent.objects.filter(action="contract.confirm").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("error", LOST)
def test_connection_lost_while_the_second_side_signs_through_the_api_starts_nothing(api_client, monkeypatch, error):
    """The owner signs last: the signature, the contract's move to "in service" and the request's
    all go, or none does."""
    contract, _bids, awarded_at = drafted_contract()
    request_status = ServiceRequest.objects.get(pk=contract.request_id).status
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
        api_client.force_authenticate(owner_user(contract))
        seen = lose_connection_at(monkeypatch, contract_services, "contract.in_service", error,
                                  written=lambda: Contract.objects.get(pk=contract.pk).status == ContractStatus.IN_SERVICE)

        response = api_client.post(f"/api/v1/contracts/{contract.pk}/confirm/", {"side": "owner"}, format="json")

    assert_json_unavailable(response)
    assert seen == [True]
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFTED and contract.owner_confirmed_at is None
    assert ServiceRequest.objects.get(pk=contract.request_id).status == request_status
    assert AuditEvent.objects.filter(action="contract.confirm").count() == 1  # the agency's only
    assert not AuditEvent.objects.filter(action="contract.in_service").exists()


# --- a real loss, on PostgreSQL -------------------------------------------------------------------------------


def terminate_own_backend() -> None:
    """Kill this thread's database session from a second connection, as a failover or a restarted
    server would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")
def test_backend_terminated_mid_bid_answers_500_and_the_bid_is_gone(browser, monkeypatch):
    request = published_request()
    agency = active_agency(item=request.service_item)
    browser.force_login(agency_admin(agency))
    real = bid_services.audit_record
    seen = []

    def audit_record(**kwargs):
        if kwargs.get("action") == "bid.submit":
            seen.append(Bid.objects.filter(request=request).exists())  # written, not committed
            terminate_own_backend()
        return real(**kwargs)  # its first query finds the connection gone

    monkeypatch.setattr(bid_services, "audit_record", audit_record)
    try:
        response = browser.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "45000"})
    finally:
        connection.close()  # the test's own connection was the one terminated

    assert_server_error_page(response)
    assert seen == [True]
    assert not Bid.objects.filter(request=request).exists()
    assert not AuditEvent.objects.filter(action="bid.submit").exists()
    # The next request gets a fresh connection and works.
    monkeypatch.setattr(bid_services, "audit_record", real)
    response = browser.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "45000"})
    assert response.status_code == 302
    assert Bid.objects.filter(request=request).count() == 1
