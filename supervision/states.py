"""The state machines of supervision (market.core.statemachine): warning signs, complaints (投诉),
random inspection plans (双随机一公开) and the e-mail of a notification."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from market.accounts import permissions
from market.core.statemachine import SYSTEM, Machine, Move, Who, guard, register

from .models import ComplaintStatus, EmailStatus, InspectionPlan, PlanStatus, WarningStatus

REGULATOR = Who("regulator", lambda actor, obj: permissions.is_regulator(actor))

# --- warning signs --------------------------------------------------------------------------------------

WARNING_FIELDS = ("status", "status_reason", "decided_by_id", "decided_at")

WARNING = Machine(
    name="warning",
    model="supervision.RiskWarning",
    states=WarningStatus,
    audit_fields=WARNING_FIELDS,
    reason_field="status_reason",
    description="A warning sign computed from the data, decided by a regulator.",
    moves=(
        Move("dismiss", WarningStatus.OPEN, WarningStatus.DISMISSED, REGULATOR, reason_required=True),
        # into a breach case (credit): the breaches are recorded in the same transaction
        Move("escalate", WarningStatus.OPEN, WarningStatus.ESCALATED, REGULATOR),
    ),
)

# --- complaints ------------------------------------------------------------------------------------------

C = ComplaintStatus
COMPLAINT_FIELDS = ("status", "accept_by", "accepted_at", "rejected_at", "investigating_at", "decide_by", "decided_at",
                    "outcome", "decision", "handled_by_id")


def _complaint_move(name: str, source: str, target: str, **kw) -> Move:
    return Move(name, source, target, REGULATOR, audit_action=f"complaint.{target}", **kw)


COMPLAINT = Machine(
    name="complaint",
    model="supervision.Complaint",
    states=ComplaintStatus,
    audit_fields=COMPLAINT_FIELDS,
    reason_param="text",
    reason_missing=gettext_lazy("Write the decision to publish."),
    illegal=gettext_lazy("A complaint cannot go from “%(src)s” to “%(dst)s”."),
    description="A complaint about a request, an agency or an owner; the text of a rejection or decision is published.",
    moves=(
        _complaint_move("accept", C.RECEIVED, C.ACCEPTED),
        _complaint_move("reject", C.RECEIVED, C.REJECTED, reason_required=True),
        _complaint_move("investigate", C.ACCEPTED, C.INVESTIGATING),
        _complaint_move("decide", C.INVESTIGATING, C.DECIDED, reason_required=True),
    ),
)

# --- random inspection plans ---------------------------------------------------------------------------------

P = PlanStatus


@guard("the draw time has come", code="too_early")
def draw_time_come(plan: InspectionPlan, now: dt.datetime) -> str | None:
    if now < plan.draw_at:
        return (_("The published draw time (%(t)s) has not come yet.")
                % {"t": timezone.localtime(plan.draw_at).strftime("%Y-%m-%d %H:%M")})
    return None


@guard("every drawn agency's result is entered")
def every_result_entered(plan: InspectionPlan, now: dt.datetime) -> str | None:
    if plan.inspections.filter(recorded_at__isnull=True).exists():
        return _("Results are entered after the draw and before the plan is completed.")
    return None


PLAN = Machine(
    name="inspection_plan",
    model="supervision.InspectionPlan",
    states=PlanStatus,
    description="A random inspection plan: published with its commitment, drawn at its time, completed with its results.",
    moves=(
        Move("publish", P.DRAFT, P.PUBLISHED, REGULATOR,
             refusal=gettext_lazy("Only a draft plan can be published.")),
        Move("draw", P.PUBLISHED, P.DRAWN, REGULATOR | SYSTEM, guards=(draw_time_come,),
             refusal=gettext_lazy("This plan is not waiting for its draw.")),
        Move("complete", P.DRAWN, P.COMPLETED, REGULATOR, guards=(every_result_entered,)),
    ),
)

# --- the e-mail of a notification -----------------------------------------------------------------------------

E = EmailStatus

NOTIFICATION_EMAIL = Machine(
    name="notification_email",
    model="supervision.Notification",
    field="email_status",
    states=EmailStatus,
    description="Whether an inbox message was e-mailed; the e-mail task retries failed ones.",
    moves=(
        Move("send", {E.QUEUED, E.FAILED}, E.SENT, SYSTEM),
        Move("fail", {E.QUEUED, E.FAILED}, E.FAILED, SYSTEM),
    ),
)

register(WARNING, COMPLAINT, PLAN, NOTIFICATION_EMAIL)
