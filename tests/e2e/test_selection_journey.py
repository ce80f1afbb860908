"""Journeys through a selection, each step as its user, in Chromium:
an owner posts a request; three agencies bid; the owner selects; the public opens the result and
verifies the draw in the browser; a regulator records a breach and the agency's next bid is refused
with the reason on screen."""

import datetime as dt

import pytest
from django.utils import timezone

from market.requests.models import ServiceRequest
from tests.factories import PASSWORD, make_owner, make_regulator, org_admin
from tests.request_factories import active_agency, agency_admin, item_with_qualification, published_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")]


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _close_bidding(request: ServiceRequest) -> None:
    """Time passes: the deadline and the selection time are now in the past."""
    past = timezone.now() - dt.timedelta(seconds=1)
    ServiceRequest.objects.filter(pk=request.pk).update(bid_deadline=past, selection_time=past)


def test_owner_posts_agencies_bid_owner_selects_public_verifies(pages, e2e_settings):
    e2e_settings.MARKET = {**e2e_settings.MARKET, "MIN_BIDDING_WINDOW_SECONDS": 60}
    item = item_with_qualification()
    owner = make_owner(verified=True, name="佛山市禅城区住房和城乡建设局")
    agencies = [active_agency(item=item, name=f"广东{n}测绘有限公司") for n in ("华南", "珠江", "岭南")]

    # The owner posts the request through the form and publishes it.
    pages.login(org_admin(owner).username, PASSWORD)
    page = pages.goto("/requests/new/")
    page.fill("#id_project_name", "禅城区旧城改造测绘服务")
    page.select_option("#id_service_item", value=str(item.pk))
    page.fill("#id_fiscal_share", "100")
    page.fill("#id_budget_fen", "80000")
    page.fill("#id_service_term_days", "30")
    page.select_option("#id_selection_method", "lowest")
    deadline = timezone.now() + dt.timedelta(minutes=5)
    page.fill("#id_bid_deadline", _local(deadline))
    page.fill("#id_contact_name", "王工")
    page.fill("#id_contact_phone", "0757-88888888")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    request = ServiceRequest.objects.get(project_name="禅城区旧城改造测绘服务")
    page.click("form[action$=\"/publish/\"] button[type=submit]")
    page.wait_for_load_state()
    request.refresh_from_db()
    assert request.status == "published" and request.commitment in page.content()

    # Three agencies bid; before the deadline nobody else sees a price.
    for agency, price in zip(agencies, ["61000", "59000", "64500"]):
        pages.login(agency_admin(agency).username, PASSWORD)
        page = pages.goto(f"/requests/{request.pk}/")
        page.fill("#id_bid-price_fen", price)
        page.fill("#id_bid-proposal", "具备甲级测绘资质，承诺20个工作日内提交成果。")
        page.click("form.bid-form button[type=submit]")
        page.wait_for_load_state()
        assert price[:2] in page.inner_text("main")  # the agency sees its own bid
    pages.login(org_admin(owner).username, PASSWORD)
    page = pages.goto(f"/requests/{request.pk}/")
    assert "59,000.00" not in page.content() and "59000" not in page.content()

    # Bidding closes; the owner runs the selection.
    _close_bidding(request)
    page = pages.goto(f"/requests/{request.pk}/select/")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    request.refresh_from_db()
    assert request.status == "publicity"

    # The public opens the result and verifies the draw in the browser.
    pages.context.clear_cookies()
    page = pages.goto(f"/requests/{request.pk}/result/")
    assert "广东珠江测绘有限公司" in page.inner_text("main") and "59,000.00" in page.inner_text("main")
    page.click("#verify-draw")
    page.wait_for_selector("#verify-output.verify-ok", timeout=10_000)
    assert "✓" in page.inner_text("#verify-output") or "验证" in page.inner_text("#verify-output") \
        or "Verified" in page.inner_text("#verify-output")


def test_regulator_records_a_breach_and_the_next_bid_is_refused_on_screen(pages, e2e_settings):
    request = published_request()
    agency = active_agency(item=request.service_item, name="深圳市诚达安全技术咨询有限公司")
    regulator = make_regulator()

    pages.login(regulator.username, PASSWORD)
    page = pages.goto("/credit/breaches/new/")
    page.fill("#id_agency", agency.organization.uscc)
    page.select_option("#id_rule", label="FAKE_MATERIALS 提供虚假材料")
    page.fill("#id_evidence", "提交的业绩合同经核实系伪造。")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "提供虚假材料" in page.inner_text("main")

    pages.login(agency_admin(agency).username, PASSWORD)
    page = pages.goto(f"/requests/{request.pk}/")
    page.fill("#id_bid-price_fen", "50000")
    page.click("form.bid-form button[type=submit]")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "黑名单" in text or "black list" in text
    assert not request.bids.exists()
