"""Writes of evaluations (服务评价): the owner's, once, after acceptance; a regulator hides an abusive
comment or shows it again. Evaluations weigh into the agency's credit score."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from credit import services as credit_services
from market.accounts import permissions
from market.accounts.models import User
from market.core.audit import audit_record

from ..models import EVALUATION_DIMENSIONS, Contract, Evaluation, EvaluationStatus
from .contracts import C, _illegal, _require_owner, contract_lock

EVALUATION_TRANSITIONS: dict[str, set[str]] = {
    EvaluationStatus.PUBLISHED: {EvaluationStatus.HIDDEN},
    EvaluationStatus.HIDDEN: {EvaluationStatus.PUBLISHED},
}


def _recompute_credit(agency) -> None:
    """Evaluations weigh into the agency's credit score (credit module)."""
    credit_services.credit_recompute(agency=agency)


def evaluation_transition(*, evaluation: Evaluation, to: str, actor: User, reason: str) -> Evaluation:
    if to not in EVALUATION_TRANSITIONS.get(evaluation.status, set()):
        raise _illegal(_("An evaluation"), EvaluationStatus(evaluation.status).label, EvaluationStatus(to).label)
    with transaction.atomic():
        before = {"status": evaluation.status, "hidden_reason": evaluation.hidden_reason}
        evaluation.status = to
        evaluation.hidden_reason = reason if to == EvaluationStatus.HIDDEN else ""
        evaluation.hidden_by = actor if to == EvaluationStatus.HIDDEN else None
        evaluation.hidden_at = timezone.now() if to == EvaluationStatus.HIDDEN else None
        evaluation.save(update_fields=["status", "hidden_reason", "hidden_by", "hidden_at"])
        audit_record(actor=actor, action=f"evaluation.{to}", obj=evaluation, before=before,
                     after={"status": to, "hidden_reason": evaluation.hidden_reason, "reason": reason})
    return evaluation


def _clean_scores(scores: dict[str, Any]) -> dict[str, int]:
    errors, clean = {}, {}
    for name, label in EVALUATION_DIMENSIONS:
        value = (scores or {}).get(name)
        try:
            value = int(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not (1 <= value <= 5):
            errors[name] = [_("Score %(label)s from 1 to 5.") % {"label": label}]
        else:
            clean[name] = value
    unknown = set(scores or {}) - {n for n, _label in EVALUATION_DIMENSIONS}
    if unknown:
        errors["scores"] = [_("Unknown scores: %(f)s") % {"f": ", ".join(sorted(unknown))}]
    if errors:
        raise ValidationError(errors)
    return clean


def evaluation_submit(*, actor: User, contract: Contract, scores: dict[str, Any], comment: str = "") -> Evaluation:
    """The owner evaluates the agency (服务评价) once, after acceptance: five scores of 1–5 and a comment."""
    _require_owner(actor, contract)
    clean = _clean_scores(scores)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationError({"comment": [_("At most 2000 characters.")]})
    try:
        with transaction.atomic():
            contract, _request = contract_lock(contract.pk)
            if contract.status not in (C.ACCEPTED, C.CLOSED):
                raise ValidationError(_("The agency can be evaluated only after the work is accepted."),
                                      code="not_accepted")
            if Evaluation.objects.filter(contract=contract).exists():
                raise ValidationError(_("This contract has already been evaluated."), code="already_evaluated")
            evaluation = Evaluation.objects.create(contract=contract, agency=contract.agency, comment=comment,
                                                   submitted_by=actor, submitted_at=timezone.now(), **clean)
            audit_record(actor=actor, action="evaluation.submit", obj=evaluation,
                         after={"contract": contract.pk, "agency": contract.agency_id, **clean, "comment": comment})
            _recompute_credit(contract.agency)
    except IntegrityError:
        raise ValidationError(_("This contract has already been evaluated."), code="already_evaluated")
    return evaluation


def evaluation_hide(*, actor: User, evaluation: Evaluation, reason: str) -> Evaluation:
    """A regulator hides an abusive comment (the scores still count); audited."""
    permissions.require_regulator(actor)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for hiding the comment.")]})
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        return evaluation_transition(evaluation=evaluation, to=EvaluationStatus.HIDDEN, actor=actor, reason=reason)


def evaluation_show(*, actor: User, evaluation: Evaluation, reason: str = "") -> Evaluation:
    """A regulator publishes a hidden comment again; audited."""
    permissions.require_regulator(actor)
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        return evaluation_transition(evaluation=evaluation, to=EvaluationStatus.PUBLISHED, actor=actor, reason=reason)
