from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from market.core.input_guard import MAX_ID
from market.core.money import MAX_FEN


class FenField(serializers.IntegerField):
    """An amount of money: a whole number of fen from `min_value` (0 unless said) to MAX_FEN. Exponents,
    fractions, infinities and amounts beyond the bound are refused with 400 naming the field."""

    default_error_messages = {
        "invalid": _("Enter an amount in fen as a whole number, such as 123450 for ¥1,234.50."),
        "max_value": _("Enter an amount of at most {max_value} fen."),
        "min_value": _("Enter an amount of at least {min_value} fen."),
        "max_string_length": _("Enter an amount in fen as a whole number, such as 123450 for ¥1,234.50."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_FEN)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(serializers.IntegerField):
    """The id of an object: a whole number from 1 to the largest a database id holds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    errors = serializers.DictField(required=False)
