"""Django admin of payments and Stripe events (superusers only, see market.admin), read-only like
the contracts' (market/contracts/admin.py). The contract's admin page gains its payments and an
action refreshing them from Stripe: ContractAdmin is registered again, extended, by the usual
unregister/register. Each action calls the same service the pages and the API call."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from market.contracts.admin import ContractAdmin, ReadOnlyAdmin, ReadOnlyInline, run_each
from market.contracts.models import Contract

from . import selectors as payment_selectors
from . import services as payment_services
from .models import Payment, PaymentRefund, StripeEvent
from .stripe_client import stripe_enabled


def _offline(modeladmin, request) -> bool:
    if stripe_enabled():
        return False
    modeladmin.message_user(request, _("Payment is offline on this site: there is nothing to refresh."),
                            level=messages.WARNING)
    return True


# --- a contract's payments ------------------------------------------------------------------------------------


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["attempt", "intent_id", "status", "capture_method", "amount_fen", "amount_received_fen",
              "amount_refunded_fen", "updated_at"]
    readonly_fields = fields


class ContractWithPaymentsAdmin(ContractAdmin):
    inlines = [*ContractAdmin.inlines, PaymentInline]
    actions = ["apply_deadlines", "sync_payments", "take_runner_up", "cancel_contracts"]  # ContractAdmin's and ours

    @admin.action(description=gettext_lazy("Refresh the payment status from Stripe"))
    def sync_payments(self, request, queryset):
        if _offline(self, request):
            return
        live = [p for p in (payment_selectors.live_payment(c) for c in queryset) if p is not None]
        run_each(self, request, live, lambda p: payment_services.payment_sync(payment=p, actor=request.user),
                 done=lambda n: ngettext("%(n)d payment refreshed.", "%(n)d payments refreshed.", n))


admin.site.unregister(Contract)
admin.site.register(Contract, ContractWithPaymentsAdmin)


# --- payments -----------------------------------------------------------------------------------------------


class RefundInline(ReadOnlyInline):
    model = PaymentRefund
    fields = ["refund_id", "amount_fen", "status", "reason", "created_by", "created_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["intent_id", "contract", "attempt", "status", "capture_method", "amount_fen",
                    "amount_received_fen", "amount_refunded_fen", "updated_at"]
    list_filter = ["status", "capture_method"]
    search_fields = ["intent_id", "contract__number"]
    list_select_related = ["contract"]
    readonly_fields = ["contract", "attempt", "intent_id", "amount_fen", "currency", "capture_method", "status",
                       "amount_capturable_fen", "amount_received_fen", "amount_refunded_fen", "last_error",
                       "started_by", "created_at", "updated_at"]
    fields = readonly_fields  # never the client secret
    inlines = [RefundInline]
    actions = ["sync"]

    @admin.action(description=gettext_lazy("Refresh from Stripe"))
    def sync(self, request, queryset):
        if _offline(self, request):
            return
        run_each(self, request, queryset.select_related("contract"),
                 lambda p: payment_services.payment_sync(payment=p, actor=request.user),
                 done=lambda n: ngettext("%(n)d payment refreshed.", "%(n)d payments refreshed.", n))


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "result", "payment", "received_at"]
    list_filter = ["type", "result"]
    search_fields = ["event_id", "payment__intent_id"]
    list_select_related = ["payment"]
    readonly_fields = ["event_id", "type", "created", "received_at", "payment", "result", "payload"]
    fields = readonly_fields
