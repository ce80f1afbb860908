"""Building contracts the way users do: a published request, bids, the selection by server time,
the award after publicity (market.core.deadlines.run_due), which drafts the contract in the same run."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from bids import services as bid_services
from market.contracts.models import Contract
from market.core.deadlines import run_due
from market.requests.models import ServiceRequest
from tests.factories import PDF_BYTES, make_owner, org_admin
from tests.request_factories import active_agency, agency_admin, freeze, published_request

PRICES = (4_000_000, 4_500_000, 5_000_000)


def awarded_request(*, prices=PRICES, **overrides) -> tuple[ServiceRequest, list, dt.datetime]:
    """An awarded request (lowest price wins), its bids in price order, and the award time."""
    request = published_request(owner=make_owner(verified=True), selection_method="lowest", **overrides)
    bids = []
    for price in prices:
        agency = active_agency(item=request.service_item)
        bids.append(bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=price))
    with freeze(request.bid_deadline + dt.timedelta(seconds=1)):
        bid_services.selection_run(actor=None, request=request)
    request.refresh_from_db()
    awarded_at = request.publicity_ends_at
    run_due(now=awarded_at)
    request.refresh_from_db()
    return request, bids, awarded_at


def drafted_contract(**overrides) -> tuple[Contract, list, dt.datetime]:
    request, bids, awarded_at = awarded_request(**overrides)
    return Contract.objects.get(request=request), bids, awarded_at


def owner_user(contract: Contract):
    return org_admin(contract.owner)


def agency_user(contract: Contract):
    return agency_admin(contract.agency)


def signed_contract(*, pay_on_acceptance: bool = True, **overrides) -> tuple[Contract, dt.datetime]:
    """A contract both sides signed one hour after the award; returns it and the signing time."""
    from market.contracts import services as contract_services

    contract, _bids, awarded_at = drafted_contract(**overrides)
    moment = awarded_at + dt.timedelta(hours=1)
    with freeze(moment):
        if contract.pay_on_acceptance != pay_on_acceptance:
            contract_services.contract_terms_set(actor=owner_user(contract), contract=contract,
                                                 pay_on_acceptance=pay_on_acceptance)
        contract_services.contract_confirm(actor=agency_user(contract), contract=contract)
        contract_services.contract_confirm(actor=owner_user(contract), contract=contract)
    contract.refresh_from_db()
    return contract, moment


def pdf(name: str = "成果报告.pdf", content: bytes = PDF_BYTES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def delivered_contract(**kw):
    from market.contracts import services as contract_services

    contract, signed_at = signed_contract(**kw)
    moment = signed_at + dt.timedelta(days=3)
    with freeze(moment):
        delivery = contract_services.deliverable_upload(actor=agency_user(contract), contract=contract,
                                                        note="测绘成果报告及图件", files=[pdf()])
    contract.refresh_from_db()
    return contract, delivery, moment


def accepted_contract(**kw):
    from market.contracts import services as contract_services

    contract, delivery, delivered_at = delivered_contract(**kw)
    moment = delivered_at + dt.timedelta(hours=2)
    with freeze(moment):
        contract_services.deliverable_accept(actor=owner_user(contract), delivery_round=delivery)
    contract.refresh_from_db()
    return contract, moment


__all__ = ["awarded_request", "drafted_contract", "signed_contract", "delivered_contract", "accepted_contract",
           "owner_user", "agency_user", "pdf", "freeze", "timezone"]
