"""Writes of supervision: decisions on warning signs, the complaint workflow and random inspections.
Each action runs in one transaction, checks the actor, and writes its audit event. Statuses move
only through the state machines of supervision/states.py (market.core.statemachine.transition)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyStatus
from market.accounts import permissions
from market.core.audit import audit_record, snapshot
from market.core.events import emit
from market.core.statemachine import require_move, transition
from market.accounts.models import Organization, Region, User
from market.catalogue.models import ServiceItem
from market.requests.models import RequestStatus, ServiceRequest
from market.calendar.workdays import add_working_days

from . import draw
from .conf import setting
from .indicators import rule_text
from .models import (Complaint, ComplaintOutcome, ComplaintStatus, Inspection, InspectionOutcome, InspectionPlan,
                     PlanStatus, RiskWarning, SubjectType, WarningStatus)
from .states import COMPLAINT, COMPLAINT_FIELDS, WARNING_FIELDS, draw_time_come

# --- warning signs -----------------------------------------------------------------------------------


def _lock_open_warning(warning: RiskWarning) -> RiskWarning:
    warning = RiskWarning.objects.select_for_update().get(pk=warning.pk)
    if warning.status != WarningStatus.OPEN:
        raise ValidationError(_("This warning has already been decided (%(s)s).") % {"s": warning.get_status_display()},
                              code="already_decided")
    return warning


def warning_dismiss(*, actor: User, warning: RiskWarning, reason: str) -> RiskWarning:
    """A regulator dismisses a warning, giving the reason."""
    permissions.require_regulator(actor)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for dismissing the warning.")]})
    with transaction.atomic():
        warning = _lock_open_warning(warning)
        now = timezone.now()
        transition(warning, to=WarningStatus.DISMISSED, actor=actor, reason=reason, now=now,
                   changes={"status_reason": reason.strip(), "decided_by": actor, "decided_at": now})
    return warning


def warning_evidence_text(warning: RiskWarning) -> str:
    """The warning as breach evidence: the rule, the subject, the evidence (JSON) and the link."""
    link = getattr(settings, "WAGTAILADMIN_BASE_URL", "").rstrip("/") + reverse("supervision:warning", args=[warning.pk])
    return "\n".join([
        _("Warning sign: %(rule)s") % {"rule": warning.get_rule_display()},
        _("Rule: %(text)s") % {"text": rule_text(warning.rule)},
        _("Subject: %(subject)s") % {"subject": warning.subject_label},
        _("First detected: %(t)s") % {"t": timezone.localtime(warning.first_seen_at).strftime("%Y-%m-%d %H:%M")},
        _("Evidence:"),
        json.dumps(warning.evidence, ensure_ascii=False, indent=2, sort_keys=True),
        link,
    ])


def warning_escalate(*, actor: User, warning: RiskWarning, rule, agencies: Iterable[Agency], note: str = ""):
    """Turn a warning into a breach case: one breach (credit.services.breach_record, with the
    warning's evidence) per chosen agency among those the warning names."""
    from credit.services import breach_record

    permissions.require_regulator(actor)
    agencies = list(agencies)
    if not agencies:
        raise ValidationError({"agencies": [_("Choose at least one agency.")]})
    named = set(warning.agencies.values_list("pk", flat=True))
    if any(a.pk not in named for a in agencies):
        raise ValidationError({"agencies": [_("Choose among the agencies the warning names.")]})
    with transaction.atomic():
        warning = _lock_open_warning(warning)
        evidence = warning_evidence_text(warning)
        if (note or "").strip():
            evidence = f"{note.strip()}\n\n{evidence}"
        breaches = [breach_record(actor=actor, agency=agency, rule=rule, evidence=evidence) for agency in agencies]
        now = timezone.now()
        transition(warning, to=WarningStatus.ESCALATED, actor=actor, now=now,
                   changes={"status_reason": (note or "").strip(), "decided_by": actor, "decided_at": now},
                   after=lambda w: {**snapshot(w, WARNING_FIELDS), "breaches": [b.pk for b in breaches],
                                    "rule": rule.code})
        warning.breaches.add(*breaches)
    return breaches


# --- complaints (投诉) ----------------------------------------------------------------------------------------

C = ComplaintStatus

# Where each status may go, read from the complaint's state machine (supervision.states.COMPLAINT).
# Kept for supervision/views.py until it asks market.core.statemachine.available_moves instead.
COMPLAINT_TRANSITIONS: dict[str, set[str]] = COMPLAINT.successors()

_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def personal_data_in(text: str, *, complaint: Complaint) -> list[str]:
    """What in `text` looks like personal data: phone numbers, e-mail addresses, ID card numbers,
    or the complainant's name, user name, e-mail or phone."""
    found = []
    if _PHONE.search(text):
        found.append(_("a phone number"))
    if _EMAIL.search(text):
        found.append(_("an e-mail address"))
    if _ID_CARD.search(text):
        found.append(_("an ID card number"))
    person = complaint.complainant
    if person is not None:
        names = {person.username, person.get_full_name(), person.last_name + person.first_name, person.email,
                 getattr(person, "phone", ""), complaint.contact_phone}
        if any(n and len(n.strip()) >= 2 and n.strip() in text for n in names):
            found.append(_("the complainant's name or contact"))
    return found


def _subject(subject_type: str, *, request: ServiceRequest | None, agency: Agency | None,
             owner: Organization | None) -> tuple[str, dict]:
    if subject_type == SubjectType.REQUEST:
        if request is None or request.status == RequestStatus.DRAFT:
            raise ValidationError({"reference": [_("Name a published service request.")]})
        return request.project_name, {"request": request}
    if subject_type == SubjectType.AGENCY:
        if agency is None or agency.status in (AgencyStatus.DRAFT,):
            raise ValidationError({"reference": [_("Name a registered agency.")]})
        return agency.name, {"agency": agency}
    if subject_type == SubjectType.OWNER:
        if owner is None or owner.kind != Organization.Kind.OWNER:
            raise ValidationError({"reference": [_("Name a project owner.")]})
        return owner.name, {"owner": owner}
    raise ValidationError({"subject_type": [_("A complaint is about a request, an agency or an owner.")]})


def complaint_lodge(*, actor: User, subject_type: str, grounds: str, request: ServiceRequest | None = None,
                    agency: Agency | None = None, owner: Organization | None = None,
                    contact_phone: str = "") -> Complaint:
    """Anyone signed in lodges a complaint. It is received now and must be accepted or rejected
    within the working days the rules give (the official calendar)."""
    if not (actor and actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("Sign in to lodge a complaint."))
    if len((grounds or "").strip()) < 10:
        raise ValidationError({"grounds": [_("Describe the facts and what you complain about (at least 10 characters).")]})
    label, subject = _subject(subject_type, request=request, agency=agency, owner=owner)
    now = timezone.now()
    with transaction.atomic():
        complaint = Complaint.objects.create(
            complainant=actor, subject_type=subject_type, subject_label=label[:255], grounds=grounds.strip(),
            contact_phone=(contact_phone or "").strip(), status=C.RECEIVED, lodged_at=now,
            accept_by=add_working_days(now, setting("COMPLAINT_ACCEPT_WORKING_DAYS")), **subject)
        complaint.number = f"TS{timezone.localtime(now).year}{complaint.pk:06d}"
        complaint.save(update_fields=["number"])
        audit_record(actor=actor, action="complaint.lodge", obj=complaint,
                     after={**snapshot(complaint, COMPLAINT_FIELDS), "subject_type": subject_type,
                            "subject": label})
        emit("complaint.lodged", complaint_id=complaint.pk)
        emit("complaint.status", complaint_id=complaint.pk, status=C.RECEIVED)
    return complaint


def complaint_transition(*, actor: User, complaint: Complaint, to: str, text: str = "", outcome: str = "") -> Complaint:
    """Move a complaint along its pipeline, with the audit event; the complainant is told.

    rejected: `text` is the published reason; accepted: the decision is due within the working days
    the rules give; decided: `outcome` and `text` (the published decision) are required. Published
    text may not contain personal data."""
    permissions.require_regulator(actor)
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update(of=("self",)).select_related("complainant").get(pk=complaint.pk)
        move = require_move(complaint, to=to)  # an illegal move is refused before its text is read
        now = timezone.now()
        text = (text or "").strip()
        changes = {"handled_by": actor}
        if move.reason_required:  # rejected, decided: the text is published
            if not text:
                raise ValidationError({"text": [_("Write the decision to publish.") if to == C.DECIDED
                                                else _("Give the reason for rejecting the complaint; it is published.")]})
            leaks = personal_data_in(text, complaint=complaint)
            if leaks:
                raise ValidationError({"text": ValidationError(
                    _("The published text may not contain personal data; remove %(what)s.")
                    % {"what": "、".join(str(x) for x in leaks)}, code="personal_data")})
            changes["decision"] = text
        if to == C.REJECTED:
            changes["rejected_at"] = now
        elif to == C.ACCEPTED:
            changes.update(accepted_at=now, decide_by=add_working_days(now, setting("COMPLAINT_DECIDE_WORKING_DAYS")))
        elif to == C.INVESTIGATING:
            changes["investigating_at"] = now
        elif to == C.DECIDED:
            if outcome not in ComplaintOutcome.values:
                raise ValidationError({"outcome": [_("Choose the outcome.")]})
            changes.update(outcome=outcome, decided_at=now)
        transition(complaint, to=to, actor=actor, reason=text, now=now, changes=changes)
        emit("complaint.status", complaint_id=complaint.pk, status=to)
    return complaint


# --- random inspections (双随机一公开) ---------------------------------------------------------------------

PLAN_FIELDS = ("status", "title", "sample_size", "inspectors_per_agency", "draw_at", "commitment", "published_at",
               "drawn_at", "completed_at")


def _region_q(regions: Iterable[Region]) -> Q:
    """Agencies whose organization lies in any of the regions (a province or prefecture covers what is under it)."""
    q = Q()
    for region in regions:
        if region.level == Region.Level.PROVINCE:
            q |= Q(organization__region__code__startswith=region.code[:2])
        elif region.level == Region.Level.PREFECTURE:
            q |= Q(organization__region__code__startswith=region.code[:4])
        else:
            q |= Q(organization__region__code=region.code)
    return q


def plan_population(*, service_items: Iterable[ServiceItem], regions: Iterable[Region]):
    """Active agencies offering any of the items (if given) and located in any of the regions (if given)."""
    qs = Agency.objects.filter(status=AgencyStatus.ACTIVE)
    items = list(service_items)
    regions = list(regions)
    if items:
        qs = qs.filter(offered_items__service_item__in=items)
    if regions:
        qs = qs.filter(_region_q(regions))
    return qs.distinct().order_by("pk")


def _require_inspectors(users: Iterable[User]) -> list[User]:
    users = list(users)
    not_regulators = [u.username for u in users if not permissions.is_regulator(u)]
    if not_regulators:
        raise ValidationError({"inspectors": [_("Inspectors must be regulator staff: %(u)s") % {"u": ", ".join(not_regulators)}]})
    return users


def plan_create(*, actor: User, title: str, sample_size: int, inspectors: Iterable[User], draw_at: dt.datetime,
                service_items: Iterable[ServiceItem] = (), regions: Iterable[Region] = (), description: str = "",
                inspectors_per_agency: int = 2) -> InspectionPlan:
    permissions.require_regulator(actor)
    inspectors = _require_inspectors(inspectors)
    errors = {}
    if not (title or "").strip():
        errors["title"] = [_("Give the plan a title.")]
    if int(sample_size or 0) < 1:
        errors["sample_size"] = [_("Draw at least one agency.")]
    if int(inspectors_per_agency or 0) < 1:
        errors["inspectors_per_agency"] = [_("Assign at least one inspector per agency.")]
    elif len(inspectors) < int(inspectors_per_agency):
        errors["inspectors"] = [_("The pool needs at least as many inspectors as each agency gets (%(k)d).")
                                % {"k": int(inspectors_per_agency)}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        plan = InspectionPlan.objects.create(title=title.strip(), description=description, sample_size=sample_size,
                                             inspectors_per_agency=inspectors_per_agency, draw_at=draw_at,
                                             created_by=actor)
        plan.service_items.set(list(service_items))
        plan.regions.set(list(regions))
        plan.inspectors.set(inspectors)
        audit_record(actor=actor, action="inspection_plan.create", obj=plan, after=snapshot(plan, PLAN_FIELDS))
    return plan


def _user_name(user: User) -> str:
    return user.get_full_name() or user.username


def plan_publish(*, actor: User, plan: InspectionPlan) -> InspectionPlan:
    """Publish: freeze the population and the pool, draw the secret and publish its commitment."""
    permissions.require_regulator(actor)
    with transaction.atomic():
        plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
        require_move(plan, to=PlanStatus.PUBLISHED, move="publish")  # only a draft
        now = timezone.now()
        if plan.draw_at < now:
            raise ValidationError({"draw_at": [_("The draw time must not be in the past.")]})
        items = list(plan.service_items.order_by("code"))
        regions = list(plan.regions.order_by("code"))
        population = list(plan_population(service_items=items, regions=regions)
                          .values_list("pk", "organization__name", "organization__uscc"))
        if not population:
            raise ValidationError(_("No active agency meets the plan's criteria."), code="empty_population")
        pool = _require_inspectors(plan.inspectors.order_by("pk"))
        if len(pool) < plan.inspectors_per_agency:
            raise ValidationError({"inspectors": [_("The pool needs at least as many inspectors as each agency gets.")]})
        secret = draw.new_secret()
        parameters = {
            "plan_id": plan.pk, "title": plan.title,
            "service_items": [i.code for i in items], "regions": [r.code for r in regions],
            "sample_size": plan.sample_size, "inspectors_per_agency": plan.inspectors_per_agency,
            "draw_at": plan.draw_at.isoformat(),
            "population": [{"agency_id": pk, "name": name, "uscc": uscc} for pk, name, uscc in population],
            "inspectors": [{"user_id": u.pk, "name": _user_name(u)} for u in pool],
        }
        transition(plan, to=PlanStatus.PUBLISHED, actor=actor, now=now,
                   changes={"parameters": parameters, "secret": secret, "commitment": draw.commitment_of(secret),
                            "published_at": now},
                   after=lambda p: {**snapshot(p, PLAN_FIELDS), "population": len(population), "inspectors": len(pool)})
    return plan


def plan_draw(*, actor: User | None, plan: InspectionPlan, now: dt.datetime | None = None) -> InspectionPlan:
    """At or after the draw time: run the published procedure, reveal the secret, create the inspections.
    `now`: the server time the deadline job read (default: now)."""
    if actor is not None:
        permissions.require_regulator(actor)
    with transaction.atomic():
        plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
        require_move(plan, to=PlanStatus.DRAWN, move="draw")  # published, not yet drawn
        now = now or timezone.now()
        problem = draw_time_come(plan, now)  # before the draw is computed
        if problem:
            raise ValidationError(problem, code=draw_time_come.code)
        outcome = draw.draw(secret_hex=plan.secret, parameters=plan.parameters)
        result = {"procedure": draw.PROCEDURE, "parameters": plan.parameters, "commitment": plan.commitment,
                  "secret": plan.secret, "drawn_at": now.isoformat(), **outcome}
        transition(plan, to=PlanStatus.DRAWN, actor=actor, now=now, changes={"result": result, "drawn_at": now},
                   after=lambda p: {"status": p.status, "seed": outcome["seed"], "drawn": outcome["drawn"],
                                    "assignments": outcome["assignments"]})
        for rank, agency_id in enumerate(outcome["drawn"], start=1):
            inspection = Inspection.objects.create(plan=plan, agency_id=agency_id, rank=rank,
                                                   ticket=outcome["agency_tickets"][str(agency_id)])
            inspection.inspectors.set(outcome["assignments"][str(agency_id)])
    return plan


def plans_draw_due(*, now: dt.datetime) -> int:
    """Deadline job: draw every published plan whose draw time has come."""
    done = 0
    for pk in list(InspectionPlan.objects.filter(status=PlanStatus.PUBLISHED, draw_at__lte=now)
                   .values_list("pk", flat=True)[:100]):
        try:
            plan_draw(actor=None, plan=InspectionPlan(pk=pk), now=now)
            done += 1
        except ValidationError:  # another run took it
            continue
    return done


def inspection_record(*, actor: User, inspection: Inspection, outcome: str, findings: str) -> Inspection:
    """An assigned inspector enters the result; it is published at once. When every drawn agency
    has its result, the plan is completed."""
    permissions.require_regulator(actor)
    if outcome not in InspectionOutcome.values:
        raise ValidationError({"outcome": [_("Choose the outcome.")]})
    if not (findings or "").strip():
        raise ValidationError({"findings": [_("Describe what the inspection found.")]})
    with transaction.atomic():
        plan = InspectionPlan.objects.select_for_update().get(pk=inspection.plan_id)
        inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if plan.status != PlanStatus.DRAWN:
            raise ValidationError(_("Results are entered after the draw and before the plan is completed."),
                                  code="illegal_transition")
        if not (actor.is_superuser or inspection.inspectors.filter(pk=actor.pk).exists()):
            raise PermissionDenied(_("Only the inspectors assigned to this agency enter its result."))
        if inspection.recorded_at is not None:
            raise ValidationError(_("The result of this inspection has already been entered."), code="already_recorded")
        now = timezone.now()
        inspection.outcome, inspection.findings = outcome, findings.strip()
        inspection.recorded_by, inspection.recorded_at = actor, now
        inspection.save(update_fields=["outcome", "findings", "recorded_by", "recorded_at"])
        audit_record(actor=actor, action="inspection.record", obj=inspection,
                     after={"plan": plan.pk, "agency": inspection.agency_id, "outcome": outcome})
        if not plan.inspections.filter(recorded_at__isnull=True).exists():
            transition(plan, to=PlanStatus.COMPLETED, actor=actor, now=now, changes={"completed_at": now})
    return inspection
