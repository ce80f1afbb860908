"""Forms of the contract pages (amounts in yuan at the edge, fen inside)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import EVALUATION_DIMENSIONS
from market.core.money import MAX_FEN, yuan_to_fen


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class SideMixin(forms.Form):
    side = forms.ChoiceField(label=_("For"), required=False, widget=forms.HiddenInput,
                             choices=[("", ""), ("owner", _("project owner")), ("agency", _("agency"))])


class ConfirmForm(SideMixin):
    pass


class RefuseForm(SideMixin):
    reason = forms.CharField(label=_("Reason for refusing"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class TermsForm(forms.Form):
    pay_on_acceptance = forms.BooleanField(
        label=_("Pay on acceptance"), required=False,
        help_text=_("The payment is held when made and captured only when you accept the work."))


class DeliveryForm(forms.Form):
    note = forms.CharField(label=_("What you deliver"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    files = MultipleFileField(label=_("Files (PDF, JPEG or PNG)"))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("accept", _("Accept the work")),
                                                               ("return", _("Return it for changes"))],
                                 widget=forms.RadioSelect)
    reason = forms.CharField(label=_("Reasons"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             max_length=4000, help_text=_("Required when you return the work."))


class ExtensionForm(forms.Form):
    days = forms.IntegerField(label=_("Extra days"), min_value=1, max_value=365)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ExtensionDecideForm(forms.Form):
    grant = forms.TypedChoiceField(label=_("Decision"), coerce=lambda v: v == "yes", widget=forms.RadioSelect,
                                   choices=[("yes", _("Consent")), ("no", _("Refuse"))])
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                           help_text=_("Required when you refuse."))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class CancelForm(ReasonForm):
    refund_yuan = forms.CharField(label=_("Refund (yuan)"), required=False, max_length=20,
                                  help_text=_("Empty: refund everything paid. A held payment is always released in full."))

    def clean_refund_yuan(self):
        value = (self.cleaned_data.get("refund_yuan") or "").strip()
        if not value:
            return None
        fen = yuan_to_fen(value, min_fen=-MAX_FEN)
        if fen < 0:
            raise ValidationError(_("A refund cannot be negative."))
        return fen


SCORE_CHOICES = [(str(i), str(i)) for i in range(5, 0, -1)]


class EvaluationForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for name, label in EVALUATION_DIMENSIONS:
            fields[name] = forms.TypedChoiceField(label=label, choices=SCORE_CHOICES, coerce=int,
                                                  widget=forms.RadioSelect(attrs={"class": "stars"}))
        fields["comment"] = self.fields.pop("comment")
        self.fields = fields

    def scores(self) -> dict[str, int]:
        return {name: self.cleaned_data[name] for name, _label in EVALUATION_DIMENSIONS}
