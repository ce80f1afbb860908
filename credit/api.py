"""Credit API: standing for other platforms (no login), the black list, regulators record breaches."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agencies.models import Agency
from market.api.pagination import PAGE_NOT_FOUND
from market.api.serializers import ErrorSerializer

from . import selectors, services
from .models import Breach, BreachRule

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class ActiveBreachSerializer(serializers.Serializer):
    rule = serializers.CharField()
    name = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    points = serializers.IntegerField()
    ban_until = serializers.DateTimeField(allow_null=True)


class StandingSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    name = serializers.CharField()
    good_standing = serializers.BooleanField()
    status = serializers.CharField()
    grade = serializers.CharField()
    score = serializers.IntegerField()
    stars = serializers.IntegerField()
    banned_until = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    active_breaches = ActiveBreachSerializer(many=True)


class BlacklistEntrySerializer(serializers.ModelSerializer):
    uscc = serializers.CharField(source="organization.uscc")
    name = serializers.CharField(source="organization.name")
    region = serializers.CharField(source="organization.region_id")
    banned_until = serializers.DateTimeField(source="ban_ends")

    class Meta:
        model = Agency
        fields = ["id", "uscc", "name", "region", "banned_until", "credit_score", "credit_grade"]


class BreachWriteSerializer(serializers.Serializer):
    agency = serializers.PrimaryKeyRelatedField(queryset=Agency.objects.all())
    rule = serializers.SlugRelatedField(slug_field="code", queryset=BreachRule.objects.filter(is_active=True))
    evidence = serializers.CharField(max_length=10000)


class BreachSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.code")
    rule_name = serializers.CharField(source="rule.name")
    agency_name = serializers.CharField(source="agency.organization.name")

    class Meta:
        model = Breach
        fields = ["id", "agency", "agency_name", "rule", "rule_name", "source", "evidence", "points", "status",
                  "recorded_at", "ban_until", "appeal_deadline"]


@extend_schema(tags=["credit"])
class StandingView(APIView):
    """Whether an agency is in good standing, its grade, score, ban end and breaches in force."""

    authentication_classes: list = []

    @extend_schema(responses={200: StandingSerializer, 404: ErrorSerializer})
    def get(self, request, uscc: str):
        standing = selectors.agency_standing(uscc=uscc)
        if standing is None:
            raise NotFound(_("No agency is registered with this unified social credit code."))
        return Response(StandingSerializer(standing).data)


@extend_schema(tags=["credit"], responses={200: BlacklistEntrySerializer(many=True), **PAGE_NOT_FOUND})
class BlacklistView(generics.ListAPIView):
    """Agencies banned now, longest ban first."""

    serializer_class = BlacklistEntrySerializer
    authentication_classes: list = []

    def get_queryset(self):
        return selectors.blacklist(at=timezone.now())


@extend_schema(tags=["credit"])
class BreachCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=BreachWriteSerializer, responses={201: BreachSerializer, **ERRORS})
    def post(self, request):
        s = BreachWriteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        breach = services.breach_record(actor=request.user, **s.validated_data)
        return Response(BreachSerializer(breach).data, status=status.HTTP_201_CREATED)


class TextSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


@extend_schema(tags=["credit"])
class AppealCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=TextSerializer, responses={201: None, **ERRORS})
    def post(self, request, breach_id: int):
        breach = get_object_or_404(Breach.objects.select_related("agency__organization"), pk=breach_id)
        s = TextSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        appeal = services.appeal_lodge(actor=request.user, breach=breach, reason=s.validated_data["text"])
        return Response({"id": appeal.pk, "status": appeal.status}, status=status.HTTP_201_CREATED)
