"""Public credit pages (black list, red list, breach details) and the regulator's and agency's forms."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from market.accounts import permissions
from market.accounts.views import apply_validation_error

from . import selectors, services
from .forms import BreachForm, DecisionForm, TextForm
from .models import Appeal, Breach, RepairRequest


def credit_index(request):
    now = timezone.now()
    black = Paginator(selectors.blacklist(at=now), 50).get_page(request.GET.get("page"))
    red = selectors.redlist(at=now)[:50]
    recent = selectors.breaches_public()[:30]
    return render(request, "credit/index.html", {"black": black, "red": red, "recent": recent, "now": now})


def blacklist_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="blacklist.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Unified social credit code"), _("Agency"), _("Region"), _("Banned until"), _("Credit score")])
    for a in selectors.blacklist().iterator(chunk_size=2000):
        writer.writerow([a.organization.uscc, a.organization.name, a.organization.region_id,
                         timezone.localtime(a.ban_ends).strftime("%Y-%m-%d %H:%M"), a.credit_score])
    return response


def redlist_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="redlist.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Unified social credit code"), _("Agency"), _("Region"), _("Credit grade"), _("Credit score")])
    for a in selectors.redlist().iterator(chunk_size=2000):
        writer.writerow([a.organization.uscc, a.organization.name, a.organization.region_id, a.credit_grade, a.credit_score])
    return response


def breach_detail(request, pk: int):
    breach = get_object_or_404(Breach.objects.select_related("rule", "agency__organization"), pk=pk)
    is_member = permissions.can_act_for(request.user, breach.agency.organization)
    is_regulator = permissions.is_regulator(request.user)
    return render(request, "credit/breach_detail.html", {
        "breach": breach, "is_member": is_member, "is_regulator": is_regulator,
        "appeals": breach.appeals.all(), "repairs": breach.repairs.all(),
        "appeal_form": TextForm(label=_("Grounds of the appeal")), "repair_form": TextForm(label=_("Evidence of correction")),
        "decision_form": DecisionForm(), "now": timezone.now(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def breach_new(request):
    permissions.require_regulator(request.user)
    form = BreachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            breach = services.breach_record(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Breach recorded."))
            return redirect("credit:breach", pk=breach.pk)
    return render(request, "credit/breach_form.html", {"form": form}, status=400 if form.errors else 200)


def _text_post(request, pk, *, action):
    breach = get_object_or_404(Breach.objects.select_related("agency__organization"), pk=pk)
    form = TextForm(request.POST)
    if form.is_valid():
        try:
            if action == "appeal":
                services.appeal_lodge(actor=request.user, breach=breach, reason=form.cleaned_data["text"])
            else:
                services.repair_request(actor=request.user, breach=breach, evidence=form.cleaned_data["text"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("credit:breach", pk=pk)
        messages.success(request, _("Submitted; a regulator will decide."))
    else:
        messages.error(request, _("Fill in the text."))
    return redirect("credit:breach", pk=pk)


@login_required
@require_http_methods(["POST"])
def appeal_new(request, pk: int):
    return _text_post(request, pk, action="appeal")


@login_required
@require_http_methods(["POST"])
def repair_new(request, pk: int):
    return _text_post(request, pk, action="repair")


@login_required
@require_http_methods(["POST"])
def appeal_decide(request, appeal_id: int):
    appeal = get_object_or_404(Appeal, pk=appeal_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.appeal_decide(actor=request.user, appeal=appeal, grant=form.cleaned_data["decision"] == "yes",
                                   ruling=form.cleaned_data["ruling"])
            messages.success(request, _("Decision saved."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("credit:breach", pk=appeal.breach_id)


@login_required
@require_http_methods(["POST"])
def repair_decide(request, repair_id: int):
    repair = get_object_or_404(RepairRequest, pk=repair_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.repair_decide(actor=request.user, repair=repair, approve=form.cleaned_data["decision"] == "yes",
                                   ruling=form.cleaned_data["ruling"])
            messages.success(request, _("Decision saved."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return redirect("credit:breach", pk=repair.breach_id)
