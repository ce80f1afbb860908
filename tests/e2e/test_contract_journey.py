"""The journey after an award, in Chromium, each step as its user: the owner and the agency sign
the drafted contract from their desks; the agency delivers its results with a note; the owner
returns them once with reasons, the agency delivers again, the owner accepts; payment shows as
offline (no Stripe keys) and the owner closes the contract as settled; the owner evaluates the
agency (five 1–5 ratings and a comment); the public reads the evaluation on the contract page and
on the agency's page."""

import datetime as dt
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from bids import services as bid_services
from market.contracts.models import Contract, ContractStatus, Evaluation
from market.requests.models import ServiceRequest
from tests.e2e.conftest import pdf_file
from tests.factories import PASSWORD, make_owner, org_admin
from tests.request_factories import active_agency, agency_admin, published_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")]

OWNER = "佛山市南海区应急管理局"
WINNER = "广东安信安全评价有限公司"
COMMENT = "评价报告质量高，退回意见整改及时，收费符合标准。"


def _awarded_contract(settings) -> Contract:
    """The starting data, through the services: a published request, three bids, the selection once
    bidding closed, and the award when the (shortened) result publicity ends — the deadline job
    drafts the contract, as cron runs it."""
    settings.MARKET = {**settings.MARKET, "RESULT_PUBLICITY_SECONDS": 1}
    owner = make_owner(verified=True, name=OWNER)
    request = published_request(owner=owner, project_name="南海区化工园区危化品项目安全预评价", selection_method="lowest",
                                budget_fen=9_000_000)
    for name, price in ((WINNER, 6_800_000), ("广州华成安全技术有限公司", 7_200_000), ("深圳中安评价咨询有限公司", 7_500_000)):
        agency = active_agency(item=request.service_item, name=name)
        bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=price)
    past = timezone.now() - dt.timedelta(seconds=1)
    ServiceRequest.objects.filter(pk=request.pk).update(bid_deadline=past, selection_time=past)
    bid_services.selection_run(actor=None, request=request)
    request.refresh_from_db()
    wait = (request.publicity_ends_at - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait + 0.1)
    call_command("process_deadlines", verbosity=0)
    contract = Contract.objects.select_related("agency__organization").get(request=request)
    assert contract.status == ContractStatus.DRAFTED and contract.agency.organization.name == WINNER
    return contract


def _open_from_desk(pages, user, contract: Contract):
    """Log in, and open the contract from the desk's "My contracts"."""
    page = pages.login(user.username, PASSWORD)
    if not page.url.endswith("/accounts/dashboard/"):
        page.click("header a[href='/accounts/dashboard/']")
        page.wait_for_load_state()
    page.click(f"main a[href='/contracts/{contract.pk}/']")
    page.wait_for_load_state()
    assert contract.number in page.inner_text("main h1")
    return page


def _post(page, action_suffix: str):
    page.click(f"main form[action$='{action_suffix}'] button[type=submit]")
    page.wait_for_load_state()
    return page


def _status(contract: Contract) -> str:
    contract.refresh_from_db()
    return contract.status


def test_owner_and_agency_sign_deliver_accept_pay_offline_and_evaluate(pages, e2e_settings):
    e2e_settings.STRIPE_SECRET_KEY = e2e_settings.STRIPE_PUBLISHABLE_KEY = e2e_settings.STRIPE_WEBHOOK_SECRET = ""
    contract = _awarded_contract(e2e_settings)
    owner, agency = org_admin(contract.owner), agency_admin(contract.agency)

    # Both sides sign.
    page = _open_from_desk(pages, owner, contract)
    _post(page, "/confirm/")
    assert _status(contract) == ContractStatus.DRAFTED and contract.owner_confirmed_at is not None
    page = _open_from_desk(pages, agency, contract)
    _post(page, "/confirm/")
    assert _status(contract) == ContractStatus.IN_SERVICE and contract.due_at is not None

    # The agency delivers its report with a note.
    page.fill("main form[action$='/deliveries/'] textarea[name=note]", "安全预评价报告（送审稿）及附件。")
    page.set_input_files("main form[action$='/deliveries/'] input[name=files]", pdf_file("安全预评价报告.pdf"))
    _post(page, "/deliveries/")
    assert _status(contract) == ContractStatus.DELIVERED
    assert "安全预评价报告.pdf" in page.inner_text("main")

    # The owner returns it once, with reasons.
    page = _open_from_desk(pages, owner, contract)
    page.check("main form[action$='/deliveries/1/review/'] input[name=decision][value=return]")
    page.fill("main form[action$='/deliveries/1/review/'] textarea[name=reason]", "重大危险源辨识不完整，请补充储罐区分析。")
    _post(page, "/deliveries/1/review/")
    assert _status(contract) == ContractStatus.IN_SERVICE
    assert "重大危险源辨识不完整" in page.inner_text("main")

    # The agency delivers again.
    page = _open_from_desk(pages, agency, contract)
    assert "重大危险源辨识不完整" in page.inner_text("main")  # it reads the owner's reasons
    page.fill("main form[action$='/deliveries/'] textarea[name=note]", "已补充储罐区重大危险源辨识，报告定稿。")
    page.set_input_files("main form[action$='/deliveries/'] input[name=files]", pdf_file("安全预评价报告（定稿）.pdf"))
    _post(page, "/deliveries/")
    assert _status(contract) == ContractStatus.DELIVERED

    # The owner accepts it.
    page = _open_from_desk(pages, owner, contract)
    page.check("main form[action$='/deliveries/2/review/'] input[name=decision][value=accept]")
    _post(page, "/deliveries/2/review/")
    assert _status(contract) == ContractStatus.ACCEPTED

    # No Stripe keys: payment is offline; there is no pay button, the owner closes the contract as settled.
    payment = page.inner_text("#payment-heading + dl")
    assert "线下" in payment or "offline" in payment, payment
    assert page.locator("main form[action$='/pay/']").count() == 0

    # The owner evaluates the agency: five ratings and a comment.
    form = "main form[action$='/evaluation/']"
    for name, score in (("quality", 5), ("timeliness", 4), ("attitude", 5), ("fee_compliance", 5), ("conduct", 4)):
        page.check(f"{form} input[name={name}][value='{score}']")
    page.fill(f"{form} textarea[name=comment]", COMMENT)
    _post(page, "/evaluation/")
    evaluation = Evaluation.objects.get(contract=contract)
    assert (evaluation.quality, evaluation.timeliness, evaluation.attitude, evaluation.fee_compliance,
            evaluation.conduct) == (5, 4, 5, 5, 4)
    _post(page, "/close/")
    assert _status(contract) == ContractStatus.CLOSED

    # The public reads the contract and its evaluation, and the agency's page.
    pages.context.clear_cookies()
    page = pages.goto("/contracts/")
    page.fill("main form.filters input[name=q]", contract.number)
    page.click("main form.filters button[type=submit]")
    page.wait_for_load_state()
    page.click(f"main a[href='/contracts/{contract.pk}/']")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert WINNER in text and OWNER in text and COMMENT in text
    assert "安全预评价报告.pdf" not in text  # the deliverables stay private
    evaluation_text = page.inner_text("#evaluation-heading + dl")
    assert "★★★★★" in evaluation_text and "★★★★☆" in evaluation_text

    page = pages.goto("/agencies/")
    page.fill("#f-q", "安信")
    page.click("main form.filters button[type=submit]")
    page.wait_for_load_state()
    page.click(f"main a[href='/agencies/{contract.agency_id}/']")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert WINNER in text
    if page.locator("main section.evaluations").count():  # wired into the agency page
        evaluations = page.inner_text("main section.evaluations")
        assert COMMENT in evaluations and contract.number in evaluations
