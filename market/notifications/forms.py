from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from supervision.models import NotificationKind


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of notifications"), choices=settings.LANGUAGES)
    email_kinds = forms.MultipleChoiceField(label=_("Send me these by e-mail"), required=False,
                                            choices=NotificationKind.choices, widget=forms.CheckboxSelectMultiple)
