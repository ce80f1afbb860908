"""Hand-made data for supervision tests, built through the services (requests, bids, selections,
awards) with server time moved by `freeze`."""

from __future__ import annotations

import datetime as dt

from django.core import mail
from django.db import transaction

from agencies.models import AgencyServiceItem
from bids import services as bid_services
from market.accounts.models import Membership, Organization, User
from market.requests.models import ServiceRequest
from market.notifications.services import HEADER
from tests.factories import make_owner
from tests.request_factories import active_agency, agency_admin, freeze, item_with_qualification, published_request


def bid(request, agency, price):
    return bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=price)


def select(request):
    """Run the selection just after the deadline; returns the run."""
    with freeze(request.bid_deadline + dt.timedelta(seconds=1)):
        run = bid_services.selection_run(actor=None, request=request)
    request.refresh_from_db()
    return run


def award(request):
    """Award once publicity has ended (what the deadline job does)."""
    with freeze(request.publicity_ends_at), transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        assert bid_services.request_award_if_due(request=locked, now=request.publicity_ends_at)
    request.refresh_from_db()
    return request


def round_with(prices_by_agency: dict, *, owner=None, item=None, awarded=False, **overrides):
    """A request with one bid per agency at the given price, selected by lowest price."""
    request = published_request(owner=owner or make_owner(verified=True), item=item or item_with_qualification(),
                                selection_method="lowest", **overrides)
    for agency, price in prices_by_agency.items():
        bid(request, agency, price)
    select(request)
    if awarded:
        award(request)
    return request


def offering(item, **kw):
    """An active agency offering `item` and holding its qualifications."""
    agency = active_agency(item=item, **kw)
    AgencyServiceItem.objects.create(agency=agency, service_item=item, fee_quote="按标准收费")
    return agency


def members(org) -> set[int]:
    return set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))


def regulator_ids() -> set[int]:
    return set(User.objects.filter(memberships__organization__kind=Organization.Kind.REGULATOR,
                                   memberships__organization__status=Organization.Status.VERIFIED)
               .values_list("pk", flat=True))


def mails(kind: str) -> list:
    """The e-mails the notifications sent for `kind` (they carry the X-Market-Notification header)."""
    return [m for m in mail.outbox if m.extra_headers.get(HEADER) == kind]


__all__ = ["bid", "select", "award", "round_with", "offering", "members", "regulator_ids", "mails", "freeze",
           "active_agency", "agency_admin", "published_request", "item_with_qualification", "make_owner"]
