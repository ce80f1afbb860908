import pytest
from django.core import mail

from market.core.models import AuditEvent
from market.accounts.models import Organization, User
from tests.factories import make_regulator, make_user, next_uscc

pytestmark = pytest.mark.django_db


def test_signup_login_logout(client):
    response = client.post("/accounts/signup/", {"username": "lihua", "email": "lihua@example.com",
                                                 "password1": "Strong-pass-2026", "password2": "Strong-pass-2026"})
    assert response.status_code == 302
    assert User.objects.filter(username="lihua").exists()
    client.post("/accounts/logout/")
    assert client.get("/accounts/dashboard/").status_code == 302
    response = client.post("/accounts/login/", {"username": "lihua", "password": "Strong-pass-2026"})
    assert response.status_code == 302
    assert client.get("/accounts/dashboard/").status_code == 200


def test_signup_refuses_taken_username_with_message(client):
    make_user("taken")
    response = client.post("/accounts/signup/", {"username": "taken", "email": "new@example.com",
                                                 "password1": "Strong-pass-2026", "password2": "Strong-pass-2026"})
    assert response.status_code == 400
    assert "用户名已被使用" in response.content.decode()


def test_password_reset_sends_email(client):
    make_user("wang", email="wang@example.com")
    response = client.post("/accounts/password-reset/", {"email": "wang@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_owner_registration_and_verification_flow(client):
    user = make_user()
    client.force_login(user)
    code = next_uscc("440304", "91")
    response = client.post("/accounts/organizations/new/", {
        "name": "深圳市福田区某建设公司", "uscc": code, "region": "440304", "legal_representative": "王五",
        "contact_name": "王五", "contact_phone": "13900000000", "contact_email": "w@example.com"})
    assert response.status_code == 302
    org = Organization.objects.get(uscc=code)
    assert org.status == Organization.Status.PENDING
    reg = make_regulator()
    client.force_login(reg)
    assert org.name in client.get("/accounts/regulator/organizations/").content.decode()
    response = client.post(f"/accounts/regulator/organizations/{org.pk}/verify/", {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.status == Organization.Status.VERIFIED
    assert AuditEvent.objects.filter(action="organization.verify", object_id=str(org.pk)).exists()


def test_registration_with_wrong_check_digit_is_refused_and_nothing_written(client):
    client.force_login(make_user())
    good = next_uscc("440304", "91")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = Organization.objects.count()
    response = client.post("/accounts/organizations/new/", {
        "name": "某公司", "uscc": bad, "region": "440304", "legal_representative": "王五",
        "contact_name": "王五", "contact_phone": "13900000000"})
    assert response.status_code == 400
    assert "第18位" in response.content.decode()
    assert Organization.objects.count() == before


def test_duplicate_uscc_is_refused(client):
    client.force_login(make_user())
    code = next_uscc("440304", "91")
    data = {"name": "甲公司", "uscc": code, "region": "440304", "legal_representative": "王五",
            "contact_name": "王五", "contact_phone": "13900000000"}
    assert client.post("/accounts/organizations/new/", data).status_code == 302
    response = client.post("/accounts/organizations/new/", {**data, "name": "乙公司"})
    assert response.status_code == 400
    assert Organization.objects.filter(uscc=code).count() == 1
