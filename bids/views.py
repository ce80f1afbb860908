"""Pages for service requests, bids, selection results and objections.

Thin: each view parses a form, calls a service from market.requests.services or bids.services, and
redirects; a refusal or a ValidationError re-renders the page with the message (400, or 403 when
the agency may not act). Reads go through the selectors, so every page runs a fixed number of
queries whatever the number of rows. Sealing: bids are read only through bids_visible, which
before the deadline returns nothing but the user's own agencies' bids."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency, AgencyStatus
from market.core import page_cache
from market.accounts import permissions
from market.requests import selectors as request_selectors, services as request_services
from market.accounts.models import Organization
from market.catalogue.models import ServiceItem
from market.requests.models import RequestQuestion, RequestStatus, SelectionMethod, ServiceRequest
from market.core.money import fen_to_yuan
from market.core.once import submit_once
from market.search.api import facet_counts, request_list_search
from market.accounts.selectors import region_choices
from market.accounts.views import apply_validation_error

from . import selectors, services
from .forms import (AmendForm, AnswerForm, BidForm, EvaluatorsForm, ObjectionForm, QuestionForm, ReasonForm,
                    ReissueForm, RequestForm, RulingForm, ScoresForm, SelectForm, criteria_text, public_statuses)
from .models import Bid, BidStatus, Evaluator, ResultObjection, SelectionRun

PAGE_SIZE = 20
# Refusals that say the agency may not act at all answer 403; a wrong quote or a late bid, 400.
FORBIDDEN_REFUSALS = {"banned", "suspended", "not_active", "avoided"}


# --- helpers ----------------------------------------------------------------------------------------


def _posted(request):
    """The POST data for a form, even when empty (an empty POST still binds the form)."""
    return request.POST if request.method == "POST" else None


def _querystring(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _get_request(pk: int, user) -> ServiceRequest:
    """A request the user may see (drafts only to the owner's members), else 404."""
    obj = request_selectors.request_get_for_user(pk=pk, user=user)
    if obj is None:
        raise Http404(_("No such service request."))
    return obj


def _owner_request(request, pk: int) -> ServiceRequest:
    obj = _get_request(pk, request.user)
    if not permissions.can_act_for(request.user, obj.owner):
        raise PermissionDenied(_("Only members of %(org)s may do this.") % {"org": obj.owner.name})
    return obj


def _owner_organizations(user) -> list[Organization]:
    if not user.is_authenticated:
        return []
    orgs = Organization.objects.filter(memberships__user=user, kind=Organization.Kind.OWNER).order_by("name")
    return [o for o in orgs if permissions.can_act_for(user, o)]


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


def _errors_of(exc: ValidationError) -> list[str]:
    return list(exc.messages)


AMENDMENT_LABELS = {
    "budget_fen": gettext_lazy("Budget / price ceiling (yuan)"),
    "discount_min_bp": gettext_lazy("Lowest discount rate (%)"),
    "discount_max_bp": gettext_lazy("Highest discount rate (%)"),
}


def _amendment_rows(changes: dict) -> list[tuple[str, str]]:
    """An amendment's changed fields as (label, value) for people."""
    rows = []
    for key, value in (changes or {}).items():
        if key in AMENDMENT_LABELS:
            label = str(AMENDMENT_LABELS[key])
        else:
            try:
                label = str(ServiceRequest._meta.get_field(key).verbose_name)
            except FieldDoesNotExist:
                label = key
        if value is None:
            shown = "—"
        elif key == "budget_fen":
            shown = "¥" + fen_to_yuan(int(value))
        elif key in ("discount_min_bp", "discount_max_bp"):
            shown = f"{Decimal(int(value)) / 100:.2f}%"
        elif key in ("bid_deadline", "selection_time") and isinstance(value, str) and parse_datetime(value):
            shown = timezone.localtime(parse_datetime(value)).strftime("%Y-%m-%d %H:%M:%S")
        elif key == "quality_criteria" and isinstance(value, list):
            shown = "；".join(f"{c.get('name')}:{c.get('weight')}" for c in value if isinstance(c, dict))
        else:
            shown = str(value)
        rows.append((label, shown))
    return rows


# --- public lists -------------------------------------------------------------------------------------


def request_list(request):
    """Announcements (采购公告): published requests, filtered; only the bid count, never a price."""
    filters = request_selectors.RequestFilters.from_params(request.GET)
    now = timezone.now()
    page, result = request_list_search(filters=filters, page=request.GET.get("page"), page_size=PAGE_SIZE, now=now)
    for obj in page:
        obj.status_now = obj.effective_status(now)
        obj.status_now_label = _status_label(obj.status_now)
        obj.has_result = obj.status in request_selectors.RESULT_STATUSES
    page_cache.expires_at(request, *(obj.bid_deadline for obj in page))  # "open" turns "closed" by itself
    return render(request, "bids/request_list.html", {
        "page_obj": page, "filters": filters, "now": now, "querystring": _querystring(request),
        **_filter_choices(result, statuses=public_statuses()),
        "owner_organizations": _owner_organizations(request.user),
    })


def _filter_choices(result, *, statuses) -> dict:
    """The filter controls of the request lists, each choice with its count in the search result."""
    counts = facet_counts(result)
    service_items = list(ServiceItem.objects.filter(is_active=True).only("code", "name").order_by("code"))
    regions = list(region_choices(include_towns=False).only("code", "name", "full_name", "level"))
    for name, objects in (("service_item", service_items), ("region", regions)):
        for obj in objects:
            obj.facet_count = counts.get(name, {}).get(obj.code, 0)
    return {"service_items": service_items, "regions": regions, "search_fallback": result.fallback,
            "methods": [(v, l, counts.get("method", {}).get(v, 0)) for v, l in SelectionMethod.choices],
            "statuses": [(v, l, counts.get("status", {}).get(v, 0)) for v, l in statuses]}


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
    for obj in page:
        obj.status_now_label = _status_label(obj.effective_status(now))
        obj.standing_run = obj.standing_runs[0] if obj.standing_runs else None
    return render(request, "bids/result_list.html", {
        "page_obj": page, "filters": filters, "querystring": _querystring(request),
        **_filter_choices(result, statuses=[(s, RequestStatus(s).label) for s in request_selectors.RESULT_STATUSES]),
    })


# --- the request page -------------------------------------------------------------------------------------


def _detail_context(request, obj: ServiceRequest, *, bid_form=None, change_forms=None, question_form=None,
                    answer_forms=None, reissue_form=None, refusal: str = "", action_errors=None) -> dict:
    user = request.user
    now = timezone.now()
    status_now = obj.effective_status(now)
    is_owner = permissions.can_act_for(user, obj.owner)
    sealed = obj.is_sealed_at(now)
    bidding_open = obj.bidding_open_at(now)
    count, visible = selectors.bids_visible(request=obj, user=user, now=now)
    visible = list(visible)
    agencies = _user_agencies(user)
    agency_ids = {a.pk for a in agencies}
    own_bids = [b for b in visible if b.agency_id in agency_ids]
    opened_bids = [] if sealed else [b for b in visible if b.status == BidStatus.ACTIVE]
    active_agency_ids = {b.agency_id for b in own_bids if b.status == BidStatus.ACTIVE}

    if bidding_open:
        free = [a for a in agencies if a.pk not in active_agency_ids]
        if bid_form is None and free:
            bid_form = BidForm(service_request=obj, agencies=free)
        change_forms = change_forms or {}
        for b in own_bids:
            if b.status == BidStatus.ACTIVE:
                b.change_form = change_forms.get(b.pk) or BidForm(
                    service_request=obj, change=True,
                    initial={"price_fen": b.price_fen, "discount_bp": b.discount_bp, "proposal": b.proposal})
        if question_form is None and agencies:
            question_form = QuestionForm(organizations=sorted({a.organization for a in agencies}, key=lambda o: o.pk))
    else:
        bid_form = question_form = None

    questions = list(obj.questions.all())
    if is_owner:
        answer_forms = answer_forms or {}
        for q in questions:
            if not q.answer:
                q.answer_form = answer_forms.get(q.pk) or AnswerForm(prefix=f"a{q.pk}")
    else:
        questions = [q for q in questions if q.answer]

    amendments = [(a, _amendment_rows(a.changes)) for a in obj.amendments.all()]
    # A result exists once a selection has run: any result status, or a publicity period that was set.
    has_result = obj.status in request_selectors.RESULT_STATUSES or obj.publicity_ends_at is not None
    next_round = None
    if obj.status == RequestStatus.FAILED:
        next_round = ServiceRequest.objects.filter(previous_round=obj).only("pk", "status", "round_number").first()
        if is_owner and next_round is None and reissue_form is None:
            reissue_form = ReissueForm()
    owner_actions = {}
    if is_owner:
        owner_actions = {
            "edit": obj.status == RequestStatus.DRAFT,
            "publish": obj.status == RequestStatus.DRAFT,
            "amend": bidding_open,
            "cancel": obj.status in (RequestStatus.DRAFT, RequestStatus.PUBLISHED, RequestStatus.PUBLICITY),
            "evaluators": (obj.selection_method == SelectionMethod.WEIGHTED and obj.status == RequestStatus.PUBLISHED
                           and not sealed),
            "select": obj.status == RequestStatus.PUBLISHED and not sealed,
            "select_due": now >= obj.selection_time,
            "reissue": obj.status == RequestStatus.FAILED and next_round is None,
        }
    return {
        "sr": obj, "now": now, "status_now": status_now, "status_label": _status_label(status_now),
        "is_owner": is_owner, "sealed": sealed, "bidding_open": bidding_open, "bid_count": count,
        "own_bids": own_bids, "opened_bids": opened_bids, "bid_form": bid_form, "question_form": question_form,
        "questions": questions, "amendments": amendments, "has_result": has_result, "next_round": next_round,
        "owner_actions": owner_actions, "reissue_form": reissue_form, "refusal": refusal,
        "action_errors": action_errors or [], "quality_criteria_text": criteria_text(obj.quality_criteria),
        "is_agency_member": bool(agencies),
    }


def _render_detail(request, obj: ServiceRequest, status: int = 200, **kwargs):
    return render(request, "bids/request_detail.html", _detail_context(request, obj, **kwargs), status=status)


def request_detail(request, pk: int):
    obj = _get_request(pk, request.user)
    page_cache.expires_at(request, obj.bid_deadline)
    return _render_detail(request, obj)


# --- owner: draft, edit, publish, amend, cancel, re-issue, answer ---------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@submit_once
def request_new(request):
    owners = _owner_organizations(request.user)
    if not owners:
        raise PermissionDenied(_("Only members of a project owner organization post service requests."))
    form = RequestForm(_posted(request), owners=owners)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            obj = request_services.request_create(actor=request.user, owner=d["owner"],
                                                  required_qualifications=list(d["required_qualifications"]),
                                                  avoidances=d["avoidances"], **form.service_fields())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The draft is saved. Check it, then publish it."))
            return redirect("bids:request-detail", pk=obj.pk)
    return render(request, "bids/request_form.html", {"form": form, "sr": None},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int):
    obj = _owner_request(request, pk)
    if obj.status != RequestStatus.DRAFT:
        raise PermissionDenied(_("Only a draft can be edited; amend a published request instead."))
    form = RequestForm(_posted(request), owners=[obj.owner], with_avoidances=False,
                       initial=RequestForm.initial_for(obj))
    if request.method == "POST" and form.is_valid():
        try:
            request_services.request_update(actor=request.user, request=obj,
                                            required_qualifications=list(form.cleaned_data["required_qualifications"]),
                                            **form.service_fields())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("bids:request-detail", pk=obj.pk)
    return render(request, "bids/request_form.html", {"form": form, "sr": obj}, status=400 if form.errors else 200)


@login_required
@require_POST
def request_publish(request, pk: int):
    obj = _owner_request(request, pk)
    try:
        request_services.request_publish(actor=request.user, request=obj)
    except ValidationError as exc:
        return _render_detail(request, obj, status=400, action_errors=_errors_of(exc))
    messages.success(request, _("The request is published; bidding is open."))
    return redirect("bids:request-detail", pk=obj.pk)


@login_required
@require_http_methods(["GET", "POST"])
def request_amend(request, pk: int):
    obj = _owner_request(request, pk)
    form = AmendForm(_posted(request), service_request=obj)
    if request.method == "POST" and form.is_valid():
        try:
            amendment = request_services.request_amend(actor=request.user, request=obj,
                                                       reason=form.cleaned_data["reason"], **form.changes())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            if amendment.material:
                messages.success(request, _("The amendment is published. It is material: the minimum bidding window "
                                            "restarts and the bidders are told."))
            else:
                messages.success(request, _("The amendment is published."))
            return redirect("bids:request-detail", pk=obj.pk)
    return render(request, "bids/request_amend.html", {"form": form, "sr": obj}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_cancel(request, pk: int):
    obj = _owner_request(request, pk)
    form = ReasonForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            request_services.request_cancel(actor=request.user, request=obj, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The request is cancelled; the reason is published."))
            return redirect("bids:request-detail", pk=obj.pk)
    return render(request, "bids/request_cancel.html", {"form": form, "sr": obj}, status=400 if form.errors else 200)


@login_required
@require_POST
def request_reissue(request, pk: int):
    obj = _owner_request(request, pk)
    form = ReissueForm(request.POST)
    if form.is_valid():
        try:
            new = request_services.request_reissue(actor=request.user, request=obj,
                                                   bid_deadline=form.cleaned_data.get("bid_deadline"))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Round %(n)d is drafted. Check it, then publish it.") % {"n": new.round_number})
            return redirect("bids:request-detail", pk=new.pk)
    return _render_detail(request, obj, status=400, reissue_form=form)


@login_required
@require_POST
def question_answer(request, pk: int, qid: int):
    obj = _owner_request(request, pk)
    question = get_object_or_404(RequestQuestion, pk=qid, request=obj)
    form = AnswerForm(request.POST, prefix=f"a{question.pk}")
    if form.is_valid():
        try:
            request_services.question_answer(actor=request.user, question=question, answer=form.cleaned_data["answer"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The answer is published."))
            return redirect("bids:request-detail", pk=obj.pk)
    return _render_detail(request, obj, status=400, answer_forms={question.pk: form})


# --- owner: evaluation panel, scores, selection -----------------------------------------------------------


def _closed_bids(request, obj: ServiceRequest) -> list[Bid]:
    """The active bids, readable by the owner only once bidding has closed."""
    now = timezone.now()
    if obj.is_sealed_at(now):
        raise PermissionDenied(_("Bidding is still open; the bids stay sealed until the deadline."))
    count, visible = selectors.bids_visible(request=obj, user=request.user, now=now)
    return [b for b in visible if b.status == BidStatus.ACTIVE]


@login_required
@require_http_methods(["GET", "POST"])
def evaluators(request, pk: int):
    obj = _owner_request(request, pk)
    if obj.selection_method != SelectionMethod.WEIGHTED:
        raise Http404(_("Only the weighted-score method has an evaluation panel."))
    panel = list(Evaluator.objects.filter(request=obj).order_by("pk"))
    form = EvaluatorsForm(_posted(request), initial={"names": "\n".join(e.name for e in panel)})
    if request.method == "POST" and form.is_valid():
        try:
            services.evaluators_set(actor=request.user, request=obj, names=form.cleaned_data["names"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The evaluation panel is named. Enter its scores."))
            return redirect("bids:scores", pk=obj.pk)
    return render(request, "bids/evaluators.html", {"form": form, "sr": obj, "panel": panel},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def scores(request, pk: int):
    obj = _owner_request(request, pk)
    if obj.selection_method != SelectionMethod.WEIGHTED:
        raise Http404(_("Only the weighted-score method has quality scores."))
    bids = _closed_bids(request, obj)
    panel = list(Evaluator.objects.filter(request=obj).prefetch_related("scores").order_by("pk"))
    criteria = obj.quality_criteria
    initial = {}
    for ev in panel:
        index = {c["name"]: i for i, c in enumerate(criteria)}
        for s in ev.scores.all():
            if s.criterion in index:
                initial[f"s_{ev.pk}_{s.bid_id}_{index[s.criterion]}"] = s.score
    form = ScoresForm(_posted(request), evaluators=panel, bids=bids, criteria=criteria, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                for ev, bid, marks in form.scores():
                    services.quality_scores_submit(actor=request.user, evaluator=ev, bid=bid, scores=marks)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The scores are saved."))
            return redirect("bids:request-detail", pk=obj.pk)
    return render(request, "bids/scores.html", {"form": form, "sr": obj, "panel": panel, "bids": bids,
                                               "criteria": criteria}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def select(request, pk: int):
    obj = _owner_request(request, pk)
    bids = _closed_bids(request, obj)
    form = SelectForm(_posted(request), service_request=obj, bids=bids)
    if request.method == "POST" and form.is_valid():
        try:
            services.selection_run(actor=request.user, request=obj, direct_bid_id=form.cleaned_data.get("bid"),
                                   direct_reason=form.cleaned_data.get("reason", ""))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The selection has run; the result is published."))
            return redirect("bids:result-detail", pk=obj.pk)
    return render(request, "bids/select.html", {"form": form, "sr": obj, "bids": bids, "now": timezone.now()},
                  status=400 if form.errors else 200)


# --- agency: bids and questions ---------------------------------------------------------------------------


@login_required
@require_POST
@submit_once
def bid_submit(request, pk: int):
    obj = _get_request(pk, request.user)
    agencies = _user_agencies(request.user)
    if not agencies:
        raise PermissionDenied(_("Only members of an agency may bid."))
    form = BidForm(request.POST, service_request=obj, agencies=agencies)
    if form.is_valid():
        try:
            services.bid_submit(actor=request.user, request=obj, agency=form.cleaned_data["agency"], **form.quote())
        except services.BidRefused as exc:
            form.add_error(None, exc.refusal.message)
            return _render_detail(request, obj, status=_refusal_status(exc), bid_form=form, refusal=exc.refusal.message)
        messages.success(request, _("Your bid is submitted and sealed until the deadline."))
        return redirect("bids:request-detail", pk=obj.pk)
    return _render_detail(request, obj, status=400, bid_form=form)


def _own_bid(request, bid_id: int) -> Bid:
    bid = Bid.objects.select_related("agency__organization").filter(pk=bid_id).first()
    if bid is None or bid.agency_id not in selectors.user_agency_ids(request.user):
        raise Http404(_("No such bid of yours."))
    return bid


@login_required
@require_POST
def bid_change(request, bid_id: int):
    bid = _own_bid(request, bid_id)
    obj = _get_request(bid.request_id, request.user)
    form = BidForm(request.POST, service_request=obj, change=True)
    if form.is_valid():
        q = form.quote()
        try:
            services.bid_change(actor=request.user, bid=bid, price_fen=q["price_fen"], discount_bp=q["discount_bp"],
                                nonce=q["nonce"], proposal=q["proposal"])
        except services.BidRefused as exc:
            form.add_error(None, exc.refusal.message)
            return _render_detail(request, obj, status=_refusal_status(exc), change_forms={bid.pk: form},
                                  refusal=exc.refusal.message)
        messages.success(request, _("Your bid is changed."))
        return redirect("bids:request-detail", pk=obj.pk)
    return _render_detail(request, obj, status=400, change_forms={bid.pk: form})


@login_required
@require_POST
def bid_withdraw(request, bid_id: int):
    bid = _own_bid(request, bid_id)
    obj = _get_request(bid.request_id, request.user)
    try:
        services.bid_withdraw(actor=request.user, bid=bid)
    except services.BidRefused as exc:
        return _render_detail(request, obj, status=_refusal_status(exc), refusal=exc.refusal.message)
    messages.success(request, _("Your bid is withdrawn."))
    return redirect("bids:request-detail", pk=obj.pk)


@login_required
@require_POST
def question_ask(request, pk: int):
    obj = _get_request(pk, request.user)
    agencies = _user_agencies(request.user)
    if not agencies:
        raise PermissionDenied(_("Only agencies ask clarification questions."))
    form = QuestionForm(request.POST, organizations=sorted({a.organization for a in agencies}, key=lambda o: o.pk))
    if form.is_valid():
        try:
            request_services.question_ask(actor=request.user, request=obj, organization=form.cleaned_data["organization"],
                                          question=form.cleaned_data["question"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
            # Also above the page: after the deadline the question form itself is no longer shown.
            return _render_detail(request, obj, status=400, question_form=form, action_errors=_errors_of(exc))
        else:
            messages.success(request, _("Your question is sent; the answer will be published here."))
            return redirect("bids:request-detail", pk=obj.pk)
    return _render_detail(request, obj, status=400, question_form=form)


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


def _result_context(request, obj: ServiceRequest, objection_form=None) -> dict:
    now = timezone.now()
    runs = [_run_view(r) for r in obj.selection_runs.order_by("run")]
    if not runs:
        raise Http404(_("No result has been published for this request."))
    by_run = {r["run"].pk: r for r in runs}
    for o in ResultObjection.objects.filter(request=obj).select_related("bid__agency__organization").order_by("pk"):
        by_run[o.selection_run_id]["objections"].append(o)
    standing = [r for r in runs if r["run"].outcome != SelectionRun.Outcome.VOID]
    current = standing[-1] if standing else runs[-1]
    in_publicity = (obj.status == RequestStatus.PUBLICITY and obj.publicity_ends_at is not None
                    and now < obj.publicity_ends_at)
    if in_publicity and objection_form is None:
        agency_ids = selectors.user_agency_ids(request.user)
        own = list(Bid.objects.filter(request=obj, status=BidStatus.ACTIVE, agency_id__in=agency_ids)
                   .select_related("agency__organization")) if agency_ids else []
        objection_form = ObjectionForm(bids=own) if own else None
    return {"sr": obj, "now": now, "status_label": _status_label(obj.effective_status(now)), "current": current,
            "history": runs if len(runs) > 1 else [], "voided": [r for r in runs if r["run"].outcome == "void"],
            "in_publicity": in_publicity, "objection_form": objection_form}


def result_detail(request, pk: int):
    obj = _get_request(pk, request.user)
    return render(request, "bids/result_detail.html", _result_context(request, obj))


@login_required
@require_POST
def objection_lodge(request, pk: int):
    obj = _get_request(pk, request.user)
    agency_ids = selectors.user_agency_ids(request.user)
    own = list(Bid.objects.filter(request=obj, status=BidStatus.ACTIVE, agency_id__in=agency_ids)
               .select_related("agency__organization")) if agency_ids else []
    if not own:
        raise PermissionDenied(_("Only a bidder on this request may object to its result."))
    form = ObjectionForm(request.POST, bids=own)
    if form.is_valid():
        bid = next(b for b in own if b.pk == form.cleaned_data["bid"])
        try:
            services.objection_lodge(actor=request.user, request=obj, bid=bid, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Your objection is lodged; the award waits for a regulator's ruling."))
            return redirect("bids:result-detail", pk=obj.pk)
    return render(request, "bids/result_detail.html", _result_context(request, obj, objection_form=form), status=400)


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
