"""A submission first asks one SQL statement whether the agency plainly may bid (bids.services.
_clear_to_bid) and runs the named checks (AGENCY_CHECKS) only when it says no. The two must give the
same answer in every case, or the fast path would let through a bid the rules refuse."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from agencies.models import AgencyStatus, Qualification
from bids import services
from bids.models import Bid
from credit import services as credit_services
from credit.models import Breach, BreachRule
from market.requests.models import RequestAvoidance
from tests.factories import make_regulator
from tests.request_factories import active_agency, agency_admin, published_request

pytestmark = pytest.mark.django_db


def _ban(agency, *, ends=None):
    breach = credit_services.breach_record(actor=make_regulator(), agency=agency,
                                           rule=BreachRule.objects.get(code="COLLUSION"), evidence="与其他机构串通报价")
    if ends is not None:
        Breach.objects.filter(pk=breach.pk).update(ban_until=ends)


def _answers(request, agency, now):
    """(fast answer, the named checks' refusal code or None, has an active bid)."""
    with transaction.atomic():
        clear = services._clear_to_bid(request_id=request.pk, agency_id=agency.pk, now=now)
        fresh, rules, has_bid = services._agency_for_bid(request=request, agency_id=agency.pk, now=now)
        refusal = services.agency_refusal_for_request(request=request, agency=fresh, now=now, rules=rules)
    return clear, (refusal.code if refusal else None), has_bid


def _eligible(request):
    return active_agency(item=request.service_item)


def _suspended(request):
    return active_agency(item=request.service_item, status=AgencyStatus.SUSPENDED)


def _pending(request):
    return active_agency(item=request.service_item, status=AgencyStatus.PUBLICITY)


def _banned(request):
    agency = _eligible(request)
    _ban(agency)
    return agency


def _ban_over(request):
    agency = _eligible(request)
    _ban(agency, ends=timezone.now() - dt.timedelta(minutes=1))
    return agency


def _avoided(request):
    agency = _eligible(request)
    RequestAvoidance.objects.create(request=request, agency=agency, reason="与业主存在关联关系")
    return agency


def _avoided_elsewhere(request):
    agency = _eligible(request)
    other = published_request(item=request.service_item)
    RequestAvoidance.objects.create(request=other, agency=agency, reason="与另一业主存在关联关系")
    return agency


def _no_certificate(request):
    return active_agency(item=None)


def _expired(request):
    return active_agency(item=request.service_item, valid_to=timezone.localdate() - dt.timedelta(days=1))


def _not_yet_valid(request):
    agency = _eligible(request)
    Qualification.objects.filter(agency=agency).update(valid_from=timezone.localdate() + dt.timedelta(days=1))
    return agency


def _one_of_two_types(request):
    """Types are alternatives: a valid certificate of one required type is enough."""
    agency = _eligible(request)
    certificates = list(Qualification.objects.filter(agency=agency).order_by("pk"))
    if len(certificates) > 1:
        Qualification.objects.filter(pk__in=[c.pk for c in certificates[1:]]).delete()
    return agency


def _certificate_of_another_type(request):
    agency = active_agency(item=None)
    from market.catalogue.models import QualificationType

    other = QualificationType.objects.exclude(pk__in=request.required_qualifications.values("pk")).first()
    today = timezone.localdate()
    Qualification.objects.create(agency=agency, qualification_type=other, certificate_number="OTHER-1", level="甲级",
                                 issuer="某厅", valid_from=today - dt.timedelta(days=10), valid_to=today + dt.timedelta(days=10))
    return agency


def _has_bid(request):
    agency = _eligible(request)
    services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=1_000_000)
    return agency


def _withdrew(request):
    agency = _has_bid(request)
    services.bid_withdraw(actor=agency_admin(agency), bid=Bid.objects.get(request=request, agency=agency))
    return agency


CASES = {
    "eligible": (_eligible, None, True),
    "suspended": (_suspended, "suspended", False),
    "not yet active": (_pending, "not_active", False),
    "banned": (_banned, "banned", False),
    "ban over": (_ban_over, None, True),
    "avoided": (_avoided, "avoided", False),
    "avoided by another request only": (_avoided_elsewhere, None, True),
    "no certificate": (_no_certificate, "qualification_missing", False),
    "certificate expired": (_expired, "qualification_expired", False),
    "certificate not yet valid": (_not_yet_valid, "qualification_expired", False),
    "one of the alternative types": (_one_of_two_types, None, True),
    "certificate of another type": (_certificate_of_another_type, "qualification_missing", False),
    "already bid": (_has_bid, None, False),
    "bid withdrawn": (_withdrew, None, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_answer_is_the_named_checks_answer(case):
    make, code, clear = CASES[case]
    request = published_request()
    agency = make(request)
    fast, refusal, has_bid = _answers(request, agency, timezone.now())
    assert refusal == code
    assert fast is clear
    assert fast == (refusal is None and not has_bid)


def test_no_required_qualification_needs_no_certificate():
    request = published_request(required_all=False)
    agency = active_agency(item=None)
    assert _answers(request, agency, timezone.now()) == (True, None, False)


def test_a_ban_counts_until_its_end_by_server_time():
    request = published_request()
    agency = _eligible(request)
    ends = timezone.now() + dt.timedelta(hours=1)
    _ban(agency, ends=ends)
    assert _answers(request, agency, ends - dt.timedelta(seconds=1))[:2] == (False, "banned")
    assert _answers(request, agency, ends + dt.timedelta(seconds=1))[:2] == (True, None)
