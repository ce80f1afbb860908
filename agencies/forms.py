"""Forms of the agency pages. They parse input; the rules live in services.py."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from market.accounts.forms import RegionChoiceField
from market.accounts.models import Membership
from market.calendar.models import CalendarDay
from market.catalogue.models import QualificationType, ServiceItem
from market.core.money import yuan_to_fen
from market.accounts.selectors import region_choices
from market.core.uscc import normalize, validate_uscc

from .models import AgencyType, LicenceFile

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _upload_help() -> str:
    return _("PDF, JPEG or PNG, at most %(mb)s MB.") % {"mb": f"{settings.UPLOAD_MAX_BYTES / (1024 * 1024):g}"}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class AgencyOrganizationForm(forms.Form):
    """Step 1: the organization."""

    name = forms.CharField(label=_("Agency name"), max_length=200)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, min_length=18,
                           help_text=_("18 characters, with the GB 32100 check digit last."))
    agency_type = forms.ChoiceField(label=_("Type of agency"), choices=AgencyType.choices)
    region = RegionChoiceField(label=_("Region"), queryset=None,
                               help_text=_("Where the agency is registered. It may serve the whole province."))
    address = forms.CharField(label=_("Address"), max_length=255)
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=64)
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False, max_length=254)
    introduction = forms.CharField(label=_("Introduction"), required=False, max_length=5000,
                                   widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, fixed_uscc: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = region_choices()
        if fixed_uscc:  # the code identifies the registration and is not changed afterwards
            self.fields["uscc"].disabled = True
            self.fields["uscc"].help_text = _("The code cannot be changed; withdraw and register again if it is wrong.")

    def clean_uscc(self):
        code = normalize(self.cleaned_data["uscc"])
        validate_uscc(code)
        return code


class LicenceFileForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=LicenceFile.Kind.choices)
    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _upload_help()


class ServiceItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ServiceItem) -> str:
        return f"{obj.code} {obj.name}"


class OfferedItemForm(forms.Form):
    service_item = ServiceItemChoiceField(label=_("Service item"), queryset=None)
    fee_quote = forms.CharField(label=_("Fee quote"), max_length=255,
                                help_text=_("How you charge, e.g. “10% below the fee standard”."))
    fee_quote_yuan = forms.CharField(label=_("Typical fee (yuan)"), required=False, max_length=20,
                                     help_text=_("Optional. For government-priced items it may not exceed the cap."))
    commitment = forms.CharField(label=_("Service commitment"), required=False, max_length=2000,
                                 widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service_item"].queryset = ServiceItem.objects.filter(is_active=True).order_by("code")

    def clean_fee_quote_yuan(self):
        value = (self.cleaned_data.get("fee_quote_yuan") or "").strip()
        return yuan_to_fen(value) if value else None


class QualificationTypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: QualificationType) -> str:
        return obj.name


class QualificationForm(forms.Form):
    qualification_type = QualificationTypeChoiceField(label=_("Qualification type"), queryset=None)
    certificate_number = forms.CharField(label=_("Certificate number"), max_length=64)
    level = forms.CharField(label=_("Level"), max_length=32, required=False)
    issuer = forms.CharField(label=_("Issuing authority"), max_length=100)
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_to = forms.DateField(label=_("Valid to"), widget=DateInput())
    file = forms.FileField(label=_("Scanned certificate"), required=False,
                           widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["qualification_type"].queryset = QualificationType.objects.order_by("code")
        self.fields["file"].help_text = _upload_help()


class PractitionerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    title = forms.CharField(label=_("Professional title"), max_length=64, required=False)
    certificate_number = forms.CharField(label=_("Practising certificate number"), max_length=64, required=False)


class SubmitForm(forms.Form):
    confirm = forms.BooleanField(label=_("I confirm that the information and documents are true and complete."))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    confirm = forms.BooleanField(label=_("I understand that a withdrawn registration cannot be reopened."))


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[
        ("approve", _("Approve: start publicity")), ("return", _("Return for changes")), ("reject", _("Reject"))])
    comment = forms.CharField(label=_("Comment to the agency"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Required when returning or rejecting."))


class StatusForm(forms.Form):
    """A regulator suspends or reinstates an agency."""

    reason = forms.CharField(label=_("Reason"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ObjectionForm(forms.Form):
    contact_name = forms.CharField(label=_("Your name"), max_length=64)
    contact_phone = forms.CharField(label=_("Your phone"), max_length=32, required=False)
    reason = forms.CharField(label=_("Objection and evidence"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))


class RulingForm(forms.Form):
    decision = forms.ChoiceField(label=_("Ruling"), choices=[
        ("dismiss", _("Dismiss: activation proceeds when publicity ends")),
        ("returned", _("Uphold: return the registration for changes")),
        ("rejected", _("Uphold: reject the registration"))])
    ruling = forms.CharField(label=_("Reasons"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.STAFF)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class CalendarDayForm(forms.Form):
    day = forms.DateField(label=_("Date"), widget=DateInput())
    kind = forms.ChoiceField(label=_("Kind"), choices=CalendarDay.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=64, required=False, help_text=_("e.g. National Day"))


class HolidayYearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
