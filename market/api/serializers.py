from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import Organization, QualificationType, Region, ServiceItem


class QualificationTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = QualificationType
        fields = ["code", "name", "issuer"]


class ServiceItemSerializer(serializers.ModelSerializer):
    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    qualification_types = QualificationTypeSerializer(many=True)
    pricing_mode_display = serializers.CharField(source="get_pricing_mode_display")
    level_display = serializers.CharField(source="get_level_display")

    class Meta:
        model = ServiceItem
        fields = [
            "code", "name", "category", "category_name", "legal_basis", "approval", "department",
            "qualification_types", "service_content", "result", "time_limit_days", "pricing_mode",
            "pricing_mode_display", "fee_basis", "fee_standard", "fee_cap_fen", "level", "level_display",
        ]


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    user_id = serializers.IntegerField()


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, trim_whitespace=False)
    organization = serializers.DictField(
        required=False,
        help_text=_("Optional: register an owner organization at the same time "
                    "(kind, name, uscc, region, address, legal_representative, contact_name, contact_phone, contact_email)."),
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


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    errors = serializers.DictField(required=False)
