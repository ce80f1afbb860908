"""API for contracts, delivery and acceptance, extensions and evaluations (payment and Stripe's
webhook: market/payments/api.py, whose payment shows in a contract's private part through
market.contracts.events).

Thin: each view parses its input, calls a service from market.contracts.services, and answers with
the contract as the caller may see it. Errors (ValidationError, PermissionDenied, 404) become JSON
through market.core.errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.files import private_file_response
from agencies.models import Agency
from market.api.pagination import PAGE_NOT_FOUND
from market.api.serializers import ErrorSerializer, IdField
from market.core.errors import error_response

from . import events
from . import selectors as contract_selectors
from . import services as contract_services
from .models import EVALUATION_DIMENSIONS, Contract, Deliverable, DeliveryRound, Evaluation, ExtensionRequest

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer,
          409: ErrorSerializer}


# --- serializers -------------------------------------------------------------------------------------------


class ContractPublicSerializer(serializers.ModelSerializer):
    """What everyone sees: parties, amount, term and dates."""

    request_id = serializers.IntegerField()
    project_name = serializers.CharField(source="request.project_name")
    owner = serializers.CharField(source="owner.name")
    owner_uscc = serializers.CharField(source="owner.uscc")
    agency_id = serializers.IntegerField()
    agency = serializers.CharField(source="agency.organization.name")
    agency_uscc = serializers.CharField(source="agency.organization.uscc")
    service_item = serializers.CharField(source="service_item.code")
    service_item_name = serializers.CharField(source="service_item.name")
    status_display = serializers.CharField(source="get_status_display")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Contract
        fields = ["id", "number", "request_id", "project_name", "owner", "owner_uscc", "agency_id", "agency",
                  "agency_uscc", "service_item", "service_item_name", "sequence", "amount_fen", "term_days",
                  "deliverables", "pay_on_acceptance", "status", "status_display", "status_reason", "drafted_at",
                  "confirm_deadline", "owner_confirmed_at", "agency_confirmed_at", "signed_at", "due_at", "delivered_at",
                  "accepted_at", "closed_at", "ended_at", "overdue"]

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue_at(self.context.get("now") or timezone.now())


class DeliverableSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, obj) -> str:
        return reverse("api:contract-file", args=[obj.delivery_round.contract_id, obj.pk])


class DeliveryRoundSerializer(serializers.ModelSerializer):
    files = DeliverableSerializer(many=True)

    class Meta:
        model = DeliveryRound
        fields = ["id", "number", "note", "submitted_at", "review_deadline", "status", "decision_reason", "decided_at",
                  "deemed", "files"]


class ExtensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtensionRequest
        fields = ["id", "days", "reason", "requested_at", "status", "decision_note", "decided_at", "due_before",
                  "due_after"]


class ContractDetailSerializer(ContractPublicSerializer):
    """Public fields, plus — for the two parties and regulators — deliveries, extensions and payment."""

    # The payment is a section market.payments adds (market.contracts.events.private_section_register).

    private = serializers.SerializerMethodField()

    class Meta(ContractPublicSerializer.Meta):
        fields = ContractPublicSerializer.Meta.fields + ["private"]

    def get_private(self, obj) -> dict | None:
        user = self.context.get("user")
        if not contract_selectors.can_see_private(user, obj):
            return None
        return {
            "sides": sorted(contract_selectors.party_sides(user, obj)),
            "deliveries": DeliveryRoundSerializer(contract_selectors.delivery_rounds(contract=obj), many=True).data,
            "extensions": ExtensionSerializer(contract_selectors.extensions(contract=obj), many=True).data,
            **{name: provide(obj) for name, provide in events.private_sections()},
        }


class EvaluationSerializer(serializers.ModelSerializer):
    contract_number = serializers.CharField(source="contract.number")
    owner = serializers.CharField(source="contract.owner.name")
    comment = serializers.SerializerMethodField()
    average = serializers.DecimalField(max_digits=4, decimal_places=2)

    class Meta:
        model = Evaluation
        fields = ["id", "contract", "contract_number", "agency", "owner", "quality", "timeliness", "attitude",
                  "fee_compliance", "conduct", "average", "comment", "status", "hidden_reason", "submitted_at"]

    def get_comment(self, obj) -> str:
        return obj.comment if obj.comment_visible else ""


class EvaluationWriteSerializer(serializers.Serializer):
    contract = IdField()
    quality = serializers.IntegerField(min_value=1, max_value=5)
    timeliness = serializers.IntegerField(min_value=1, max_value=5)
    attitude = serializers.IntegerField(min_value=1, max_value=5)
    fee_compliance = serializers.IntegerField(min_value=1, max_value=5)
    conduct = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SideSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=["owner", "agency"], required=False,
                                   help_text=_("Only if you act for both parties."))


class RefuseSerializer(SideSerializer):
    reason = serializers.CharField(max_length=2000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class DeliveryUploadSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)


# --- helpers -----------------------------------------------------------------------------------------------

MAX_ID = 2**63 - 1  # the largest id an integer column holds (bigint; SQLite's INTEGER)


def id_param(value: str | None) -> int | None:
    """A query parameter naming an object by id, or None when it cannot be an id (not ASCII digits,
    or too large for the database, which would otherwise fail on it)."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        return None
    return int(value)


def contract_or_404(pk: int) -> Contract:
    contract = contract_selectors.contract_get(pk=pk)
    if contract is None:
        raise NotFound(_("No such contract."))
    return contract


def _detail(request, contract: Contract, http_status: int = status.HTTP_200_OK) -> Response:
    contract = contract_or_404(contract.pk)
    return Response(ContractDetailSerializer(contract, context={"user": request.user, "now": timezone.now()}).data,
                    status=http_status)


class CodedErrors:
    """A refusal from a service keeps its code in the JSON ("illegal_transition", "bad_signature", …)."""

    def handle_exception(self, exc):
        if isinstance(exc, DjangoValidationError) and not hasattr(exc, "error_dict") and exc.code:
            return error_response(exc.messages[0], code=exc.code)
        return super().handle_exception(exc)


class Authenticated(CodedErrors, APIView):
    permission_classes = [IsAuthenticated]


# --- contracts ---------------------------------------------------------------------------------------------


@extend_schema(tags=["contracts"])
class ContractListView(CodedErrors, generics.ListAPIView):
    """Every contract, public: number, parties, amount, term and dates."""

    serializer_class = ContractPublicSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("q", str),
                               OpenApiParameter("request", int)],
                   responses={200: ContractPublicSerializer(many=True), **PAGE_NOT_FOUND})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        qs = contract_selectors.contract_list_public(status=params.get("status") or None, q=params.get("q") or None)
        if (params.get("request") or "").isdigit():
            request_id = id_param(params["request"])
            qs = qs.filter(request_id=request_id) if request_id is not None else qs.none()
        return qs


@extend_schema(tags=["contracts"])
class ContractDetailView(CodedErrors, APIView):
    """A contract: public to all; deliveries, extensions and payment only to the parties and regulators."""

    @extend_schema(responses={200: ContractDetailSerializer, **ERRORS})
    def get(self, request, pk: int):
        return _detail(request, contract_or_404(pk))


@extend_schema(tags=["contracts"])
class ContractConfirmView(Authenticated):
    """Sign the contract for your side within the confirmation period."""

    @extend_schema(request=SideSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        data = SideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contract = contract_services.contract_confirm(actor=request.user, contract=contract_or_404(pk),
                                                      side=data.validated_data.get("side"))
        return _detail(request, contract)


@extend_schema(tags=["contracts"])
class ContractRefuseView(Authenticated):
    """Refuse to sign, with the reason. The selected agency refusing is recorded as a breach."""

    @extend_schema(request=RefuseSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        data = RefuseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contract = contract_services.contract_refuse(actor=request.user, contract=contract_or_404(pk),
                                                     reason=data.validated_data["reason"],
                                                     side=data.validated_data.get("side"))
        return _detail(request, contract)


@extend_schema(tags=["contracts"])
class DeliveryCreateView(Authenticated):
    """The agency uploads its deliverables (multipart: `note` and one or more `files`)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": DeliveryUploadSerializer},
                   responses={201: DeliveryRoundSerializer, **ERRORS})
    def post(self, request, pk: int):
        contract = contract_or_404(pk)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        delivery = contract_services.deliverable_upload(actor=request.user, contract=contract,
                                                        note=request.data.get("note", ""), files=files)
        return Response(DeliveryRoundSerializer(contract_selectors.delivery_rounds(contract=contract).get(pk=delivery.pk)).data,
                        status=status.HTTP_201_CREATED)


@extend_schema(tags=["contracts"])
class DeliverableFileView(Authenticated):
    """Download a deliverable (only the two parties and regulators)."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes, **ERRORS})
    def get(self, request, pk: int, file_id: int):
        contract = contract_or_404(pk)
        if not contract_selectors.can_see_private(request.user, contract):
            raise PermissionDenied(_("Only the two parties and regulators may see this."))
        item = get_object_or_404(Deliverable, pk=file_id, delivery_round__contract=contract)
        return private_file_response(item)


def _round(pk: int, number: int) -> DeliveryRound:
    return get_object_or_404(DeliveryRound.objects.select_related("contract__owner", "contract__agency__organization"),
                             contract__pk=pk, number=number)  # contract__pk (not contract_id): an id out of range finds nothing


@extend_schema(tags=["contracts"])
class DeliveryAcceptView(Authenticated):
    """The owner accepts a delivery round; a held payment is captured."""

    @extend_schema(request=ReasonSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    def post(self, request, pk: int, number: int):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contract_services.deliverable_accept(actor=request.user, delivery_round=_round(pk, number),
                                             reason=data.validated_data.get("reason", ""))
        return _detail(request, contract_or_404(pk))


@extend_schema(tags=["contracts"])
class DeliveryReturnView(Authenticated):
    """The owner returns a delivery round with reasons, within the review period."""

    @extend_schema(request=ReasonSerializer, responses={200: ContractDetailSerializer, **ERRORS})
    def post(self, request, pk: int, number: int):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contract_services.deliverable_return(actor=request.user, delivery_round=_round(pk, number),
                                             reason=data.validated_data.get("reason", ""))
        return _detail(request, contract_or_404(pk))


class ExtensionWriteSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=contract_services.MAX_EXTENSION_DAYS)
    reason = serializers.CharField(max_length=2000)


class ExtensionDecideSerializer(serializers.Serializer):
    grant = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


@extend_schema(tags=["contracts"])
class ExtensionCreateView(Authenticated):
    """The agency asks for more days; the due date moves only with the owner's consent."""

    @extend_schema(request=ExtensionWriteSerializer, responses={201: ExtensionSerializer, **ERRORS})
    def post(self, request, pk: int):
        data = ExtensionWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ext = contract_services.extension_request(actor=request.user, contract=contract_or_404(pk),
                                                  **data.validated_data)
        return Response(ExtensionSerializer(ext).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contracts"])
class ExtensionDecideView(Authenticated):
    @extend_schema(request=ExtensionDecideSerializer, responses={200: ExtensionSerializer, **ERRORS})
    def post(self, request, pk: int, ext_id: int):
        data = ExtensionDecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ext = get_object_or_404(ExtensionRequest.objects.select_related("contract__owner"), pk=ext_id, contract__pk=pk)
        ext = contract_services.extension_decide(actor=request.user, extension=ext, grant=data.validated_data["grant"],
                                                 note=data.validated_data.get("note", ""))
        return Response(ExtensionSerializer(ext).data)


# --- evaluations -------------------------------------------------------------------------------------------


@extend_schema(tags=["evaluations"])
class EvaluationListCreateView(CodedErrors, generics.ListCreateAPIView):
    """GET ?agency=<id>: an agency's evaluations (a hidden comment is blank). POST: the owner
    evaluates an accepted contract, once."""

    serializer_class = EvaluationSerializer

    @extend_schema(parameters=[OpenApiParameter("agency", int, required=True)],
                   responses={200: EvaluationSerializer(many=True), 400: ErrorSerializer, **PAGE_NOT_FOUND})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        agency = id_param(self.request.query_params.get("agency"))
        if agency is None:
            raise serializers.ValidationError({"agency": [_("Give the agency's id.")]})
        return contract_selectors.evaluations_public(agency=agency)

    @extend_schema(request=EvaluationWriteSerializer, responses={201: EvaluationSerializer, **ERRORS})
    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        data = EvaluationWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        contract = contract_or_404(v.pop("contract"))
        comment = v.pop("comment", "")
        evaluation = contract_services.evaluation_submit(actor=request.user, contract=contract, scores=v,
                                                         comment=comment)
        return Response(EvaluationSerializer(evaluation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["evaluations"])
class EvaluationSummaryView(CodedErrors, APIView):
    """Averages of an agency's evaluations on the five dimensions."""

    @extend_schema(responses={200: inline_serializer("EvaluationSummary", {
        "count": serializers.IntegerField(),
        "overall": serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True),
        "averages": serializers.DictField(child=serializers.DecimalField(max_digits=4, decimal_places=2,
                                                                         allow_null=True))}), 404: ErrorSerializer})
    def get(self, request, agency_id: int):
        agency = get_object_or_404(Agency, pk=agency_id)
        summary = contract_selectors.evaluation_summary(agency)
        def text(value):
            return None if value is None else str(value)

        return Response({"count": summary["count"], "overall": text(summary["overall"]),
                         "averages": {n: text(summary["averages"][n]) for n, _l in EVALUATION_DIMENSIONS}})
