"""Reads of the catalogue of service items and its fee schedule (the public fee schedule pages and
the catalogue API). Each returns a queryset with what its pages need joined or prefetched, so a page
runs a fixed number of queries whatever the number of items."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from market.catalogue.models import PricingMode, QualificationType, ServiceCategory, ServiceItem


@dataclass(frozen=True)
class ServiceItemFilters:
    category: str = ""  # category code
    pricing_mode: str = ""
    department: str = ""
    level: str = ""
    q: str = ""

    @classmethod
    def from_params(cls, params) -> "ServiceItemFilters":
        return cls(
            category=(params.get("category") or "").strip(),
            pricing_mode=(params.get("pricing_mode") or "").strip(),
            department=(params.get("department") or "").strip(),
            level=(params.get("level") or "").strip(),
            q=(params.get("q") or "").strip()[:100],
        )


def service_item_list(*, filters: ServiceItemFilters | None = None, active_only: bool = True) -> QuerySet[ServiceItem]:
    filters = filters or ServiceItemFilters()
    qs = ServiceItem.objects.select_related("category").prefetch_related(
        Prefetch("qualification_types", queryset=QualificationType.objects.order_by("code"))
    )
    if active_only:
        qs = qs.filter(is_active=True)
    if filters.category:
        qs = qs.filter(category__code=filters.category)
    if filters.pricing_mode:
        qs = qs.filter(pricing_mode=filters.pricing_mode)
    if filters.department:
        qs = qs.filter(department=filters.department)
    if filters.level:
        qs = qs.filter(level=filters.level)
    if filters.q:
        for term in filters.q.split():
            qs = qs.filter(Q(name__icontains=term) | Q(code__iexact=term) | Q(approval__icontains=term))
    return qs.order_by("category__sort_order", "code")


def service_item_get(*, code: str) -> ServiceItem | None:
    return service_item_list().filter(code=code).first()


def service_item_facets() -> dict:
    """The choices the fee schedule filters offer."""
    return {
        "categories": list(ServiceCategory.objects.order_by("sort_order", "code")),
        "pricing_modes": PricingMode.choices,
        "departments": list(
            ServiceItem.objects.filter(is_active=True).order_by("department").values_list("department", flat=True).distinct()
        ),
        "levels": ServiceItem._meta.get_field("level").choices,
    }
