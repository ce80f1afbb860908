"""One agency's staff cannot read or change another's draft, files or staff — through the pages,
the API and the admin. Staff invitations and roles."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from agencies import services
from agencies.models import AgencyInvitation, AgencyServiceItem, LicenceFile
from market.accounts import permissions as market_permissions
from market.accounts.models import Membership, User
from tests.factories import agency_admin, make_agency, make_regulator, make_user, pdf_upload
from tests.request_factories import agency_member_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_agencies():
    mine = make_agency(status="draft")
    theirs = make_agency(status="draft", service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"])
    return mine, theirs


# --- Pages -----------------------------------------------------------------------------------------


def test_pages_refuse_another_agencys_draft(client, two_agencies):
    mine, theirs = two_agencies
    client.force_login(agency_admin(mine))
    for url in [f"/agencies/{theirs.pk}/desk/", f"/agencies/register/{theirs.pk}/organization/",
                f"/agencies/register/{theirs.pk}/licences/", f"/agencies/register/{theirs.pk}/submit/",
                f"/agencies/{theirs.pk}/staff/", f"/agencies/{theirs.pk}/withdraw/",
                f"/agencies/review/{theirs.pk}/"]:
        assert client.get(url).status_code == 403, url
    assert client.get(f"/agencies/{theirs.pk}/").status_code == 404  # not public while a draft


def test_pages_refuse_changes_to_another_agencys_draft(client, two_agencies):
    mine, theirs = two_agencies
    client.force_login(agency_admin(mine))
    name = theirs.organization.name
    response = client.post(f"/agencies/register/{theirs.pk}/organization/", {
        "name": "被篡改", "agency_type": "company", "region": "440104", "address": "x", "legal_representative": "x",
        "contact_name": "x", "contact_phone": "1"})
    assert response.status_code == 403
    offer = theirs.offered_items.get()
    assert client.post(f"/agencies/register/{theirs.pk}/items/", {"action": "remove", "id": offer.pk}).status_code == 403
    doc = theirs.licence_files.get()
    assert client.post(f"/agencies/register/{theirs.pk}/licences/", {"action": "remove", "id": doc.pk}).status_code == 403
    # nor by pointing its own page at the other agency's rows
    assert client.post(f"/agencies/register/{mine.pk}/licences/", {"action": "remove", "id": doc.pk}).status_code == 404
    assert client.post(f"/agencies/{theirs.pk}/withdraw/", {"confirm": "on"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.organization.name == name and theirs.status == "draft"
    assert AgencyServiceItem.objects.filter(pk=offer.pk).exists() and LicenceFile.objects.filter(pk=doc.pk).exists()


def test_pages_refuse_another_agencys_files(client, two_agencies):
    mine, theirs = two_agencies
    client.force_login(agency_admin(mine))
    doc = theirs.licence_files.get()
    assert client.get(f"/agencies/files/licence/{doc.pk}/").status_code == 403
    client.force_login(agency_admin(theirs))
    assert client.get(f"/agencies/files/licence/{doc.pk}/").status_code == 200


def test_pages_refuse_another_agencys_staff(client, two_agencies):
    mine, theirs = two_agencies
    intruder = agency_admin(mine)
    client.force_login(intruder)
    assert client.get(f"/agencies/{theirs.pk}/staff/").status_code == 403
    response = client.post(f"/agencies/{theirs.pk}/staff/", {"action": "invite", "email": "spy@example.com", "role": "admin"})
    assert response.status_code == 403
    victim = agency_admin(theirs)
    assert client.post(f"/agencies/{theirs.pk}/staff/", {"action": "remove", "user": victim.pk}).status_code == 403
    assert not AgencyInvitation.objects.exists()
    assert Membership.objects.filter(user=victim, organization=theirs.organization).exists()
    assert not market_permissions.can_act_for(intruder, theirs.organization)


def test_staff_edit_the_draft_but_only_admins_manage_staff(client):
    agency = make_agency(status="draft")
    staff = make_user()
    agency_member_add(agency, staff, actor=agency_admin(agency))
    client.force_login(staff)
    assert client.get(f"/agencies/register/{agency.pk}/items/").status_code == 200
    assert client.get(f"/agencies/{agency.pk}/staff/").status_code == 403
    assert client.get(f"/agencies/{agency.pk}/withdraw/").status_code == 403


# --- API -------------------------------------------------------------------------------------------


def test_api_hides_another_agencys_draft(api, two_agencies):
    mine, theirs = two_agencies
    api.force_authenticate(agency_admin(mine))
    assert api.get(f"/api/v1/agencies/{theirs.pk}/").status_code == 404
    assert api.patch(f"/api/v1/agencies/{theirs.pk}/", {"name": "被篡改"}, format="json").status_code == 404
    assert api.post(f"/api/v1/agencies/{theirs.pk}/submit/").status_code == 404
    assert api.get(f"/api/v1/agencies/{theirs.pk}/qualifications/").status_code == 404
    assert api.get(f"/api/v1/agencies/{theirs.pk}/licence-files/").status_code == 404
    ids = [a["id"] for a in api.get("/api/v1/agencies/?status=draft").json()["results"]]
    assert mine.pk in ids and theirs.pk not in ids
    theirs.refresh_from_db()
    assert theirs.organization.name != "被篡改"


def test_api_refuses_changes_and_files_of_another_active_agency(api):
    mine, theirs = make_agency(), make_agency(qualification_types=["QT-CH-A"])
    api.force_authenticate(agency_admin(mine))
    public = api.get(f"/api/v1/agencies/{theirs.pk}/").json()
    assert "licence_files" not in public and "review_comment" not in public
    assert all("file_url" not in q for q in public["qualifications"])
    response = api.patch(f"/api/v1/agencies/{theirs.pk}/", {"introduction": "改"}, format="json")
    assert response.status_code == 403 and response.json()["message"]
    assert api.get(f"/api/v1/agencies/{theirs.pk}/licence-files/").status_code == 403
    doc = theirs.licence_files.get()
    assert api.get(f"/api/v1/agencies/{theirs.pk}/licence-files/{doc.pk}/").status_code == 403
    response = api.post(f"/api/v1/agencies/{theirs.pk}/qualifications/", {
        "qualification_type": "QT-CH-B", "certificate_number": "X", "issuer": "x", "valid_from": "2026-01-01",
        "valid_to": "2030-01-01"}, format="json")
    assert response.status_code == 403
    assert theirs.qualifications.count() == 1


def test_api_gives_the_agency_its_own_private_view(api):
    agency = make_agency(status="returned", qualification_types=["QT-CH-A"])
    api.force_authenticate(agency_admin(agency))
    body = api.get(f"/api/v1/agencies/{agency.pk}/").json()
    assert body["review_comment"] and body["licence_files"] and body["practitioners"]
    doc_url = body["licence_files"][0]["url"]
    response = api.get(doc_url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")


# --- Admin -----------------------------------------------------------------------------------------


def test_django_admin_is_for_superusers_only(client, two_agencies):
    mine, theirs = two_agencies
    for user in (agency_admin(mine), make_regulator()):
        client.force_login(user)
        for url in ["/django-admin/", f"/django-admin/agencies/agency/{theirs.pk}/change/",
                    f"/django-admin/agencies/agency/{mine.pk}/change/", "/django-admin/agencies/licencefile/"]:
            response = client.get(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url
    superuser = User.objects.create_superuser("root", "root@example.com", "Root-pass-2026!")
    client.force_login(superuser)
    assert client.get(f"/django-admin/agencies/agency/{theirs.pk}/change/").status_code == 200


def test_wagtail_admin_needs_access_admin(client, two_agencies):
    mine, _theirs = two_agencies
    client.force_login(agency_admin(mine))
    for url in ["/admin/", "/admin/snippets/", "/admin/users/"]:
        response = client.get(url)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"] or "/login/" in response["Location"]
    client.force_login(make_regulator())
    assert client.get("/admin/").status_code == 200


# --- Invitations -----------------------------------------------------------------------------------


def _token_from_mail() -> str:
    body = mail.outbox[-1].body
    return re.search(r"/agencies/invitations/([^/\s]+)/", body).group(1)


def test_admin_invites_staff_by_email_and_the_invitee_accepts(client):
    agency = make_agency(status="draft")
    invitee = make_user(email="new.staff@example.com")
    mail.outbox.clear()
    client.force_login(agency_admin(agency))
    response = client.post(f"/agencies/{agency.pk}/staff/", {"action": "invite", "email": "New.Staff@example.com",
                                                             "role": "staff"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["new.staff@example.com"]
    token = _token_from_mail()
    client.force_login(invitee)
    assert client.get(f"/agencies/invitations/{token}/").status_code == 200
    response = client.post(f"/agencies/invitations/{token}/")
    assert response.status_code == 302
    invitee = User.objects.get(pk=invitee.pk)
    assert Membership.objects.get(user=invitee, organization=agency.organization).role == "staff"
    assert market_permissions.can_act_for(invitee, agency.organization)
    assert not market_permissions.can_manage(invitee, agency.organization)
    assert client.post(f"/agencies/invitations/{token}/").status_code == 400  # used once


def test_an_invitation_is_for_the_address_it_was_sent_to(client):
    agency = make_agency(status="draft")
    mail.outbox.clear()
    services.invitation_create(actor=agency_admin(agency), agency=agency, email="right@example.com")
    token = _token_from_mail()
    client.force_login(make_user(email="wrong@example.com"))
    response = client.post(f"/agencies/invitations/{token}/")
    assert response.status_code == 400
    assert not Membership.objects.filter(organization=agency.organization, role="staff").exists()


def test_a_forged_or_revoked_invitation_is_refused():
    agency = make_agency(status="draft")
    invitation, token = services.invitation_create(actor=agency_admin(agency), agency=agency, email="x@example.com")
    user = make_user(email="x@example.com")
    with pytest.raises(ValidationError):
        services.invitation_accept(user=user, token=token[:-2] + "zz")
    services.invitation_revoke(actor=agency_admin(agency), invitation=invitation)
    with pytest.raises(ValidationError):
        services.invitation_accept(user=user, token=token)
    assert not Membership.objects.filter(user=user).exists()


def test_staff_cannot_invite():
    agency = make_agency(status="draft")
    staff = make_user()
    agency_member_add(agency, staff, actor=agency_admin(agency))
    with pytest.raises(PermissionDenied):
        services.invitation_create(actor=staff, agency=agency, email="friend@example.com", role="admin")


def test_the_last_admin_cannot_be_demoted(client):
    agency = make_agency(status="draft")
    admin = agency_admin(agency)
    with pytest.raises(ValidationError):
        services.staff_role_set(actor=admin, agency=agency, user=admin, role=Membership.Role.STAFF)
    client.force_login(admin)
    client.post(f"/agencies/{agency.pk}/staff/", {"action": "role", "user": admin.pk, "role": "staff"})
    assert Membership.objects.get(user=admin, organization=agency.organization).role == "admin"


def test_admin_changes_a_role_and_removes_a_member(client):
    agency = make_agency(status="draft")
    admin, staff = agency_admin(agency), make_user()
    agency_member_add(agency, staff, actor=admin)
    client.force_login(admin)
    page = client.get(f"/agencies/{agency.pk}/staff/")
    assert staff.username in page.content.decode()
    client.post(f"/agencies/{agency.pk}/staff/", {"action": "role", "user": staff.pk, "role": "admin"})
    assert Membership.objects.get(user=staff, organization=agency.organization).role == "admin"
    client.post(f"/agencies/{agency.pk}/staff/", {"action": "remove", "user": staff.pk})
    assert not Membership.objects.filter(user=staff, organization=agency.organization).exists()
    staff = User.objects.get(pk=staff.pk)
    assert not market_permissions.can_act_for(staff, agency.organization)


def test_a_removed_member_loses_access_to_the_draft(client):
    agency = make_agency(status="draft")
    admin, staff = agency_admin(agency), make_user()
    agency_member_add(agency, staff, actor=admin)
    services.staff_remove(actor=admin, agency=agency, user=staff)
    client.force_login(staff)
    assert client.get(f"/agencies/{agency.pk}/desk/").status_code == 403
    with pytest.raises(PermissionDenied):
        services.licence_file_add(actor=User.objects.get(pk=staff.pk), agency=agency, upload=pdf_upload())


def test_the_wagtail_admin_menu_leads_regulators_to_the_review_pages(client):
    client.force_login(make_regulator())
    page = client.get("/admin/").content.decode()
    assert "/agencies/review/" in page and "/agencies/review/calendar/" in page
