"""Contract pages. Public: the list of contracts and each contract's summary (parties, amount,
term, dates). The two parties and regulators also see deliveries, files, extensions and payment,
and act from the same page. Thin: each POST parses a form, calls a service, and redirects; a
refusal re-renders the page with the message (400, or 403 when the user may not act)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agencies.files import private_file_response
from market.accounts import permissions
from market.core.once import submit_once
from market.requests.models import RequestStatus, ServiceRequest

from . import events, forms, selectors, services
from .models import (LIVE_CONTRACT_STATUSES, Contract, ContractStatus, Deliverable, DeliveryRound, DeliveryStatus,
                     Evaluation, ExtensionRequest, ExtensionStatus)

PAGE_SIZE = 20


def contract_or_404(pk: int) -> Contract:
    contract = selectors.contract_get(pk=pk)
    if contract is None:
        raise Http404(_("No such contract."))
    return contract


def require_private(request, contract: Contract) -> None:
    if not selectors.can_see_private(request.user, contract):
        raise PermissionDenied(_("Only the two parties and regulators may see this."))


def _messages_of(exc: ValidationError) -> list[str]:
    return list(exc.messages)


@require_GET
def contract_list(request):
    status = request.GET.get("status") or None
    if status not in ContractStatus.values:
        status = None
    q = (request.GET.get("q") or "").strip()[:100]
    page = Paginator(selectors.contract_list_public(status=status, q=q or None), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "contracts/list.html", {
        "page_obj": page, "status": status or "", "q": q, "statuses": ContractStatus.choices,
        "querystring": query.urlencode(), "now": timezone.now()})


def _detail_context(request, contract: Contract, forms_in: dict | None = None) -> dict:
    user = request.user
    now = timezone.now()
    private = selectors.can_see_private(user, contract)
    sides = selectors.party_sides(user, contract) if user.is_authenticated else set()
    is_owner, is_agency = "owner" in sides, "agency" in sides
    is_regulator = permissions.is_regulator(user)
    ctx = {
        "contract": contract, "sr": contract.request, "now": now, "private": private, "is_owner": is_owner,
        "is_agency": is_agency, "is_regulator": is_regulator, "overdue": contract.is_overdue_at(now),
        "evaluation": Evaluation.objects.filter(contract=contract).first(),
        "siblings": [c for c in selectors.contracts_of_request(request=contract.request) if c.pk != contract.pk],
    }
    if private:
        rounds = list(selectors.delivery_rounds(contract=contract))
        pending = next((r for r in rounds if r.status == DeliveryStatus.PENDING), None)
        exts = list(selectors.extensions(contract=contract))
        ctx.update({
            "rounds": rounds, "pending_round": pending, "extensions": exts,
            "pending_extension": next((e for e in exts if e.status == ExtensionStatus.PENDING), None),
            "overrun_breach_at": services.overrun_breach_at(contract.due_at) if contract.due_at else None,
        })
    drafted = contract.status == ContractStatus.DRAFTED and now < contract.confirm_deadline
    f = forms_in or {}
    if drafted:
        if is_owner and contract.owner_confirmed_at is None:
            ctx["owner_sign"] = True
            if contract.agency_confirmed_at is None:
                ctx["terms_form"] = f.get("terms") or forms.TermsForm(initial={"pay_on_acceptance": contract.pay_on_acceptance})
        if is_agency and contract.agency_confirmed_at is None:
            ctx["agency_sign"] = True
        if ctx.get("owner_sign") or ctx.get("agency_sign"):
            ctx["refuse_form"] = f.get("refuse") or forms.RefuseForm()
    if is_agency and contract.status == ContractStatus.IN_SERVICE:
        ctx["delivery_form"] = f.get("delivery") or forms.DeliveryForm()
    if is_agency and contract.status in (ContractStatus.IN_SERVICE, ContractStatus.DELIVERED) \
            and not ctx.get("pending_extension"):
        ctx["extension_form"] = f.get("extension") or forms.ExtensionForm()
    if is_owner and ctx.get("pending_round") is not None:
        ctx["review_form"] = f.get("review") or forms.ReviewForm()
    if is_owner and ctx.get("pending_extension") is not None:
        ctx["extension_decide_form"] = f.get("extension_decide") or forms.ExtensionDecideForm()
    if (is_owner or is_regulator) and contract.status == ContractStatus.IN_SERVICE:
        ctx["cancel_form"] = f.get("cancel") or forms.CancelForm()
    if is_owner and contract.status in (ContractStatus.ACCEPTED, ContractStatus.CLOSED) and ctx["evaluation"] is None:
        ctx["evaluation_form"] = f.get("evaluation") or forms.EvaluationForm()
    if is_owner and contract.status == ContractStatus.ACCEPTED \
            and events.contract_close_blocker(contract=contract) is None:
        ctx["can_close"] = True
    if is_owner and contract.status == ContractStatus.BREACHED and contract.request.status == RequestStatus.AWARDED \
            and not contract.request.contracts.filter(status__in=LIVE_CONTRACT_STATUSES).exists():
        ctx["after_breach"] = True
        ctx["runner_up"] = next(((p, b) for p, b, refusal in services.runner_up_candidates(request=contract.request)
                                 if refusal is None), None)
        ctx["new_round_form"] = f.get("new_round") or forms.ReasonForm()
    if is_regulator and ctx["evaluation"] is not None:
        ctx["hide_form"] = f.get("hide") or forms.ReasonForm()
    for extend in events.page_sections():  # the payment's section (market.payments)
        extend(ctx=ctx, forms_in=f)
    return ctx


@require_GET
def contract_detail(request, pk: int):
    contract = contract_or_404(pk)
    return render(request, "contracts/detail.html", _detail_context(request, contract))


def page_refused(request, contract: Contract, exc: Exception, key: str | None = None, form=None):
    """Show a refusal on the contract page: 403 when the user may not act, 400 otherwise."""
    if isinstance(exc, PermissionDenied):
        raise exc
    ctx = _detail_context(request, contract_or_404(contract.pk), {key: form} if key else None)
    if isinstance(exc, ValidationError):
        if form is not None and hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            ctx["action_errors"] = _messages_of(exc)
    return render(request, "contracts/detail.html", ctx, status=400)


def page_done(request, contract: Contract, message: str):
    messages.success(request, message)
    return redirect("contracts:detail", pk=contract.pk)


def page_invalid(request, contract: Contract, key: str, form):
    ctx = _detail_context(request, contract, {key: form})
    return render(request, "contracts/detail.html", ctx, status=400)


@login_required
@require_POST
def contract_confirm(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.ConfirmForm(request.POST)
    form.is_valid()
    try:
        services.contract_confirm(actor=request.user, contract=contract, side=form.cleaned_data.get("side") or None)
    except ValidationError as exc:
        return page_refused(request, contract, exc)
    return page_done(request, contract, _("You signed the contract."))


@login_required
@require_POST
def contract_refuse(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.RefuseForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "refuse", form)
    try:
        services.contract_refuse(actor=request.user, contract=contract, reason=form.cleaned_data["reason"],
                                 side=form.cleaned_data.get("side") or None)
    except ValidationError as exc:
        return page_refused(request, contract, exc, "refuse", form)
    return page_done(request, contract, _("You refused to sign the contract."))


@login_required
@require_POST
def contract_terms(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.TermsForm(request.POST)
    form.is_valid()
    try:
        services.contract_terms_set(actor=request.user, contract=contract,
                                    pay_on_acceptance=form.cleaned_data.get("pay_on_acceptance", False))
    except ValidationError as exc:
        return page_refused(request, contract, exc, "terms", form)
    return page_done(request, contract, _("The payment term is saved."))


@login_required
@require_POST
def delivery_create(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.DeliveryForm(request.POST, request.FILES)
    if not form.is_valid():
        return page_invalid(request, contract, "delivery", form)
    try:
        services.deliverable_upload(actor=request.user, contract=contract, note=form.cleaned_data["note"],
                                    files=form.cleaned_data["files"])
    except ValidationError as exc:
        return page_refused(request, contract, exc, "delivery", form)
    return page_done(request, contract, _("Your delivery awaits the owner's review."))


@login_required
@require_POST
def delivery_review(request, pk: int, number: int):
    contract = contract_or_404(pk)
    delivery = get_object_or_404(DeliveryRound, contract=contract, number=number)
    form = forms.ReviewForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "review", form)
    try:
        if form.cleaned_data["decision"] == "accept":
            services.deliverable_accept(actor=request.user, delivery_round=delivery, reason=form.cleaned_data["reason"])
            message = _("You accepted the work.")
        else:
            services.deliverable_return(actor=request.user, delivery_round=delivery, reason=form.cleaned_data["reason"])
            message = _("You returned the work with your reasons.")
    except ValidationError as exc:
        return page_refused(request, contract, exc, "review", form)
    return page_done(request, contract, message)


@login_required
@require_GET
def deliverable_file(request, pk: int, file_id: int):
    contract = contract_or_404(pk)
    require_private(request, contract)
    item = get_object_or_404(Deliverable.objects.select_related("delivery_round"), pk=file_id,
                             delivery_round__contract=contract)
    return private_file_response(item)


@login_required
@require_POST
def extension_create(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.ExtensionForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "extension", form)
    try:
        services.extension_request(actor=request.user, contract=contract, **form.cleaned_data)
    except ValidationError as exc:
        return page_refused(request, contract, exc, "extension", form)
    return page_done(request, contract, _("Your request awaits the owner's consent."))


@login_required
@require_POST
def extension_decide(request, pk: int, ext_id: int):
    contract = contract_or_404(pk)
    extension = get_object_or_404(ExtensionRequest, pk=ext_id, contract=contract)
    form = forms.ExtensionDecideForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "extension_decide", form)
    try:
        services.extension_decide(actor=request.user, extension=extension, grant=form.cleaned_data["grant"],
                                  note=form.cleaned_data["note"])
    except ValidationError as exc:
        return page_refused(request, contract, exc, "extension_decide", form)
    return page_done(request, contract, _("Your decision is recorded."))


@login_required
@require_POST
def contract_cancel(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "cancel", form)
    try:
        services.contract_cancel(actor=request.user, contract=contract, reason=form.cleaned_data["reason"],
                                 refund_fen=form.cleaned_data["refund_yuan"])
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "refund_fen" in exc.error_dict:
            exc = ValidationError({"refund_yuan": exc.error_dict.pop("refund_fen")})
        return page_refused(request, contract, exc, "cancel", form)
    return page_done(request, contract, _("The contract is cancelled."))


@login_required
@require_POST
def contract_close(request, pk: int):
    contract = contract_or_404(pk)
    try:
        services.contract_close(actor=request.user, contract=contract, reason=_("Closed by the owner: payment settled."))
    except ValidationError as exc:
        return page_refused(request, contract, exc)
    return page_done(request, contract, _("The contract is closed."))


@login_required
@require_POST
def runner_up(request, pk: int):
    contract = contract_or_404(pk)
    try:
        new = services.contract_take_runner_up(actor=request.user, request=contract.request)
    except ValidationError as exc:
        return page_refused(request, contract, exc)
    messages.success(request, _("A contract is drafted with the runner-up."))
    return redirect("contracts:detail", pk=new.pk)


@login_required
@require_POST
def new_round(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "new_round", form)
    try:
        new = services.contract_new_round(actor=request.user, request=contract.request, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        return page_refused(request, contract, exc, "new_round", form)
    messages.success(request, _("The round failed; a new round is drafted for you to publish."))
    return redirect("requests:request-detail", pk=new.pk)


@login_required
@require_POST
@submit_once
def evaluation_create(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.EvaluationForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "evaluation", form)
    try:
        services.evaluation_submit(actor=request.user, contract=contract, scores=form.scores(),
                                   comment=form.cleaned_data["comment"])
    except ValidationError as exc:
        return page_refused(request, contract, exc, "evaluation", form)
    return page_done(request, contract, _("Thank you: your evaluation is published on the agency's page."))


@login_required
@require_POST
def evaluation_hide(request, pk: int):
    contract = contract_or_404(pk)
    evaluation = get_object_or_404(Evaluation, contract=contract)
    if request.POST.get("show"):
        try:
            services.evaluation_show(actor=request.user, evaluation=evaluation, reason=request.POST.get("reason", ""))
        except ValidationError as exc:
            return page_refused(request, contract, exc)
        return page_done(request, contract, _("The comment is published again."))
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "hide", form)
    try:
        services.evaluation_hide(actor=request.user, evaluation=evaluation, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        return page_refused(request, contract, exc, "hide", form)
    return page_done(request, contract, _("The comment is hidden."))


@require_GET
def request_contracts(request, request_pk: int):
    """The contracts of one request (for links from the request's page)."""
    sr = get_object_or_404(ServiceRequest.objects.exclude(status=RequestStatus.DRAFT), pk=request_pk)
    contract = selectors.contract_for_request(request=sr)
    if contract is None:
        raise Http404(_("This request has no contract yet."))
    return redirect("contracts:detail", pk=contract.pk)
