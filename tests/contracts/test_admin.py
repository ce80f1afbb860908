"""The Django admin of contracts: superusers only, read-mostly, and every action that changes state
goes through the services — with their rules, the credit standing included, and their audit events."""

import datetime as dt

import pytest

from credit import services as credit_services
from credit.models import BreachRule
from market.contracts import services as contract_services
from market.contracts.models import Contract, ContractStatus, EvaluationStatus
from market.core.models import AuditEvent
from market.accounts.models import User
from market.requests.models import RequestStatus
from tests.factories import PASSWORD, make_regulator

from .factories import (accepted_contract, agency_user, delivered_contract, drafted_contract, freeze, owner_user,
                        signed_contract)

pytestmark = pytest.mark.django_db

CHANGELIST = "/django-admin/market/{model}/"


@pytest.fixture
def superuser():
    return User.objects.create_superuser(username="root", email="root@example.gov.cn", password=PASSWORD)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def _act(client, model: str, action: str, pks, follow: bool = False, **extra):
    return client.post(CHANGELIST.format(model=model), {"action": action, "_selected_action": [str(pk) for pk in pks],
                                                        "index": "0", **extra}, follow=follow)


def _apply(client, model: str, action: str, pks, **extra):
    """The second step of an action that asks for a reason."""
    return client.post(CHANGELIST.format(model=model), {"action": action, "_selected_action": [str(pk) for pk in pks],
                                                        "apply": "1", **extra}, follow=True)


def _ban(agency):
    credit_services.breach_record(actor=make_regulator(), agency=agency, rule=BreachRule.objects.get(code="COLLUSION"),
                                  evidence="与其他机构串通报价")


def test_only_superusers_see_it_and_every_page_renders(client, admin_client):
    contract, _t = accepted_contract()
    contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores={
        "quality": 5, "timeliness": 4, "attitude": 4, "fee_compliance": 5, "conduct": 4}, comment="较好")
    for model in ("contract", "deliveryround", "extensionrequest", "payment", "stripeevent", "evaluation"):
        response = admin_client.get(CHANGELIST.format(model=model))
        assert response.status_code == 200, model
    body = admin_client.get(CHANGELIST.format(model="contract")).content.decode()
    assert contract.number in body and "40,000.00" in body
    detail = admin_client.get(f"/django-admin/market/contract/{contract.pk}/change/")
    assert detail.status_code == 200 and contract.number in detail.content.decode()
    round_ = contract.delivery_rounds.get()
    assert admin_client.get(f"/django-admin/market/deliveryround/{round_.pk}/change/").status_code == 200
    assert admin_client.get(f"/django-admin/market/evaluation/{contract.evaluation.pk}/change/").status_code == 200
    other = make_regulator()
    client.logout()
    client.force_login(other)
    assert client.get(CHANGELIST.format(model="contract")).status_code == 302  # to the admin's login


def test_nothing_is_added_edited_or_deleted_in_place(admin_client):
    contract, _t = signed_contract()
    assert admin_client.get("/django-admin/market/contract/add/").status_code == 403
    change = f"/django-admin/market/contract/{contract.pk}/change/"
    assert 'name="_save"' not in admin_client.get(change).content.decode()
    assert admin_client.post(change, {"status": "closed", "amount_fen": "1"}).status_code == 403
    assert admin_client.post(f"/django-admin/market/contract/{contract.pk}/delete/", {"post": "yes"}).status_code == 403
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE and contract.amount_fen == 4_000_000


def test_cancel_asks_for_a_reason_and_goes_through_the_service(admin_client, superuser):
    contract, _t = signed_contract()
    first = _act(admin_client, "contract", "cancel_contracts", [contract.pk])
    assert first.status_code == 200 and 'name="reason"' in first.content.decode()
    assert contract.number in first.content.decode()
    missing = _apply(admin_client, "contract", "cancel_contracts", [contract.pk], reason="")
    assert missing.status_code == 200 and 'name="reason"' in missing.content.decode()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.IN_SERVICE
    done = _apply(admin_client, "contract", "cancel_contracts", [contract.pk], reason="项目终止实施")
    assert done.status_code == 200
    contract.refresh_from_db()
    assert contract.status == ContractStatus.CANCELLED and contract.status_reason == "项目终止实施"
    assert contract.request.status == RequestStatus.CANCELLED
    event = AuditEvent.objects.filter(action="contract.cancelled", object_id=str(contract.pk)).get()
    assert event.actor == superuser


def test_a_refusal_of_the_service_is_reported_not_forced(admin_client):
    contract, _bids, _t = drafted_contract()
    response = _apply(admin_client, "contract", "cancel_contracts", [contract.pk], reason="试图取消")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFTED  # a contract awaiting signatures cannot be cancelled
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"{contract.number}: ")
    assert not AuditEvent.objects.filter(action="contract.cancelled").exists()


def test_apply_deadlines_runs_the_jobs_on_the_selected_contracts(admin_client, superuser, breaches):
    contract, _bids, _awarded_at = drafted_contract()
    other, _bids2, _t2 = drafted_contract()
    with freeze(contract.confirm_deadline + dt.timedelta(seconds=1)):
        admin_client.force_login(superuser)
        response = _act(admin_client, "contract", "apply_deadlines", [contract.pk])
    assert response.status_code == 302
    contract.refresh_from_db()
    other.refresh_from_db()
    assert contract.status == ContractStatus.BREACHED and [b["rule_code"] for b in breaches] == ["REFUSE_SIGN"]
    assert other.status == ContractStatus.DRAFTED  # not selected


def _breached():
    contract, bids, awarded_at = drafted_contract()
    with freeze(awarded_at + dt.timedelta(hours=1)):
        contract_services.contract_refuse(actor=agency_user(contract), contract=contract, reason="人手不足")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.BREACHED
    return contract, bids


def test_runner_up_from_the_admin_passes_over_a_blacklisted_agency(admin_client):
    contract, bids = _breached()
    _ban(bids[1].agency)  # the runner-up is on the black list: the contract goes to the third
    response = _act(admin_client, "contract", "take_runner_up", [contract.pk])
    assert response.status_code == 302
    new = Contract.objects.get(request=contract.request, status=ContractStatus.DRAFTED)
    assert new.agency == bids[2].agency and new.sequence == 3


def test_runner_up_from_the_admin_is_refused_when_every_other_bidder_is_blacklisted(admin_client):
    contract, bids = _breached()
    _ban(bids[1].agency)
    _ban(bids[2].agency)
    response = _act(admin_client, "contract", "take_runner_up", [contract.pk], follow=True)
    assert not Contract.objects.filter(request=contract.request, status=ContractStatus.DRAFTED).exists()
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"{contract.number}: ")


def test_hiding_and_showing_a_comment_from_the_admin_is_audited(admin_client, superuser):
    contract, _t = accepted_contract()
    evaluation = contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores={
        "quality": 1, "timeliness": 1, "attitude": 1, "fee_compliance": 1, "conduct": 1}, comment="骂人的话")
    first = _act(admin_client, "evaluation", "hide_comments", [evaluation.pk])
    assert first.status_code == 200 and 'name="reason"' in first.content.decode()
    _apply(admin_client, "evaluation", "hide_comments", [evaluation.pk], reason="侮辱性言论")
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.HIDDEN and evaluation.hidden_by == superuser
    assert evaluation.hidden_reason == "侮辱性言论"
    assert AuditEvent.objects.filter(action="evaluation.hidden", object_id=str(evaluation.pk), actor=superuser).exists()
    _act(admin_client, "evaluation", "show_comments", [evaluation.pk])
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.PUBLISHED


def test_payment_refresh_without_stripe_says_payment_is_offline(admin_client):
    contract, _delivery, _t = delivered_contract()
    response = _act(admin_client, "contract", "sync_payments", [contract.pk], follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["warning"]
