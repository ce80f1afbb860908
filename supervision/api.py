"""Supervision API (public, read-only): published complaint decisions and inspection plans with
everything needed to recompute their draws."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from market.api.pagination import PAGE_NOT_FOUND
from market.api.serializers import ErrorSerializer

from . import selectors
from .models import Complaint, InspectionPlan


class ComplaintPublicSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="subject_label")

    class Meta:
        model = Complaint
        fields = ["number", "subject_type", "subject", "status", "lodged_at", "accepted_at", "rejected_at",
                  "decided_at", "outcome", "decision"]


@extend_schema(responses={200: ComplaintPublicSerializer(many=True), **PAGE_NOT_FOUND})
class ComplaintListView(generics.ListAPIView):
    """Complaints with their status and published decision; never the complainant or the grounds."""

    serializer_class = ComplaintPublicSerializer
    authentication_classes: list = []

    def get_queryset(self):
        qs = selectors.complaints_public()
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status else qs


class PlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionPlan
        fields = ["id", "title", "status", "sample_size", "inspectors_per_agency", "draw_at", "commitment",
                  "published_at", "drawn_at", "completed_at"]


@extend_schema(responses={200: PlanSerializer(many=True), **PAGE_NOT_FOUND})
class PlanListView(generics.ListAPIView):
    serializer_class = PlanSerializer
    authentication_classes: list = []

    def get_queryset(self):
        return selectors.plans_public()


class PlanDetailView(APIView):
    """The plan as published: procedure, parameters and commitment; after the draw also the secret,
    the seed, every ticket and the assignments; and the results entered."""

    authentication_classes: list = []

    @extend_schema(responses={200: dict, 404: ErrorSerializer})
    def get(self, request, pk: int):
        plan = get_object_or_404(selectors.plans_public(), pk=pk)
        return Response(selectors.plan_published(plan))
