from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from credit.models import BreachRule
from market.core.form_fields import ModelMultipleIdChoiceField
from market.accounts.models import Organization, Region, User
from market.catalogue.models import ServiceItem
from market.requests.models import ServiceRequest

from .models import ComplaintOutcome, ComplaintStatus, InspectionOutcome, SubjectType


class DismissForm(forms.Form):
    reason = forms.CharField(label=_("Reason for dismissing"), widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(forms.Form):
    agencies = ModelMultipleIdChoiceField(label=_("Agencies to record a breach against"), queryset=Agency.objects.none(),
                                              widget=forms.CheckboxSelectMultiple)
    rule = forms.ModelChoiceField(label=_("Breach rule"), queryset=BreachRule.objects.filter(is_active=True))
    note = forms.CharField(label=_("Regulator's note (added to the evidence)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, warning=None, **kwargs):
        super().__init__(*args, **kwargs)
        if warning is not None:
            self.fields["agencies"].queryset = warning.agencies.select_related("organization").order_by("pk")
            self.fields["agencies"].label_from_instance = lambda a: f"{a.organization.name}（{a.organization.uscc}）"
            default = "COLLUSION" if warning.rule in ("bid_rotation", "identical_prices", "owner_concentration") else None
            if default and not self.is_bound:
                self.initial.setdefault("rule", BreachRule.objects.filter(code=default).first())


class ComplaintForm(forms.Form):
    subject_type = forms.ChoiceField(label=_("The complaint is about"), choices=[
        (SubjectType.REQUEST, _("a service request")), (SubjectType.AGENCY, _("an agency")),
        (SubjectType.OWNER, _("a project owner"))])
    reference = forms.CharField(label=_("Request number or unified social credit code"), max_length=32,
                                help_text=_("For a request, its number (as in /requests/123/); for an agency or an "
                                            "owner, its 18-character unified social credit code."))
    grounds = forms.CharField(label=_("Facts and grounds"), widget=forms.Textarea(attrs={"rows": 6}),
                              help_text=_("Seen only by you and the regulators."))
    contact_phone = forms.CharField(label=_("Contact phone (optional, not published)"), max_length=32, required=False)

    def clean(self):
        data = super().clean()
        kind, ref = data.get("subject_type"), (data.get("reference") or "").strip().upper()
        if not kind or not ref:
            return data
        data["request"] = data["agency"] = data["owner"] = None
        if kind == SubjectType.REQUEST:
            number = ref.rstrip("/").rsplit("/", 1)[-1]
            data["request"] = ServiceRequest.objects.filter(pk=int(number)).first() if number.isdigit() else None
            if data["request"] is None:
                self.add_error("reference", _("No published request has this number."))
        elif kind == SubjectType.AGENCY:
            data["agency"] = (Agency.objects.filter(organization__uscc=ref).select_related("organization")
                              .order_by("-pk").first())
            if data["agency"] is None:
                self.add_error("reference", _("No agency is registered with this unified social credit code."))
        else:
            data["owner"] = Organization.objects.filter(kind=Organization.Kind.OWNER, uscc=ref).first()
            if data["owner"] is None:
                self.add_error("reference", _("No project owner is registered with this unified social credit code."))
        return data


class ComplaintActionForm(forms.Form):
    to = forms.ChoiceField(label=_("Next step"), choices=ComplaintStatus.choices)
    outcome = forms.ChoiceField(label=_("Outcome (when deciding)"), required=False,
                                choices=[("", "—"), *ComplaintOutcome.choices])
    text = forms.CharField(label=_("Published reason or decision (no personal data)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, allowed: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if allowed is not None:
            self.fields["to"].choices = [(v, ComplaintStatus(v).label) for v in allowed]


class PlanForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Scope and basis"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    service_items = ModelMultipleIdChoiceField(
        label=_("Service items (empty: all)"), required=False,
        queryset=ServiceItem.objects.filter(is_active=True).order_by("code"))
    regions = ModelMultipleIdChoiceField(
        label=_("Regions (empty: the whole province)"), required=False,
        queryset=Region.objects.filter(level__in=[Region.Level.PROVINCE, Region.Level.PREFECTURE]).order_by("code"))
    sample_size = forms.IntegerField(label=_("Agencies to inspect"), min_value=1, max_value=100_000)
    inspectors_per_agency = forms.IntegerField(label=_("Inspectors per agency"), min_value=1, max_value=100, initial=2)
    inspectors = ModelMultipleIdChoiceField(label=_("Pool of inspectors"), queryset=User.objects.none(),
                                                widget=forms.CheckboxSelectMultiple)
    draw_at = forms.DateTimeField(label=_("Draw time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                  input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspectors"].queryset = (
            User.objects.filter(is_active=True, memberships__organization__kind=Organization.Kind.REGULATOR,
                                memberships__organization__status=Organization.Status.VERIFIED)
            .distinct().order_by("username"))
        self.fields["inspectors"].label_from_instance = lambda u: u.get_full_name() or u.username


class ResultForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=InspectionOutcome.choices)
    findings = forms.CharField(label=_("Findings (published)"), widget=forms.Textarea(attrs={"rows": 4}))
