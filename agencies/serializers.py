"""API shapes of agencies. Output serializers read what the selectors prefetched; input
serializers only parse — the rules are in services.py."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from market.api.serializers import FenField

from .models import AgencyStatus, AgencyType, LicenceFile, Qualification


class AgencyOfferedItemSerializer(serializers.Serializer):
    code = serializers.CharField(source="service_item.code")
    name = serializers.CharField(source="service_item.name")
    fee_quote = serializers.CharField()
    fee_quote_fen = serializers.IntegerField(allow_null=True)
    commitment = serializers.CharField()


class AgencyQualificationSerializer(serializers.ModelSerializer):
    qualification_type = serializers.CharField(source="qualification_type.code")
    qualification_type_name = serializers.CharField(source="qualification_type.name")
    is_valid = serializers.SerializerMethodField(help_text=_("Valid today (by the server's date)."))
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = Qualification
        fields = ["id", "qualification_type", "qualification_type_name", "certificate_number", "level", "issuer",
                  "valid_from", "valid_to", "is_valid", "has_file"]

    def get_is_valid(self, obj: Qualification) -> bool:
        return obj.is_valid_on(self.context.get("today") or timezone.localdate())

    def get_has_file(self, obj: Qualification) -> bool:
        return bool(obj.file)


@extend_schema_field(OpenApiTypes.STR)
class QualificationFileUrlField(serializers.Field):
    """The download path of a qualification's scan, or null without one. An output field that is not
    read-only so that the schema may leave it out of `required`: the public gets no such key."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, allow_null=True, **kwargs)

    def to_representation(self, value: Qualification) -> str | None:
        if not value.file:
            return None
        return reverse("agencies_api:qualification-file", kwargs={"pk": value.agency_id, "qid": value.pk})


class AgencyQualificationPrivateSerializer(AgencyQualificationSerializer):
    """For the agency's staff and regulators: with the scan's download link. The endpoints that use it
    answer the public with the public shape, so the private fields are optional."""

    file_url = QualificationFileUrlField(help_text=_("Staff and regulators only: the scan's download path."))

    class Meta(AgencyQualificationSerializer.Meta):
        fields = AgencyQualificationSerializer.Meta.fields + ["file_url", "original_name", "expiry_warned_at"]


class AgencyLicenceFileSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = LicenceFile
        fields = ["id", "kind", "original_name", "content_type", "size", "uploaded_at", "url"]

    def get_url(self, obj: LicenceFile) -> str:
        return reverse("agencies_api:licence-file", kwargs={"pk": obj.agency_id, "fid": obj.pk})


class AgencyPractitionerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=64)
    title = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    certificate_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class AgencySerializer(serializers.Serializer):
    """An agency as the public sees it."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="organization.name")
    uscc = serializers.CharField(source="organization.uscc")
    agency_type = serializers.ChoiceField(choices=AgencyType.choices)
    region = serializers.CharField(source="organization.region_id")
    region_name = serializers.CharField(source="organization.region.full_name")
    address = serializers.CharField(source="organization.address")
    legal_representative = serializers.CharField(source="organization.legal_representative")
    contact_name = serializers.CharField(source="organization.contact_name")
    contact_phone = serializers.CharField(source="organization.contact_phone")
    contact_email = serializers.CharField(source="organization.contact_email")
    introduction = serializers.CharField()
    status = serializers.ChoiceField(choices=AgencyStatus.choices)
    status_display = serializers.CharField(source="get_status_display")
    credit_grade = serializers.CharField()
    credit_score = serializers.IntegerField()
    publicity_started_at = serializers.DateTimeField(allow_null=True)
    publicity_ends_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    service_items = AgencyOfferedItemSerializer(source="offers", many=True)
    qualifications = AgencyQualificationSerializer(source="all_qualifications", many=True)


class AgencyPrivateSerializer(AgencySerializer):
    """An agency; its own staff and regulators also get the fields marked "staff and regulators only".
    The endpoints answer the public with the public shape, so those fields are optional (required=False)."""

    review_comment = serializers.CharField(required=False, help_text=_("Staff and regulators only."))
    status_reason = serializers.CharField(required=False, help_text=_("Staff and regulators only."))
    draft_step = serializers.IntegerField(required=False, help_text=_("Staff and regulators only."))
    submitted_at = serializers.DateTimeField(required=False, allow_null=True, help_text=_("Staff and regulators only."))
    qualifications = AgencyQualificationPrivateSerializer(source="all_qualifications", many=True)
    licence_files = AgencyLicenceFileSerializer(many=True, required=False, help_text=_("Staff and regulators only."))
    practitioners = AgencyPractitionerSerializer(many=True, required=False, help_text=_("Staff and regulators only."))


# --- Input ---------------------------------------------------------------------------------------------


class AgencyRegisterSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    uscc = serializers.CharField(max_length=18, help_text=_("Unified social credit code, 18 characters."))
    region = serializers.CharField(max_length=12, help_text=_("GB/T 2260 code of the agency's region, e.g. 440104."))
    agency_type = serializers.ChoiceField(choices=AgencyType.choices, default=AgencyType.COMPANY)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    legal_representative = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    contact_name = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")
    introduction = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AgencyOfferedItemInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, help_text=_("Catalogue code of the service item."))
    fee_quote = serializers.CharField(max_length=255)
    fee_quote_fen = FenField(required=False, allow_null=True, default=None)
    commitment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


MAX_LIST_ITEMS = 500  # offered items or practitioners in one change: more than the catalogue holds


class AgencyPatchSerializer(serializers.Serializer):
    """Change a draft (or a returned registration). Lists replace what the agency had."""

    name = serializers.CharField(max_length=200, required=False)
    region = serializers.CharField(max_length=12, required=False)
    agency_type = serializers.ChoiceField(choices=AgencyType.choices, required=False)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    legal_representative = serializers.CharField(max_length=64, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=64, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    introduction = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    service_items = AgencyOfferedItemInputSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS,
                                               help_text=_("The items offered; replaces the whole list."))
    practitioners = AgencyPractitionerSerializer(many=True, required=False, max_length=MAX_LIST_ITEMS,
                                           help_text=_("The practitioners; replaces the whole list."))

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("Send at least one field to change."))
        codes = [i["code"] for i in attrs.get("service_items", [])]
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError({"service_items": [_("Each service item may appear only once.")]})
        return attrs


class AgencyReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("approve", _("approve: start publicity")), ("return", _("return for changes")),
                                                ("reject", _("reject"))])
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                    help_text=_("Required to return or reject; shown to the agency."))


class AgencyWithdrawSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AgencyQualificationInputSerializer(serializers.Serializer):
    qualification_type = serializers.CharField(max_length=40, help_text=_("Qualification type code, e.g. QT-CH-A."))
    certificate_number = serializers.CharField(max_length=64)
    level = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    issuer = serializers.CharField(max_length=100)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField()
    file = serializers.FileField(required=False, allow_null=True, default=None,
                                 help_text=_("Scanned certificate: PDF, JPEG or PNG, at most 10 MB (multipart)."))


class AgencyLicenceFileInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LicenceFile.Kind.choices, default=LicenceFile.Kind.BUSINESS_LICENCE)
    file = serializers.FileField(help_text=_("PDF, JPEG or PNG, at most 10 MB (multipart)."))
