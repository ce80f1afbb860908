"""The contract pipeline: drafting on award, signing, refusal and lapse (breach), the runner-up or
a new round, cancellation — legal moves and refused ones."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from market.contracts import services as contract_services
from market.contracts.models import Contract, ContractStatus
from market.core.deadlines import run_due
from market.core.models import AuditEvent
from market.requests.models import RequestStatus, ServiceRequest
from tests.factories import make_owner, make_regulator, org_admin

from .factories import (agency_user, awarded_request, drafted_contract, freeze, owner_user, signed_contract)

pytestmark = pytest.mark.django_db


def test_award_drafts_the_contract_from_the_winning_bid():
    request, bids, awarded_at = awarded_request()
    assert request.status == RequestStatus.AWARDED
    contract = Contract.objects.get(request=request)
    winner = bids[0]  # the lowest price
    assert (contract.bid_id, contract.agency_id, contract.owner_id) == (winner.pk, winner.agency_id, request.owner_id)
    assert contract.amount_fen == winner.price_fen and contract.term_days == request.service_term_days
    assert contract.status == ContractStatus.DRAFTED and contract.sequence == 1
    assert contract.drafted_at == awarded_at and contract.confirm_deadline > awarded_at
    assert AuditEvent.objects.filter(action="contract.draft", object_id=str(contract.pk)).exists()
    run_due(now=awarded_at + dt.timedelta(minutes=1))  # the job is idempotent
    assert Contract.objects.filter(request=request).count() == 1


def test_contract_draft_is_offered_directly_and_idempotent():
    request, _bids, _t = awarded_request()
    contract = Contract.objects.get(request=request)
    assert contract_services.contract_draft(request=request, actor=org_admin(request.owner)) == contract
    with pytest.raises(PermissionDenied):
        contract_services.contract_draft(request=request, actor=org_admin(make_owner()))


def test_both_signatures_start_the_service_and_move_the_request():
    contract, signed_at = signed_contract()
    assert contract.status == ContractStatus.IN_SERVICE
    assert contract.signed_at == signed_at
    assert contract.due_at > signed_at + dt.timedelta(days=contract.term_days)
    request = ServiceRequest.objects.get(pk=contract.request_id)
    assert request.status == RequestStatus.IN_SERVICE
    actions = list(AuditEvent.objects.filter(object_id=str(request.pk), object_type="market.servicerequest")
                   .values_list("action", flat=True))
    assert actions[-2:] == ["request.contracted", "request.in_service"]


def test_one_signature_leaves_the_contract_drafted_and_a_second_one_is_refused():
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
        with pytest.raises(ValidationError) as exc:
            contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
    assert exc.value.code == "already_confirmed"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFTED and contract.agency_confirmed_at is not None


def test_only_the_parties_sign():
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        with pytest.raises(PermissionDenied):
            contract_services.contract_confirm(actor=org_admin(make_owner()), contract=contract)
        with pytest.raises(PermissionDenied):
            contract_services.contract_confirm(actor=agency_user(contract), contract=contract, side="owner")


def test_illegal_contract_moves_are_refused():
    contract, signed_at = signed_contract()
    request = ServiceRequest.objects.get(pk=contract.request_id)
    for target in (ContractStatus.DRAFTED, ContractStatus.ACCEPTED, ContractStatus.CLOSED, ContractStatus.BREACHED):
        with pytest.raises(ValidationError) as exc:
            contract_services.contract_transition(contract=contract, request=request, to=target, actor=None)
        assert exc.value.code == "illegal_transition"
    with freeze(signed_at + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError) as exc:  # signing again after the start
            contract_services.contract_confirm(actor=owner_user(contract), contract=contract)
        assert exc.value.code == "illegal_transition"
        with pytest.raises(ValidationError) as exc:  # refusing a signed contract
            contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="不想做了")
        assert exc.value.code == "illegal_transition"
        with pytest.raises(ValidationError) as exc:  # closing before acceptance
            contract_services.contract_close(actor=owner_user(contract), contract=contract)
        assert exc.value.code == "illegal_transition"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE


def test_agency_refusal_is_a_breach(breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=2)):
        with pytest.raises(ValidationError):
            contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="  ")
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="人手不足，无法承接")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.BREACHED and "人手不足" in contract.status_reason
    assert len(breaches) == 1
    assert breaches[0]["rule_code"] == "REFUSE_SIGN" and breaches[0]["agency"] == contract.agency
    assert breaches[0]["related"] == contract and contract.number in breaches[0]["evidence"]
    request = ServiceRequest.objects.get(pk=contract.request_id)
    assert request.status == RequestStatus.AWARDED  # the owner decides what follows
    run_due(now=awarded_at + dt.timedelta(days=30))  # no new draft, no second breach
    assert Contract.objects.filter(request=request).count() == 1 and len(breaches) == 1


def test_letting_the_time_run_out_is_a_breach_recorded_once(breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_confirm(actor=owner_user(contract), contract=contract)
    run_due(now=contract.confirm_deadline - dt.timedelta(seconds=1))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFTED and breaches == []
    run_due(now=contract.confirm_deadline)
    run_due(now=contract.confirm_deadline + dt.timedelta(hours=1))
    contract.refresh_from_db()
    assert contract.status == ContractStatus.BREACHED
    assert [b["rule_code"] for b in breaches] == ["REFUSE_SIGN"]


def test_signing_after_the_deadline_is_refused_and_records_the_breach(breaches):
    contract, _bids, _t = drafted_contract()
    with freeze(contract.confirm_deadline + dt.timedelta(minutes=5)):
        with pytest.raises(ValidationError) as exc:
            contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
    assert exc.value.code == "confirm_deadline_passed"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.BREACHED and len(breaches) == 1


def test_owner_letting_the_time_run_out_cancels_the_request_without_a_breach(breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
    run_due(now=contract.confirm_deadline)
    contract.refresh_from_db()
    assert contract.status == ContractStatus.REFUSED and breaches == []
    assert ServiceRequest.objects.get(pk=contract.request_id).status == RequestStatus.CANCELLED


def test_owner_refusal_cancels_the_request_with_the_reason(breaches):
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=owner_user(contract), contract=contract, reason="项目已撤销")
    request = ServiceRequest.objects.get(pk=contract.request_id)
    assert request.status == RequestStatus.CANCELLED and "项目已撤销" in request.status_reason
    assert breaches == []


def test_after_a_breach_the_owner_takes_the_runner_up():
    contract, bids, awarded_at = drafted_contract()
    owner = owner_user(contract)
    request = ServiceRequest.objects.get(pk=contract.request_id)
    with freeze(awarded_at + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError) as exc:  # not before a breach
            contract_services.contract_take_runner_up(actor=owner, request=request)
        assert exc.value.code == "contract_exists"
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="放弃")
        with pytest.raises(PermissionDenied):
            contract_services.contract_take_runner_up(actor=agency_user(contract), request=request)
        second = contract_services.contract_take_runner_up(actor=owner, request=request)
    assert second.bid_id == bids[1].pk and second.sequence == 2 and second.amount_fen == bids[1].price_fen
    assert second.status == ContractStatus.DRAFTED and second.number.endswith("-2")
    with freeze(awarded_at + dt.timedelta(hours=2)):
        contract_services.contract_confirm(actor=agency_user(second), contract=second)
        contract_services.contract_confirm(actor=owner, contract=second)
    request.refresh_from_db()
    assert request.status == RequestStatus.IN_SERVICE


def test_runner_up_skips_an_agency_no_longer_eligible():
    from agencies.models import Agency, AgencyStatus

    contract, bids, awarded_at = drafted_contract()
    Agency.objects.filter(pk=bids[1].agency_id).update(status=AgencyStatus.SUSPENDED, status_reason="整改")
    request = ServiceRequest.objects.get(pk=contract.request_id)
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="放弃")
        second = contract_services.contract_take_runner_up(actor=owner_user(contract), request=request)
        assert second.bid_id == bids[2].pk and second.sequence == 3
        contract_services.contract_refuse(actor=agency_user(second), contract=second, reason="放弃")
        with pytest.raises(ValidationError) as exc:
            contract_services.contract_take_runner_up(actor=owner_user(contract), request=request)
    assert exc.value.code == "no_runner_up"


def test_after_a_breach_the_owner_opens_a_new_round():
    contract, _bids, awarded_at = drafted_contract()
    request = ServiceRequest.objects.get(pk=contract.request_id)
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="放弃")
    new = contract_services.contract_new_round(actor=owner_user(contract), request=request, reason="中选机构拒签，重新选取")
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED and "拒签" in request.status_reason
    assert new.previous_round_id == request.pk and new.round_number == 2 and new.status == RequestStatus.DRAFT


def test_cancelling_a_contract_in_service_offline():
    contract, signed_at = signed_contract()
    with freeze(signed_at + dt.timedelta(days=1)):
        with pytest.raises(PermissionDenied):
            contract_services.contract_cancel(actor=agency_user(contract), contract=contract, reason="x")
        contract_services.contract_cancel(actor=make_regulator(), contract=contract, reason="项目终止")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLED
    assert ServiceRequest.objects.get(pk=contract.request_id).status == RequestStatus.CANCELLED


def test_pay_on_acceptance_term_changes_only_before_signing():
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_terms_set(actor=owner_user(contract), contract=contract, pay_on_acceptance=False)
        contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
        with pytest.raises(ValidationError) as exc:
            contract_services.contract_terms_set(actor=owner_user(contract), contract=contract, pay_on_acceptance=True)
    assert exc.value.code == "already_signed"
    contract.refresh_from_db()
    assert contract.pay_on_acceptance is False


def test_breaches_reach_the_real_credit_module(monkeypatch):
    """Without the stand-in: the credit module records REFUSE_SIGN once per contract."""
    credit_services = pytest.importorskip("credit.services")
    from credit.models import Breach

    monkeypatch.undo()  # the autouse stand-in for breach_record_system
    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="不签")
    contracts_expire = contract_services.contracts_expire_due(now=contract.confirm_deadline)
    assert contracts_expire == 0
    breaches = Breach.objects.filter(agency=contract.agency, rule__code="REFUSE_SIGN")
    assert breaches.count() == 1 and credit_services.breach_record_system
