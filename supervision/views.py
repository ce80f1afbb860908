"""Supervision pages: the regulators' dashboard and desk (warnings, complaints, inspections), the
public complaint and inspection lists (the inbox and preferences are market/notifications').
Thin: they parse input, call services or selectors, render."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from market.accounts import permissions
from market.accounts.models import User
from market.core.models import AuditEvent
from market.core.once import submit_once
from market.accounts.views import apply_validation_error

from supervision import charts, indicators, selectors, services
from supervision.conf import setting
from .forms import (ComplaintActionForm, ComplaintForm, DismissForm, EscalateForm, PlanForm,
                    ResultForm)
from .models import (Complaint, ComplaintStatus, Inspection, InspectionPlan, IndicatorRun, PlanStatus,
                     RiskWarning, WarningRule, WarningStatus)


def _regulator(request) -> None:
    permissions.require_regulator(request.user)


# --- dashboard -----------------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    _regulator(request)
    figures = selectors.dashboard(now=timezone.now())
    panels = [{"figure": f, "chart": charts.bar_chart(f) if f.series else None} for f in figures.values()]
    return render(request, "supervision/dashboard.html", {
        "panels": panels,
        "open_warnings": RiskWarning.objects.filter(status=WarningStatus.OPEN, current=True).count(),
        "complaint_counts": selectors.complaint_counts(),
    })


@login_required
def figure_csv(request, key: str):
    _regulator(request)
    if key not in selectors.FIGURE_KEYS:
        raise Http404
    figure = selectors.dashboard(now=timezone.now())[key]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="supervision-{key}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([str(c.label) for c in figure.columns])
    writer.writerows(figure.csv_rows())
    return response


# --- warning signs ---------------------------------------------------------------------------------------------


@login_required
def warning_list(request):
    _regulator(request)
    status = request.GET.get("status", WarningStatus.OPEN)
    status = status if status in WarningStatus.values or status == "all" else WarningStatus.OPEN
    rule = request.GET.get("rule") if request.GET.get("rule") in WarningRule.values else None
    qs = selectors.warnings_list(status=None if status == "all" else status, rule=rule)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "supervision/warning_list.html", {
        "page": page, "status": status, "rule": rule, "statuses": WarningStatus.choices, "rules": WarningRule.choices,
        "rule_texts": [(code, label, indicators.rule_text(code)) for code, label in WarningRule.choices],
        "last_run": IndicatorRun.objects.filter(finished_at__isnull=False).first(),
    })


@login_required
@require_POST
def warning_refresh(request):
    _regulator(request)
    run = indicators.warnings_refresh(now=timezone.now())
    messages.success(request, _("Warning signs recomputed: %(n)d new.") % {"n": run.created})
    return redirect("supervision:warnings")


@login_required
def warning_detail(request, pk: int):
    _regulator(request)
    warning = get_object_or_404(RiskWarning.objects.select_related("decided_by", "request", "owner")
                                .prefetch_related("agencies__organization", "breaches__rule"), pk=pk)
    return render(request, "supervision/warning_detail.html", {
        "warning": warning, "rule_text": indicators.rule_text(warning.rule),
        "dismiss_form": DismissForm(), "escalate_form": EscalateForm(warning=warning),
        "evidence_json": json.dumps(warning.evidence, ensure_ascii=False, indent=2, sort_keys=True),
    })


@login_required
@require_POST
def warning_dismiss(request, pk: int):
    _regulator(request)
    warning = get_object_or_404(RiskWarning, pk=pk)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            services.warning_dismiss(actor=request.user, warning=warning, reason=form.cleaned_data["reason"])
            messages.success(request, _("Warning dismissed."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Give the reason for dismissing the warning."))
    return redirect("supervision:warning", pk=pk)


@login_required
@require_POST
def warning_escalate(request, pk: int):
    _regulator(request)
    warning = get_object_or_404(RiskWarning, pk=pk)
    form = EscalateForm(request.POST, warning=warning)
    if form.is_valid():
        try:
            breaches = services.warning_escalate(actor=request.user, warning=warning, rule=form.cleaned_data["rule"],
                                                 agencies=form.cleaned_data["agencies"], note=form.cleaned_data["note"])
            messages.success(request, _("%(n)d breach(es) recorded from the warning.") % {"n": len(breaches)})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("supervision:warning", pk=pk)


# --- complaints ------------------------------------------------------------------------------------------------


def complaint_list(request):
    """Public: subject, dates, status and decision; never the complainant, the grounds or contacts."""
    status = request.GET.get("status")
    qs = selectors.complaints_public()
    if status in ComplaintStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "supervision/complaint_list.html", {"page": page, "status": status,
                                                                "statuses": ComplaintStatus.choices})


@login_required
@require_http_methods(["GET", "POST"])
@submit_once
def complaint_new(request):
    initial = {}
    for kind in ("request", "agency", "owner"):
        if request.GET.get(kind):
            initial["subject_type"] = kind
            initial["reference"] = request.GET[kind]
    form = ComplaintForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            complaint = services.complaint_lodge(actor=request.user, subject_type=d["subject_type"], grounds=d["grounds"],
                                                 request=d.get("request"), agency=d.get("agency"), owner=d.get("owner"),
                                                 contact_phone=d.get("contact_phone", ""))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Complaint %(n)s received. A regulator will accept or reject it by %(d)s.")
                             % {"n": complaint.number,
                                "d": timezone.localtime(complaint.accept_by).strftime("%Y-%m-%d")})
            return redirect("supervision:complaint-mine")
    return render(request, "supervision/complaint_form.html", {
        "form": form, "accept_days": setting("COMPLAINT_ACCEPT_WORKING_DAYS"),
        "decide_days": setting("COMPLAINT_DECIDE_WORKING_DAYS")}, status=400 if form.errors else 200)


@login_required
def complaint_mine(request):
    complaints = Complaint.objects.filter(complainant=request.user).order_by("-lodged_at")
    return render(request, "supervision/complaint_mine.html", {"complaints": complaints, "now": timezone.now()})


@login_required
def complaint_queue(request):
    _regulator(request)
    status = request.GET.get("status", "open")
    qs = selectors.complaints_queue()
    if status == "open":
        qs = qs.filter(status__in=[ComplaintStatus.RECEIVED, ComplaintStatus.ACCEPTED, ComplaintStatus.INVESTIGATING])
    elif status in ComplaintStatus.values:
        qs = qs.filter(status=status)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    for complaint in page:
        complaint.overdue = complaint.is_overdue_at(now)
    return render(request, "supervision/complaint_queue.html", {"page": page, "status": status, "now": now,
                                                                 "statuses": ComplaintStatus.choices})


@login_required
@require_http_methods(["GET", "POST"])
def complaint_handle(request, pk: int):
    _regulator(request)
    complaint = get_object_or_404(Complaint.objects.select_related("complainant", "handled_by", "request", "agency",
                                                                   "owner"), pk=pk)
    allowed = sorted(services.COMPLAINT_TRANSITIONS[complaint.status], key=ComplaintStatus.values.index)
    form = ComplaintActionForm(request.POST or None, allowed=allowed)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.complaint_transition(actor=request.user, complaint=complaint, to=d["to"], text=d["text"],
                                          outcome=d["outcome"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Complaint updated."))
            return redirect("supervision:complaint-handle", pk=pk)
    history = AuditEvent.objects.filter(object_type="supervision.complaint", object_id=str(complaint.pk)).order_by("id")
    return render(request, "supervision/complaint_handle.html", {
        "complaint": complaint, "form": form if allowed else None, "history": history,
        "overdue": complaint.is_overdue_at(timezone.now())},
        status=400 if form.errors else 200)


# --- random inspections ------------------------------------------------------------------------------------------


def plan_list(request):
    plans = selectors.plans_public()
    drafts = InspectionPlan.objects.filter(status=PlanStatus.DRAFT) if permissions.is_regulator(request.user) else []
    return render(request, "supervision/plan_list.html", {"plans": plans, "drafts": drafts})


def _plan_or_404(request, pk: int) -> InspectionPlan:
    plan = get_object_or_404(InspectionPlan.objects.prefetch_related("service_items", "regions"), pk=pk)
    if plan.status == PlanStatus.DRAFT and not permissions.is_regulator(request.user):
        raise Http404
    return plan


def plan_detail(request, pk: int):
    plan = _plan_or_404(request, pk)
    inspections = list(plan.inspections.select_related("agency__organization")
                       .prefetch_related(Prefetch("inspectors", queryset=User.objects.order_by("pk"))))
    is_regulator = permissions.is_regulator(request.user)
    for inspection in inspections:  # the assigned inspectors get a form to enter the result
        may_record = is_regulator and plan.status == PlanStatus.DRAWN and inspection.recorded_at is None and (
            request.user.is_superuser or any(u.pk == request.user.pk for u in inspection.inspectors.all()))
        inspection.form = ResultForm(prefix=f"i{inspection.pk}") if may_record else None
    return render(request, "supervision/plan_detail.html", {
        "plan": plan, "inspections": inspections, "is_regulator": is_regulator, "now": timezone.now(),
        "verification": services.draw.verify(plan.result) if plan.result else None,
        "procedure": services.draw.PROCEDURE,
        "draft_population": (services.plan_population(service_items=plan.service_items.all(), regions=plan.regions.all())
                             .count() if plan.status == PlanStatus.DRAFT else None),
    })


def plan_json(request, pk: int):
    """Everything needed to recompute the draw (the parameters and commitment before it, the secret after)."""
    plan = _plan_or_404(request, pk)
    response = JsonResponse(selectors.plan_published(plan), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'inline; filename="inspection-plan-{plan.pk}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request):
    _regulator(request)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            plan = services.plan_create(actor=request.user, title=d["title"], description=d["description"],
                                        service_items=d["service_items"], regions=d["regions"],
                                        sample_size=d["sample_size"], inspectors_per_agency=d["inspectors_per_agency"],
                                        inspectors=d["inspectors"], draw_at=d["draw_at"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Plan saved as a draft. Publish it to commit to the draw."))
            return redirect("supervision:plan", pk=plan.pk)
    return render(request, "supervision/plan_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def plan_publish(request, pk: int):
    _regulator(request)
    plan = get_object_or_404(InspectionPlan, pk=pk)
    try:
        services.plan_publish(actor=request.user, plan=plan)
        messages.success(request, _("Plan published with its commitment; the draw runs at the published time."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("supervision:plan", pk=pk)


@login_required
@require_POST
def plan_draw(request, pk: int):
    _regulator(request)
    plan = get_object_or_404(InspectionPlan, pk=pk)
    try:
        services.plan_draw(actor=request.user, plan=plan)
        messages.success(request, _("Draw done and published."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("supervision:plan", pk=pk)


@login_required
@require_POST
def inspection_result(request, pk: int, inspection_id: int):
    _regulator(request)
    inspection = get_object_or_404(Inspection, pk=inspection_id, plan_id=pk)
    form = ResultForm(request.POST, prefix=f"i{inspection.pk}")
    if form.is_valid():
        try:
            services.inspection_record(actor=request.user, inspection=inspection, **form.cleaned_data)
            messages.success(request, _("Result entered and published."))
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.error(request, _("Choose the outcome and describe the findings."))
    return redirect("supervision:plan", pk=pk)
