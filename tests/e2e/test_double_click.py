"""A double click on a form's submit button sends the form once (market/static/market/js/forms.js),
and the server would create one object anyway (market/once.py)."""

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("restore_reference_data", "reference_data_tx")]


def test_a_double_clicked_complaint_is_posted_once(pages, monkeypatch):
    import time

    from supervision import services
    from supervision.models import Complaint
    from tests.factories import PASSWORD, make_user
    from tests.request_factories import active_agency

    lodge = services.complaint_lodge

    def slow_lodge(**kwargs):  # the answer takes a while: time for an impatient second click
        time.sleep(1)
        return lodge(**kwargs)

    monkeypatch.setattr(services, "complaint_lodge", slow_lodge)
    agency = active_agency()
    user = make_user()
    page = pages.login(user.username, PASSWORD)
    page = pages.goto("/supervision/complaints/new/")
    page.select_option("#id_subject_type", "agency")
    page.fill("#id_reference", agency.organization.uscc)
    page.fill("#id_grounds", "该机构承诺的服务期限严重超期，且多次联系未果。")
    posts = []
    page.on("request", lambda r: r.method == "POST" and "/complaints/new/" in r.url and posts.append(r.url))
    with page.expect_navigation(url="**/complaints/mine/"):
        # Two clicks 200 ms apart, the second while the first is on its way (a disabled button ignores it).
        page.evaluate("""() => {
            const button = document.querySelector("form.form button[type=submit]");
            button.click();
            setTimeout(() => button.click(), 200);
        }""")
    assert "/supervision/complaints/mine/" in page.url
    assert len(posts) == 1
    assert Complaint.objects.filter(complainant=user).count() == 1
