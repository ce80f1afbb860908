"""API for service requests: draft, publish, amend, cancel, list, detail, clarifications."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors as request_selectors, services as request_services
from market.accounts.models import Organization, Region
from market.catalogue.models import QualificationType, ServiceItem
from market.requests.models import QuoteMode, RequestQuestion, SelectionMethod, ServiceRequest
from ..api.pagination import PAGE_NOT_FOUND
from ..api.serializers import ErrorSerializer, FenField, IdField

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer}


class CriterionSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    weight = serializers.IntegerField(min_value=1, max_value=100)


class AvoidanceSerializer(serializers.Serializer):
    agency_id = IdField()
    reason = serializers.CharField(max_length=255)


class RequestWriteSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.filter(kind=Organization.Kind.OWNER),
                                               required=False, help_text=_("Owner organization id (default: your only one)"))
    project_name = serializers.CharField(max_length=200)
    project_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    service_item = serializers.SlugRelatedField(slug_field="code", queryset=ServiceItem.objects.filter(is_active=True))
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all(), required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    fiscal_share = serializers.IntegerField(min_value=0, max_value=100, default=0)
    state_share = serializers.IntegerField(min_value=0, max_value=100, default=0)
    social_share = serializers.IntegerField(min_value=0, max_value=100, default=0)
    quote_mode = serializers.ChoiceField(choices=QuoteMode.choices, default=QuoteMode.PRICE)
    budget_fen = FenField(min_value=1)
    discount_min_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, allow_null=True)
    discount_max_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, allow_null=True)
    service_term_days = serializers.IntegerField(min_value=1, max_value=3650)
    required_qualifications = serializers.SlugRelatedField(slug_field="code", many=True, required=False,
                                                           queryset=QualificationType.objects.all())
    selection_method = serializers.ChoiceField(choices=SelectionMethod.choices)
    price_weight = serializers.IntegerField(min_value=1, max_value=100, required=False, allow_null=True)
    quality_criteria = CriterionSerializer(many=True, required=False, max_length=100)
    direct_exemption = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    bid_deadline = serializers.DateTimeField()
    selection_time = serializers.DateTimeField(required=False)
    min_bidders = serializers.IntegerField(min_value=1, max_value=50, required=False, allow_null=True)
    contact_name = serializers.CharField(max_length=64)
    contact_phone = serializers.CharField(max_length=32)
    avoidances = AvoidanceSerializer(many=True, required=False, max_length=500)


class QuestionSerializer(serializers.ModelSerializer):
    asked_by = serializers.SerializerMethodField()

    class Meta:
        model = RequestQuestion
        fields = ["id", "question", "answer", "asked_at", "answered_at", "asked_by"]

    def get_asked_by(self, obj) -> str:
        return _("an agency")  # askers stay anonymous to the public and the owner


class RequestReadSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name")
    owner_id = serializers.IntegerField()
    service_item = serializers.CharField(source="service_item.code")
    service_item_name = serializers.CharField(source="service_item.name")
    region = serializers.CharField(source="region.code")
    region_name = serializers.CharField(source="region.full_name")
    status = serializers.SerializerMethodField()
    bid_count = serializers.IntegerField()
    required_qualifications = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = ServiceRequest
        fields = ["id", "owner", "owner_id", "project_name", "project_code", "service_item", "service_item_name", "region",
                  "region_name", "description", "fiscal_share", "state_share", "social_share", "quote_mode", "budget_fen",
                  "discount_min_bp", "discount_max_bp", "service_term_days", "required_qualifications",
                  "selection_method", "price_weight", "quality_criteria", "direct_exemption", "bid_deadline",
                  "selection_time", "min_bidders", "contact_name", "contact_phone", "status", "status_reason",
                  "round_number", "previous_round", "commitment", "published_at", "amended_at", "publicity_ends_at",
                  "bid_count"]

    def get_status(self, obj) -> str:
        return obj.effective_status(self.context.get("now") or timezone.now())


class RequestDetailSerializer(RequestReadSerializer):
    questions = serializers.SerializerMethodField()
    avoidances = serializers.SerializerMethodField()

    class Meta(RequestReadSerializer.Meta):
        fields = RequestReadSerializer.Meta.fields + ["questions", "avoidances"]

    def get_questions(self, obj) -> list[dict]:
        return QuestionSerializer([q for q in obj.questions.all() if q.answer], many=True).data

    def get_avoidances(self, obj) -> list[dict]:
        return [{"agency": a.agency.organization.name, "reason": a.reason} for a in obj.avoidances.all()]


def _owner_for(request, data) -> Organization:
    owner = data.pop("owner", None)
    if owner is not None:
        return owner
    owners = [m.organization for m in request.user.memberships.select_related("organization")
              if m.organization.kind == Organization.Kind.OWNER]
    if len(owners) != 1:
        raise serializers.ValidationError({"owner": [_("Say which owner organization posts the request.")]})
    return owners[0]


def _service_kwargs(data: dict) -> dict:
    from agencies.models import Agency

    avoidances = []
    for a in data.pop("avoidances", []) or []:
        agency = Agency.objects.filter(pk=a["agency_id"]).first()
        if agency is None:
            raise serializers.ValidationError({"avoidances": [_("Unknown agency %(id)s.") % {"id": a["agency_id"]}]})
        avoidances.append((agency, a["reason"]))
    if "quality_criteria" in data:
        data["quality_criteria"] = [dict(c) for c in data["quality_criteria"]]
    if "bid_deadline" in data and "selection_time" not in data:
        data["selection_time"] = data["bid_deadline"]
    return {"avoidances": avoidances, **data}


@extend_schema(tags=["requests"])
class RequestListCreateView(generics.ListCreateAPIView):
    """Published service requests (announcements); POST drafts a new one (owner members)."""

    def get_serializer_class(self):
        return RequestWriteSerializer if self.request.method == "POST" else RequestReadSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(parameters=[OpenApiParameter(p, str) for p in ("service_item", "region", "method", "status", "q")],
                   responses={200: RequestReadSerializer(many=True), **PAGE_NOT_FOUND})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = request_selectors.RequestFilters.from_params(self.request.query_params)
        return request_selectors.request_list(filters=filters).prefetch_related("required_qualifications")

    @extend_schema(request=RequestWriteSerializer, responses={201: RequestDetailSerializer, **ERRORS})
    def post(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        s = RequestWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        owner = _owner_for(request, data)
        kwargs = _service_kwargs(data)
        kwargs["required_qualifications"] = kwargs.pop("required_qualifications", [])
        obj = request_services.request_create(actor=request.user, owner=owner, **kwargs)
        obj = request_selectors.request_get_for_user(pk=obj.pk, user=request.user)
        return Response(RequestDetailSerializer(obj, context={"now": timezone.now()}).data, status=status.HTTP_201_CREATED)


def _get_request(pk: int, user) -> ServiceRequest:
    obj = request_selectors.request_get_for_user(pk=pk, user=user)
    if obj is None:
        raise NotFound(_("No such service request."))
    return obj


@extend_schema(tags=["requests"])
class RequestDetailView(APIView):
    @extend_schema(responses={200: RequestDetailSerializer, **ERRORS})
    def get(self, request, pk: int):
        return Response(RequestDetailSerializer(_get_request(pk, request.user), context={"now": timezone.now()}).data)

    @extend_schema(request=RequestWriteSerializer, responses={200: RequestDetailSerializer, **ERRORS})
    def patch(self, request, pk: int):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        obj = _get_request(pk, request.user)
        s = RequestWriteSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data.pop("owner", None)
        data.pop("avoidances", None)
        quals = data.pop("required_qualifications", None)
        if "quality_criteria" in data:
            data["quality_criteria"] = [dict(c) for c in data["quality_criteria"]]
        request_services.request_update(actor=request.user, request=obj, required_qualifications=quals, **data)
        return Response(RequestDetailSerializer(_get_request(pk, request.user), context={"now": timezone.now()}).data)


class RequestReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class AmendSerializer(RequestWriteSerializer):
    reason = serializers.CharField(max_length=5000)


@extend_schema(tags=["requests"])
class RequestPublishView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: RequestDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        request_services.request_publish(actor=request.user, request=obj)
        return Response(RequestDetailSerializer(_get_request(pk, request.user), context={"now": timezone.now()}).data)


@extend_schema(tags=["requests"])
class RequestAmendView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AmendSerializer, responses={200: RequestDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = AmendSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        reason = data.pop("reason", "")
        for key in ("owner", "avoidances", "required_qualifications"):
            data.pop(key, None)
        if "quality_criteria" in data:
            data["quality_criteria"] = [dict(c) for c in data["quality_criteria"]]
        request_services.request_amend(actor=request.user, request=obj, reason=reason, **data)
        return Response(RequestDetailSerializer(_get_request(pk, request.user), context={"now": timezone.now()}).data)


@extend_schema(tags=["requests"])
class RequestCancelView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RequestReasonSerializer, responses={200: RequestDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = RequestReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        request_services.request_cancel(actor=request.user, request=obj, reason=s.validated_data["reason"])
        return Response(RequestDetailSerializer(_get_request(pk, request.user), context={"now": timezone.now()}).data)


@extend_schema(tags=["requests"])
class RequestReissueView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: RequestDetailSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        new = request_services.request_reissue(actor=request.user, request=obj)
        return Response(RequestDetailSerializer(_get_request(new.pk, request.user), context={"now": timezone.now()}).data,
                        status=status.HTTP_201_CREATED)


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    organization = IdField(required=False, help_text=_("Agency organization id (default: your only one)"))


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


@extend_schema(tags=["requests"])
class QuestionCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AskSerializer, responses={201: QuestionSerializer, **ERRORS})
    def post(self, request, pk: int):
        obj = _get_request(pk, request.user)
        s = AskSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        orgs = [m.organization for m in request.user.memberships.select_related("organization")
                if m.organization.kind == Organization.Kind.AGENCY
                and (not s.validated_data.get("organization") or m.organization_id == s.validated_data["organization"])]
        if len(orgs) != 1:
            raise serializers.ValidationError({"organization": [_("Say which agency asks.")]})
        q = request_services.question_ask(actor=request.user, request=obj, organization=orgs[0],
                                          question=s.validated_data["question"])
        return Response(QuestionSerializer(q).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["requests"])
class QuestionAnswerView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=AnswerSerializer, responses={200: QuestionSerializer, **ERRORS})
    def post(self, request, pk: int, qid: int):
        obj = _get_request(pk, request.user)
        question = get_object_or_404(RequestQuestion, pk=qid, request=obj)
        s = AnswerSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        q = request_services.question_answer(actor=request.user, question=question, answer=s.validated_data["answer"])
        return Response(QuestionSerializer(q).data)
