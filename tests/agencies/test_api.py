"""The agencies API: register, change, submit, review, list and qualification sub-resources."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from agencies.models import Agency, AgencyStatus
from tests.factories import PDF_BYTES, agency_admin, make_agency, make_regulator, make_user, next_uscc, pdf_upload

pytestmark = pytest.mark.django_db


def register_payload(**overrides):
    return {"name": "深圳南山环境科技有限公司", "uscc": next_uscc("440305"), "region": "440305", "agency_type": "company",
            "address": "南山区科技园1号", "legal_representative": "陈一", "contact_name": "林二",
            "contact_phone": "13700000000", "contact_email": "env@example.com", **overrides}


def test_register_needs_authentication(api):
    response = api.post("/api/v1/agencies/", register_payload(), format="json")
    assert response.status_code == 401
    assert response.json()["message"]
    assert not Agency.objects.exists()


def test_the_full_registration_through_the_api(api):
    user = make_user()
    api.force_authenticate(user)
    response = api.post("/api/v1/agencies/", register_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    pk = body["id"]
    assert body["status"] == "draft" and body["region"] == "440305"
    # Submitting an incomplete draft: 400 with the reason.
    response = api.post(f"/api/v1/agencies/{pk}/submit/")
    assert response.status_code == 400 and "incomplete" in response.json()["message"]
    response = api.patch(f"/api/v1/agencies/{pk}/", {
        "introduction": "环评专业机构",
        "service_items": [{"code": "GD-ZJ-HP-003", "fee_quote": "按标准下浮5%", "fee_quote_fen": 500000, "commitment": "15日"}],
        "practitioners": [{"name": "周三", "title": "注册环评工程师", "certificate_number": "HP001"}]}, format="json")
    assert response.status_code == 200, response.json()
    assert [i["code"] for i in response.json()["service_items"]] == ["GD-ZJ-HP-003"]
    assert response.json()["practitioners"][0]["name"] == "周三"
    response = api.post(f"/api/v1/agencies/{pk}/licence-files/", {"kind": "business_licence", "file": pdf_upload()},
                        format="multipart")
    assert response.status_code == 201, response.json()
    response = api.post(f"/api/v1/agencies/{pk}/qualifications/", {
        "qualification_type": "QT-HP-ENG", "certificate_number": "HP-2026-1", "issuer": "生态环境部", "level": "",
        "valid_from": "2025-01-01", "valid_to": "2029-12-31",
        "file": SimpleUploadedFile("cert.pdf", PDF_BYTES)}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["has_file"] is True
    response = api.post(f"/api/v1/agencies/{pk}/submit/")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    # Only a regulator reviews.
    assert api.post(f"/api/v1/agencies/{pk}/review/", {"decision": "approve"}, format="json").status_code == 403
    api.force_authenticate(make_regulator())
    response = api.post(f"/api/v1/agencies/{pk}/review/", {"decision": "return", "comment": ""}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "comment"
    response = api.post(f"/api/v1/agencies/{pk}/review/", {"decision": "approve", "comment": "同意"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "publicity" and response.json()["publicity_ends_at"]


def test_a_duplicate_uscc_is_400_naming_the_field(api):
    existing = make_agency()
    api.force_authenticate(make_user())
    response = api.post("/api/v1/agencies/", register_payload(uscc=existing.organization.uscc), format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "uscc"


def test_an_unknown_region_is_400_naming_the_field(api):
    api.force_authenticate(make_user())
    response = api.post("/api/v1/agencies/", register_payload(region="999999"), format="json")
    assert response.status_code == 400 and response.json()["field"] == "region"
    assert not Agency.objects.exists()


def test_a_bad_patch_changes_nothing(api):
    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    before_name = agency.organization.name
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", {
        "name": "新名字有限公司", "service_items": [{"code": "NO-SUCH-ITEM", "fee_quote": "x"}]}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "service_items"
    agency.refresh_from_db()
    assert agency.organization.name == before_name
    assert agency.offered_items.count() == 1


def test_a_fee_above_the_cap_is_400_and_nothing_is_written(api):
    from market.catalogue.models import ServiceItem

    item = ServiceItem.objects.filter(fee_cap_fen__isnull=False).exclude(pricing_mode="market").first()
    agency = make_agency(status="draft")
    api.force_authenticate(agency_admin(agency))
    response = api.patch(f"/api/v1/agencies/{agency.pk}/", {
        "introduction": "改了", "service_items": [{"code": item.code, "fee_quote": "x", "fee_quote_fen": item.fee_cap_fen + 1}]},
        format="json")
    assert response.status_code == 400
    assert response.json()["field"] == f"service_items.{item.code}.fee_quote_fen"
    agency.refresh_from_db()
    assert agency.introduction != "改了"
    assert not agency.offered_items.filter(service_item=item).exists()


def test_public_list_shows_active_agencies_only(api):
    active = make_agency()
    draft = make_agency(status="draft")
    ids = [a["id"] for a in api.get("/api/v1/agencies/").json()["results"]]
    assert active.pk in ids and draft.pk not in ids
    assert api.get(f"/api/v1/agencies/{draft.pk}/").status_code == 404
    body = api.get(f"/api/v1/agencies/{active.pk}/").json()
    assert body["name"] == active.name and "licence_files" not in body


def test_members_and_regulators_see_non_active_registrations(api):
    draft = make_agency(status="draft")
    api.force_authenticate(agency_admin(draft))
    assert api.get(f"/api/v1/agencies/{draft.pk}/").status_code == 200
    api.force_authenticate(make_regulator())
    body = api.get(f"/api/v1/agencies/{draft.pk}/").json()
    assert body["status"] == "draft" and "licence_files" in body
    ids = [a["id"] for a in api.get("/api/v1/agencies/?status=draft").json()["results"]]
    assert draft.pk in ids


def test_list_filters_and_sorts(api):
    surveyor = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"], region_code="440305")
    other = make_agency(region_code="440104")
    ids = [a["id"] for a in api.get("/api/v1/agencies/?service_item=GD-ZJ-CH-001").json()["results"]]
    assert ids == [surveyor.pk]
    ids = [a["id"] for a in api.get("/api/v1/agencies/?region=440100").json()["results"]]
    assert ids == [other.pk]
    ids = [a["id"] for a in api.get("/api/v1/agencies/?qualification=QT-CH-A").json()["results"]]
    assert ids == [surveyor.pk]
    Agency.objects.filter(pk=other.pk).update(credit_grade="B")
    ids = [a["id"] for a in api.get("/api/v1/agencies/?sort=grade").json()["results"]]
    assert ids.index(surveyor.pk) < ids.index(other.pk)


def test_qualification_sub_resource(api):
    agency = make_agency(qualification_types=["QT-CH-A"])
    public = api.get(f"/api/v1/agencies/{agency.pk}/qualifications/").json()
    assert public[0]["qualification_type"] == "QT-CH-A" and public[0]["is_valid"] is True
    assert "file_url" not in public[0]
    api.force_authenticate(agency_admin(agency))
    response = api.post(f"/api/v1/agencies/{agency.pk}/qualifications/", {
        "qualification_type": "QT-CH-B", "certificate_number": "乙-1", "issuer": "省厅", "valid_from": "2026-01-01",
        "valid_to": "2031-01-01", "file": SimpleUploadedFile("c.pdf", PDF_BYTES)}, format="multipart")
    assert response.status_code == 201, response.json()
    file_url = response.json()["file_url"]
    assert api.get(file_url).status_code == 200
    response = api.post(f"/api/v1/agencies/{agency.pk}/qualifications/", {
        "qualification_type": "NOPE", "certificate_number": "1", "issuer": "x", "valid_from": "2026-01-01",
        "valid_to": "2031-01-01"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "qualification_type"
    api.force_authenticate(make_user())
    assert api.get(file_url).status_code == 403


def test_withdraw_through_the_api_needs_the_admin(api):
    agency = make_agency(status="submitted")
    api.force_authenticate(make_regulator())
    assert api.post(f"/api/v1/agencies/{agency.pk}/withdraw/", {}, format="json").status_code == 403
    api.force_authenticate(agency_admin(agency))
    response = api.post(f"/api/v1/agencies/{agency.pk}/withdraw/", {"comment": "不做了"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == AgencyStatus.WITHDRAWN


def test_an_illegal_move_through_the_api_is_400_with_a_message(api):
    agency = make_agency(status="active")
    api.force_authenticate(agency_admin(agency))
    response = api.post(f"/api/v1/agencies/{agency.pk}/submit/")
    assert response.status_code == 400 and "cannot become" in response.json()["message"]


def test_the_schema_documents_the_agency_endpoints(api):
    schema = api.get("/api/schema/").content.decode()
    for path in ("/api/v1/agencies/:", "/api/v1/agencies/{id}/:", "/api/v1/agencies/{id}/submit/:",
                 "/api/v1/agencies/{id}/review/:", "/api/v1/agencies/{id}/qualifications/:"):
        assert path in schema, path
