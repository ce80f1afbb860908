"""The engine knows no domain: the kinds, their facets and labels, and the signals it listens to all
come from the document types the domains register."""

import pytest
from django.utils import translation

from market.catalogue.models import ServiceCategory
from market.search import indexing, registry
from market.search.api import search
from market.search.documents import DocumentType, Facet, SearchDocument, Watch
from market.search.models import SearchEntry


def test_the_domains_register_their_kinds():
    assert registry.kinds() == ("agency", "request", "item")
    assert list(registry.KINDS) == ["agency", "request", "item"] and "request" in registry.KINDS
    assert {t.__module__ for t in registry.document_types()} == {
        "agencies.search", "market.requests.search", "market.catalogue.search"}
    assert registry.deadline_kinds() == ("request",)
    assert set(registry.facets()) == {"kind", "service_item", "region", "grade", "qualification", "agency_type",
                                      "method", "status", "category", "pricing_mode", "level"}


def test_labels_come_from_the_registered_types():
    with translation.override("en"):
        assert registry.facet_labels("kind", ["agency", "request", "item"]) == {
            "agency": "Agencies", "request": "Announcements", "item": "Service items"}
        assert registry.facet_labels("status", ["bidding_closed", "nonsense"]) == {"bidding_closed": "bidding closed"}
        assert registry.facet_labels("grade", ["A"]) == {}  # shown as it is
        assert str(registry.facet_label("method")) == "Selection method"


@pytest.mark.django_db
def test_the_shared_facets_read_their_labels_from_the_database():
    assert registry.facet_labels("region", ["440100", "999999"]) == {"440100": "广州市"}
    assert registry.facet_labels("service_item", ["GD-ZJ-HP-001"]) == {"GD-ZJ-HP-001": "建设项目环境影响报告书编制"}


class CategoryDocumentType(DocumentType):
    """A kind a test registers: service categories, re-indexed when one is saved."""

    kind = "test_category"
    label = "Categories"
    order = 99
    facets = (Facet("test_code", "Code", values={"hp": "环评类"}),)
    watches = (Watch("market.ServiceCategory", ids=lambda category: [category.pk], on=("save",), fields=("name",)),)

    def queryset(self, ctx):
        return ServiceCategory.objects.order_by("pk")

    def build(self, category, ctx):
        return SearchDocument(kind=self.kind, object_id=category.pk, name=category.name, url=self.url(category, ctx),
                              facets={"kind": [self.kind], "test_code": [category.code]})

    def url(self, category, ctx):
        return f"/categories/{category.code}/"


@pytest.fixture
def category_type():
    registry.register(CategoryDocumentType)
    yield
    registry.unregister(CategoryDocumentType.kind)


@pytest.mark.django_db
def test_a_type_registered_later_is_searched_and_follows_its_watches(category_type, django_capture_on_commit_callbacks):
    assert registry.kinds()[-1] == "test_category" and "test_code" in registry.facets()
    category = ServiceCategory.objects.order_by("pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        category.sort_order += 1
        category.save()  # the watched field (name) did not change: nothing to do
    assert not SearchEntry.objects.filter(kind="test_category").exists()
    with django_capture_on_commit_callbacks(execute=True):
        category.name = "环境影响评价类别"
        category.save()
    result = search(q="环评", kinds=["test_category"], facets=["test_code", "kind"])
    assert [(h.id, h.url) for h in result.hits] == [(category.pk, f"/categories/{category.code}/")]
    assert [(v.value, v.count) for v in result.facets["kind"]] == [("test_category", 1)]
    indexing.rebuild_database(["test_category"])
    assert SearchEntry.objects.filter(kind="test_category").count() == ServiceCategory.objects.count()


def test_a_kind_must_fit_the_index():
    class Bad(CategoryDocumentType):
        kind = "Not a kind"

    with pytest.raises(ValueError):
        registry.register(Bad())
    assert "Not a kind" not in registry.kinds()
