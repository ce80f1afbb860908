"""The agency's journey in Chromium, each step as its user: a signed-up user registers an agency
through the six-step form (organization with a valid USCC, licence upload, a service item with
its fee quote, a certificate with its scan, a practitioner) and submits; a regulator opens the
review queue and approves, which starts the publicity; the public sees the registration in
publicity; publicity ends (the deadline job, as cron runs it) and the agency is active in the
public directory."""

import datetime as dt
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from agencies.models import Agency, AgencyStatus
from market.catalogue.models import QualificationType
from market.core.uscc import is_valid_uscc, make_uscc
from tests.e2e.conftest import pdf_file
from tests.factories import PASSWORD, make_regulator, make_user
from tests.request_factories import item_with_qualification

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")]

NAME = "广州市天河区正衡安全技术咨询有限公司"


def _submit(page, selector: str = "main form.form button[type=submit]"):
    page.click(selector)
    page.wait_for_load_state()
    return page


def _next_step(page):
    """The step's own "Save and continue" (a separate form below the add form)."""
    return _submit(page, "main form.actions button[type=submit]")


def test_agency_registers_regulator_approves_publicity_ends_agency_is_listed(pages, e2e_settings):
    e2e_settings.MARKET = {**e2e_settings.MARKET, "AGENCY_PUBLICITY_SECONDS": 3}
    item = item_with_qualification()
    qtype = item.qualification_types.order_by("code").first()
    user = make_user("zhengheng_admin")
    regulator = make_regulator("reviewer_gd")
    uscc = make_uscc("91440106MA5D0XK2B")
    assert is_valid_uscc(uscc)

    # The signed-up user starts from the desk.
    page = pages.login(user.username, PASSWORD)
    _submit(page, "header a[href='/accounts/dashboard/']")
    page.click("main a[href='/agencies/register/']")
    page.wait_for_load_state()

    # Step 1: the organization.
    page.fill("#id_name", NAME)
    page.fill("#id_uscc", uscc)
    page.select_option("#id_agency_type", index=0)
    page.select_option("#id_region", value="440106")
    page.fill("#id_address", "广州市天河区天河路385号")
    page.fill("#id_legal_representative", "林正衡")
    page.fill("#id_contact_name", "陈小姐")
    page.fill("#id_contact_phone", "020-38888888")
    page.fill("#id_contact_email", "contact@zhengheng.example.com")
    page.fill("#id_introduction", "专业从事建设项目安全预评价、安全验收评价。")
    _submit(page)
    agency = Agency.objects.get(organization__uscc=uscc)
    assert page.url.endswith(f"/agencies/register/{agency.pk}/licences/"), page.url

    # Step 2: the business licence, a small PDF.
    page.select_option("#id_kind", value="business_licence")
    page.set_input_files("#id_file", pdf_file("营业执照.pdf"))
    _submit(page)
    assert "营业执照.pdf" in page.inner_text("main")
    _next_step(page)
    assert page.url.endswith("/items/"), page.url

    # Step 3: a service item with the fee quote.
    page.select_option("#id_service_item", value=str(item.pk))
    page.fill("#id_fee_quote", "按收费标准下浮10%")
    page.fill("#id_fee_quote_yuan", "12,000")
    page.fill("#id_commitment", "收到委托后15个工作日内提交成果。")
    _submit(page)
    assert item.name in page.inner_text("main") and "12,000" in page.inner_text("main")
    _next_step(page)
    assert page.url.endswith("/qualifications/"), page.url

    # Step 4: the certificate the item needs, with its scan.
    today = timezone.localdate()
    page.select_option("#id_qualification_type", value=str(qtype.pk))
    page.fill("#id_certificate_number", "APJ-粤-440188")
    page.fill("#id_level", "乙级")
    page.fill("#id_issuer", "广东省自然资源厅")
    page.fill("#id_valid_from", (today - dt.timedelta(days=365)).isoformat())
    page.fill("#id_valid_to", (today + dt.timedelta(days=3 * 365)).isoformat())
    page.set_input_files("#id_file", pdf_file("资质证书.pdf"))
    _submit(page)
    assert "APJ-粤-440188" in page.inner_text("main")
    scan = agency.qualifications.get().file
    assert scan.name and scan.path.startswith(e2e_settings.STORAGES["private"]["OPTIONS"]["location"])
    _next_step(page)
    assert page.url.endswith("/practitioners/"), page.url

    # Step 5: a practitioner.
    page.fill("#id_name", "黄志明")
    page.fill("#id_title", "注册测绘师")
    page.fill("#id_certificate_number", "CHS-2019-0088")
    _submit(page)
    assert "黄志明" in page.inner_text("main")
    _next_step(page)
    assert page.url.endswith("/submit/"), page.url

    # Step 6: check and submit.
    page.check("#id_confirm")
    _submit(page)
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.SUBMITTED
    assert page.url.endswith(f"/agencies/{agency.pk}/desk/"), page.url

    # A regulator opens the review queue from the desk and approves.
    page = pages.login(regulator.username, PASSWORD)
    _submit(page, "header a[href='/accounts/dashboard/']")
    page.click("main a[href='/agencies/review/']")
    page.wait_for_load_state()
    assert NAME in page.inner_text("main")
    page.click(f"main a[href='/agencies/review/{agency.pk}/']")
    page.wait_for_load_state()
    assert "营业执照.pdf" in page.inner_text("main") and "APJ-粤-440188" in page.inner_text("main")
    page.select_option("#id_decision", "approve")
    page.fill("#id_comment", "材料齐全，同意入驻，进入公示。")
    _submit(page)
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.PUBLICITY and agency.publicity_ends_at is not None

    # The public sees the registration in publicity, and not yet in the directory.
    pages.context.clear_cookies()
    page = pages.goto("/agencies/")
    page.click("main a[href='/agencies/publicity/']")
    page.wait_for_load_state()
    assert NAME in page.inner_text("main") and uscc in page.inner_text("main")
    page = pages.goto("/agencies/")
    page.fill("#f-q", "正衡")
    _submit(page, "main form.filters button[type=submit]")
    assert NAME not in page.inner_text("main")

    # Publicity ends (seconds here, by settings); the deadline job activates the agency.
    wait = (agency.publicity_ends_at - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait + 0.2)
    call_command("process_deadlines", verbosity=0)
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.ACTIVE

    # The public finds it active in the directory and opens its page.
    page = pages.goto("/agencies/")
    page.fill("#f-q", "正衡")
    _submit(page, "main form.filters button[type=submit]")
    assert NAME in page.inner_text("main")
    page.click(f"main a[href='/agencies/{agency.pk}/']")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert NAME in text and uscc in text and item.name in text and "APJ-粤-440188" in text
    assert QualificationType.objects.get(pk=qtype.pk).name in text
    assert "营业执照.pdf" not in text  # the scans stay private
