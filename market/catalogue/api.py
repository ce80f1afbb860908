"""The catalogue API: the service items with their fee standards (public, read-only)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from market.api.pagination import PAGE_NOT_FOUND
from market.api.serializers import ErrorSerializer
from market.catalogue import selectors
from market.catalogue.models import QualificationType, ServiceItem


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


@extend_schema(
    tags=["catalogue"],
    parameters=[
        OpenApiParameter("category", str, description="category code"),
        OpenApiParameter("pricing_mode", str, enum=["government_set", "government_guided", "market"]),
        OpenApiParameter("department", str),
        OpenApiParameter("level", str, enum=["province", "city", "county"]),
        OpenApiParameter("q", str, description="search in names"),
    ],
    responses={200: ServiceItemSerializer(many=True), **PAGE_NOT_FOUND},
)
class ServiceItemListView(generics.ListAPIView):
    """The catalogue of intermediary service items with their fee standards."""

    serializer_class = ServiceItemSerializer

    def get_queryset(self):
        filters = selectors.ServiceItemFilters.from_params(self.request.query_params)
        return selectors.service_item_list(filters=filters)


@extend_schema(tags=["catalogue"], responses={200: ServiceItemSerializer, 404: ErrorSerializer})
class ServiceItemDetailView(generics.RetrieveAPIView):
    serializer_class = ServiceItemSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.service_item_list()
