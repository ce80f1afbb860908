"""What is searchable: one document definition for each kind of object.

Each definition says which objects are indexed (active agencies; published requests, never drafts;
active catalogue items), how a model instance becomes a SearchDocument — its name (boosted above
the other text), its other text, its filter and facet values, its ranking and sorting keys and
what the result list shows — and nothing else: sealed data (bid prices, nonces, the draw secret)
has no field here, so it can never reach an index.

Filters and facets (the same names on every backend):

=============  ====================  ===================================================
name           kinds                 values
=============  ====================  ===================================================
kind           all                   agency, request, item
service_item   all                   catalogue item codes (offered, requested, or the item)
region         agency, request       GB/T 2260 codes of the region and its ancestors, so a
                                     prefecture code matches everything in it
grade          agency                credit grade A–D (A: red list, ranked first at equal relevance)
qualification  agency                qualification types held and valid on the day indexed
agency_type    agency                company, partnership …
method         request               selection method
status         request               request status; "published" and the derived
                                     "bidding_closed" are told apart by the deadline at query time
category       item                  service category code
pricing_mode   item                  government_set, government_guided, market
level          item                  province, city, county
=============  ====================  ===================================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable

from django.apps import apps
from django.db.models import Prefetch, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AGENCY, REQUEST, ITEM = "agency", "request", "item"
KINDS = (AGENCY, REQUEST, ITEM)
KIND_LABELS = {AGENCY: _("Agencies"), REQUEST: _("Announcements"), ITEM: _("Service items")}

FACETS = ("kind", "service_item", "region", "grade", "qualification", "agency_type", "method", "status", "category",
          "pricing_mode", "level")
FACET_LABELS = {
    "kind": _("Type"), "service_item": _("Service item"), "region": _("Region"), "grade": _("Credit grade"),
    "qualification": _("Qualification"), "agency_type": _("Agency type"), "method": _("Selection method"),
    "status": _("Status"), "category": _("Category"), "pricing_mode": _("Pricing mode"), "level": _("Level"),
}
SORTS = ("relevance", "name", "grade", "newest")
DERIVED_STATUS = "bidding_closed"  # published, deadline passed


@dataclass
class SearchDocument:
    kind: str
    object_id: int
    name: str
    body: str = ""
    url: str = ""
    facets: dict[str, list[str]] = field(default_factory=dict)
    status: str = ""
    deadline: dt.datetime | None = None
    grade: str = ""
    red: bool = False
    credit_score: int = 0
    sort_name: str = ""
    sort_date: dt.datetime | None = None
    data: dict = field(default_factory=dict)


class IndexContext:
    """Lookups shared by a batch of documents (regions with their ancestors, the fee page's URL)."""

    def __init__(self, *, today: dt.date | None = None):
        self.today = today or timezone.localdate()
        self._regions: dict[str, tuple[str, str, str | None]] | None = None
        self._fee_url: str | None = None

    def _region_map(self) -> dict[str, tuple[str, str, str | None]]:
        if self._regions is None:
            Region = apps.get_model("market", "Region")
            self._regions = {code: (name, full, parent) for code, name, full, parent
                             in Region.objects.values_list("code", "name", "full_name", "parent_id")}
        return self._regions

    def region_codes(self, code: str | None) -> list[str]:
        """The region and its ancestors below the province, prefecture first (the province is the
        whole platform: filtering by it filters nothing)."""
        regions = self._region_map()
        chain: list[str] = []
        while code and code not in chain:
            chain.append(code)
            code = regions.get(code, (None, None, None))[2]
        return [c for c in reversed(chain) if not (len(c) == 6 and c.endswith("0000"))]

    def region_name(self, code: str | None) -> str:
        entry = self._region_map().get(code or "")
        return (entry[1] or entry[0]) if entry else ""

    def fee_url(self, code: str) -> str:
        if self._fee_url is None:
            try:
                FeeSchedulePage = apps.get_model("cms", "FeeSchedulePage")
                page = FeeSchedulePage.objects.live().first()
                self._fee_url = page.url if page is not None and page.url else "/fees/"
            except Exception:  # noqa: BLE001 - no cms app or no Wagtail site yet: the default address
                self._fee_url = "/fees/"
        return f"{self._fee_url.rstrip('/')}/{code}/"


def _url(name: str, pk) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _lines(*parts: str | None) -> str:
    return "\n".join(p.strip() for p in parts if p and p.strip())


class DocumentType:
    kind: str = ""
    facets: tuple[str, ...] = ()

    def model(self):
        raise NotImplementedError

    def queryset(self, ctx: IndexContext) -> QuerySet:
        """The indexed objects, with what build() reads joined or prefetched."""
        raise NotImplementedError

    def build(self, obj, ctx: IndexContext) -> SearchDocument:
        raise NotImplementedError

    def documents(self, ids: Iterable[int] | None = None, ctx: IndexContext | None = None) -> Iterable[SearchDocument]:
        ctx = ctx or IndexContext()
        qs = self.queryset(ctx)
        if ids is not None:
            qs = qs.filter(pk__in=list(ids))
        for obj in qs.iterator(chunk_size=500) if ids is None else qs:
            yield self.build(obj, ctx)


class AgencyDocumentType(DocumentType):
    """Active agencies: the public directory."""

    kind = AGENCY
    facets = ("kind", "service_item", "region", "grade", "qualification", "agency_type")

    def model(self):
        return apps.get_model("agencies", "Agency")

    def queryset(self, ctx):
        Agency = self.model()
        AgencyServiceItem = apps.get_model("agencies", "AgencyServiceItem")
        Qualification = apps.get_model("agencies", "Qualification")
        return (Agency.objects.filter(status="active").select_related("organization")
                .prefetch_related(
                    Prefetch("offered_items", to_attr="search_offers",
                             queryset=AgencyServiceItem.objects.select_related("service_item", "service_item__category")
                             .order_by("service_item__code")),
                    Prefetch("qualifications", to_attr="search_qualifications",
                             queryset=Qualification.objects.filter(valid_from__lte=ctx.today, valid_to__gte=ctx.today)
                             .select_related("qualification_type").order_by("qualification_type__code")))
                .order_by("pk"))

    def build(self, agency, ctx):
        org = agency.organization
        offers = list(getattr(agency, "search_offers", None) or
                      agency.offered_items.select_related("service_item", "service_item__category").order_by("service_item__code"))
        quals = getattr(agency, "search_qualifications", None)
        if quals is None:
            quals = list(agency.qualifications.filter(valid_from__lte=ctx.today, valid_to__gte=ctx.today)
                         .select_related("qualification_type").order_by("qualification_type__code"))
        item_names = [o.service_item.name for o in offers]
        categories = list(dict.fromkeys(o.service_item.category.name for o in offers))
        qual_names = list(dict.fromkeys(f"{q.qualification_type.name}{q.level}" for q in quals))
        region_name = ctx.region_name(org.region_id)
        body = _lines(
            agency.introduction,
            "、".join(item_names),
            "、".join(categories),
            "、".join(qual_names),
            region_name,
            org.address,
            org.uscc,
        )
        grade = agency.credit_grade or ""
        return SearchDocument(
            kind=AGENCY, object_id=agency.pk, name=org.name, body=body, url=_url("agencies:detail", agency.pk),
            facets={
                "kind": [AGENCY],
                "service_item": sorted({o.service_item.code for o in offers}),
                "region": ctx.region_codes(org.region_id),
                "grade": [grade] if grade else [],
                "qualification": sorted({q.qualification_type.code for q in quals}),
                "agency_type": [agency.agency_type] if agency.agency_type else [],
            },
            grade=grade, red=grade == "A", credit_score=agency.credit_score or 0,
            sort_name=org.name[:255], sort_date=agency.activated_at or agency.created_at,
            data={"region": region_name, "uscc": org.uscc, "grade": grade, "score": agency.credit_score,
                  "items": item_names[:6], "n_items": len(item_names), "qualifications": qual_names[:6]},
        )


class RequestDocumentType(DocumentType):
    """Published requests (announcements), never drafts. Only what the public announcement shows:
    no bid, price, nonce or draw secret is read here."""

    kind = REQUEST
    facets = ("kind", "service_item", "region", "method", "status")

    def model(self):
        return apps.get_model("market", "ServiceRequest")

    def queryset(self, ctx):
        return (self.model().objects.exclude(status="draft")
                .select_related("owner", "service_item", "service_item__category").order_by("pk"))

    def build(self, req, ctx):
        from market.core.money import fen_to_yuan

        item = req.service_item
        region_name = ctx.region_name(req.region_id)
        body = _lines(req.owner.name, item.name, item.category.name, region_name, req.project_code, req.description)
        return SearchDocument(
            kind=REQUEST, object_id=req.pk, name=req.project_name, body=body, url=_url("bids:request-detail", req.pk),
            facets={
                "kind": [REQUEST],
                "service_item": [item.code],
                "region": ctx.region_codes(req.region_id),
                "method": [req.selection_method] if req.selection_method else [],
                "status": [req.status],
            },
            status=req.status, deadline=req.bid_deadline, sort_name=req.project_name[:255],
            sort_date=req.published_at or req.created_at,
            data={"owner": req.owner.name, "item": item.name, "item_code": item.code, "region": region_name,
                  "method": req.selection_method, "quote_mode": req.quote_mode, "budget": fen_to_yuan(req.budget_fen),
                  "deadline": _iso(req.bid_deadline), "published_at": _iso(req.published_at)},
        )


class ItemDocumentType(DocumentType):
    """Active catalogue items (the fee schedule)."""

    kind = ITEM
    facets = ("kind", "service_item", "category", "pricing_mode", "level")

    def model(self):
        return apps.get_model("market", "ServiceItem")

    def queryset(self, ctx):
        return self.model().objects.filter(is_active=True).select_related("category").order_by("pk")

    def build(self, item, ctx):
        body = _lines(item.code, item.category.name, item.approval, item.department, item.service_content, item.result,
                      item.legal_basis, item.fee_standard, item.fee_basis)
        return SearchDocument(
            kind=ITEM, object_id=item.pk, name=item.name, body=body, url=ctx.fee_url(item.code),
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


DOCUMENT_TYPES: dict[str, DocumentType] = {t.kind: t for t in (AgencyDocumentType(), RequestDocumentType(),
                                                                ItemDocumentType())}


def document_type(kind: str) -> DocumentType:
    return DOCUMENT_TYPES[kind]


def build_documents(kind: str, ids: Iterable[int], ctx: IndexContext | None = None) -> tuple[list[SearchDocument], set[int]]:
    """Documents for those of `ids` that are indexable now, and the ids that are not (to remove)."""
    ids = {int(i) for i in ids}
    docs = list(document_type(kind).documents(ids, ctx)) if ids else []
    return docs, ids - {d.object_id for d in docs}


def facet_labels(field_name: str, values: Iterable[str]) -> dict[str, str]:
    """Human labels of facet values (one query at most)."""
    values = [v for v in values if v]
    if not values:
        return {}
    if field_name == "kind":
        return {v: str(KIND_LABELS.get(v, v)) for v in values}
    if field_name == "service_item":
        ServiceItem = apps.get_model("market", "ServiceItem")
        return dict(ServiceItem.objects.filter(code__in=values).values_list("code", "name"))
    if field_name == "region":
        Region = apps.get_model("market", "Region")
        return dict(Region.objects.filter(code__in=values).values_list("code", "name"))
    if field_name == "qualification":
        QualificationType = apps.get_model("market", "QualificationType")
        return dict(QualificationType.objects.filter(code__in=values).values_list("code", "name"))
    if field_name == "category":
        ServiceCategory = apps.get_model("market", "ServiceCategory")
        return dict(ServiceCategory.objects.filter(code__in=values).values_list("code", "name"))
    if field_name == "grade":
        return {v: v for v in values}
    choices = _choice_labels(field_name)
    return {v: str(choices.get(v, v)) for v in values}


def _choice_labels(field_name: str) -> dict:
    from market import models as m

    if field_name == "method":
        return dict(m.SelectionMethod.choices)
    if field_name == "status":
        return dict(m.RequestStatus.choices)
    if field_name == "pricing_mode":
        return dict(m.PricingMode.choices)
    if field_name == "level":
        return dict(m.ApprovalLevel.choices)
    if field_name == "agency_type":
        from agencies.models import AgencyType

        return dict(AgencyType.choices)
    return {}
