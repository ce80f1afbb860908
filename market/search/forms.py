from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from . import registry


def kind_choices() -> list[tuple[str, str]]:
    """Every registered kind (read when the form is shown, after the domains registered theirs)."""
    return [("", _("Everything"))] + list(registry.kind_labels().items())


SORT_CHOICES = [("relevance", _("Relevance (red list first at equal relevance)")), ("newest", _("Newest first")),
                ("name", _("Name")), ("grade", _("Credit grade (A first)"))]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search for"), max_length=100, required=False,
                        help_text=_("Chinese in simplified or traditional characters, abbreviations such as 环评, codes."),
                        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "aria-describedby": "id_q-help"}))
    kind = forms.ChoiceField(label=_("Look in"), required=False, choices=kind_choices)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or "relevance"
