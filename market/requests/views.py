"""Pages of service requests: the announcements, a request's page, the owner's forms (new, edit, publish,
amend, cancel, re-issue) and the clarifications (an agency asks, the owner answers).

Thin: each view parses a form, calls a service from market.requests.services and redirects; a ValidationError
re-renders the page with the message (400). Reads go through the selectors, so every page runs a fixed number
of queries whatever the number of rows. What the domains above show on these pages (bids, the selection) they
register in market.requests.panels, and their views re-render a request's page after a refused form through
render_request_page."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agencies.models import Agency, AgencyStatus
from agencies.selectors import agencies_of_user
from market.accounts import permissions
from market.accounts.models import Organization
from market.accounts.selectors import region_choices
from market.accounts.views import apply_validation_error
from market.catalogue.models import ServiceItem
from market.core import page_cache
from market.core.money import fen_to_yuan
from market.core.once import submit_once
from market.search.api import facet_counts

from . import panels, selectors, services
from .forms import AmendForm, AnswerForm, QuestionForm, ReasonForm, ReissueForm, RequestForm, public_statuses
from .models import RequestQuestion, RequestStatus, SelectionMethod, ServiceRequest
from .search import request_list_search

PAGE_SIZE = 20


# --- helpers (the bid and result pages use them too) ---------------------------------------------------------


def posted(request):
    """The POST data for a form, even when empty (an empty POST still binds the form)."""
    return request.POST if request.method == "POST" else None


def querystring(request) -> str:
    """The list's query without the page number, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def visible_request_or_404(pk: int, user) -> ServiceRequest:
    """A request the user may see (drafts only to the owner's members), else 404."""
    service_request = selectors.request_get_for_user(pk=pk, user=user)
    if service_request is None:
        raise Http404(_("No such service request."))
    return service_request


def owner_request_or_403(request, pk: int) -> ServiceRequest:
    """A request the user acts for as its owner, else 403 (404 if the user may not see it)."""
    service_request = visible_request_or_404(pk, request.user)
    if not permissions.can_act_for(request.user, service_request.owner):
        raise PermissionDenied(_("Only members of %(org)s may do this.") % {"org": service_request.owner.name})
    return service_request


def filter_choices(result, *, statuses) -> dict:
    """The filter controls of the request lists, each choice with its count in the search result."""
    counts = facet_counts(result)
    service_items = list(ServiceItem.objects.filter(is_active=True).only("code", "name").order_by("code"))
    regions = list(region_choices(include_towns=False).only("code", "name", "full_name", "level"))
    for name, choices in (("service_item", service_items), ("region", regions)):
        for choice in choices:
            choice.facet_count = counts.get(name, {}).get(choice.code, 0)
    return {"service_items": service_items, "regions": regions, "search_fallback": result.fallback,
            "methods": [(v, l, counts.get("method", {}).get(v, 0)) for v, l in SelectionMethod.choices],
            "statuses": [(v, l, counts.get("status", {}).get(v, 0)) for v, l in statuses]}


def _owner_organizations(user) -> list[Organization]:
    if not user.is_authenticated:
        return []
    orgs = Organization.objects.filter(memberships__user=user, kind=Organization.Kind.OWNER).order_by("name")
    return [o for o in orgs if permissions.can_act_for(user, o)]


def _user_agencies(user) -> list[Agency]:
    """The agency registrations the user acts for that can still take part (not withdrawn or rejected)."""
    return list(agencies_of_user(user=user).filter(organization__kind=Organization.Kind.AGENCY)
                .exclude(status__in=[AgencyStatus.WITHDRAWN, AgencyStatus.REJECTED]).order_by("organization__name"))


def _asking_organizations(agencies: list[Agency]) -> list[Organization]:
    return sorted({a.organization for a in agencies}, key=lambda o: o.pk)


def _status_label(value: str) -> str:
    return RequestStatus(value).label


def _yuan(fen) -> str:
    return "—" if fen in (None, "") else fen_to_yuan(int(fen))


def _percent(bp) -> str:
    return "—" if bp in (None, "") else f"{Decimal(int(bp)) / 100:.2f}"


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
            shown = _percent(value) + "%"
        elif key in ("bid_deadline", "selection_time") and isinstance(value, str) and parse_datetime(value):
            shown = timezone.localtime(parse_datetime(value)).strftime("%Y-%m-%d %H:%M:%S")
        elif key == "quality_criteria" and isinstance(value, list):
            shown = "；".join(f"{c.get('name')}:{c.get('weight')}" for c in value if isinstance(c, dict))
        else:
            shown = str(value)
        rows.append((label, shown))
    return rows


# --- the announcements --------------------------------------------------------------------------------------


def request_list(request):
    """Announcements (采购公告): published requests, filtered; only the bid count, never a price."""
    filters = selectors.RequestFilters.from_params(request.GET)
    now = timezone.now()
    page, result = request_list_search(filters=filters, page=request.GET.get("page"), page_size=PAGE_SIZE, now=now)
    for service_request in page:
        service_request.status_now = service_request.effective_status(now)
        service_request.status_now_label = _status_label(service_request.status_now)
        service_request.budget_yuan = _yuan(service_request.budget_fen)
        service_request.status_links = panels.status_links(service_request, where=panels.LIST)
    page_cache.expires_at(request, *(r.bid_deadline for r in page))  # "open" turns "closed" by itself
    return render(request, "requests/list.html", {
        "page_obj": page, "filters": filters, "now": now, "querystring": querystring(request),
        **filter_choices(result, statuses=public_statuses()),
        "owner_organizations": _owner_organizations(request.user),
    })


# --- a request's page -------------------------------------------------------------------------------------


def _page_context(request, service_request: ServiceRequest, *, panel_state=None, question_form=None,
                  answer_forms=None, reissue_form=None, refusal: str = "", action_errors=None) -> dict:
    user = request.user
    now = timezone.now()
    status_now = service_request.effective_status(now)
    is_owner = permissions.can_act_for(user, service_request.owner)
    bidding_open = service_request.bidding_open_at(now)
    agencies = _user_agencies(user)
    page = panels.RequestPage(service_request=service_request, now=now, status_now=status_now, is_owner=is_owner,
                              sealed=service_request.is_sealed_at(now), bidding_open=bidding_open,
                              user_agencies=agencies)

    if not bidding_open:
        question_form = None
    elif question_form is None and agencies:
        question_form = QuestionForm(organizations=_asking_organizations(agencies))

    questions = list(service_request.questions.all())
    if is_owner:
        answer_forms = answer_forms or {}
        for q in questions:
            if not q.answer:
                q.answer_form = answer_forms.get(q.pk) or AnswerForm(prefix=f"a{q.pk}")
    else:
        questions = [q for q in questions if q.answer]

    amendments = [(a, _amendment_rows(a.changes)) for a in service_request.amendments.all()]
    next_round = None
    if service_request.status == RequestStatus.FAILED:
        next_round = (ServiceRequest.objects.filter(previous_round=service_request)
                      .only("pk", "status", "round_number").first())
        if is_owner and next_round is None and reissue_form is None:
            reissue_form = ReissueForm()
    owner_actions = {}
    if is_owner:
        owner_actions = {
            "edit": service_request.status == RequestStatus.DRAFT,
            "publish": service_request.status == RequestStatus.DRAFT,
            "amend": bidding_open,
            "cancel": service_request.status in (RequestStatus.DRAFT, RequestStatus.PUBLISHED, RequestStatus.PUBLICITY),
            "reissue": service_request.status == RequestStatus.FAILED and next_round is None,
        }
    return {
        "sr": service_request, "now": now, "status_now": status_now, "status_label": _status_label(status_now),
        "is_owner": is_owner, "sealed": page.sealed, "bidding_open": bidding_open, "question_form": question_form,
        "questions": questions, "amendments": amendments, "next_round": next_round, "owner_actions": owner_actions,
        "reissue_form": reissue_form, "refusal": refusal, "action_errors": action_errors or [],
        "budget_yuan": _yuan(service_request.budget_fen),
        "discount_min_percent": _percent(service_request.discount_min_bp),
        "discount_max_percent": _percent(service_request.discount_max_bp),
        "status_links": panels.status_links(service_request, where=panels.DETAIL),
        "owner_action_panels": panels.owner_actions(request, page, panel_state),
        "detail_panels": panels.detail_panels(request, page, panel_state),
    }


def render_request_page(request, service_request: ServiceRequest, *, status: int = 200, refusal: str = "",
                        action_errors: list[str] | None = None, panel_state: dict | None = None, **forms):
    """A request's page. A view that re-renders it after a refused or invalid form passes the refusal or
    errors (shown above the page) and its bound forms: a panel's under its name in `panel_state`
    (see market.requests.panels), the page's own as question_form, answer_forms ({question pk: form})
    or reissue_form."""
    context = _page_context(request, service_request, panel_state=panel_state, refusal=refusal,
                            action_errors=action_errors, **forms)
    return render(request, "requests/detail.html", context, status=status)


def request_detail(request, pk: int):
    service_request = visible_request_or_404(pk, request.user)
    page_cache.expires_at(request, service_request.bid_deadline)  # sealed bids open by themselves
    return render_request_page(request, service_request)


# --- the owner's forms ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
@submit_once
def request_new(request):
    owners = _owner_organizations(request.user)
    if not owners:
        raise PermissionDenied(_("Only members of a project owner organization post service requests."))
    form = RequestForm(posted(request), owners=owners)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            service_request = services.request_create(
                actor=request.user, owner=d["owner"], required_qualifications=list(d["required_qualifications"]),
                avoidances=d["avoidances"], **form.service_fields())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The draft is saved. Check it, then publish it."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render(request, "requests/form.html", {"form": form, "sr": None}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_edit(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    if service_request.status != RequestStatus.DRAFT:
        raise PermissionDenied(_("Only a draft can be edited; amend a published request instead."))
    form = RequestForm(posted(request), owners=[service_request.owner], with_avoidances=False,
                       initial=RequestForm.initial_for(service_request))
    if request.method == "POST" and form.is_valid():
        try:
            services.request_update(actor=request.user, request=service_request,
                                    required_qualifications=list(form.cleaned_data["required_qualifications"]),
                                    **form.service_fields())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render(request, "requests/form.html", {"form": form, "sr": service_request},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def request_publish(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    try:
        services.request_publish(actor=request.user, request=service_request)
    except ValidationError as exc:
        return render_request_page(request, service_request, status=400, action_errors=list(exc.messages))
    messages.success(request, _("The request is published; bidding is open."))
    return redirect("requests:request-detail", pk=service_request.pk)


@login_required
@require_http_methods(["GET", "POST"])
def request_amend(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    form = AmendForm(posted(request), service_request=service_request)
    if request.method == "POST" and form.is_valid():
        try:
            amendment = services.request_amend(actor=request.user, request=service_request,
                                               reason=form.cleaned_data["reason"], **form.changes())
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            if amendment.material:
                messages.success(request, _("The amendment is published. It is material: the minimum bidding window "
                                            "restarts and the bidders are told."))
            else:
                messages.success(request, _("The amendment is published."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render(request, "requests/amend.html", {"form": form, "sr": service_request},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def request_cancel(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    form = ReasonForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.request_cancel(actor=request.user, request=service_request, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The request is cancelled; the reason is published."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render(request, "requests/cancel.html", {"form": form, "sr": service_request},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def request_reissue(request, pk: int):
    service_request = owner_request_or_403(request, pk)
    form = ReissueForm(request.POST)
    if form.is_valid():
        try:
            new = services.request_reissue(actor=request.user, request=service_request,
                                           bid_deadline=form.cleaned_data.get("bid_deadline"))
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Round %(n)d is drafted. Check it, then publish it.") % {"n": new.round_number})
            return redirect("requests:request-detail", pk=new.pk)
    return render_request_page(request, service_request, status=400, reissue_form=form)


# --- clarifications -----------------------------------------------------------------------------------------


@login_required
@require_POST
def question_ask(request, pk: int):
    service_request = visible_request_or_404(pk, request.user)
    agencies = _user_agencies(request.user)
    if not agencies:
        raise PermissionDenied(_("Only agencies ask clarification questions."))
    form = QuestionForm(request.POST, organizations=_asking_organizations(agencies))
    if form.is_valid():
        try:
            services.question_ask(actor=request.user, request=service_request,
                                  organization=form.cleaned_data["organization"],
                                  question=form.cleaned_data["question"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
            # Also above the page: after the deadline the question form itself is no longer shown.
            return render_request_page(request, service_request, status=400, question_form=form,
                                       action_errors=list(exc.messages))
        else:
            messages.success(request, _("Your question is sent; the answer will be published here."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render_request_page(request, service_request, status=400, question_form=form)


@login_required
@require_POST
def question_answer(request, pk: int, qid: int):
    service_request = owner_request_or_403(request, pk)
    question = get_object_or_404(RequestQuestion, pk=qid, request=service_request)
    form = AnswerForm(request.POST, prefix=f"a{question.pk}")
    if form.is_valid():
        try:
            services.question_answer(actor=request.user, question=question, answer=form.cleaned_data["answer"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The answer is published."))
            return redirect("requests:request-detail", pk=service_request.pk)
    return render_request_page(request, service_request, status=400, answer_forms={question.pk: form})
