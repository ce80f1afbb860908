from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from market.core.lockout import LOCKED_MESSAGE, client_address, is_locked
from market.accounts.models import Membership, Organization, Region
from market.accounts.selectors import region_choices
from market.core.uscc import normalize, validate_uscc


class SignupForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class LoginForm(AuthenticationForm):
    """Django's log-in form. The lockout itself is in the authentication backend (market/lockout.py),
    which every log-in route shares; this form only says why a locked account is refused."""

    error_messages = {**AuthenticationForm.error_messages, "locked": LOCKED_MESSAGE}

    def clean(self):
        if is_locked(self.data.get("username", ""), client_address(self.request)):
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        return super().clean()


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Region) -> str:
        return f"{obj.code} {obj.full_name or obj.name}"


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Organization name"), max_length=200)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, min_length=18,
                           help_text=_("18 characters, with the GB 32100 check digit last."))
    region = RegionChoiceField(label=_("Region"), queryset=Region.objects.none())
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    legal_representative = forms.CharField(label=_("Legal representative"), max_length=64)
    contact_name = forms.CharField(label=_("Contact person"), max_length=64)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False, max_length=254)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = region_choices()

    def clean_uscc(self):
        code = normalize(self.cleaned_data["uscc"])
        validate_uscc(code)
        return code


class VerifyForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Verify")), ("reject", _("Reject"))])
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class MemberForm(forms.Form):
    username = forms.CharField(label=_("User name of an existing account"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class RegulatorForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Regulator organization"),
                                          queryset=Organization.objects.filter(kind=Organization.Kind.REGULATOR))
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, strip=False)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
