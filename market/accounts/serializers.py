"""Serializers of the accounts API: API tokens, and signing up with an owner organization."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from market.accounts.models import Organization, Region


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False, max_length=4096)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    user_id = serializers.IntegerField()


def _model_max_length(name: str) -> int:
    return Organization._meta.get_field(name).max_length


class OrganizationRegisterSerializer(serializers.Serializer):
    """The owner organization registered with the account."""

    # Every field typed and bounded as the model stores it; the rules (USCC check digit, region) are the
    # service's. Other kinds are refused by the view with their own message.
    kind = serializers.ChoiceField(choices=Organization.Kind.choices, default=Organization.Kind.OWNER,
                                   help_text=_("Only owner organizations register here."))
    name = serializers.CharField(max_length=_model_max_length("name"))
    uscc = serializers.CharField(max_length=32, help_text=_("Unified social credit code, 18 characters."))
    region = serializers.CharField(max_length=12, help_text=_("GB/T 2260 code of the organization's region, e.g. 440604."))
    address = serializers.CharField(max_length=_model_max_length("address"), required=False, allow_blank=True, default="")
    legal_representative = serializers.CharField(max_length=_model_max_length("legal_representative"), required=False,
                                                 allow_blank=True, default="")
    contact_name = serializers.CharField(max_length=_model_max_length("contact_name"), required=False, allow_blank=True,
                                         default="")
    contact_phone = serializers.CharField(max_length=_model_max_length("contact_phone"), required=False,
                                          allow_blank=True, default="")
    contact_email = serializers.EmailField(max_length=_model_max_length("contact_email"), required=False,
                                           allow_blank=True, default="")

    def run_validation(self, data=serializers.empty):
        if data == {}:  # an empty object registers no organization, as leaving it out does
            return {}
        return super().run_validation(data)


def _inline_object_schema(serializer: serializers.Serializer, **overrides) -> dict:
    """The OpenAPI schema of a flat serializer of strings, written out in place rather than as a component,
    and with no `required` list: schemathesis signs up through /auth/register/ (.ci/schemathesis.sh), reads
    only a body whose properties are all in place, and sends the simplest value of each — here {}, which
    registers no organization (the fields an organization needs are said in the field's description)."""
    properties = {}
    for name, field in serializer.fields.items():
        prop: dict = {"type": "string"}
        if isinstance(field, serializers.ChoiceField):
            prop["enum"] = [str(choice) for choice in field.choices]
        if isinstance(field, serializers.EmailField):
            prop["format"] = "email"
        if getattr(field, "max_length", None):
            prop["maxLength"] = field.max_length
        if field.required:
            prop["minLength"] = 1
        properties[name] = {**prop, **overrides.get(name, {})}
    return {"type": "object", "properties": properties}


extend_schema_field(_inline_object_schema(OrganizationRegisterSerializer(), kind={"enum": [Organization.Kind.OWNER.value]}))(
    OrganizationRegisterSerializer)


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, max_length=4096)
    organization = OrganizationRegisterSerializer(
        required=False,
        help_text=_("Optional: register an owner organization at the same time; it needs a name, a unified social "
                    "credit code (uscc) and a region. An empty object registers none."),
    )


class OrganizationSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())

    class Meta:
        model = Organization
        fields = ["id", "kind", "name", "uscc", "region", "address", "legal_representative", "contact_name",
                  "contact_phone", "contact_email", "status"]
        read_only_fields = ["id", "status"]


class RegisterResponseSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    token = serializers.CharField()
    organization = OrganizationSerializer(required=False, allow_null=True)
