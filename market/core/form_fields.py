"""Form fields that keep input the database cannot hold away from it (see also market/input_guard.py)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from market.core.input_guard import MAX_ID


def beyond_any_id(value) -> bool:
    """Whether `value` spells a whole number no integer column holds."""
    text = str(value).strip().lstrip("+-")
    return text.isascii() and text.isdigit() and (len(text) > 19 or int(text) > MAX_ID)


class ModelMultipleIdChoiceField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses a number beyond any id as an invalid choice, instead of
    putting it in an IN (...) query (which SQLite cannot even bind: a server error)."""

    def _check_values(self, value):
        key = self.to_field_name or "pk"
        meta = self.queryset.model._meta
        field = meta.pk if key == "pk" else meta.get_field(key)
        if isinstance(field, models.IntegerField):
            for pk in value:
                if beyond_any_id(pk):
                    raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                          params={"pk": pk})
        return super()._check_values(value)
