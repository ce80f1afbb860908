"""The agencies in the search (market.search): the document of an active agency, registered with
the engine, and the public directory's search.

Filters and facets of agencies: service_item (codes of the items offered), region (GB/T 2260 codes
of the region and its ancestors below the province, so a prefecture code matches everything in
it), grade (credit grade A–D; A, the red list, ranks first at equal relevance), qualification
(qualification types held and valid on the day indexed), agency_type (company, partnership …).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from django.core.paginator import Page
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from market.accounts.models import Organization
from market.accounts.search import REGION_FACET, region_codes, region_name
from market.catalogue.models import QualificationType, ServiceCategory, ServiceItem
from market.catalogue.search import QUALIFICATION_FACET, SERVICE_ITEM_FACET
from market.search import indexing
from market.search.api import hydrate, page_number, page_of, search
from market.search.backends.base import SearchResult
from market.search.documents import DocumentType, Facet, SearchDocument, Watch, choice_labels, text_lines, url_for
from market.search.registry import register

from .models import Agency, AgencyServiceItem, AgencyStatus, AgencyType, Qualification
from .selectors import AgencyFilters, agency_directory

AGENCY = "agency"
DIRECTORY_FACETS = ("service_item", "region", "grade", "qualification")
QUALIFICATION_DAY_KEY = "qualification_day"  # the day qualifications were last re-checked (sync)

GRADE_FACET = Facet("grade", _("Credit grade"))
AGENCY_TYPE_FACET = Facet("agency_type", _("Agency type"), values=choice_labels(AgencyType.choices))


# --- the document -------------------------------------------------------------------------------------


def _agency_of(part) -> list[int | None]:
    return [part.agency_id]


def _agency_ids(**lookup) -> Iterable[int]:
    return Agency.objects.filter(**lookup).values_list("pk", flat=True)


class AgencyDocumentType(DocumentType):
    """Active agencies: the public directory."""

    kind = AGENCY
    label = _("Agencies")
    order = 10
    facets = (SERVICE_ITEM_FACET, REGION_FACET, GRADE_FACET, QUALIFICATION_FACET, AGENCY_TYPE_FACET)
    watches = (
        Watch(Agency, ids=lambda agency: [agency.pk]),
        Watch(AgencyServiceItem, ids=_agency_of),
        Watch(Qualification, ids=_agency_of),
        Watch("credit.Breach", ids=_agency_of),  # the grade follows breaches …
        Watch("market.Evaluation", ids=_agency_of),  # … and evaluations
        Watch(Organization, ids=lambda org: _agency_ids(organization_id=org.pk), on=("save",)),
        # Their names and categories are in the agency's text.
        Watch(ServiceItem, ids=lambda item: _agency_ids(offered_items__service_item_id=item.pk), on=("save",),
              fields=("name", "code", "category_id")),
        Watch(ServiceCategory, ids=lambda category: _agency_ids(offered_items__service_item__category_id=category.pk),
              on=("save",)),
        Watch(QualificationType, ids=lambda qt: _agency_ids(qualifications__qualification_type_id=qt.pk), on=("save",)),
    )

    def queryset(self, ctx):
        return (Agency.objects.filter(status="active").select_related("organization")
                .prefetch_related(
                    Prefetch("offered_items", to_attr="search_offers",
                             queryset=AgencyServiceItem.objects.select_related("service_item", "service_item__category")
                             .order_by("service_item__code")),
                    Prefetch("qualifications", to_attr="search_qualifications",
                             queryset=Qualification.objects.filter(valid_from__lte=ctx.today, valid_to__gte=ctx.today)
                             .select_related("qualification_type").order_by("qualification_type__code")))
                .order_by("pk"))

    def url(self, agency, ctx):
        return url_for("agencies:detail", agency.pk)

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
        where = region_name(ctx=ctx, code=org.region_id)
        body = text_lines(
            agency.introduction,
            "、".join(item_names),
            "、".join(categories),
            "、".join(qual_names),
            where,
            org.address,
            org.uscc,
        )
        grade = agency.credit_grade or ""
        return SearchDocument(
            kind=AGENCY, object_id=agency.pk, name=org.name, body=body, url=self.url(agency, ctx),
            facets={
                "kind": [AGENCY],
                "service_item": sorted({o.service_item.code for o in offers}),
                "region": region_codes(ctx=ctx, code=org.region_id),
                "grade": [grade] if grade else [],
                "qualification": sorted({q.qualification_type.code for q in quals}),
                "agency_type": [agency.agency_type] if agency.agency_type else [],
            },
            grade=grade, red=grade == "A", credit_score=agency.credit_score or 0,
            sort_name=org.name[:255], sort_date=agency.activated_at or agency.created_at,
            data={"region": where, "uscc": org.uscc, "grade": grade, "score": agency.credit_score,
                  "items": item_names[:6], "n_items": len(item_names), "qualifications": qual_names[:6]},
        )

    def stale(self, *, now):
        """Agencies whose grade or score in the index differs from the database (credit_recompute
        writes them with QuerySet.update()), active agencies missing from the index, indexed ones
        no longer active; and once a day, agencies whose qualifications began or ended since the
        last run (the directory's qualification filter counts only certificates valid that day)."""
        stale: set[int] = set()
        indexed = {pk: (grade, score) for pk, grade, score in indexing.indexed_rows(AGENCY, "grade", "credit_score")}
        active = Agency.objects.filter(status=AgencyStatus.ACTIVE)
        for pk, grade, score in active.values_list("pk", "credit_grade", "credit_score"):
            if indexed.pop(pk, None) != (grade or "", score or 0):
                stale.add(pk)
        stale |= set(indexed)  # indexed but no longer active
        today = timezone.localtime(now).date()
        checked = indexing.state(QUALIFICATION_DAY_KEY)
        if checked != today.isoformat():
            last = dt.date.fromisoformat(checked) if checked else today - dt.timedelta(days=1)
            stale |= set(Qualification.objects.filter(
                Q(valid_to__gte=last - dt.timedelta(days=1), valid_to__lt=today)
                | Q(valid_from__gt=last, valid_from__lte=today)).values_list("agency_id", flat=True))
            indexing.set_state(QUALIFICATION_DAY_KEY, today.isoformat())
        return stale


register(AgencyDocumentType())


# --- the directory -------------------------------------------------------------------------------------


def agency_directory_search(*, filters: AgencyFilters, page: int | str | None = 1, page_size: int = 20,
                            today: dt.date | None = None,
                            facets: Iterable[str] = DIRECTORY_FACETS) -> tuple[Page, SearchResult]:
    """The public agency directory through the search: `filters` (q, service_item, region,
    qualification, sort). With words: by relevance (red-list agencies first at equal relevance,
    then the credit score) unless the name order is asked for; without: by grade (red list first)
    or by name, as `sort` says.
    Returns a Page of Agency objects (with the directory's joins, each with `search_hit`) and the
    result (facets with counts)."""
    sort = "name" if filters.sort == "name" else ("relevance" if filters.q else "grade")
    result = search(q=filters.q, kinds=[AGENCY], facets=facets, page=page_number(page=page), page_size=page_size,
                    sort=sort, filters={"service_item": filters.service_item, "region": filters.region,
                                        "qualification": filters.qualification})
    objects = hydrate(result, AGENCY, agency_directory(today=today or timezone.localdate()))
    return page_of(result, objects), result
