"""Factories for requests and bids: built through the services, with server time moved by
`freeze` (a context manager that patches timezone.now in the modules that read it)."""

from __future__ import annotations

import contextlib
import datetime as dt
from unittest import mock

from django.conf import settings
from django.utils import timezone

from agencies.models import Agency, AgencyStatus, Qualification
from market.requests import services as request_services
from market.accounts import services
from market.accounts.models import Organization
from market.catalogue.models import ServiceItem
from market.requests.models import ServiceRequest
from tests.factories import PASSWORD, make_owner, make_user, next_uscc, org_admin, region

_real_now = timezone.now
NOW_MODULES = ["django.utils.timezone.now"]


@contextlib.contextmanager
def freeze(moment: dt.datetime):
    """Server time is `moment` inside the block (every module reads django.utils.timezone.now)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def item_with_qualification() -> ServiceItem:
    return ServiceItem.objects.filter(qualification_types__isnull=False, pricing_mode="market").distinct().order_by("code").first()


def active_agency(*, item: ServiceItem | None = None, valid_to: dt.date | None = None, status: str = AgencyStatus.ACTIVE,
                  name: str | None = None) -> Agency:
    """An agency whose registration is active, holding every qualification type of `item`."""
    admin = make_user()
    org = services.organization_register(actor=admin, kind=Organization.Kind.AGENCY, name=name or f"测试中介{admin.pk}",
                                         uscc=next_uscc("440106", "91"), region=region("440106"))
    agency = Agency.objects.create(organization=org, status=status, created_by=admin)
    today = timezone.localdate()
    for qt in (item.qualification_types.all() if item else []):
        Qualification.objects.create(agency=agency, qualification_type=qt, certificate_number=f"CERT-{agency.pk}-{qt.pk}",
                                     level="甲级", issuer="广东省自然资源厅", valid_from=today - dt.timedelta(days=365),
                                     valid_to=valid_to or today + dt.timedelta(days=365))
    return agency


def request_fields(item: ServiceItem, *, now: dt.datetime | None = None, **overrides) -> dict:
    now = now or timezone.now()
    deadline = now + dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"]) + dt.timedelta(hours=1)
    fields = dict(project_name="某道路改造工程测绘服务", service_item=item, fiscal_share=100, state_share=0, social_share=0,
                  budget_fen=10_000_000, service_term_days=30, selection_method="lowest", bid_deadline=deadline,
                  selection_time=deadline, contact_name="张三", contact_phone="13800000000")
    fields.update(overrides)
    return fields


def published_request(*, owner: Organization | None = None, item: ServiceItem | None = None,
                      required_all: bool = True, **overrides) -> ServiceRequest:
    owner = owner or make_owner(verified=True)
    item = item or item_with_qualification()
    actor = org_admin(owner)
    quals = list(item.qualification_types.all()) if required_all else []
    request = request_services.request_create(actor=actor, owner=owner, required_qualifications=quals,
                                              **request_fields(item, **overrides))
    return request_services.request_publish(actor=actor, request=request)


def agency_admin(agency: Agency):
    return org_admin(agency.organization)


def agency_member_add(agency: Agency, user, role: str = "staff", *, actor=None):
    """A person joins an agency the only way there is: invited by its administrator, and accepting."""
    from agencies import services as agency_services

    _invitation, token = agency_services.invitation_create(actor=actor or agency_admin(agency), agency=agency,
                                                           email=user.email, role=role)
    return agency_services.invitation_accept(user=user, token=token)


__all__ = ["PASSWORD", "freeze", "item_with_qualification", "active_agency", "request_fields", "published_request",
           "agency_admin", "agency_member_add"]
