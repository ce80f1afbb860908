"""Reads of agencies. Each list returns a queryset with what its page needs joined or prefetched,
so a page runs a fixed number of queries whatever the number of agencies.

Nothing here filters agencies by their home region unless the user asks for it (一地入驻、全省通行).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from market.accounts import permissions as market_permissions
from market.accounts.models import Membership, Organization, Region, User
from market.catalogue.models import QualificationType, ServiceItem
from market.calendar.workdays import years_missing_holidays

from .models import (Agency, AgencyInvitation, AgencyServiceItem, AgencyStatus, LicenceFile, Practitioner,
                     PublicityObjection, Qualification)

SORTS = {
    "name": ("organization__name", "pk"),
    "grade": ("credit_grade", "-credit_score", "organization__name", "pk"),
}


@dataclass(frozen=True)
class AgencyFilters:
    service_item: str = ""  # catalogue item code
    region: str = ""  # GB/T 2260 code: a prefecture matches its counties and towns
    qualification: str = ""  # qualification type code, held and valid today
    q: str = ""  # words of the name
    sort: str = "grade"  # grade (the red list first; the default) | name
    status: str = ""  # only for those who may see non-active registrations

    @classmethod
    def from_params(cls, params) -> "AgencyFilters":
        sort = (params.get("sort") or "grade").strip()
        return cls(
            service_item=(params.get("service_item") or "").strip()[:40],
            region=(params.get("region") or "").strip()[:12],
            qualification=(params.get("qualification") or "").strip()[:40],
            q=(params.get("q") or "").strip()[:100],
            sort=sort if sort in SORTS else "grade",
            status=(params.get("status") or "").strip()[:16],
        )

    def querystring(self) -> str:
        return urlencode({k: v for k, v in (("service_item", self.service_item), ("region", self.region),
                                            ("qualification", self.qualification), ("q", self.q), ("sort", self.sort))
                          if v and not (k == "sort" and v == "grade")})


def region_filter(code: str) -> Q:
    """Agencies whose organization lies in the region: a prefecture covers its counties and towns."""
    code = (code or "").strip()
    if not code or code == "440000":
        return Q()
    if len(code) == 6 and code.endswith("00"):
        return Q(organization__region__code__startswith=code[:4])
    return Q(organization__region__code__startswith=code)


def _valid_qualifications(today: dt.date) -> QuerySet[Qualification]:
    return (Qualification.objects.filter(valid_from__lte=today, valid_to__gte=today)
            .select_related("qualification_type").order_by("qualification_type__code", "valid_to"))


def _all_qualifications() -> QuerySet[Qualification]:
    return Qualification.objects.select_related("qualification_type").order_by("qualification_type__code", "-valid_to")


def _with_public_relations(qs: QuerySet[Agency], *, today: dt.date, all_qualifications: bool = False) -> QuerySet[Agency]:
    qs = qs.select_related("organization", "organization__region").prefetch_related(
        Prefetch("offered_items", queryset=AgencyServiceItem.objects.select_related("service_item", "service_item__category")
                 .order_by("service_item__code"), to_attr="offers"),
    )
    if all_qualifications:  # every certificate with its validity (the API and the agency page)
        return qs.prefetch_related(Prefetch("qualifications", queryset=_all_qualifications(), to_attr="all_qualifications"))
    return qs.prefetch_related(Prefetch("qualifications", queryset=_valid_qualifications(today), to_attr="valid_qualifications"))


def _apply_filters(qs: QuerySet[Agency], filters: AgencyFilters, *, today: dt.date) -> QuerySet[Agency]:
    if filters.service_item:
        qs = qs.filter(Exists(AgencyServiceItem.objects.filter(agency=OuterRef("pk"), service_item__code=filters.service_item)))
    if filters.region:
        qs = qs.filter(region_filter(filters.region))
    if filters.qualification:
        qs = qs.filter(Exists(Qualification.objects.filter(
            agency=OuterRef("pk"), qualification_type__code=filters.qualification, valid_from__lte=today, valid_to__gte=today)))
    for term in filters.q.split():
        qs = qs.filter(Q(organization__name__icontains=term) | Q(organization__uscc__iexact=term))
    return qs.order_by(*SORTS.get(filters.sort, SORTS["name"]))


def agency_directory(*, filters: AgencyFilters | None = None, today: dt.date | None = None) -> QuerySet[Agency]:
    """The public directory: active agencies only."""
    filters = filters or AgencyFilters()
    today = today or timezone.localdate()
    qs = Agency.objects.filter(status=AgencyStatus.ACTIVE)
    return _with_public_relations(_apply_filters(qs, filters, today=today), today=today)


def agency_visible(*, user, filters: AgencyFilters | None = None, today: dt.date | None = None,
                   all_qualifications: bool = True) -> QuerySet[Agency]:
    """Active agencies for everyone; members also see their own registrations in any status,
    regulators see all."""
    filters = filters or AgencyFilters()
    today = today or timezone.localdate()
    qs = Agency.objects.all()
    if not market_permissions.is_regulator(user):
        visible = Q(status=AgencyStatus.ACTIVE)
        if user is not None and user.is_authenticated:
            visible |= Q(organization__in=Membership.objects.filter(user=user).values("organization"))
        qs = qs.filter(visible)
    if filters.status in AgencyStatus.values:
        qs = qs.filter(status=filters.status)
    return _with_public_relations(_apply_filters(qs, filters, today=today), today=today,
                                  all_qualifications=all_qualifications)


def agency_public_get(*, pk: int, user=None, today: dt.date | None = None) -> Agency | None:
    """One agency for its public page (the agency's own staff and regulators also see a non-active one):
    profile, offered items with fee quotes, every certificate with its validity (never the scans)."""
    return (agency_visible(user=user, today=today).annotate(n_practitioners=Count("practitioners", distinct=True))
            .filter(pk=pk).first())


def directory_facets() -> dict:
    return {
        "service_items": list(ServiceItem.objects.filter(is_active=True).select_related("category")
                              .order_by("category__sort_order", "code")),
        "qualification_types": list(QualificationType.objects.order_by("code")),
        "regions": list(Region.objects.exclude(level=Region.Level.TOWN).order_by("code")),
        "sorts": SORTS,
    }


def agency_private_get(*, pk: int) -> Agency | None:
    """One registration with everything its desk or review page shows (the caller checks access)."""
    return (Agency.objects.select_related("organization", "organization__region", "created_by")
            .prefetch_related(
                Prefetch("offered_items", queryset=AgencyServiceItem.objects.select_related("service_item")
                         .prefetch_related("service_item__qualification_types").order_by("service_item__code")),
                Prefetch("qualifications", queryset=Qualification.objects.select_related("qualification_type")
                         .order_by("qualification_type__code", "valid_to")),
                Prefetch("licence_files", queryset=LicenceFile.objects.order_by("uploaded_at", "pk")),
                Prefetch("practitioners", queryset=Practitioner.objects.order_by("pk")),
                Prefetch("objections", queryset=PublicityObjection.objects.select_related("ruled_by").order_by("created_at", "pk")),
            ).filter(pk=pk).first())


def qualification_gaps(*, agency: Agency, today: dt.date | None = None) -> list[tuple[ServiceItem, list[QualificationType]]]:
    """Offered items needing a qualification the agency holds no valid certificate of (shown to reviewers
    and to the agency; it may register, but it cannot bid for these items until it has one)."""
    today = today or timezone.localdate()
    held = {q.qualification_type_id for q in agency.qualifications.all() if q.is_valid_on(today)}
    gaps = []
    for offer in agency.offered_items.all():
        required = list(offer.service_item.qualification_types.all())
        if required and not any(t.pk in held for t in required):
            gaps.append((offer.service_item, required))
    return gaps


def agency_review_queue() -> QuerySet[Agency]:
    return (Agency.objects.filter(status=AgencyStatus.SUBMITTED).select_related("organization", "organization__region")
            .annotate(n_files=Count("licence_files", distinct=True), n_items=Count("offered_items", distinct=True))
            .order_by("submitted_at", "pk"))


def agency_regulator_list(*, status: str = "", q: str = "") -> QuerySet[Agency]:
    qs = Agency.objects.select_related("organization", "organization__region")
    if status in AgencyStatus.values:
        qs = qs.filter(status=status)
    for term in q.split():
        qs = qs.filter(Q(organization__name__icontains=term) | Q(organization__uscc__iexact=term))
    return qs.order_by("-updated_at", "-pk")


def agency_publicity_list() -> QuerySet[Agency]:
    """Registrations in publicity, for the public publicity page."""
    return (Agency.objects.filter(status=AgencyStatus.PUBLICITY).select_related("organization", "organization__region")
            .prefetch_related(Prefetch("offered_items", queryset=AgencyServiceItem.objects.select_related("service_item")
                                       .order_by("service_item__code"), to_attr="offers"))
            .order_by("publicity_ends_at", "pk"))


def objections_open() -> QuerySet[PublicityObjection]:
    return (PublicityObjection.objects.filter(status=PublicityObjection.Status.OPEN)
            .select_related("agency", "agency__organization").order_by("created_at", "pk"))


def agency_staff(*, agency: Agency) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=agency.organization).select_related("user").order_by("role", "user__username")


def agency_invitations_pending(*, agency: Agency) -> QuerySet[AgencyInvitation]:
    return AgencyInvitation.objects.filter(agency=agency, status=AgencyInvitation.Status.PENDING).select_related("invited_by")


def agencies_of_user(*, user: User) -> QuerySet[Agency]:
    """The registrations of every agency organization the user belongs to (latest first)."""
    if not (user and user.is_authenticated):
        return Agency.objects.none()
    return (Agency.objects.filter(organization__in=Membership.objects.filter(user=user).values("organization"))
            .select_related("organization").order_by("-created_at", "-pk"))


def qualifications_expiring(*, agencies, today: dt.date | None = None) -> list[Qualification]:
    """Certificates of these agencies that expire within the warning window or have expired in the last 90 days."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=settings.MARKET["QUALIFICATION_WARNING_DAYS"])
    return list(Qualification.objects.filter(agency__in=agencies, valid_to__lte=horizon,
                                             valid_to__gte=today - dt.timedelta(days=90))
                .select_related("qualification_type", "agency__organization").order_by("valid_to"))


def regulator_desk_counts() -> dict:
    return {
        "submitted": Agency.objects.filter(status=AgencyStatus.SUBMITTED).count(),
        "publicity": Agency.objects.filter(status=AgencyStatus.PUBLICITY).count(),
        "objections": PublicityObjection.objects.filter(status=PublicityObjection.Status.OPEN).count(),
        "years_missing_holidays": years_missing_holidays(),
    }


def agency_organizations_of_user(*, user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(kind=Organization.Kind.AGENCY, memberships__user=user)


def agency_current_registration(*, organization: Organization) -> Agency | None:
    """The organization's registration in force (the newest one not withdrawn), else its newest."""
    registrations = Agency.objects.filter(organization=organization).select_related("organization").order_by("-pk")
    return registrations.exclude(status=AgencyStatus.WITHDRAWN).first() or registrations.first()
