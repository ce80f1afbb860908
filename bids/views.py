"""Pages for bids, selection results and objections, and the bids' parts of a request's page.

A request's own pages (the announcements, its page, the owner's forms, the clarifications) are
market.requests.views. What bids show there — the bid panel (count, opened bids, the agency's own bids
with their change and withdraw forms, the bid form), the owner's selection actions and the link to the
result — are the panel functions below, registered in market.requests.panels by BidsConfig.ready().

Thin: each view parses a form, calls a service from bids.services, and redirects; a refusal or a
ValidationError re-renders the page with the message (400, or 403 when the agency may not act) — a bid
form through market.requests.views.render_request_page. Reads go through the selectors, so every page
runs a fixed number of queries whatever the number of rows. Sealing: bids are read only through
bids_visible, which before the deadline returns nothing but the user's own agencies' bids."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency, AgencyStatus
from market.accounts import permissions
from market.accounts.views import apply_validation_error
from market.core.once import submit_once
from market.requests import panels
from market.requests import selectors as request_selectors
from market.requests.models import RequestStatus, SelectionMethod, ServiceRequest
from market.requests.search import request_list_search
from market.requests.views import (PAGE_SIZE, filter_choices, owner_request_or_403, posted, querystring,
                                   render_request_page, visible_request_or_404)

from . import selectors, services
from .forms import BidForm, EvaluatorsForm, ObjectionForm, RulingForm, ScoresForm, SelectForm
from .models import Bid, BidStatus, Evaluator, ResultObjection, SelectionRun

# Refusals that say the agency may not act at all answer 403; a wrong quote or a late bid, 400.
FORBIDDEN_REFUSALS = {"banned", "suspended", "not_active", "avoided"}
PANEL = "bids"  # the name of the bids' parts of a request's page (market.requests.panels)


# --- helpers ----------------------------------------------------------------------------------------


def _user_agencies(user) -> list[Agency]:
    """The agency registrations the user acts for that can still take part (not withdrawn or rejected)."""
    ids = selectors.user_agency_ids(user)
    if not ids:
        return []
    return list(Agency.objects.filter(pk__in=ids).exclude(status__in=[AgencyStatus.WITHDRAWN, AgencyStatus.REJECTED])
                .select_related("organization").order_by("organization__name"))


def _refusal_status(exc: services.BidRefused) -> int:
    return 403 if exc.refusal.code in FORBIDDEN_REFUSALS else 400


def _status_label(value: str) -> str:
    return RequestStatus(value).label


def _render_request_page(request, service_request: ServiceRequest, *, status: int, refusal: str = "", **state):
    """The request's page again, with the bids' bound forms (bid_form, change_forms) in the bid panel."""
    return render_request_page(request, service_request, status=status, refusal=refusal, panel_state={PANEL: state})


# --- the bids' parts of a request's page (registered in BidsConfig.ready) ------------------------------------


def result_link(service_request: ServiceRequest, where: str) -> tuple[str, str] | None:
    """The link to the selection result, after the request's status."""
    if where == panels.LIST:
        if service_request.status in request_selectors.RESULT_STATUSES:
            return reverse("bids:result-detail", args=[service_request.pk]), _("result")
        return None
    # A result exists once a selection has run: any result status, or a publicity period that was set.
    if service_request.status in request_selectors.RESULT_STATUSES or service_request.publicity_ends_at is not None:
        return reverse("bids:result-detail", args=[service_request.pk]), _("See the selection result")
    return None


def selection_actions(request, page: panels.RequestPage, state: dict) -> dict:
    """The owner's actions of the selection: the evaluation panel and its scores, running the selection."""
    service_request = page.service_request
    published_closed = service_request.status == RequestStatus.PUBLISHED and not page.sealed
    return {
        "evaluators": service_request.selection_method == SelectionMethod.WEIGHTED and published_closed,
        "select": published_closed,
        "select_due": page.now >= service_request.selection_time,
    }


def bid_panel(request, page: panels.RequestPage, state: dict) -> dict:
    """The bids: their count (and, once bidding has closed, the bids themselves), the agency's own bids
    with their change and withdraw forms, and the bid form. `state`: the bound bid_form or change_forms
    ({bid pk: form}) of a refused or invalid submission."""
    service_request = page.service_request
    count, visible = selectors.bids_visible(request=service_request, user=request.user, now=page.now)
    visible = list(visible)
    agency_ids = {a.pk for a in page.user_agencies}
    own_bids = [b for b in visible if b.agency_id in agency_ids]
    opened_bids = [] if page.sealed else [b for b in visible if b.status == BidStatus.ACTIVE]
    bid_form = None
    if page.bidding_open:
        active_agency_ids = {b.agency_id for b in own_bids if b.status == BidStatus.ACTIVE}
        free = [a for a in page.user_agencies if a.pk not in active_agency_ids]
        bid_form = state.get("bid_form")
        if bid_form is None and free:
            bid_form = BidForm(service_request=service_request, agencies=free)
        change_forms = state.get("change_forms") or {}
        for b in own_bids:
            if b.status == BidStatus.ACTIVE:
                b.change_form = change_forms.get(b.pk) or BidForm(
                    service_request=service_request, change=True,
                    initial={"price_fen": b.price_fen, "discount_bp": b.discount_bp, "proposal": b.proposal})
    return {"bid_count": count, "own_bids": own_bids, "opened_bids": opened_bids, "bid_form": bid_form,
            "is_agency_member": bool(page.user_agencies)}


# --- the result list ------------------------------------------------------------------------------------------


def result_list(request):
    """Published results: requests in publicity and after, and failed rounds, with the standing winner."""
    filters = request_selectors.RequestFilters.from_params(request.GET)
    now = timezone.now()
    page, result = request_list_search(filters=filters, page=request.GET.get("page"), page_size=PAGE_SIZE, now=now,
                                       statuses=request_selectors.RESULT_STATUSES)
    prefetch_related_objects(list(page), Prefetch(
        "selection_runs",
        queryset=SelectionRun.objects.exclude(outcome=SelectionRun.Outcome.VOID)
        .select_related("winner__agency__organization").order_by("-run"),
        to_attr="standing_runs"))
    for service_request in page:
        service_request.status_now_label = _status_label(service_request.effective_status(now))
        service_request.standing_run = service_request.standing_runs[0] if service_request.standing_runs else None
    return render(request, "bids/result_list.html", {
        "page_obj": page, "filters": filters, "querystring": querystring(request),
        **filter_choices(result, statuses=[(s, RequestStatus(s).label) for s in request_selectors.RESULT_STATUSES]),
    })


# --- owner: evaluation panel, scores, selection -----------------------------------------------------------


def _closed_bids(request, service_request: ServiceRequest) -> list[Bid]:
    """The active bids, readable by the owner only once bidding has closed."""
    now = timezone.now()
    if service_request.is_sealed_at(now):
        raise PermissionDenied(_("Bidding is still open; the bids stay sealed until the deadline."))
    count, visible = selectors.bids_visible(request=service_request, user=request.user, now=now)
    return [b for b in visible if b.status == BidStatus.ACTIVE]


@login_required
@require_http_methods(["GET", "POST"])
def evaluators(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    if service_request.selection_method != SelectionMethod.WEIGHTED:
        raise Http404(_("Only the weighted-score method has an evaluation panel."))
    panel = list(Evaluator.objects.filter(request=service_request).order_by("pk"))
    form = EvaluatorsForm(posted(request), initial={"names": "\n".join(e.name for e in panel)})
    if request.method == "POST" and form.is_valid():
        try:
            services.evaluators_set(actor=request.user, request=service_request, names=form.cleaned_data["names"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The evaluation panel is named. Enter its scores."))
            return redirect("bids:scores", pk=service_request.pk)
    return render(request, "bids/evaluators.html", {"form": form, "sr": service_request, "panel": panel},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def scores(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    if service_request.selection_method != SelectionMethod.WEIGHTED:
        raise Http404(_("Only the weighted-score method has quality scores."))
    bids = _closed_bids(request, service_request)
    panel = list(Evaluator.objects.filter(request=service_request).prefetch_related("scores").order_by("pk"))
    criteria = service_request.quality_criteria
    initial = {}
    for ev in panel:
        index = {c["name"]: i for i, c in enumerate(criteria)}
        for s in ev.scores.all():
            if s.criterion in index:
                initial[f"s_{ev.pk}_{s.bid_id}_{index[s.criterion]}"] = s.score
    form = ScoresForm(posted(request), evaluators=panel, bids=bids, criteria=criteria, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                for ev, bid, marks in form.scores():
                    services.quality_scores_submit(actor=request.user, evaluator=ev, bid=bid, scores=marks)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The scores are saved."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render(request, "bids/scores.html", {"form": form, "sr": service_request, "panel": panel, "bids": bids,
                                               "criteria": criteria}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def select(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    bids = _closed_bids(request, service_request)
    form = SelectForm(posted(request), service_request=service_request, bids=bids)
    if request.method == "POST" and form.is_valid():
        try:
            services.selection_run(actor=request.user, request=service_request,
                                   direct_bid_id=form.cleaned_data.get("bid"),
                                   direct_reason=form.cleaned_data.get("reason", ""))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The selection has run; the result is published."))
            return redirect("bids:result-detail", pk=service_request.pk)
    return render(request, "bids/select.html", {"form": form, "sr": service_request, "bids": bids,
                                               "now": timezone.now()}, status=400 if form.errors else 200)


# --- agency: bids -----------------------------------------------------------------------------------------


@login_required
@require_POST
@submit_once
def bid_submit(request, pk: int):
    service_request = visible_request_or_404(pk, request.user)
    agencies = _user_agencies(request.user)
    if not agencies:
        raise PermissionDenied(_("Only members of an agency may bid."))
    form = BidForm(request.POST, service_request=service_request, agencies=agencies)
    if form.is_valid():
        try:
            services.bid_submit(actor=request.user, request=service_request, agency=form.cleaned_data["agency"],
                                **form.quote())
        except services.BidRefused as exc:
            form.add_error(None, exc.refusal.message)
            return _render_request_page(request, service_request, status=_refusal_status(exc), bid_form=form,
                                        refusal=exc.refusal.message)
        messages.success(request, _("Your bid is submitted and sealed until the deadline."))
        return redirect("requests:request-detail", pk=service_request.pk)
    return _render_request_page(request, service_request, status=400, bid_form=form)


def _own_bid(request, bid_id: int) -> Bid:
    bid = Bid.objects.select_related("agency__organization").filter(pk=bid_id).first()
    if bid is None or bid.agency_id not in selectors.user_agency_ids(request.user):
        raise Http404(_("No such bid of yours."))
    return bid


@login_required
@require_POST
def bid_change(request, bid_id: int):
    bid = _own_bid(request, bid_id)
    service_request = visible_request_or_404(bid.request_id, request.user)
    form = BidForm(request.POST, service_request=service_request, change=True)
    if form.is_valid():
        q = form.quote()
        try:
            services.bid_change(actor=request.user, bid=bid, price_fen=q["price_fen"], discount_bp=q["discount_bp"],
                                nonce=q["nonce"], proposal=q["proposal"])
        except services.BidRefused as exc:
            form.add_error(None, exc.refusal.message)
            return _render_request_page(request, service_request, status=_refusal_status(exc),
                                        change_forms={bid.pk: form}, refusal=exc.refusal.message)
        messages.success(request, _("Your bid is changed."))
        return redirect("requests:request-detail", pk=service_request.pk)
    return _render_request_page(request, service_request, status=400, change_forms={bid.pk: form})


@login_required
@require_POST
def bid_withdraw(request, bid_id: int):
    bid = _own_bid(request, bid_id)
    service_request = visible_request_or_404(bid.request_id, request.user)
    try:
        services.bid_withdraw(actor=request.user, bid=bid)
    except services.BidRefused as exc:
        return _render_request_page(request, service_request, status=_refusal_status(exc), refusal=exc.refusal.message)
    messages.success(request, _("Your bid is withdrawn."))
    return redirect("requests:request-detail", pk=service_request.pk)


# --- results and objections -----------------------------------------------------------------------------


def _run_view(run: SelectionRun) -> dict:
    """A published run, arranged for the page: every field comes from run.published."""
    p = run.published
    ranking = {bid_id: i for i, bid_id in enumerate(p.get("ranking") or [], start=1)}
    criteria = [c["name"] for c in (p.get("quality_criteria") or [])]
    eligible, evaluator_rows = [], []
    for e in p.get("eligible", []):
        eligible.append({**e, "rank": ranking.get(e["bid_id"]), "is_winner": e["bid_id"] == p.get("winner_bid_id")})
        for name, marks in sorted((e.get("evaluator_scores") or {}).items()):
            evaluator_rows.append({"bid_id": e["bid_id"], "agency": e["agency"], "evaluator": name,
                                   "scores": [marks.get(c, "—") for c in criteria]})
    winner = next((e for e in eligible if e["is_winner"]), None)
    return {"run": run, "p": p, "eligible": eligible, "excluded": p.get("excluded", []), "criteria": criteria,
            "evaluator_rows": evaluator_rows, "winner": winner, "objections": []}


def _result_context(request, service_request: ServiceRequest, objection_form=None) -> dict:
    now = timezone.now()
    runs = [_run_view(r) for r in service_request.selection_runs.order_by("run")]
    if not runs:
        raise Http404(_("No result has been published for this request."))
    by_run = {r["run"].pk: r for r in runs}
    objections = ResultObjection.objects.filter(request=service_request).select_related("bid__agency__organization")
    for o in objections.order_by("pk"):
        by_run[o.selection_run_id]["objections"].append(o)
    standing = [r for r in runs if r["run"].outcome != SelectionRun.Outcome.VOID]
    current = standing[-1] if standing else runs[-1]
    in_publicity = (service_request.status == RequestStatus.PUBLICITY and service_request.publicity_ends_at is not None
                    and now < service_request.publicity_ends_at)
    if in_publicity and objection_form is None:
        agency_ids = selectors.user_agency_ids(request.user)
        own = list(Bid.objects.filter(request=service_request, status=BidStatus.ACTIVE, agency_id__in=agency_ids)
                   .select_related("agency__organization")) if agency_ids else []
        objection_form = ObjectionForm(bids=own) if own else None
    return {"sr": service_request, "now": now, "status_label": _status_label(service_request.effective_status(now)),
            "current": current, "history": runs if len(runs) > 1 else [],
            "voided": [r for r in runs if r["run"].outcome == "void"],
            "in_publicity": in_publicity, "objection_form": objection_form}


def result_detail(request, pk: int):
    service_request = visible_request_or_404(pk, request.user)
    return render(request, "bids/result_detail.html", _result_context(request, service_request))


@login_required
@require_POST
def objection_lodge(request, pk: int):
    service_request = visible_request_or_404(pk, request.user)
    agency_ids = selectors.user_agency_ids(request.user)
    own = list(Bid.objects.filter(request=service_request, status=BidStatus.ACTIVE, agency_id__in=agency_ids)
               .select_related("agency__organization")) if agency_ids else []
    if not own:
        raise PermissionDenied(_("Only a bidder on this request may object to its result."))
    form = ObjectionForm(request.POST, bids=own)
    if form.is_valid():
        bid = next(b for b in own if b.pk == form.cleaned_data["bid"])
        try:
            services.objection_lodge(actor=request.user, request=service_request, bid=bid,
                                     reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your objection is lodged; the award waits for a regulator's ruling."))
            return redirect("bids:result-detail", pk=service_request.pk)
    return render(request, "bids/result_detail.html", _result_context(request, service_request, objection_form=form),
                  status=400)


# --- regulator ----------------------------------------------------------------------------------------------


def _open_objections():
    return (ResultObjection.objects.filter(status=ResultObjection.Status.OPEN)
            .select_related("request__owner", "request__service_item", "bid__agency__organization",
                            "selection_run__winner__agency__organization")
            .order_by("created_at", "pk"))


def _render_objections(request, forms_by_id: dict | None = None, status: int = 200):
    objections = list(_open_objections())
    forms_by_id = forms_by_id or {}
    for o in objections:
        o.form = forms_by_id.get(o.pk) or RulingForm(prefix=f"o{o.pk}")
    return render(request, "bids/regulator_objections.html", {"objections": objections}, status=status)


@login_required
def regulator_objections(request):
    permissions.require_regulator(request.user)
    return _render_objections(request)


@login_required
@require_POST
def objection_rule(request, objection_id: int):
    permissions.require_regulator(request.user)
    objection = get_object_or_404(ResultObjection, pk=objection_id)
    form = RulingForm(request.POST, prefix=f"o{objection.pk}")
    if form.is_valid():
        try:
            services.objection_rule(actor=request.user, objection=objection,
                                    uphold=form.cleaned_data["decision"] == "uphold", ruling=form.cleaned_data["ruling"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The ruling is published."))
            return redirect(reverse("bids:result-detail", args=[objection.request_id]))
    if not ResultObjection.objects.filter(pk=objection.pk, status=ResultObjection.Status.OPEN).exists():
        messages.error(request, _("This objection has already been ruled on."))
        return redirect("bids:regulator-objections")
    return _render_objections(request, forms_by_id={objection.pk: form}, status=400)
