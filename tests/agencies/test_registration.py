"""Registering an agency: one live registration per USCC, the draft saved step by step through
the pages (every field labelled), and the regulator's review pages."""

import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from agencies import services
from agencies.models import Agency, AgencyStatus
from market.accounts.models import Membership, Organization
from market.catalogue.models import ServiceItem
from tests.factories import agency_admin, make_agency, make_regulator, make_user, next_uscc, pdf_upload, region

pytestmark = pytest.mark.django_db


def register(user=None, uscc=None, **kwargs):
    return services.agency_register(actor=user or make_user(), name=kwargs.pop("name", "广州测绘有限公司"),
                                    uscc=uscc or next_uscc(), region=region(), **kwargs)


def test_registering_makes_a_draft_and_its_user_the_admin():
    user = make_user()
    agency = register(user, legal_representative="王五")
    assert agency.status == AgencyStatus.DRAFT
    assert agency.organization.kind == Organization.Kind.AGENCY
    assert Membership.objects.get(user=user, organization=agency.organization).role == Membership.Role.ADMIN


def test_a_second_registration_of_the_same_uscc_is_refused():
    code = next_uscc()
    register(uscc=code)
    with pytest.raises(ValidationError) as err:
        register(uscc=code, name="另一家")
    assert "uscc" in err.value.message_dict
    assert Agency.objects.filter(organization__uscc=code).count() == 1
    assert Organization.objects.filter(uscc=code, kind="agency").count() == 1


@pytest.mark.parametrize("status", ["submitted", "returned", "publicity", "active", "suspended", "banned"])
def test_a_live_registration_in_any_status_blocks_another(status):
    agency = make_agency(status=status)
    with pytest.raises(ValidationError):
        register(user=agency_admin(agency), uscc=agency.organization.uscc)


def test_the_database_backs_one_live_registration_per_uscc():
    agency = make_agency(status="draft")
    with pytest.raises(IntegrityError), transaction.atomic():
        Agency.objects.create(organization=agency.organization)


def test_after_withdrawal_the_admin_may_register_the_uscc_again():
    agency = make_agency(status="draft")
    admin = agency_admin(agency)
    services.agency_transition(agency=agency, to=AgencyStatus.WITHDRAWN, actor=admin)
    again = register(user=admin, uscc=agency.organization.uscc, name="重新入驻有限公司")
    assert again.organization_id == agency.organization_id and again.status == AgencyStatus.DRAFT
    assert again.organization.name == "重新入驻有限公司"


def test_after_rejection_a_stranger_cannot_take_over_the_uscc():
    agency = make_agency(status="rejected")
    with pytest.raises(ValidationError) as err:
        register(uscc=agency.organization.uscc)
    assert "uscc" in err.value.message_dict


def test_a_bad_check_digit_is_refused_naming_the_character():
    code = next_uscc()
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    with pytest.raises(ValidationError) as err:
        register(uscc=bad)
    assert "18" in err.value.message_dict["uscc"][0]
    assert not Organization.objects.filter(uscc=bad).exists()


def test_anonymous_users_cannot_register():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        register(user=AnonymousUser())


def test_a_fee_quote_above_a_government_cap_is_refused():
    item = ServiceItem.objects.filter(fee_cap_fen__isnull=False).exclude(pricing_mode="market").first()
    agency = make_agency(status="draft")
    with pytest.raises(ValidationError) as err:
        services.agency_item_set(actor=agency_admin(agency), agency=agency, service_item=item, fee_quote="高价",
                                 fee_quote_fen=item.fee_cap_fen + 1)
    assert "fee_quote_fen" in err.value.message_dict
    assert not agency.offered_items.filter(service_item=item).exists()
    services.agency_item_set(actor=agency_admin(agency), agency=agency, service_item=item, fee_quote="上限价",
                             fee_quote_fen=item.fee_cap_fen)


def test_a_submitted_registration_cannot_be_edited():
    agency = make_agency(status="submitted")
    with pytest.raises(ValidationError):
        services.agency_update_profile(actor=agency_admin(agency), agency=agency, introduction="偷偷修改")
    with pytest.raises(ValidationError):
        services.licence_file_add(actor=agency_admin(agency), agency=agency, upload=pdf_upload())


def test_an_active_agency_keeps_its_certificates_current_but_not_its_items():
    import datetime as dt

    from django.utils import timezone

    from market.catalogue.models import QualificationType

    agency = make_agency(status="active")
    admin = agency_admin(agency)
    today = timezone.localdate()
    services.qualification_add(actor=admin, agency=agency, qualification_type=QualificationType.objects.get(code="QT-CH-B"),
                               certificate_number="RENEW-1", issuer="省厅", valid_from=today,
                               valid_to=today + dt.timedelta(days=365))
    services.practitioner_add(actor=admin, agency=agency, name="新员工")
    with pytest.raises(ValidationError):
        services.agency_item_set(actor=admin, agency=agency, service_item=ServiceItem.objects.first(), fee_quote="x")


# --- Pages -------------------------------------------------------------------------------------------


class _Labels(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields, self.labels = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.fields.append(a.get("id") or a.get("name"))


def assert_every_field_labelled(html: str):
    parser = _Labels()
    parser.feed(html)
    unlabelled = [f for f in parser.fields if f not in parser.labels]
    assert not unlabelled, unlabelled


def test_registration_in_steps_through_the_pages(client):
    user = make_user()
    client.force_login(user)
    page = client.get("/agencies/register/")
    assert page.status_code == 200
    assert_every_field_labelled(page.content.decode())
    code = next_uscc("440106")
    response = client.post("/agencies/register/", {
        "name": "广州天河测绘有限公司", "uscc": code, "agency_type": "company", "region": "440106",
        "address": "天河路100号", "legal_representative": "王五", "contact_name": "赵六", "contact_phone": "13900000000",
        "contact_email": "a@example.com", "introduction": "专业测绘"})
    agency = Agency.objects.get(organization__uscc=code)
    assert response.status_code == 302 and response["Location"] == f"/agencies/register/{agency.pk}/licences/"
    base = f"/agencies/register/{agency.pk}"
    for step in ("organization", "licences", "items", "qualifications", "practitioners", "submit"):
        page = client.get(f"{base}/{step}/")
        assert page.status_code == 200, step
        assert_every_field_labelled(page.content.decode())
    # Step 2: nothing uploaded yet: cannot continue.
    assert client.post(f"{base}/licences/", {"action": "next"}).status_code == 400
    assert client.post(f"{base}/licences/", {"action": "add", "kind": "business_licence", "file": pdf_upload()}).status_code == 302
    assert client.post(f"{base}/licences/", {"action": "next"})["Location"] == f"{base}/items/"
    # Step 3: an item with a fee in yuan.
    response = client.post(f"{base}/items/", {"action": "add", "service_item": ServiceItem.objects.get(code="GD-ZJ-CH-001").pk,
                                              "fee_quote": "按面积计费", "fee_quote_yuan": "3,000.50", "commitment": "10日内"})
    assert response.status_code == 302
    assert agency.offered_items.get().fee_quote_fen == 300050
    assert client.post(f"{base}/items/", {"action": "add", "service_item": "", "fee_quote": ""}).status_code == 400
    client.post(f"{base}/items/", {"action": "next"})
    # Step 4: a certificate with its scan.
    from market.catalogue.models import QualificationType

    response = client.post(f"{base}/qualifications/", {
        "action": "add", "qualification_type": QualificationType.objects.get(code="QT-CH-B").pk,
        "certificate_number": "乙测资字4401001", "level": "乙级", "issuer": "广东省自然资源厅",
        "valid_from": "2025-01-01", "valid_to": "2030-12-31", "file": pdf_upload("资质.pdf")})
    assert response.status_code == 302
    assert agency.qualifications.get().file.name
    client.post(f"{base}/qualifications/", {"action": "next"})
    # Step 5
    assert client.post(f"{base}/practitioners/", {"action": "add", "name": "钱七", "title": "注册测绘师",
                                                  "certificate_number": "P1"}).status_code == 302
    client.post(f"{base}/practitioners/", {"action": "next"})
    agency.refresh_from_db()
    assert agency.draft_step == 6 and agency.status == AgencyStatus.DRAFT
    # Step 6: the confirmation box is required.
    assert client.post(f"{base}/submit/", {}).status_code == 400
    response = client.post(f"{base}/submit/", {"confirm": "on"})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.SUBMITTED
    # No more edits once submitted: the steps send the agency back to its desk.
    assert client.get(f"{base}/items/")["Location"] == f"/agencies/{agency.pk}/desk/"
    assert client.get(f"/agencies/{agency.pk}/desk/").status_code == 200


def test_the_organization_step_keeps_the_code_and_reports_errors(client):
    agency = make_agency(status="draft")
    client.force_login(agency_admin(agency))
    response = client.post(f"/agencies/register/{agency.pk}/organization/", {
        "name": "", "uscc": "不改", "agency_type": "company", "region": "440104", "address": "x",
        "legal_representative": "x", "contact_name": "x", "contact_phone": "1"})
    assert response.status_code == 400
    response = client.post(f"/agencies/register/{agency.pk}/organization/", {
        "name": "改名有限公司", "uscc": "不改", "agency_type": "partnership", "region": "440106", "address": "新址",
        "legal_representative": "新法人", "contact_name": "x", "contact_phone": "1"})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.organization.name == "改名有限公司" and agency.organization.region_id == "440106"
    assert agency.agency_type == "partnership"
    assert agency.organization.uscc != "不改"


def test_a_duplicate_uscc_is_refused_on_the_page(client):
    existing = make_agency(status="active")
    client.force_login(make_user())
    response = client.post("/agencies/register/", {
        "name": "冒名有限公司", "uscc": existing.organization.uscc, "agency_type": "company", "region": "440104",
        "address": "x", "legal_representative": "x", "contact_name": "x", "contact_phone": "1"})
    assert response.status_code == 400
    assert Agency.objects.filter(organization__uscc=existing.organization.uscc).count() == 1


def test_registration_needs_a_login(client):
    response = client.get("/agencies/register/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_regulator_review_queue_shows_documents_and_decides(client):
    agency = make_agency(status="submitted")
    client.force_login(make_regulator())
    queue = client.get("/agencies/review/").content.decode()
    assert agency.name in queue
    detail = client.get(f"/agencies/review/{agency.pk}/").content.decode()
    doc = agency.licence_files.get()
    assert f"/agencies/files/licence/{doc.pk}/" in detail
    assert_every_field_labelled(detail)
    # Return without a comment: refused with the reason.
    response = client.post(f"/agencies/review/{agency.pk}/", {"action": "review", "decision": "return", "comment": ""})
    assert response.status_code == 400
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.SUBMITTED
    client.post(f"/agencies/review/{agency.pk}/", {"action": "review", "decision": "return", "comment": "执照模糊"})
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.RETURNED and agency.review_comment == "执照模糊"


def test_regulator_approves_then_suspends_and_reinstates(client):
    agency = make_agency(status="submitted")
    client.force_login(make_regulator())
    client.post(f"/agencies/review/{agency.pk}/", {"action": "review", "decision": "approve", "comment": ""})
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.PUBLICITY
    Agency.objects.filter(pk=agency.pk).update(status=AgencyStatus.ACTIVE)
    assert client.post(f"/agencies/review/{agency.pk}/", {"action": "suspend", "reason": ""}).status_code == 400
    client.post(f"/agencies/review/{agency.pk}/", {"action": "suspend", "reason": "涉嫌违规"})
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.SUSPENDED and agency.status_reason == "涉嫌违规"
    client.post(f"/agencies/review/{agency.pk}/", {"action": "reinstate", "reason": "整改完成"})
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.ACTIVE
    listing = client.get("/agencies/review/all/?status=active").content.decode()
    assert agency.name in listing


def test_review_pages_are_for_regulators_only(client):
    agency = make_agency(status="submitted")
    client.force_login(agency_admin(agency))
    for url in ("/agencies/review/", "/agencies/review/all/", f"/agencies/review/{agency.pk}/", "/agencies/review/objections/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/agencies/review/{agency.pk}/", {"action": "review", "decision": "approve"}).status_code == 403
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.SUBMITTED


def test_the_admin_withdraws_on_the_desk(client):
    agency = make_agency(status="active")
    client.force_login(agency_admin(agency))
    desk = client.get(f"/agencies/{agency.pk}/desk/").content.decode()
    assert f"/agencies/{agency.pk}/withdraw/" in desk
    assert client.post(f"/agencies/{agency.pk}/withdraw/", {"reason": "停业"}).status_code == 400  # not confirmed
    client.post(f"/agencies/{agency.pk}/withdraw/", {"reason": "停业", "confirm": "on"})
    agency.refresh_from_db()
    assert agency.status == AgencyStatus.WITHDRAWN


def test_the_member_dashboard_shows_the_agency_desk(client):
    agency = make_agency(status="returned")
    client.force_login(agency_admin(agency))
    page = client.get("/accounts/dashboard/").content.decode()
    assert f"/agencies/{agency.pk}/desk/" in page and agency.review_comment in page
    assert re.search(r'href="/agencies/register/"', page)


def test_the_regulator_dashboard_counts_the_review_queue(client):
    make_agency(status="submitted")
    make_agency(status="submitted")
    client.force_login(make_regulator())
    page = client.get("/accounts/dashboard/").content.decode()
    assert "/agencies/review/" in page and "2" in page
