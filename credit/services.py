"""Writes of the credit module: breaches (by the system or a regulator), appeals, credit repair,
and the score and grade, recomputed whenever an input changes."""

from __future__ import annotations

import datetime as dt
from typing import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency
from market.accounts import permissions
from market.accounts.models import Membership, User
from market.core.audit import audit_record, snapshot
from market.core.statemachine import transition
from market.search import indexing

from .models import Appeal, Breach, BreachRule, BreachStatus, RepairRequest
from .rules import GRADE_THRESHOLDS, SEED_RULES

BREACH_FIELDS = ("agency_id", "rule_id", "status", "points", "ban_until", "closing_note")


def _NOTHING(obj) -> None:
    """A decision's audit event records no `before` (only its ruling, in `after`)."""
    return None


def credit_settings() -> dict:
    defaults = {"APPEAL_DAYS": 15, "REPAIR_AFTER_DAYS": 90, "WEIGHT_BREACHES": 0.7, "WEIGHT_EVALUATIONS": 0.3}
    return {**defaults, **getattr(settings, "CREDIT", {})}


def breach_rules_seed() -> int:
    """Load the seed breach rules (idempotent; does not overwrite regulators' edits)."""
    made = 0
    for code, name, description, severity, points, ban_days, automatic in SEED_RULES:
        _rule, created = BreachRule.objects.get_or_create(code=code, defaults={
            "name": name, "description": description, "severity": severity, "points": points, "ban_days": ban_days,
            "automatic": automatic})
        made += created
    return made


# --- score and grade ------------------------------------------------------------------------------


def grade_for(score: int) -> str:
    return next(grade for grade, floor in GRADE_THRESHOLDS if score >= floor)


def score_for(*, breach_points: int, evaluation_average: float | None) -> int:
    """100 minus the points of breaches in force, weighted with the evaluations (1–5 → 0–100)."""
    base = max(0, 100 - breach_points)
    if evaluation_average is None:
        return base
    cfg = credit_settings()
    evaluation = (evaluation_average - 1) / 4 * 100
    total = cfg["WEIGHT_BREACHES"] * base + cfg["WEIGHT_EVALUATIONS"] * evaluation
    return max(0, min(100, round(total)))


# (agency=...) -> the mean of the agency's evaluation scores (1–5), or None. The evaluations are the
# contracts module's, which sits above credit: the source is registered at start-up (credit/apps.py).
EvaluationSource = Callable[..., float | None]


def _no_evaluations(*, agency: Agency) -> float | None:
    return None


_evaluation_source: EvaluationSource = _no_evaluations


def evaluation_source_register(source: EvaluationSource) -> None:
    """Install where the evaluation average comes from (contracts' `evaluation_average`)."""
    global _evaluation_source
    _evaluation_source = source


def credit_recompute(*, agency: Agency, at: dt.datetime | None = None) -> Agency:
    """Recompute score and grade from the breaches in force and the evaluations; a banned agency is D."""
    at = at or timezone.now()
    points = Breach.objects.filter(agency=agency, status=BreachStatus.ACTIVE).aggregate(s=models.Sum("points"))["s"] or 0
    score = score_for(breach_points=points, evaluation_average=_evaluation_source(agency=agency))
    banned = Breach.objects.filter(agency=agency, status=BreachStatus.ACTIVE, ban_until__gt=at).exists()
    grade = "D" if banned else grade_for(score)
    if (agency.credit_score, agency.credit_grade) != (score, grade):
        Agency.objects.filter(pk=agency.pk).update(credit_score=score, credit_grade=grade)
        agency.credit_score, agency.credit_grade = score, grade
        indexing.mark("agency", [agency.pk])  # update() sends no signal; the directory ranks by grade
    return agency


# --- breaches -------------------------------------------------------------------------------------


def _notify_agency(agency: Agency, subject: str, body: str) -> None:
    emails = list(Membership.objects.filter(organization_id=agency.organization_id).exclude(user__email="")
                  .values_list("user__email", flat=True))
    if emails:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, emails, fail_silently=True)


def _record(*, agency: Agency, rule: BreachRule, source: str, evidence: str, actor: User | None, related=None,
            at: dt.datetime | None = None) -> Breach:
    at = at or timezone.now()
    related_type = related._meta.label_lower if related is not None else ""
    related_id = str(related.pk) if related is not None else ""
    with transaction.atomic():
        breach = Breach.objects.create(
            agency=agency, rule=rule, source=source, evidence=evidence, related_type=related_type, related_id=related_id,
            points=rule.points, recorded_by=actor, recorded_at=at,
            ban_until=at + dt.timedelta(days=rule.ban_days) if rule.ban_days else None,
            appeal_deadline=at + dt.timedelta(days=credit_settings()["APPEAL_DAYS"]))
        audit_record(actor=actor, action="breach.record", obj=breach, after=snapshot(breach, BREACH_FIELDS))
        credit_recompute(agency=agency, at=at)
        transaction.on_commit(lambda: _notify_agency(
            agency, _("Breach recorded: %(rule)s") % {"rule": rule.name},
            _("A breach “%(rule)s” was recorded against %(agency)s on %(date)s (%(points)d points%(ban)s). "
              "You may appeal until %(deadline)s.") % {
                "rule": rule.name, "agency": agency.organization.name, "date": timezone.localtime(at).strftime("%Y-%m-%d"),
                "points": rule.points,
                "ban": (_("; banned until %(d)s") % {"d": timezone.localtime(breach.ban_until).strftime("%Y-%m-%d")})
                if breach.ban_until else "",
                "deadline": timezone.localtime(breach.appeal_deadline).strftime("%Y-%m-%d")}))
    return breach


def breach_record_system(*, agency: Agency, rule_code: str, evidence: str, related=None) -> Breach:
    """A breach the system records by itself (refusal to sign, overrun, abandonment, expired
    qualification). Recorded once per rule and related object, however often a job runs."""
    rule = BreachRule.objects.get(code=rule_code)
    if related is not None:
        existing = Breach.objects.filter(agency=agency, rule=rule, source=Breach.Source.SYSTEM,
                                         related_type=related._meta.label_lower, related_id=str(related.pk)).first()
        if existing:
            return existing
    try:
        return _record(agency=agency, rule=rule, source=Breach.Source.SYSTEM, evidence=evidence, actor=None,
                       related=related)
    except IntegrityError:  # a concurrent run recorded it first
        return Breach.objects.get(agency=agency, rule=rule, source=Breach.Source.SYSTEM,
                                  related_type=related._meta.label_lower, related_id=str(related.pk))


def breach_record(*, actor: User, agency: Agency, rule: BreachRule, evidence: str) -> Breach:
    """A regulator records a breach with evidence."""
    permissions.require_regulator(actor)
    if not (evidence or "").strip():
        raise ValidationError({"evidence": [_("Describe the evidence of the breach.")]})
    if not rule.is_active:
        raise ValidationError({"rule": [_("This rule is no longer in force.")]})
    return _record(agency=agency, rule=rule, source=Breach.Source.REGULATOR, evidence=evidence, actor=actor)


def _close(breach: Breach, *, to: str, actor: User, note: str, now: dt.datetime) -> None:
    """End a breach in force (revoked by a granted appeal, repaired by an approved repair request): the
    ruling is its closing note (credit.states.BREACH)."""
    transition(breach, to=to, actor=actor, reason=note, now=now, changes={"closed_at": now},
               before=lambda b: snapshot(b, BREACH_FIELDS), after=lambda b: snapshot(b, BREACH_FIELDS))
    credit_recompute(agency=breach.agency)


def appeal_lodge(*, actor: User, breach: Breach, reason: str) -> Appeal:
    """The agency appeals within the configured time."""
    if not permissions.can_act_for(actor, breach.agency.organization):
        raise PermissionDenied(_("Only the agency's members may appeal."))
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the grounds of the appeal.")]})
    with transaction.atomic():
        breach = Breach.objects.select_for_update().get(pk=breach.pk)
        if breach.status != BreachStatus.ACTIVE:
            raise ValidationError(_("This breach is no longer in force."), code="not_active")
        if timezone.now() >= breach.appeal_deadline:
            raise ValidationError(_("The time to appeal ended on %(d)s.")
                                  % {"d": timezone.localtime(breach.appeal_deadline).strftime("%Y-%m-%d")},
                                  code="appeal_late")
        if breach.appeals.filter(status=Appeal.Status.OPEN).exists():
            raise ValidationError(_("An appeal against this breach is already open."), code="duplicate")
        appeal = Appeal.objects.create(breach=breach, lodged_by=actor, reason=reason)
        audit_record(actor=actor, action="breach.appeal", obj=appeal, after={"breach": breach.pk})
    return appeal


def appeal_decide(*, actor: User, appeal: Appeal, grant: bool, ruling: str) -> Appeal:
    """A regulator grants (the breach is revoked, its points and ban lifted) or refuses an appeal."""
    permissions.require_regulator(actor)
    if not (ruling or "").strip():
        raise ValidationError({"ruling": [_("Write the ruling.")]})
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().select_related("breach__agency").get(pk=appeal.pk)
        now = timezone.now()
        # An appeal already decided is refused by the move's own message ("already_decided"); the ruling is
        # stored by the machine (reason_field), and the event records only the ruling, as it always has.
        transition(appeal, to=Appeal.Status.GRANTED if grant else Appeal.Status.REFUSED,
                   move="grant" if grant else "refuse", actor=actor, reason=ruling, now=now,
                   changes={"decided_by": actor, "decided_at": now}, before=_NOTHING, after={"ruling": ruling})
        if grant:
            breach = Breach.objects.select_for_update().get(pk=appeal.breach_id)
            _close(breach, to=BreachStatus.REVOKED, actor=actor, note=ruling, now=now)
    return appeal


def repair_request(*, actor: User, breach: Breach, evidence: str) -> RepairRequest:
    """Credit repair: after the configured period (and after any ban has ended), with evidence."""
    if not permissions.can_act_for(actor, breach.agency.organization):
        raise PermissionDenied(_("Only the agency's members may ask for credit repair."))
    if not (evidence or "").strip():
        raise ValidationError({"evidence": [_("Describe how the breach was corrected.")]})
    with transaction.atomic():
        breach = Breach.objects.select_for_update().get(pk=breach.pk)
        now = timezone.now()
        if breach.status != BreachStatus.ACTIVE:
            raise ValidationError(_("This breach is no longer in force."), code="not_active")
        earliest = breach.recorded_at + dt.timedelta(days=credit_settings()["REPAIR_AFTER_DAYS"])
        if breach.ban_until and breach.ban_until > earliest:
            earliest = breach.ban_until
        if now < earliest:
            raise ValidationError(_("Credit repair can be asked for from %(d)s.")
                                  % {"d": timezone.localtime(earliest).strftime("%Y-%m-%d")}, code="repair_too_early")
        if breach.repairs.filter(status=RepairRequest.Status.OPEN).exists():
            raise ValidationError(_("A repair request for this breach is already open."), code="duplicate")
        repair = RepairRequest.objects.create(breach=breach, lodged_by=actor, evidence=evidence)
        audit_record(actor=actor, action="breach.repair_request", obj=repair, after={"breach": breach.pk})
    return repair


def repair_decide(*, actor: User, repair: RepairRequest, approve: bool, ruling: str) -> RepairRequest:
    permissions.require_regulator(actor)
    if not (ruling or "").strip():
        raise ValidationError({"ruling": [_("Write the ruling.")]})
    with transaction.atomic():
        repair = RepairRequest.objects.select_for_update().get(pk=repair.pk)
        now = timezone.now()
        transition(repair, to=RepairRequest.Status.APPROVED if approve else RepairRequest.Status.REFUSED,
                   move="approve" if approve else "refuse", actor=actor, reason=ruling, now=now,
                   changes={"decided_by": actor, "decided_at": now}, before=_NOTHING, after={"ruling": ruling})
        if approve:
            breach = Breach.objects.select_for_update().get(pk=repair.breach_id)
            _close(breach, to=BreachStatus.REPAIRED, actor=actor, note=ruling, now=now)
    return repair
