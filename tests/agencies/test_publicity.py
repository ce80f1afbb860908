"""Publicity (入驻公示): working days on the official calendar, objections that hold activation,
activation by server time through the deadline job."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from agencies import services
from agencies.models import Agency, AgencyStatus, PublicityObjection
from market.core.deadlines import run_due
from market.calendar import services as calendar_services
from market.calendar.models import CalendarDay, HolidayYear
from tests.factories import agency_admin, make_agency, make_regulator

pytestmark = pytest.mark.django_db
CN = ZoneInfo("Asia/Shanghai")
S = AgencyStatus


def approve_at(when: dt.datetime) -> Agency:
    agency = make_agency(status="submitted")
    services.agency_transition(agency=agency, to=S.PUBLICITY, actor=make_regulator(), now=when)
    agency.refresh_from_db()
    return agency


def test_publicity_across_national_day_counts_only_working_days(settings):
    settings.MARKET = {**settings.MARKET, "AGENCY_PUBLICITY_WORKING_DAYS": 5, "AGENCY_PUBLICITY_SECONDS": 0}
    # Approved Wed 30 Sep 2026. 1–7 Oct are holidays; Sat 10 Oct is an adjusted workday.
    # Working days: 8 (Thu), 9 (Fri), 10 (Sat, adjusted), 12 (Mon), 13 (Tue) -> ends at midnight starting 14 Oct.
    agency = approve_at(dt.datetime(2026, 9, 30, 10, 0, tzinfo=CN))
    assert agency.publicity_ends_at == dt.datetime(2026, 10, 14, 0, 0, tzinfo=CN)


def test_a_year_without_entered_holidays_counts_weekends_only(settings):
    settings.MARKET = {**settings.MARKET, "AGENCY_PUBLICITY_WORKING_DAYS": 5, "AGENCY_PUBLICITY_SECONDS": 0}
    assert not CalendarDay.objects.filter(date__year=2031).exists()
    # Wed 1 Oct 2031 (National Day, but not entered): Thu 2, Fri 3, Mon 6, Tue 7, Wed 8 -> ends 9 Oct.
    agency = approve_at(dt.datetime(2031, 10, 1, 9, 0, tzinfo=CN))
    assert agency.publicity_ends_at == dt.datetime(2031, 10, 9, 0, 0, tzinfo=CN)


def test_a_holiday_entered_by_a_regulator_lengthens_later_periods(settings):
    settings.MARKET = {**settings.MARKET, "AGENCY_PUBLICITY_WORKING_DAYS": 5, "AGENCY_PUBLICITY_SECONDS": 0}
    regulator = make_regulator()
    calendar_services.calendar_day_set(actor=regulator, day=dt.date(2031, 10, 2), kind=CalendarDay.Kind.HOLIDAY, name="国庆节")
    agency = approve_at(dt.datetime(2031, 10, 1, 9, 0, tzinfo=CN))
    assert agency.publicity_ends_at == dt.datetime(2031, 10, 10, 0, 0, tzinfo=CN)


def test_seconds_override_shortens_publicity_for_demos(settings):
    settings.MARKET = {**settings.MARKET, "AGENCY_PUBLICITY_SECONDS": 30}
    start = timezone.now()
    agency = approve_at(start)
    assert agency.publicity_ends_at == start + dt.timedelta(seconds=30)


def test_job_activates_only_when_publicity_has_ended_by_server_time(settings):
    settings.MARKET = {**settings.MARKET, "AGENCY_PUBLICITY_WORKING_DAYS": 5, "AGENCY_PUBLICITY_SECONDS": 0}
    agency = approve_at(dt.datetime(2026, 9, 30, 10, 0, tzinfo=CN))
    assert services.agency_publicity_end_due(now=dt.datetime(2026, 10, 13, 23, 59, tzinfo=CN)) == 0
    agency.refresh_from_db()
    assert agency.status == S.PUBLICITY
    assert run_due(now=dt.datetime(2026, 10, 14, 0, 0, tzinfo=CN))["agencies.publicity_end"] == 1
    agency.refresh_from_db()
    assert agency.status == S.ACTIVE
    assert run_due(now=dt.datetime(2026, 10, 15, tzinfo=CN))["agencies.publicity_end"] == 0  # idempotent


def test_process_deadlines_command_activates_due_registrations():
    agency = make_agency(status="publicity")
    Agency.objects.filter(pk=agency.pk).update(publicity_ends_at=timezone.now() - dt.timedelta(minutes=1))
    call_command("process_deadlines", verbosity=0)
    agency.refresh_from_db()
    assert agency.status == S.ACTIVE


def test_an_open_objection_holds_activation_until_a_regulator_rules():
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="张先生", contact_phone="13500000000",
                                         reason="该机构办公地址虚假。")
    Agency.objects.filter(pk=agency.pk).update(publicity_ends_at=timezone.now() - dt.timedelta(minutes=1))
    assert services.agency_publicity_end_due(now=timezone.now()) == 0
    with pytest.raises(ValidationError) as err:
        services.agency_transition(agency=agency, to=S.ACTIVE, actor=None)
    assert "objection" in str(err.value)
    agency.refresh_from_db()
    assert agency.status == S.PUBLICITY
    # Dismissed after publicity ended: activation proceeds at once.
    services.objection_rule(actor=make_regulator(), objection=objection, upheld=False, ruling="经核实地址真实，异议不成立。")
    agency.refresh_from_db()
    assert agency.status == S.ACTIVE


def test_a_dismissed_objection_before_the_end_lets_the_job_activate_later():
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="李女士", reason="怀疑资质造假")
    services.objection_rule(actor=make_regulator(), objection=objection, upheld=False, ruling="资质经核验真实")
    agency.refresh_from_db()
    assert agency.status == S.PUBLICITY
    assert services.agency_publicity_end_due(now=agency.publicity_ends_at) == 1
    agency.refresh_from_db()
    assert agency.status == S.ACTIVE


def test_an_upheld_objection_returns_the_registration_with_the_ruling():
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="王先生", reason="执业人员挂证")
    services.objection_rule(actor=make_regulator(), objection=objection, upheld=True, ruling="挂证属实，请更正执业人员名单。")
    agency.refresh_from_db()
    assert agency.status == S.RETURNED
    assert agency.review_comment == "挂证属实，请更正执业人员名单。"
    objection.refresh_from_db()
    assert objection.status == PublicityObjection.Status.UPHELD


def test_an_upheld_objection_may_reject_the_registration():
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="王先生", reason="伪造营业执照")
    services.objection_rule(actor=make_regulator(), objection=objection, upheld=True, ruling="伪造属实", outcome="rejected")
    agency.refresh_from_db()
    assert agency.status == S.REJECTED


def test_only_regulators_rule_on_objections():
    from django.core.exceptions import PermissionDenied

    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="路人", reason="有问题")
    with pytest.raises(PermissionDenied):
        services.objection_rule(actor=agency_admin(agency), objection=objection, upheld=False, ruling="自己驳回")
    objection.refresh_from_db()
    assert objection.status == PublicityObjection.Status.OPEN


def test_a_ruling_needs_reasons_and_is_given_once():
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="路人", reason="有问题")
    regulator = make_regulator()
    with pytest.raises(ValidationError):
        services.objection_rule(actor=regulator, objection=objection, upheld=False, ruling=" ")
    services.objection_rule(actor=regulator, objection=objection, upheld=False, ruling="不成立")
    with pytest.raises(ValidationError):
        services.objection_rule(actor=regulator, objection=objection, upheld=True, ruling="改判")


def test_objections_are_refused_outside_publicity():
    active = make_agency(status="active")
    with pytest.raises(ValidationError):
        services.objection_lodge(agency=active, contact_name="路人", reason="晚了")
    ended = make_agency(status="publicity")
    Agency.objects.filter(pk=ended.pk).update(publicity_ends_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(ValidationError):
        services.objection_lodge(agency=ended, contact_name="路人", reason="晚了")
    assert not PublicityObjection.objects.exists()


def test_anyone_may_object_on_the_public_publicity_page(client):
    agency = make_agency(status="publicity")
    listing = client.get("/agencies/publicity/")
    assert listing.status_code == 200 and agency.name in listing.content.decode()
    page = client.get(f"/agencies/publicity/{agency.pk}/")
    assert page.status_code == 200
    response = client.post(f"/agencies/publicity/{agency.pk}/", {"contact_name": "匿名群众", "contact_phone": "",
                                                                 "reason": "该机构曾被处罚。"})
    assert response.status_code == 302
    objection = PublicityObjection.objects.get(agency=agency)
    assert objection.lodged_by is None and objection.status == PublicityObjection.Status.OPEN


def test_an_objection_without_reason_is_refused_with_a_message(client):
    agency = make_agency(status="publicity")
    response = client.post(f"/agencies/publicity/{agency.pk}/", {"contact_name": "匿名", "reason": ""})
    assert response.status_code == 400
    assert not PublicityObjection.objects.exists()


def test_regulator_rules_on_an_objection_through_the_pages(client):
    agency = make_agency(status="publicity")
    objection = services.objection_lodge(agency=agency, contact_name="路人", reason="材料虚假")
    client.force_login(make_regulator())
    assert agency.name in client.get("/agencies/review/objections/").content.decode()
    response = client.post(f"/agencies/review/objections/{objection.pk}/", {"decision": "returned", "ruling": "属实"})
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.status == S.RETURNED


def test_the_holiday_warning_names_the_missing_year(client):
    regulator = make_regulator()
    year = timezone.localdate().year + 1
    HolidayYear.objects.filter(year=year).delete()
    client.force_login(regulator)
    page = client.get("/accounts/dashboard/").content.decode()
    assert str(year) in page and "/agencies/review/calendar/" in page
    calendar_services.holiday_year_confirm(actor=regulator, year=year)
    HolidayYear.objects.get_or_create(year=year - 1)
    page = client.get("/accounts/dashboard/").content.decode()
    assert "have not been entered" not in page and "未录入" not in page


def test_regulators_keep_the_calendar_on_their_page(client):
    regulator = make_regulator()
    client.force_login(regulator)
    assert client.get("/agencies/review/calendar/?year=2031").status_code == 200
    response = client.post("/agencies/review/calendar/", {"action": "day", "day": "2031-10-02", "kind": "holiday",
                                                          "name": "国庆节"})
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=dt.date(2031, 10, 2)).kind == "holiday"
    bad = client.post("/agencies/review/calendar/", {"action": "day", "day": "2031-10-04", "kind": "holiday"})
    assert bad.status_code == 400  # a Saturday is already a day off
    assert client.post("/agencies/review/calendar/", {"action": "year", "year": "2031"}).status_code == 302
    assert HolidayYear.objects.filter(year=2031, source="manual").exists()
    assert client.post("/agencies/review/calendar/", {"action": "delete", "day": "2031-10-02"}).status_code == 302
    assert not CalendarDay.objects.filter(date=dt.date(2031, 10, 2)).exists()


def test_only_regulators_open_the_calendar_page(client):
    agency = make_agency(status="active")
    client.force_login(agency_admin(agency))
    assert client.get("/agencies/review/calendar/").status_code == 403
    assert client.post("/agencies/review/calendar/", {"action": "day", "day": "2031-10-02", "kind": "holiday"}).status_code == 403
    assert not CalendarDay.objects.filter(date=dt.date(2031, 10, 2)).exists()
