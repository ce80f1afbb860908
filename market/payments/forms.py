"""Forms of the payment actions on a contract's page (amounts in yuan at the edge, fen inside)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from market.core.money import yuan_to_fen


class RefundForm(forms.Form):
    amount_yuan = forms.CharField(label=_("Amount (yuan)"), required=False, max_length=20,
                                  help_text=_("Empty: everything not yet refunded."))
    reason = forms.CharField(label=_("Reason"), max_length=2000)

    def clean_amount_yuan(self):
        value = (self.cleaned_data.get("amount_yuan") or "").strip()
        return yuan_to_fen(value, min_fen=1) if value else None
