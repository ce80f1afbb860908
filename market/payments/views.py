"""Payment on a contract's page: pay (the page that mounts Stripe's payment form), refresh the status
from Stripe, refund; and the payment's section of the contract's page (`contract_page_section`,
registered with market.contracts.events). Thin: each POST calls a service and redirects to the
contract's page; a refusal re-renders that page with the message."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from market.contracts.models import ContractStatus
from market.contracts.views import contract_or_404, page_done, page_invalid, page_refused, require_private

from . import forms
from . import selectors as payment_selectors
from . import services as payment_services
from .models import PaymentStatus
from .stripe_client import stripe_enabled

STRIPE_JS = "https://js.stripe.com"


def contract_page_section(*, ctx: dict, forms_in: dict) -> None:
    """What the payment section of the contract's page shows: the payment (to the parties and
    regulators), the refund form, and whether the owner can pay."""
    contract, private = ctx["contract"], ctx["private"]
    is_owner, is_regulator = ctx["is_owner"], ctx["is_regulator"]
    if private:
        ctx["payment"] = payment_selectors.payment_view(contract)
    if private and (is_owner or is_regulator):
        view = ctx["payment"]
        if (view.payment is not None and view.payment.status == PaymentStatus.SUCCEEDED
                and view.payment.amount_received_fen > view.payment.amount_refunded_fen
                and contract.status == ContractStatus.CANCELLED):
            ctx["refund_form"] = forms_in.get("refund") or forms.RefundForm()
    if is_owner and contract.status in payment_selectors.PAYABLE_STATUSES and stripe_enabled():
        live = payment_selectors.live_payment(contract)
        ctx["can_pay"] = live is None or live.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE,
                                                             PaymentStatus.PROCESSING)


@login_required
@require_POST
def payment_start(request, pk: int):
    """Start (or resume) paying: the page that mounts Stripe's payment form with the client secret."""
    contract = contract_or_404(pk)
    try:
        view = payment_services.payment_start(actor=request.user, contract=contract)
    except ValidationError as exc:
        return page_refused(request, contract, exc)
    if view.offline or not view.client_secret:
        messages.info(request, _("Payment is offline on this site: settle it with the agency directly."))
        return redirect("contracts:detail", pk=contract.pk)
    response = render(request, "contracts/pay.html", {"contract": contract, "payment": view,
                                                       "stripe_js_url": settings.STRIPE_JS_URL})
    response["Cache-Control"] = "private, no-store"
    if not settings.STRIPE_JS_URL:
        return response  # the site's own strict policy: no outside script
    # Stripe.js (from Stripe, or a copy the intranet serves at STRIPE_JS_URL) mounts its card form in
    # Stripe's own frames and talks to Stripe's API: this page alone widens the policy to those hosts.
    parts = urlsplit(settings.STRIPE_JS_URL)
    script_src = " ".join(dict.fromkeys(filter(None, (
        "'self'", f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "", STRIPE_JS))))
    response["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {script_src}; frame-src {STRIPE_JS} https://hooks.stripe.com; "
        f"connect-src 'self' https://api.stripe.com; style-src 'self'; img-src 'self' data: https://*.stripe.com; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'self'")
    return response


@login_required
@require_POST
def payment_sync(request, pk: int):
    contract = contract_or_404(pk)
    require_private(request, contract)
    payment = payment_selectors.live_payment(contract)
    if payment is not None:
        try:
            payment_services.payment_sync(payment=payment, actor=request.user)
        except ValidationError as exc:
            return page_refused(request, contract, exc)
    return page_done(request, contract, _("The payment status is up to date."))


@login_required
@require_POST
def payment_refund(request, pk: int):
    contract = contract_or_404(pk)
    form = forms.RefundForm(request.POST)
    if not form.is_valid():
        return page_invalid(request, contract, "refund", form)
    try:
        payment_services.payment_refund(contract=contract, actor=request.user,
                                        amount_fen=form.cleaned_data["amount_yuan"], reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "amount_fen" in exc.error_dict:
            exc = ValidationError({"amount_yuan": exc.error_dict.pop("amount_fen")})
        return page_refused(request, contract, exc, "refund", form)
    return page_done(request, contract, _("The refund is issued."))
