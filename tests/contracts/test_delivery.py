"""Delivery and acceptance: each round kept, returns with reasons within the review period,
deemed acceptance, extensions by consent, overdue tracking and the overrun breach."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from market.contracts import selectors as contract_selectors

from market.contracts import services as contract_services
from market.contracts.models import ContractStatus, DeliveryRound, DeliveryStatus, ExtensionStatus
from market.core.deadlines import run_due
from market.core.models import AuditEvent
from market.requests.models import RequestStatus, ServiceRequest
from market.calendar.workdays import add_working_days
from tests.factories import make_owner, org_admin

from .factories import agency_user, delivered_contract, freeze, owner_user, pdf, signed_contract

pytestmark = pytest.mark.django_db


def _status(contract):
    contract.refresh_from_db()
    return contract.status, ServiceRequest.objects.get(pk=contract.request_id).status


def test_delivery_return_and_acceptance_keep_every_round(private_storage_dir):
    contract, delivery, delivered_at = delivered_contract()
    assert _status(contract) == (ContractStatus.DELIVERED, RequestStatus.DELIVERED)
    stored = delivery.files.get()
    assert stored.content_type == "application/pdf" and stored.original_name == "成果报告.pdf" and len(stored.sha256) == 64
    assert (private_storage_dir / stored.file.name).exists()
    owner, agency = owner_user(contract), agency_user(contract)
    with freeze(delivered_at + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError):  # reasons are required
            contract_services.deliverable_return(actor=owner, delivery_round=delivery, reason="")
        with pytest.raises(PermissionDenied):
            contract_services.deliverable_return(actor=agency, delivery_round=delivery, reason="x")
        contract_services.deliverable_return(actor=owner, delivery_round=delivery, reason="图件比例尺不符合要求")
    assert _status(contract) == (ContractStatus.IN_SERVICE, RequestStatus.IN_SERVICE)
    with freeze(delivered_at + dt.timedelta(days=1)):
        second = contract_services.deliverable_upload(actor=agency, contract=contract, note="已按意见修改",
                                                      files=[pdf("修改稿.pdf")])
        contract_services.deliverable_accept(actor=owner, delivery_round=second)
    assert _status(contract) == (ContractStatus.ACCEPTED, RequestStatus.ACCEPTED)
    rounds = list(DeliveryRound.objects.filter(contract=contract).order_by("number"))
    assert [(r.number, r.status) for r in rounds] == [(1, DeliveryStatus.RETURNED), (2, DeliveryStatus.ACCEPTED)]
    assert rounds[0].decision_reason == "图件比例尺不符合要求"
    assert AuditEvent.objects.filter(action="delivery.submit").count() >= 2


def test_illegal_delivery_moves_are_refused():
    contract, delivery, delivered_at = delivered_contract()
    owner, agency = owner_user(contract), agency_user(contract)
    with freeze(delivered_at + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError) as exc:  # a second delivery while one awaits review
            contract_services.deliverable_upload(actor=agency, contract=contract, note="再交一次", files=[pdf()])
        assert exc.value.code == "illegal_transition"
        contract_services.deliverable_accept(actor=owner, delivery_round=delivery)
        for call in (lambda: contract_services.deliverable_accept(actor=owner, delivery_round=delivery),
                     lambda: contract_services.deliverable_return(actor=owner, delivery_round=delivery, reason="反悔")):
            with pytest.raises(ValidationError) as exc:
                call()
            assert exc.value.code == "illegal_transition"
        with pytest.raises(ValidationError) as exc:  # no delivery after acceptance
            contract_services.deliverable_upload(actor=agency, contract=contract, note="补充", files=[pdf()])
        assert exc.value.code == "illegal_transition"


def test_delivery_before_signing_is_refused():
    from .factories import drafted_contract

    contract, _bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        with pytest.raises(ValidationError) as exc:
            contract_services.deliverable_upload(actor=agency_user(contract), contract=contract, note="成果",
                                                 files=[pdf()])
    assert exc.value.code == "illegal_transition"


def test_uploads_are_checked_by_content():
    from django.core.files.uploadedfile import SimpleUploadedFile

    contract, signed_at = signed_contract()
    fake = SimpleUploadedFile("成果.pdf", b"MZ\x90\x00 this is a program", content_type="application/pdf")
    with freeze(signed_at + dt.timedelta(days=1)):
        with pytest.raises(ValidationError) as exc:
            contract_services.deliverable_upload(actor=agency_user(contract), contract=contract, note="成果", files=[fake])
        assert "files" in exc.value.error_dict
        with pytest.raises(ValidationError) as exc:
            contract_services.deliverable_upload(actor=agency_user(contract), contract=contract, note="成果", files=[])
        assert "files" in exc.value.error_dict
        with pytest.raises(PermissionDenied):
            contract_services.deliverable_upload(actor=owner_user(contract), contract=contract, note="成果", files=[pdf()])
    assert _status(contract)[0] == ContractStatus.IN_SERVICE


def test_return_after_the_review_period_is_refused_and_the_work_deemed_accepted():
    contract, delivery, _t = delivered_contract()
    with freeze(delivery.review_deadline + dt.timedelta(minutes=1)):
        with pytest.raises(ValidationError) as exc:
            contract_services.deliverable_return(actor=owner_user(contract), delivery_round=delivery, reason="太晚了")
    assert exc.value.code == "review_deadline_passed"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.deemed
    assert _status(contract) == (ContractStatus.ACCEPTED, RequestStatus.ACCEPTED)


def test_unreviewed_delivery_is_deemed_accepted_by_the_job():
    contract, delivery, _t = delivered_contract()
    run_due(now=delivery.review_deadline - dt.timedelta(seconds=1))
    assert _status(contract)[0] == ContractStatus.DELIVERED
    run_due(now=delivery.review_deadline)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.ACCEPTED and delivery.deemed and delivery.decided_by is None
    assert _status(contract)[0] == ContractStatus.ACCEPTED


def test_extension_moves_the_due_date_only_with_the_owners_consent():
    contract, signed_at = signed_contract()
    due = contract.due_at
    owner, agency = owner_user(contract), agency_user(contract)
    with freeze(signed_at + dt.timedelta(days=5)):
        ext = contract_services.extension_request(actor=agency, contract=contract, days=10, reason="外业受台风影响")
        with pytest.raises(ValidationError) as exc:
            contract_services.extension_request(actor=agency, contract=contract, days=5, reason="再延")
        assert exc.value.code == "extension_pending"
        with pytest.raises(PermissionDenied):  # the agency cannot grant itself time
            contract_services.extension_decide(actor=agency, extension=ext, grant=True)
        contract_services.extension_decide(actor=owner, extension=ext, grant=True, note="同意")
        with pytest.raises(ValidationError) as exc:
            contract_services.extension_decide(actor=owner, extension=ext, grant=False, note="反悔")
        assert exc.value.code == "illegal_transition"
        refused = contract_services.extension_request(actor=agency, contract=contract, days=30, reason="再延一个月")
        with pytest.raises(ValidationError):  # a refusal needs a reason
            contract_services.extension_decide(actor=owner, extension=refused, grant=False)
        contract_services.extension_decide(actor=owner, extension=refused, grant=False, note="工期不能再延")
    contract.refresh_from_db()
    assert contract.due_at == due + dt.timedelta(days=10)
    ext.refresh_from_db()
    refused.refresh_from_db()
    assert (ext.status, ext.due_before, ext.due_after) == (ExtensionStatus.GRANTED, due, contract.due_at)
    assert refused.status == ExtensionStatus.REFUSED


def test_overdue_is_derived_from_time_and_shows_on_both_desks():
    contract, _signed_at = signed_contract()
    assert not contract.is_overdue_at(contract.due_at - dt.timedelta(seconds=1))
    assert contract.is_overdue_at(contract.due_at)
    for user in (owner_user(contract), agency_user(contract)):
        desk = contract_selectors.user_dashboard(user=user, now=contract.due_at + dt.timedelta(hours=1))
        assert [r["contract"] for r in desk["overdue"]] == [contract]
    outsider = org_admin(make_owner())
    assert contract_selectors.user_dashboard(user=outsider, now=contract.due_at)["overdue"] == []
    assert list(contract_selectors.contracts_overdue(now=contract.due_at)) == [contract]


def test_overrun_past_the_threshold_is_a_breach_recorded_once(breaches):
    contract, _signed_at = signed_contract()
    threshold = add_working_days(contract.due_at, 10)
    run_due(now=contract.due_at + dt.timedelta(days=1))  # overdue, not yet a breach
    run_due(now=threshold - dt.timedelta(seconds=1))
    assert breaches == []
    run_due(now=threshold)
    run_due(now=threshold + dt.timedelta(days=3))
    assert [b["rule_code"] for b in breaches] == ["OVERRUN"]
    assert breaches[0]["agency"] == contract.agency and breaches[0]["related"] == contract
    contract.refresh_from_db()
    assert contract.overrun_breach_at == threshold and contract.status == ContractStatus.IN_SERVICE


def test_a_granted_extension_postpones_the_overrun(breaches):
    contract, signed_at = signed_contract()
    threshold = add_working_days(contract.due_at, 10)
    with freeze(signed_at + dt.timedelta(days=1)):
        ext = contract_services.extension_request(actor=agency_user(contract), contract=contract, days=30, reason="补测")
        contract_services.extension_decide(actor=owner_user(contract), extension=ext, grant=True)
    run_due(now=threshold)
    assert breaches == []


def test_delivered_work_is_not_an_overrun(breaches):
    contract, delivery, _t = delivered_contract()
    run_due(now=add_working_days(contract.due_at, 10) if delivery.review_deadline > add_working_days(contract.due_at, 10)
            else delivery.review_deadline - dt.timedelta(seconds=1))
    assert breaches == []
