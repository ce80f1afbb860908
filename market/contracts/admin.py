"""Django admin of contracts, deliveries, extensions and evaluations (superusers only, see
market.admin; payments and Stripe events: market/payments/admin.py, which also adds a contract's
payments and their refresh to ContractAdmin). Read-mostly: nothing is added, edited or deleted in
place. Each action that changes state calls the same service the pages and the API call
(market.contracts.services), so the same rules, audit events and open-data releases follow — the
credit standing included: offering a contract to the runner-up re-checks the bid's eligibility, and
an agency on the black list is passed over with the reason, as everywhere else.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from credit.standing import agency_refusal
from market.core.money import fen_to_yuan

from . import services as contract_services
from .models import (Contract, ContractStatus, Deliverable, DeliveryRound, DeliveryStatus, Evaluation, EvaluationStatus,
                     ExtensionRequest)


class ReadOnlyMixin:
    """Shown, never written in place: state changes go through the actions (services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
                             help_text=gettext_lazy("Recorded in the audit log and, for a contract, published."))


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or exc.__class__.__name__


def run_each(modeladmin, request, objects, call, *, done) -> None:
    """Call `call(obj)` for each object; report each refusal with its reason and `done(count)`."""
    count = 0
    for obj in objects:
        try:
            call(obj)
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, f"{obj}: {_refusal(exc)}", level=messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done(count) % {"n": count}, level=messages.SUCCESS)


def _with_reason(modeladmin, request, queryset, *, title: str, apply):
    """An action that needs a reason: the first step asks for it, the second applies it."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        apply(form.cleaned_data["reason"])
        return None  # back to the change list, with the messages
    return TemplateResponse(request, "admin/market/reason_action.html", {
        **modeladmin.admin_site.each_context(request), "title": title, "objects": list(queryset), "form": form,
        "action": request.POST.get("action", ""), "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME})


# --- contracts ----------------------------------------------------------------------------------------------


class DeliveryRoundInline(ReadOnlyInline):
    model = DeliveryRound
    fields = ["number", "status", "submitted_at", "review_deadline", "decided_at", "deemed", "decision_reason"]
    readonly_fields = fields


class ExtensionInline(ReadOnlyInline):
    model = ExtensionRequest
    fields = ["days", "status", "reason", "requested_at", "decided_at", "due_before", "due_after"]
    readonly_fields = fields


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["number", "project", "owner", "agency", "amount_yuan", "status", "signed_at", "due_at", "overdue"]
    list_filter = ["status", "pay_on_acceptance"]
    search_fields = ["number", "request__project_name", "owner__name", "agency__organization__name"]
    list_select_related = ["request", "owner", "agency__organization"]
    date_hierarchy = "drafted_at"
    readonly_fields = ["number", "request", "bid", "owner", "agency", "agency_standing", "service_item", "sequence",
                       "amount_fen", "term_days", "deliverables", "pay_on_acceptance", "status", "status_reason",
                       "drafted_at", "confirm_deadline", "owner_confirmed_at", "owner_confirmed_by",
                       "agency_confirmed_at", "agency_confirmed_by", "signed_at", "due_at", "delivered_at",
                       "accepted_at", "closed_at", "ended_at", "overrun_breach_at", "updated_at"]
    fields = readonly_fields
    inlines = [DeliveryRoundInline, ExtensionInline]  # + the payments' (market/payments/admin.py)
    actions = ["apply_deadlines", "take_runner_up", "cancel_contracts"]  # + "sync_payments" (idem)

    @admin.display(description=gettext_lazy("project"), ordering="request__project_name")
    def project(self, obj: Contract) -> str:
        return obj.request.project_name

    @admin.display(description=gettext_lazy("amount (yuan)"), ordering="amount_fen")
    def amount_yuan(self, obj: Contract) -> str:
        return fen_to_yuan(obj.amount_fen)

    @admin.display(description=gettext_lazy("overdue"), boolean=True)
    def overdue(self, obj: Contract) -> bool:
        return obj.is_overdue_at(timezone.now())

    @admin.display(description=gettext_lazy("agency's standing"))
    def agency_standing(self, obj: Contract) -> str:
        refusal = agency_refusal(agency=obj.agency)
        return refusal.message if refusal else _("may act")

    @admin.action(description=gettext_lazy("Apply the deadlines that have passed (signing, review, overrun)"))
    def apply_deadlines(self, request, queryset):
        """What process_deadlines would do now to the selected contracts, through the same jobs."""
        now = timezone.now()
        ids = list(queryset.values_list("pk", flat=True))
        rounds = (DeliveryRound.objects.filter(contract_id__in=ids, status=DeliveryStatus.PENDING)
                  .values_list("pk", flat=True))
        expired = contract_services.contracts_expire_due(now=now, contract_ids=ids)
        deemed = contract_services.deliveries_deem_accepted(now=now, round_ids=list(rounds))
        overruns = contract_services.contracts_record_overruns(now=now, contract_ids=ids)
        self.message_user(request, _("Signing periods ended: %(e)d; deliveries deemed accepted: %(d)d; overruns "
                                     "recorded as breaches: %(o)d.") % {"e": expired, "d": deemed, "o": overruns})

    @admin.action(description=gettext_lazy("Offer the contract to the runner-up (after the agency's breach)"))
    def take_runner_up(self, request, queryset):
        breached = list(queryset.filter(status=ContractStatus.BREACHED).select_related("request"))
        one_per_request = list({c.request_id: c for c in breached}.values())
        run_each(self, request, one_per_request,
                 lambda c: contract_services.contract_take_runner_up(actor=request.user, request=c.request),
                 done=lambda n: ngettext("%(n)d contract drafted for the runner-up.",
                                         "%(n)d contracts drafted for the runner-up.", n))
        if not breached:
            self.message_user(request, _("Only a breached contract can pass to the runner-up."), level=messages.WARNING)

    @admin.action(description=gettext_lazy("Cancel the contracts (with a published reason)"))
    def cancel_contracts(self, request, queryset):
        def apply(reason: str) -> None:
            run_each(self, request, queryset,
                     lambda c: contract_services.contract_cancel(actor=request.user, contract=c, reason=reason),
                     done=lambda n: ngettext("%(n)d contract cancelled.", "%(n)d contracts cancelled.", n))

        return _with_reason(self, request, queryset, title=_("Cancel the contracts"), apply=apply)


@admin.register(DeliveryRound)
class DeliveryRoundAdmin(ReadOnlyAdmin):
    class FileInline(ReadOnlyInline):
        model = Deliverable
        fields = ["original_name", "content_type", "size", "sha256", "uploaded_at"]
        readonly_fields = fields
        show_change_link = False

    list_display = ["__str__", "status", "submitted_at", "review_deadline", "decided_at", "deemed"]
    list_filter = ["status", "deemed"]
    search_fields = ["contract__number"]
    list_select_related = ["contract"]
    readonly_fields = ["contract", "number", "note", "submitted_by", "submitted_at", "review_deadline", "status",
                       "decision_reason", "decided_by", "decided_at", "deemed"]
    fields = readonly_fields
    inlines = [FileInline]


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ["contract", "days", "status", "requested_at", "decided_at", "due_before", "due_after"]
    list_filter = ["status"]
    search_fields = ["contract__number"]
    list_select_related = ["contract"]
    readonly_fields = ["contract", "days", "reason", "requested_by", "requested_at", "status", "decision_note",
                       "decided_by", "decided_at", "due_before", "due_after"]
    fields = readonly_fields


# --- evaluations --------------------------------------------------------------------------------------------


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["contract", "agency", "average", "status", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["contract__number", "agency__organization__name", "comment"]
    list_select_related = ["contract", "agency__organization"]
    readonly_fields = ["contract", "agency", "quality", "timeliness", "attitude", "fee_compliance", "conduct",
                       "average", "comment", "status", "hidden_reason", "hidden_by", "hidden_at", "submitted_by",
                       "submitted_at"]
    fields = readonly_fields
    actions = ["hide_comments", "show_comments"]

    @admin.display(description=gettext_lazy("average"))
    def average(self, obj: Evaluation):
        return obj.average

    @admin.action(description=gettext_lazy("Hide the comments (the scores still count)"))
    def hide_comments(self, request, queryset):
        shown = queryset.filter(status=EvaluationStatus.PUBLISHED)

        def apply(reason: str) -> None:
            run_each(self, request, shown,
                     lambda e: contract_services.evaluation_hide(actor=request.user, evaluation=e, reason=reason),
                     done=lambda n: ngettext("%(n)d comment hidden.", "%(n)d comments hidden.", n))

        return _with_reason(self, request, queryset, title=_("Hide the comments"), apply=apply)

    @admin.action(description=gettext_lazy("Publish the hidden comments again"))
    def show_comments(self, request, queryset):
        run_each(self, request, queryset.filter(status=EvaluationStatus.HIDDEN),
                 lambda e: contract_services.evaluation_show(actor=request.user, evaluation=e),
                 done=lambda n: ngettext("%(n)d comment published again.", "%(n)d comments published again.", n))
