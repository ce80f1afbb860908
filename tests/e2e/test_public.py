"""The public's journey: browse the fee schedule, switch language, open announcements and credit lists."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")]


def test_public_browses_fee_schedules_in_both_languages(pages):
    from cms.demo import seed

    seed()
    page = pages.goto("/")
    assert "广东省网上中介服务超市" in page.title()
    page.click("text=收费标准")
    page.select_option("#f-pricing", "government_set")
    page.click(".filters button[type=submit]")
    assert "政府定价" in page.inner_text("main")
    page.click("main table tbody tr:first-child td:nth-child(2) a")
    assert "收费标准" in page.inner_text("main")
    page.select_option("#lang-select", "en")
    page.click("form.lang button")
    assert "Fee standard" in page.inner_text("main")
    pages.goto("/credit/")
    pages.goto("/requests/")
