"""Each warning sign on hand-made data that triggers it and on data that does not."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from credit.models import Breach, BreachRule
from market.core.models import AuditEvent
from market.requests.models import RequestAvoidance
from supervision import indicators, services
from supervision.models import RiskWarning, WarningRule, WarningStatus
from tests.factories import make_regulator, make_user

from .helpers import active_agency, bid, freeze, item_with_qualification, make_owner, published_request, round_with

pytestmark = pytest.mark.django_db

M = 1_000_000  # 10,000 yuan in fen


def later(days=30):
    return timezone.now() + dt.timedelta(days=days)


# --- bidding together and taking turns to win ------------------------------------------------------------


def _three_rounds(winners):
    """Agencies a, b, c bid together on three requests; `winners[i]` ('a' or 'b') bids lowest in round i."""
    item = item_with_qualification()
    agencies = {k: active_agency(item=item) for k in "abc"}
    for w in winners:
        prices = {agencies["a"]: 5 * M, agencies["b"]: 5 * M + 100_000, agencies["c"]: 6 * M}
        prices[agencies[w]] = 4 * M
        round_with(prices, item=item)
    return agencies


def test_bid_rotation_is_flagged_when_two_agencies_take_turns_to_win():
    agencies = _three_rounds("aba")
    findings = indicators.find_bid_rotation(later())
    assert len(findings) == 1
    f = findings[0]
    assert f.agency_ids == sorted([agencies["a"].pk, agencies["b"].pk])
    assert f.evidence["shared_requests"] == 3
    assert f.evidence["wins"] == {str(agencies["a"].pk): 2, str(agencies["b"].pk): 1}


def test_bid_rotation_is_not_flagged_when_one_agency_always_wins():
    _three_rounds("aaa")
    assert indicators.find_bid_rotation(later()) == []


def test_bid_rotation_needs_the_minimum_of_shared_requests():
    _three_rounds("ab")  # only two requests together
    assert indicators.find_bid_rotation(later()) == []


# --- identical prices ---------------------------------------------------------------------------------------


def test_identical_prices_on_one_request_are_flagged():
    item = item_with_qualification()
    a, b, c = (active_agency(item=item) for _ in range(3))
    request = published_request(item=item)
    bid(request, a, 4_500_000)
    bid(request, b, 4_500_000)
    bid(request, c, 4_800_000)
    findings = indicators.find_identical_prices(later())
    assert [f.request_id for f in findings] == [request.pk]
    assert sorted(x["agency_id"] for x in findings[0].evidence["bids"]) == sorted([a.pk, b.pk])
    assert {x["price_fen"] for x in findings[0].evidence["bids"]} == {4_500_000}


def test_different_prices_are_not_flagged_and_sealed_prices_are_never_read():
    item = item_with_qualification()
    a, b = active_agency(item=item), active_agency(item=item)
    request = published_request(item=item)
    bid(request, a, 4_500_000)
    bid(request, b, 4_600_000)
    assert indicators.find_identical_prices(later()) == []
    other = published_request(item=item)
    bid(other, a, 4_000_000)
    bid(other, b, 4_000_000)
    # Before the deadline the prices are sealed: no warning may reveal them.
    assert indicators.find_identical_prices(other.bid_deadline - dt.timedelta(seconds=1)) == []
    assert [f.request_id for f in indicators.find_identical_prices(other.bid_deadline)] == [other.pk]


# --- abnormally low prices ------------------------------------------------------------------------------------


def test_a_price_under_70_percent_of_the_others_mean_is_flagged():
    item = item_with_qualification()
    low, x, y = (active_agency(item=item) for _ in range(3))
    request = published_request(item=item)
    bid(request, low, 3_500_000)   # others' mean 5,100,000; 70% of it is 3,570,000
    bid(request, x, 5_000_000)
    bid(request, y, 5_200_000)
    findings = indicators.find_abnormally_low(later())
    assert len(findings) == 1
    assert findings[0].agency_ids == [low.pk]
    assert findings[0].evidence["others_mean_fen"] == 5_100_000
    assert findings[0].evidence["ratio_pct"] == pytest.approx(68.6, abs=0.1)


def test_a_price_at_or_above_70_percent_is_not_flagged():
    item = item_with_qualification()
    low, x, y = (active_agency(item=item) for _ in range(3))
    request = published_request(item=item)
    bid(request, low, 3_570_000)   # exactly 70%
    bid(request, x, 5_000_000)
    bid(request, y, 5_200_000)
    assert indicators.find_abnormally_low(later()) == []


def test_a_low_price_needs_at_least_two_other_bids():
    item = item_with_qualification()
    request = published_request(item=item)
    bid(request, active_agency(item=item), 1_000_000)
    bid(request, active_agency(item=item), 5_000_000)
    assert indicators.find_abnormally_low(later()) == []


# --- one owner awarding most of its requests to one agency ------------------------------------------------------


def _awards(owner, winners, agencies):
    item = item_with_qualification()
    for w in winners:
        prices = {a: 5 * M + i * 100_000 for i, a in enumerate(agencies.values())}
        prices[agencies[w]] = 4 * M
        round_with(prices, owner=owner, item=item, awarded=True)


def test_owner_awarding_60_percent_of_5_awards_to_one_agency_is_flagged():
    item = item_with_qualification()
    owner = make_owner(verified=True)
    agencies = {k: active_agency(item=item) for k in "abc"}
    _awards(owner, "aabac", agencies)
    findings = indicators.find_owner_concentration(later())
    assert len(findings) == 1
    f = findings[0]
    assert f.owner_id == owner.pk and f.agency_ids == [agencies["a"].pk]
    assert (f.evidence["awards_to_agency"], f.evidence["awards_total"]) == (3, 5)


def test_owner_spreading_its_awards_is_not_flagged():
    item = item_with_qualification()
    owner = make_owner(verified=True)
    agencies = {k: active_agency(item=item) for k in "abc"}
    _awards(owner, "abcab", agencies)  # 40% at most
    assert indicators.find_owner_concentration(later()) == []


def test_fewer_than_five_awards_are_not_flagged_whatever_the_share():
    item = item_with_qualification()
    owner = make_owner(verified=True)
    agencies = {k: active_agency(item=item) for k in "abc"}
    _awards(owner, "aaaa", agencies)
    assert indicators.find_owner_concentration(later()) == []


# --- requirements that let only one agency bid ----------------------------------------------------------------


def test_a_request_only_one_agency_is_qualified_for_is_flagged():
    item = item_with_qualification()
    only = active_agency(item=item)
    active_agency(item=item, valid_to=timezone.localdate() - dt.timedelta(days=1))  # expired: cannot bid
    active_agency(item=item, status="suspended")
    request = published_request(item=item)
    findings = indicators.find_single_qualified(timezone.now())
    assert [f.request_id for f in findings] == [request.pk]
    assert findings[0].agency_ids == [only.pk]
    assert findings[0].evidence["required_qualifications"]


def test_a_request_two_agencies_are_qualified_for_is_not_flagged():
    item = item_with_qualification()
    active_agency(item=item)
    active_agency(item=item)
    published_request(item=item)
    assert indicators.find_single_qualified(timezone.now()) == []


def test_an_avoided_agency_does_not_count_as_able_to_bid():
    item = item_with_qualification()
    active_agency(item=item)
    avoided = active_agency(item=item)
    request = published_request(item=item)
    assert indicators.find_single_qualified(timezone.now()) == []
    RequestAvoidance.objects.create(request=request, agency=avoided, reason="关联关系")
    assert [f.request_id for f in indicators.find_single_qualified(timezone.now())] == [request.pk]


def test_a_request_without_required_qualifications_is_not_flagged():
    item = item_with_qualification()
    active_agency(item=item)
    published_request(item=item, required_all=False)
    assert indicators.find_single_qualified(timezone.now()) == []


# --- storing, dismissing and escalating -----------------------------------------------------------------------------


def _identical_prices_request():
    item = item_with_qualification()
    a, b, c = (active_agency(item=item) for _ in range(3))
    request = published_request(item=item)
    for agency, price in ((a, 4_500_000), (b, 4_500_000), (c, 4_900_000)):
        bid(request, agency, price)
    return request, a, b


def test_refresh_stores_each_warning_once_and_audits_new_ones():
    request, _a, _b = _identical_prices_request()
    run = indicators.warnings_refresh(now=later())
    assert run.created == 1 and run.found == {WarningRule.IDENTICAL_PRICES: 1}
    warning = RiskWarning.objects.get(rule=WarningRule.IDENTICAL_PRICES)
    assert warning.request_id == request.pk and warning.current
    assert AuditEvent.objects.filter(action="warning.raise", object_id=str(warning.pk)).count() == 1
    again = indicators.warnings_refresh(now=later(31))
    assert again.created == 0 and RiskWarning.objects.count() == 1


def test_the_management_command_refreshes(capsys):
    _identical_prices_request()
    with freeze(later()):
        call_command("refresh_warnings")
    assert RiskWarning.objects.filter(rule=WarningRule.IDENTICAL_PRICES).exists()
    assert "identical_prices: 1" in capsys.readouterr().out


def test_a_regulator_dismisses_a_warning_with_a_reason():
    _identical_prices_request()
    indicators.warnings_refresh(now=later())
    warning = RiskWarning.objects.get()
    regulator = make_regulator()
    with pytest.raises(ValidationError):
        services.warning_dismiss(actor=regulator, warning=warning, reason=" ")
    with pytest.raises(PermissionDenied):
        services.warning_dismiss(actor=make_user(), warning=warning, reason="巧合")
    services.warning_dismiss(actor=regulator, warning=warning, reason="两家均按收费标准下限报价，属正常")
    warning.refresh_from_db()
    assert warning.status == WarningStatus.DISMISSED and warning.decided_by == regulator
    assert AuditEvent.objects.filter(action="warning.dismiss", object_id=str(warning.pk)).exists()
    with pytest.raises(ValidationError):
        services.warning_dismiss(actor=regulator, warning=warning, reason="再次")
    # A dismissed warning found again keeps its decision.
    indicators.warnings_refresh(now=later(31))
    warning.refresh_from_db()
    assert warning.status == WarningStatus.DISMISSED


def test_a_warning_turned_into_a_breach_case_records_breaches_with_the_evidence():
    request, a, b = _identical_prices_request()
    indicators.warnings_refresh(now=later())
    warning = RiskWarning.objects.get()
    regulator = make_regulator()
    rule = BreachRule.objects.get(code="COLLUSION")
    outsider = active_agency()
    with pytest.raises(ValidationError):
        services.warning_escalate(actor=regulator, warning=warning, rule=rule, agencies=[outsider])
    breaches = services.warning_escalate(actor=regulator, warning=warning, rule=rule, agencies=[a, b], note="经核查属串通报价")
    assert {x.agency_id for x in breaches} == {a.pk, b.pk}
    breach = Breach.objects.get(agency=a)
    assert "经核查属串通报价" in breach.evidence and request.project_name in breach.evidence
    assert f"/supervision/warnings/{warning.pk}/" in breach.evidence
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ESCALATED
    assert set(warning.breaches.values_list("pk", flat=True)) == {x.pk for x in breaches}
    assert AuditEvent.objects.filter(action="warning.escalate", object_id=str(warning.pk)).exists()


def test_a_warning_no_longer_found_is_marked_not_current():
    _request, a, _b = _identical_prices_request()
    indicators.warnings_refresh(now=later())
    from bids.models import Bid

    Bid.objects.filter(agency=a).update(status="withdrawn")  # data corrected afterwards
    indicators.warnings_refresh(now=later(31))
    assert not RiskWarning.objects.get().current


def test_each_rule_has_its_text():
    for code, _label in WarningRule.choices:
        assert indicators.rule_text(code)


# --- pages ------------------------------------------------------------------------------------------------------------


def test_warning_pages_show_rule_evidence_and_links_and_take_decisions(client):
    request, a, b = _identical_prices_request()
    indicators.warnings_refresh(now=later())
    warning = RiskWarning.objects.get()
    client.force_login(make_user())
    assert client.get("/supervision/warnings/").status_code == 403
    client.force_login(make_regulator())
    listing = client.get("/supervision/warnings/").content.decode()
    assert f"/supervision/warnings/{warning.pk}/" in listing
    html = client.get(f"/supervision/warnings/{warning.pk}/").content.decode()
    assert indicators.rule_text(WarningRule.IDENTICAL_PRICES) in html
    assert f"/requests/{request.pk}/result/" in html and f"/agencies/{a.pk}/" in html and "45,000.00" in html
    assert "style=" not in html and html.count("<script") == html.count("<script src=")
    response = client.post(f"/supervision/warnings/{warning.pk}/escalate/", {
        "agencies": [a.pk], "rule": BreachRule.objects.get(code="COLLUSION").pk, "note": "约谈后确认"})
    assert response.status_code == 302
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ESCALATED and Breach.objects.filter(agency=a).exists()
    assert client.post(f"/supervision/warnings/{warning.pk}/dismiss/", {"reason": "x"}).status_code == 302
    warning.refresh_from_db()
    assert warning.status == WarningStatus.ESCALATED  # already decided: refused


def test_recompute_button(client):
    _identical_prices_request()
    regulator = make_regulator()
    with freeze(later()):
        client.force_login(regulator)
        response = client.post("/supervision/warnings/refresh/")
    assert response.status_code == 302 and response["Location"] == "/supervision/warnings/"
    assert RiskWarning.objects.count() == 1
