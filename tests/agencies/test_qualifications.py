"""Qualification certificates expire by their dates: a warning once, 30 days before, and an
expired certificate no longer counts."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from agencies import eligibility, services
from agencies.models import Qualification
from market.core.deadlines import run_due
from market.catalogue.models import QualificationType
from tests.factories import agency_admin, make_agency

pytestmark = pytest.mark.django_db


def qtype(code="QT-CH-A"):
    return QualificationType.objects.get(code=code)


def test_warning_mail_is_sent_once_within_thirty_days_of_expiry():
    today = timezone.localdate()
    soon = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"], valid_to=today + dt.timedelta(days=20))
    make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"], valid_to=today + dt.timedelta(days=45))
    mail.outbox.clear()
    assert run_due(now=timezone.now())["agencies.qualification_expiry_warning"] == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert agency_admin(soon).email in message.to
    assert (today + dt.timedelta(days=20)).isoformat() in message.subject
    assert Qualification.objects.get(agency=soon).expiry_warned_at is not None
    assert services.qualification_expiry_warn(now=timezone.now()) == 0
    assert len(mail.outbox) == 1


def test_the_warning_window_follows_the_setting(settings):
    settings.MARKET = {**settings.MARKET, "QUALIFICATION_WARNING_DAYS": 60}
    make_agency(qualification_types=["QT-CH-A"], valid_to=timezone.localdate() + dt.timedelta(days=45))
    mail.outbox.clear()
    assert services.qualification_expiry_warn(now=timezone.now()) == 1


def test_withdrawn_registrations_are_not_warned():
    make_agency(status="withdrawn", qualification_types=["QT-CH-A"],
                valid_to=timezone.localdate() + dt.timedelta(days=5))
    mail.outbox.clear()
    assert services.qualification_expiry_warn(now=timezone.now()) == 0
    assert not mail.outbox


def test_an_expired_certificate_counts_as_unqualified():
    today = timezone.localdate()
    agency = make_agency(service_items=["GD-ZJ-CH-001"], qualification_types=["QT-CH-A"], valid_to=today - dt.timedelta(days=1))
    refusal = eligibility.qualification_refusal(agency=agency, required_type_ids=[qtype().pk], on=today)
    assert refusal is not None and refusal.code == "qualification_expired"


def test_a_certificate_counts_through_its_last_day_and_not_after():
    today = timezone.localdate()
    agency = make_agency(qualification_types=["QT-CH-A"], valid_to=today)
    assert eligibility.qualification_refusal(agency=agency, required_type_ids=[qtype().pk], on=today) is None
    tomorrow = today + dt.timedelta(days=1)
    assert eligibility.qualification_refusal(agency=agency, required_type_ids=[qtype().pk], on=tomorrow).code == \
        "qualification_expired"


def test_a_renewed_certificate_restores_the_qualification():
    today = timezone.localdate()
    agency = make_agency(qualification_types=["QT-CH-A"], valid_to=today - dt.timedelta(days=3))
    services.qualification_add(actor=agency_admin(agency), agency=agency, qualification_type=qtype(),
                               certificate_number="NEW-2026", issuer="自然资源部", valid_from=today,
                               valid_to=today + dt.timedelta(days=1000))
    agency = type(agency).objects.prefetch_related("qualifications__qualification_type").get(pk=agency.pk)
    assert eligibility.qualification_refusal(agency=agency, required_type_ids=[qtype().pk], on=today) is None


def test_adding_an_already_expired_certificate_is_refused():
    agency = make_agency(status="draft")
    today = timezone.localdate()
    with pytest.raises(ValidationError) as err:
        services.qualification_add(actor=agency_admin(agency), agency=agency, qualification_type=qtype(),
                                   certificate_number="OLD", issuer="x", valid_from=today - dt.timedelta(days=900),
                                   valid_to=today - dt.timedelta(days=1))
    assert "valid_to" in err.value.message_dict


def test_a_certificate_cannot_end_before_it_starts():
    agency = make_agency(status="draft")
    today = timezone.localdate()
    with pytest.raises(ValidationError) as err:
        services.qualification_add(actor=agency_admin(agency), agency=agency, qualification_type=qtype(),
                                   certificate_number="X", issuer="x", valid_from=today + dt.timedelta(days=10),
                                   valid_to=today + dt.timedelta(days=5))
    assert "valid_to" in err.value.message_dict


def test_the_agency_desk_and_dashboard_warn_of_expiring_certificates(client):
    today = timezone.localdate()
    agency = make_agency(qualification_types=["QT-CH-A"], valid_to=today + dt.timedelta(days=10))
    client.force_login(agency_admin(agency))
    number = Qualification.objects.get(agency=agency).certificate_number
    assert number in client.get(f"/agencies/{agency.pk}/desk/").content.decode()
    assert number in client.get("/accounts/dashboard/").content.decode()


def test_the_directory_qualification_filter_ignores_expired_certificates(client):
    today = timezone.localdate()
    valid = make_agency(qualification_types=["QT-CH-A"])
    expired = make_agency(qualification_types=["QT-CH-A"], valid_to=today - dt.timedelta(days=1))
    page = client.get("/agencies/?qualification=QT-CH-A").content.decode()
    assert valid.name in page and expired.name not in page
