import pytest

from market.catalogue.models import PricingMode, ServiceItem
from market.catalogue.selectors import ServiceItemFilters, service_item_list

pytestmark = pytest.mark.django_db


def test_seed_catalogue_has_at_least_40_items_across_categories():
    assert ServiceItem.objects.count() >= 40
    assert ServiceItem.objects.values("category").distinct().count() >= 10
    for mode in PricingMode.values:
        assert ServiceItem.objects.filter(pricing_mode=mode).exists()


def test_regulated_prices_have_a_cap():
    assert not ServiceItem.objects.exclude(pricing_mode=PricingMode.MARKET).filter(fee_cap_fen__isnull=True).exists()


@pytest.mark.parametrize("field", ["category", "pricing_mode", "department", "level"])
def test_each_filter_returns_exactly_the_matching_items(field):
    item = ServiceItem.objects.select_related("category").first()
    value = item.category.code if field == "category" else getattr(item, field)
    result = list(service_item_list(filters=ServiceItemFilters(**{field: value})))
    lookup = {"category__code": value} if field == "category" else {field: value}
    assert {i.pk for i in result} == set(ServiceItem.objects.filter(is_active=True, **lookup).values_list("pk", flat=True))


def test_name_search_finds_partial_names():
    item = ServiceItem.objects.first()
    term = item.name[1:4]
    assert item in service_item_list(filters=ServiceItemFilters(q=term))


def test_inactive_items_are_hidden():
    item = ServiceItem.objects.first()
    item.is_active = False
    item.save()
    assert item not in service_item_list()
