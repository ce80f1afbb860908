"""Forms of the service request pages. They parse what people type (yuan, percent, "name:weight" and
"code:reason" lines) into what the services take (fen, basis points, lists); the rules live in the services.
The bid forms (market.requests is below bids) reuse YuanField and PercentField."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import LIVE_STATUSES, Agency
from market.accounts.forms import RegionChoiceField
from market.accounts.models import Organization
from market.accounts.selectors import region_choices
from market.catalogue.models import QualificationType, ServiceItem
from market.core.form_fields import ModelMultipleIdChoiceField
from market.core.money import MAX_FEN, fen_to_yuan, yuan_to_fen

from .models import QuoteMode, RequestStatus, SelectionMethod

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


def local_minute(value: dt.datetime | None) -> dt.datetime | None:
    """A stored moment as the form shows it: local time, to the minute."""
    if value is None:
        return None
    return timezone.localtime(value).replace(second=0, microsecond=0)


class YuanField(forms.CharField):
    """An amount in yuan on the page, integer fen (1 to MAX_FEN) in cleaned_data."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "maxlength": "20"})

    def prepare_value(self, value):
        if isinstance(value, int):
            return fen_to_yuan(value).replace(",", "")
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > 20:
            raise ValidationError(_("Enter an amount in yuan, such as 1234.50."), code="invalid_amount")
        fen = yuan_to_fen(value, min_fen=-MAX_FEN)  # at most MAX_FEN; zero and below get their own message
        if fen <= 0:
            raise ValidationError(_("Enter an amount above zero."), code="invalid_amount")
        return fen


class PercentField(forms.CharField):
    """A rate in percent with at most two decimals on the page, basis points in cleaned_data."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "maxlength": "8"})

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{Decimal(value) / 100:.2f}"
        return value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > 8:
            raise ValidationError(_("Enter a percentage such as 12.5."), code="invalid_percent")
        try:
            pct = Decimal(str(value).replace("%", "").strip())
        except InvalidOperation:
            raise ValidationError(_("Enter a percentage such as 12.5."), code="invalid_percent")
        # The range first: quantizing a huge exponent ("1E+30") is an arithmetic error, not a refusal.
        if not pct.is_finite() or not (0 <= pct <= 100) or pct != pct.quantize(Decimal("0.01")):
            raise ValidationError(_("Enter a percentage from 0 to 100 with at most two decimals."), code="invalid_percent")
        return int(pct * 100)


def _split_line(line: str) -> tuple[str, str] | None:
    for sep in (":", "："):
        if sep in line:
            left, right = line.split(sep, 1)
            return left.strip(), right.strip()
    return None


def parse_criteria(text: str) -> list[dict]:
    """Lines of "name:weight" into [{"name": ..., "weight": ...}]."""
    criteria = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = _split_line(line)
        if not parts or not parts[0]:
            raise ValidationError(_("Line %(n)d: write “name:weight”.") % {"n": number}, code="invalid_criteria")
        try:
            weight = int(parts[1])
        except ValueError:
            raise ValidationError(_("Line %(n)d: the weight is a whole number.") % {"n": number}, code="invalid_criteria")
        criteria.append({"name": parts[0], "weight": weight})
    names = [c["name"] for c in criteria]
    if len(set(names)) != len(names):
        raise ValidationError(_("Each criterion is named once."), code="invalid_criteria")
    return criteria


def criteria_text(criteria: list[dict]) -> str:
    return "\n".join(f"{c['name']}:{c['weight']}" for c in criteria or [])


def parse_avoidances(text: str) -> list[tuple[Agency, str]]:
    """Lines of "USCC:reason" into (agency, reason) pairs; one query for all lines."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = _split_line(line)
        if not parts or not parts[0] or not parts[1]:
            raise ValidationError(_("Line %(n)d: write “unified social credit code:reason”.") % {"n": number},
                                  code="invalid_avoidance")
        rows.append((number, parts[0].upper(), parts[1]))
    agencies = {a.organization.uscc: a for a in Agency.objects.filter(
        organization__uscc__in=[r[1] for r in rows], organization__kind=Organization.Kind.AGENCY,
        status__in=LIVE_STATUSES).select_related("organization")}
    result = []
    for number, uscc, reason in rows:
        if uscc not in agencies:
            raise ValidationError(_("Line %(n)d: no registered agency has the code %(code)s.") % {"n": number, "code": uscc},
                                  code="unknown_agency")
        result.append((agencies[uscc], reason))
    if len({a.pk for a, _r in result}) != len(result):
        raise ValidationError(_("Each agency is listed once."), code="invalid_avoidance")
    return result


class ServiceItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ServiceItem) -> str:
        return f"{obj.code} {obj.name}"


class QualificationChoiceField(ModelMultipleIdChoiceField):
    def label_from_instance(self, obj: QualificationType) -> str:
        return obj.name


class RequestForm(forms.Form):
    """Every field of a service request. Yuan and percent on the page; fen and basis points out."""

    owner = forms.ModelChoiceField(label=_("Project owner"), queryset=Organization.objects.none())
    project_name = forms.CharField(label=_("Project name"), max_length=200)
    project_code = forms.CharField(label=_("Investment project code"), max_length=64, required=False)
    service_item = ServiceItemChoiceField(label=_("Service item"), queryset=ServiceItem.objects.none())
    region = RegionChoiceField(label=_("Region"), queryset=None, required=False,
                               help_text=_("Empty: the owner's region."))
    description = forms.CharField(label=_("Service requirements"), widget=forms.Textarea(attrs={"rows": 4}),
                                  required=False, max_length=10000)
    fiscal_share = forms.IntegerField(label=_("Fiscal funds share (%)"), min_value=0, max_value=100, initial=0)
    state_share = forms.IntegerField(label=_("State-owned funds share (%)"), min_value=0, max_value=100, initial=0)
    social_share = forms.IntegerField(label=_("Social funds share (%)"), min_value=0, max_value=100, initial=0)
    quote_mode = forms.ChoiceField(label=_("Quote mode"), choices=QuoteMode.choices, initial=QuoteMode.PRICE)
    budget_fen = YuanField(label=_("Budget / price ceiling (yuan)"))
    discount_min_bp = PercentField(label=_("Lowest discount rate (%)"), required=False,
                                   help_text=_("Discount quotes only."))
    discount_max_bp = PercentField(label=_("Highest discount rate (%)"), required=False,
                                   help_text=_("Discount quotes only."))
    service_term_days = forms.IntegerField(label=_("Service term (days)"), min_value=1, max_value=3650)
    required_qualifications = QualificationChoiceField(
        label=_("Required qualifications"), queryset=QualificationType.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only qualifications the catalogue names for the service item may be required."))
    selection_method = forms.ChoiceField(label=_("Selection method"), choices=SelectionMethod.choices)
    price_weight = forms.IntegerField(label=_("Price weight"), min_value=1, max_value=100, required=False,
                                      help_text=_("Weighted score only."))
    quality_criteria = forms.CharField(
        label=_("Quality criteria"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Weighted score only: one criterion a line as “name:weight”; with the price weight they add up to 100."))
    direct_exemption = forms.CharField(label=_("Legal exemption for direct choice"), required=False, max_length=5000,
                                       widget=forms.Textarea(attrs={"rows": 2}),
                                       help_text=_("Needed for direct choice with fiscal or state-owned funds."))
    bid_deadline = forms.DateTimeField(label=_("Bid deadline"), widget=LocalDateTimeInput())
    selection_time = forms.DateTimeField(label=_("Selection time"), widget=LocalDateTimeInput(), required=False,
                                         help_text=_("Empty: at the bid deadline."))
    min_bidders = forms.IntegerField(label=_("Minimum valid bids"), min_value=1, max_value=50, required=False,
                                     help_text=_("Empty: 3 with fiscal or state-owned funds, 1 otherwise."))
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)
    avoidances = forms.CharField(
        label=_("Agencies to avoid"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One agency a line as “unified social credit code:reason”."))

    def __init__(self, *args, owners: list[Organization], with_avoidances: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Organization.objects.filter(pk__in=[o.pk for o in owners])
        if len(owners) == 1:
            self.fields["owner"].initial = owners[0].pk
            self.fields["owner"].widget = forms.HiddenInput()
        self.fields["service_item"].queryset = ServiceItem.objects.filter(is_active=True).order_by("code")
        self.fields["region"].queryset = region_choices()
        self.fields["required_qualifications"].queryset = QualificationType.objects.order_by("code")
        if not with_avoidances:
            del self.fields["avoidances"]

    def clean_quality_criteria(self):
        return parse_criteria(self.cleaned_data.get("quality_criteria", ""))

    def clean_avoidances(self):
        return parse_avoidances(self.cleaned_data.get("avoidances", ""))

    def clean(self):
        data = super().clean()
        if data.get("quote_mode") != QuoteMode.DISCOUNT:
            data["discount_min_bp"] = data["discount_max_bp"] = None
        if data.get("selection_method") != SelectionMethod.WEIGHTED:
            data["price_weight"] = None
            data["quality_criteria"] = []
        if data.get("bid_deadline") and not data.get("selection_time"):
            data["selection_time"] = data["bid_deadline"]
        return data

    def service_fields(self) -> dict:
        """cleaned_data as the request services take it (owner, qualifications and avoidances apart)."""
        data = dict(self.cleaned_data)
        for key in ("owner", "required_qualifications", "avoidances"):
            data.pop(key, None)
        if data.get("region") is None:
            data.pop("region", None)
        return data

    @staticmethod
    def initial_for(request) -> dict:
        return {
            "owner": request.owner_id, "project_name": request.project_name, "project_code": request.project_code,
            "service_item": request.service_item_id, "region": request.region_id, "description": request.description,
            "fiscal_share": request.fiscal_share, "state_share": request.state_share,
            "social_share": request.social_share, "quote_mode": request.quote_mode, "budget_fen": request.budget_fen,
            "discount_min_bp": request.discount_min_bp, "discount_max_bp": request.discount_max_bp,
            "service_term_days": request.service_term_days,
            "required_qualifications": [q.pk for q in request.required_qualifications.all()],
            "selection_method": request.selection_method, "price_weight": request.price_weight,
            "quality_criteria": criteria_text(request.quality_criteria), "direct_exemption": request.direct_exemption,
            "bid_deadline": local_minute(request.bid_deadline), "selection_time": local_minute(request.selection_time),
            "min_bidders": request.min_bidders, "contact_name": request.contact_name,
            "contact_phone": request.contact_phone,
        }


class AmendForm(forms.Form):
    """The reason and the fields an amendment may change; only changed fields reach the service."""

    reason = forms.CharField(label=_("Reason for the amendment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    bid_deadline = forms.DateTimeField(label=_("Bid deadline"), widget=LocalDateTimeInput())
    selection_time = forms.DateTimeField(label=_("Selection time"), widget=LocalDateTimeInput())
    budget_fen = YuanField(label=_("Budget / price ceiling (yuan)"))
    discount_min_bp = PercentField(label=_("Lowest discount rate (%)"), required=False)
    discount_max_bp = PercentField(label=_("Highest discount rate (%)"), required=False)
    service_term_days = forms.IntegerField(label=_("Service term (days)"), min_value=1, max_value=3650)
    min_bidders = forms.IntegerField(label=_("Minimum valid bids"), min_value=1, max_value=50, required=False)
    description = forms.CharField(label=_("Service requirements"), widget=forms.Textarea(attrs={"rows": 4}),
                                  required=False, max_length=10000)
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)

    FIELDS = ("bid_deadline", "selection_time", "budget_fen", "discount_min_bp", "discount_max_bp", "service_term_days",
              "min_bidders", "description", "contact_name", "contact_phone")

    def __init__(self, *args, service_request, **kwargs):
        self.service_request = service_request
        kwargs["initial"] = {f: (local_minute(getattr(service_request, f)) if f in ("bid_deadline", "selection_time")
                                 else getattr(service_request, f)) for f in self.FIELDS}
        super().__init__(*args, **kwargs)
        if service_request.quote_mode != QuoteMode.DISCOUNT:
            del self.fields["discount_min_bp"], self.fields["discount_max_bp"]

    def changes(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.FIELDS
                if f in self.fields and self.cleaned_data.get(f) != self.initial.get(f)}


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason (published)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class AnswerForm(forms.Form):
    answer = forms.CharField(label=_("Answer (published to all)"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class QuestionForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Asking agency"), queryset=Organization.objects.none())
    question = forms.CharField(label=_("Your question"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args, organizations: list[Organization], **kwargs):
        super().__init__(*args, prefix="ask", **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=[o.pk for o in organizations])
        if len(organizations) == 1:
            self.fields["organization"].initial = organizations[0].pk
            self.fields["organization"].widget = forms.HiddenInput()


class ReissueForm(forms.Form):
    bid_deadline = forms.DateTimeField(label=_("New bid deadline"), widget=LocalDateTimeInput(), required=False,
                                       help_text=_("Empty: the shortest bidding window from now."))


def public_statuses() -> list[tuple[str, str]]:
    return [(v, label) for v, label in RequestStatus.choices if v not in (RequestStatus.DRAFT, RequestStatus.SELECTED)]
