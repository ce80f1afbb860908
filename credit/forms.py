from django import forms
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency

from .models import BreachRule


class BreachForm(forms.Form):
    agency = forms.CharField(label=_("Agency's unified social credit code"), max_length=18, min_length=18)
    rule = forms.ModelChoiceField(label=_("Breach rule"), queryset=BreachRule.objects.filter(is_active=True))
    evidence = forms.CharField(label=_("Evidence"), widget=forms.Textarea(attrs={"rows": 4}))

    def clean_agency(self):
        uscc = self.cleaned_data["agency"].strip().upper()
        agency = (Agency.objects.filter(organization__uscc=uscc).select_related("organization").order_by("-pk").first())
        if agency is None:
            raise forms.ValidationError(_("No agency is registered with this unified social credit code."))
        return agency


class TextForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["text"].label = label


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("yes", _("Grant")), ("no", _("Refuse"))])
    ruling = forms.CharField(label=_("Ruling"), widget=forms.Textarea(attrs={"rows": 3}))
