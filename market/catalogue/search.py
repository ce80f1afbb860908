"""The catalogue in the search (market.search): the document of a catalogue item, registered with
the engine, and the facets of catalogue values that other kinds share (service_item,
qualification).

Filters and facets of items: service_item (the item's code), category (service category code),
pricing_mode (government_set, government_guided, market), level (province, city, county).
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from market.search.documents import (DocumentType, Facet, IndexContext, SearchDocument, Watch, choice_labels,
                                     code_labels, text_lines)
from market.search.registry import register

from .models import ApprovalLevel, PricingMode, QualificationType, ServiceCategory, ServiceItem

ITEM = "item"

SERVICE_ITEM_FACET = Facet("service_item", _("Service item"), values=code_labels(ServiceItem.objects))
QUALIFICATION_FACET = Facet("qualification", _("Qualification"), values=code_labels(QualificationType.objects))
CATEGORY_FACET = Facet("category", _("Category"), values=code_labels(ServiceCategory.objects))
PRICING_MODE_FACET = Facet("pricing_mode", _("Pricing mode"), values=choice_labels(PricingMode.choices))
LEVEL_FACET = Facet("level", _("Level"), values=choice_labels(ApprovalLevel.choices))
FEE_PAGE_DEFAULT = "/fees/"


def fee_schedule_url(*, ctx: IndexContext, code: str) -> str:
    """The item's entry in the fee schedule page (read once a batch; the CMS sits above the
    catalogue, so its page model is looked up by name)."""
    base = ctx.memo("fee_schedule_url", _fee_schedule_page_url)
    return f"{base.rstrip('/')}/{code}/"


def _fee_schedule_page_url() -> str:
    try:
        page = apps.get_model("cms", "FeeSchedulePage").objects.live().first()
        return page.url if page is not None and page.url else FEE_PAGE_DEFAULT
    except Exception:  # noqa: BLE001 - no cms app or no Wagtail site yet: the default address
        return FEE_PAGE_DEFAULT


class ItemDocumentType(DocumentType):
    """Active catalogue items (the fee schedule)."""

    kind = ITEM
    label = _("Service items")
    order = 30
    facets = (SERVICE_ITEM_FACET, CATEGORY_FACET, PRICING_MODE_FACET, LEVEL_FACET)
    watches = (
        Watch(ServiceItem, ids=lambda item: [item.pk]),
        Watch(ServiceCategory, ids=lambda category: ServiceItem.objects.filter(category_id=category.pk)
              .values_list("pk", flat=True), on=("save",)),
    )

    def queryset(self, ctx):
        return ServiceItem.objects.filter(is_active=True).select_related("category").order_by("pk")

    def url(self, item, ctx):
        return fee_schedule_url(ctx=ctx, code=item.code)

    def build(self, item, ctx):
        body = text_lines(item.code, item.category.name, item.approval, item.department, item.service_content,
                          item.result, item.legal_basis, item.fee_standard, item.fee_basis)
        return SearchDocument(
            kind=ITEM, object_id=item.pk, name=item.name, body=body, url=self.url(item, ctx),
            facets={
                "kind": [ITEM],
                "service_item": [item.code],
                "category": [item.category.code],
                "pricing_mode": [item.pricing_mode],
                "level": [item.level],
            },
            sort_name=item.name[:255], sort_date=item.updated_at,
            data={"code": item.code, "category": item.category.name, "department": item.department,
                  "pricing_mode": item.pricing_mode, "level": item.level, "time_limit_days": item.time_limit_days,
                  "fee_cap": item.fee_cap_yuan},
        )


register(ItemDocumentType())
