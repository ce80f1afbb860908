"""Evaluation rules: only the owner, only once, only after acceptance; five scores of 1–5; a
regulator may hide an abusive comment (audited); the agency's page shows the averages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from market.contracts import selectors as contract_selectors

from market.contracts import services as contract_services
from market.contracts.models import Evaluation, EvaluationStatus
from market.core.models import AuditEvent
from tests.factories import make_owner, make_regulator, org_admin

from .factories import accepted_contract, agency_user, delivered_contract, freeze, owner_user, signed_contract

pytestmark = pytest.mark.django_db

SCORES = {"quality": 5, "timeliness": 4, "attitude": 5, "fee_compliance": 5, "conduct": 4}


def test_only_after_acceptance():
    contract, signed_at = signed_contract()
    with freeze(signed_at + dt.timedelta(days=1)):
        with pytest.raises(ValidationError) as exc:
            contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES)
    assert exc.value.code == "not_accepted"
    contract, _delivery, _t = delivered_contract()
    with pytest.raises(ValidationError) as exc:
        contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES)
    assert exc.value.code == "not_accepted"
    assert not Evaluation.objects.exists()


def test_only_the_owner():
    contract, _t = accepted_contract()
    for outsider in (agency_user(contract), org_admin(make_owner()), make_regulator()):
        with pytest.raises(PermissionDenied):
            contract_services.evaluation_submit(actor=outsider, contract=contract, scores=SCORES)
    assert not Evaluation.objects.exists()


def test_only_once():
    contract, _t = accepted_contract()
    evaluation = contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES,
                                                     comment="成果质量好，响应及时")
    assert evaluation.agency_id == contract.agency_id and evaluation.average == Decimal("4.60")
    with pytest.raises(ValidationError) as exc:
        contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES)
    assert exc.value.code == "already_evaluated"
    assert Evaluation.objects.count() == 1
    assert AuditEvent.objects.filter(action="evaluation.submit", object_id=str(evaluation.pk)).exists()


@pytest.mark.parametrize("bad", [{"quality": 0}, {"conduct": 6}, {"attitude": "good"}, {"timeliness": None}])
def test_scores_are_1_to_5_on_every_dimension(bad):
    contract, _t = accepted_contract()
    with pytest.raises(ValidationError) as exc:
        contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores={**SCORES, **bad})
    assert set(bad) <= set(exc.value.error_dict)
    missing = dict(SCORES)
    missing.pop("conduct")
    with pytest.raises(ValidationError) as exc:
        contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=missing)
    assert "conduct" in exc.value.error_dict


def test_regulator_hides_an_abusive_comment_audited():
    contract, _t = accepted_contract()
    evaluation = contract_services.evaluation_submit(actor=owner_user(contract), contract=contract, scores=SCORES,
                                                     comment="（辱骂性内容）")
    with pytest.raises(PermissionDenied):
        contract_services.evaluation_hide(actor=owner_user(contract), evaluation=evaluation, reason="x")
    regulator = make_regulator()
    with pytest.raises(ValidationError):
        contract_services.evaluation_hide(actor=regulator, evaluation=evaluation, reason="")
    contract_services.evaluation_hide(actor=regulator, evaluation=evaluation, reason="含侮辱性语言")
    evaluation.refresh_from_db()
    assert evaluation.status == EvaluationStatus.HIDDEN and not evaluation.comment_visible
    with pytest.raises(ValidationError) as exc:
        contract_services.evaluation_hide(actor=regulator, evaluation=evaluation, reason="again")
    assert exc.value.code == "illegal_transition"
    event = AuditEvent.objects.get(action="evaluation.hidden", object_id=str(evaluation.pk))
    assert event.actor_id == regulator.pk and event.after["hidden_reason"] == "含侮辱性语言"


def test_summary_averages_and_the_public_snippet(client):
    first, _t = accepted_contract()
    contract_services.evaluation_submit(actor=owner_user(first), contract=first, scores=SCORES, comment="很好")
    summary = contract_selectors.evaluation_summary(first.agency)
    assert summary["count"] == 1 and summary["overall"] == Decimal("4.60")
    assert summary["averages"]["timeliness"] == Decimal("4.00")

    from django.template.loader import render_to_string

    html = render_to_string("contracts/agency_evaluations.html", {"agency": first.agency, "summary": summary})
    assert "4.60" in html and "很好" in html
    evaluation = Evaluation.objects.get()
    contract_services.evaluation_hide(actor=make_regulator(), evaluation=evaluation, reason="不当言论")
    html = render_to_string("contracts/agency_evaluations.html",
                            {"agency": first.agency, "summary": contract_selectors.evaluation_summary(first.agency)})
    assert "很好" not in html and "4.60" in html


def test_evaluation_average_feeds_the_credit_module():
    contract, _t = accepted_contract()
    assert contract_selectors.evaluation_average(agency=contract.agency) is None
    contract_services.evaluation_submit(actor=owner_user(contract), contract=contract,
                                        scores={**SCORES, "timeliness": 5, "conduct": 5})
    assert contract_selectors.evaluation_average(agency=contract.agency) == pytest.approx(5.0)
