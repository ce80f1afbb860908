import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bids import services as bid_services
from bids.models import SelectionRun
from credit import services
from credit.models import Breach, BreachRule, BreachStatus
from credit.standing import agency_refusal, uscc_refusal
from market.core.models import AuditEvent
from tests.factories import make_regulator, org_admin
from tests.request_factories import active_agency, agency_admin, freeze, published_request

pytestmark = pytest.mark.django_db


def rule(code):
    return BreachRule.objects.get(code=code)


@pytest.mark.parametrize("points,evaluation,score,grade", [
    (0, None, 100, "A"),
    (10, None, 90, "A"),
    (11, None, 89, "B"),
    (25, None, 75, "B"),
    (40, None, 60, "C"),
    (41, None, 59, "D"),
    (150, None, 0, "D"),
    (0, 5.0, 100, "A"),      # 0.7×100 + 0.3×100
    (0, 1.0, 70, "C"),       # 0.7×100 + 0.3×0
    (10, 3.0, 78, "B"),      # 0.7×90 + 0.3×50 = 63 + 15
])
def test_score_and_grade_arithmetic(points, evaluation, score, grade):
    assert services.score_for(breach_points=points, evaluation_average=evaluation) == score
    assert services.grade_for(score) == grade


def test_breach_deducts_points_and_bans_until_a_date():
    agency = active_agency()
    reg = make_regulator()
    breach = services.breach_record(actor=reg, agency=agency, rule=rule("FAKE_MATERIALS"), evidence="营业执照系伪造")
    agency.refresh_from_db()
    assert agency.credit_score == 70 and agency.credit_grade == "D"  # banned agencies are D
    assert breach.ban_until == breach.recorded_at + dt.timedelta(days=365)
    assert AuditEvent.objects.filter(action="breach.record", object_id=str(breach.pk)).exists()
    refusal = agency_refusal(agency=agency)
    assert refusal.code == "banned" and "黑名单" in refusal.message


def test_ban_ends_automatically_at_its_date():
    agency = active_agency()
    breach = services.breach_record(actor=make_regulator(), agency=agency, rule=rule("OVERCHARGE"), evidence="超标准收费")
    assert agency_refusal(agency=agency, at=breach.ban_until - dt.timedelta(seconds=1)) is not None
    assert agency_refusal(agency=agency, at=breach.ban_until) is None


def test_only_regulators_record_breaches():
    agency = active_agency()
    with pytest.raises(PermissionDenied):
        services.breach_record(actor=agency_admin(active_agency()), agency=agency, rule=rule("COLLUSION"), evidence="x")
    with pytest.raises(ValidationError):
        services.breach_record(actor=make_regulator(), agency=agency, rule=rule("COLLUSION"), evidence=" ")
    assert not Breach.objects.filter(agency=agency).exists()


def test_system_breach_is_recorded_once_per_related_object():
    agency = active_agency()
    request = published_request()
    first = services.breach_record_system(agency=agency, rule_code="REFUSE_SIGN", evidence="逾期未确认合同", related=request)
    again = services.breach_record_system(agency=agency, rule_code="REFUSE_SIGN", evidence="逾期未确认合同", related=request)
    assert first.pk == again.pk and Breach.objects.filter(agency=agency).count() == 1


def test_new_registration_under_a_banned_uscc_is_refused():
    agency = active_agency()
    services.breach_record(actor=make_regulator(), agency=agency, rule=rule("BRIBERY"), evidence="行贿")
    assert uscc_refusal(uscc=agency.organization.uscc).code == "banned"
    assert uscc_refusal(uscc=active_agency().organization.uscc) is None


def test_banned_agency_is_refused_a_bid_and_accepted_when_the_ban_ends():
    request = published_request()
    agency = active_agency(item=request.service_item)
    breach = services.breach_record(actor=make_regulator(), agency=agency, rule=rule("EXPIRED_QUAL"), evidence="使用过期资质")
    with pytest.raises(bid_services.BidRefused) as exc:
        bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=1000)
    assert exc.value.refusal.code == "banned"
    # Shorten the ban to end just before the deadline: from that moment the agency may bid again.
    ends = request.bid_deadline - dt.timedelta(minutes=5)
    Breach.objects.filter(pk=breach.pk).update(ban_until=ends)
    with freeze(ends):
        assert bid_services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=1000).pk


def test_breach_after_bids_closed_excludes_the_bid_at_selection():
    request = published_request(selection_method="lowest")
    agencies = [active_agency(item=request.service_item) for _ in range(4)]
    bids = [bid_services.bid_submit(actor=agency_admin(a), request=request, agency=a, price_fen=p)
            for a, p in zip(agencies, [1_000_000, 2_000_000, 3_000_000, 4_000_000])]
    closed = request.bid_deadline + dt.timedelta(minutes=1)
    with freeze(closed):
        services.breach_record(actor=make_regulator(), agency=agencies[0], rule=rule("COLLUSION"), evidence="串通报价")
        run = bid_services.selection_run(actor=org_admin(request.owner), request=request)
    assert run.outcome == SelectionRun.Outcome.SELECTED and run.winner_id == bids[1].pk
    excluded = run.published["excluded"]
    assert excluded[0]["bid_id"] == bids[0].pk and excluded[0]["reason_code"] == "banned"
    assert "串通投标" in excluded[0]["reason"]


def test_appeal_granted_lifts_the_ban_and_restores_the_score():
    agency = active_agency()
    reg = make_regulator()
    breach = services.breach_record(actor=reg, agency=agency, rule=rule("OVERCHARGE"), evidence="多收费用")
    with pytest.raises(PermissionDenied):
        services.appeal_lodge(actor=agency_admin(active_agency()), breach=breach, reason="x")
    appeal = services.appeal_lodge(actor=agency_admin(agency), breach=breach, reason="收费符合合同约定，附合同")
    with pytest.raises(ValidationError):
        services.appeal_lodge(actor=agency_admin(agency), breach=breach, reason="再次申诉")
    services.appeal_decide(actor=reg, appeal=appeal, grant=True, ruling="经复核，收费符合约定，撤销该失信记录")
    breach.refresh_from_db()
    agency.refresh_from_db()
    assert breach.status == BreachStatus.REVOKED
    assert agency.credit_score == 100 and agency.credit_grade == "A"
    assert agency_refusal(agency=agency) is None


def test_appeal_refused_keeps_the_breach_and_late_appeal_is_refused():
    agency = active_agency()
    reg = make_regulator()
    breach = services.breach_record(actor=reg, agency=agency, rule=rule("NO_RESPONSE"), evidence="报名后未报价")
    appeal = services.appeal_lodge(actor=agency_admin(agency), breach=breach, reason="系统故障")
    services.appeal_decide(actor=reg, appeal=appeal, grant=False, ruling="理由不成立")
    breach.refresh_from_db()
    assert breach.status == BreachStatus.ACTIVE
    with freeze(breach.appeal_deadline):
        with pytest.raises(ValidationError) as exc:
            services.appeal_lodge(actor=agency_admin(agency), breach=breach, reason="迟到的申诉")
    assert exc.value.code == "appeal_late"


def test_credit_repair_after_the_period():
    agency = active_agency()
    reg = make_regulator()
    breach = services.breach_record(actor=reg, agency=agency, rule=rule("OVERRUN"), evidence="超期15个工作日")
    with pytest.raises(ValidationError) as exc:
        services.repair_request(actor=agency_admin(agency), breach=breach, evidence="已整改")
    assert exc.value.code == "repair_too_early"
    with freeze(breach.recorded_at + dt.timedelta(days=91)):
        repair = services.repair_request(actor=agency_admin(agency), breach=breach, evidence="已完成整改并加强项目管理")
        services.repair_decide(actor=reg, repair=repair, approve=True, ruling="整改到位，准予修复")
    breach.refresh_from_db()
    agency.refresh_from_db()
    assert breach.status == BreachStatus.REPAIRED and agency.credit_score == 100


def test_public_credit_pages_and_api(client):
    agency = active_agency(name="黑名单测试中介有限公司")
    reg = make_regulator()
    client.force_login(reg)
    response = client.post("/credit/breaches/new/", {"agency": agency.organization.uscc, "rule": rule("COLLUSION").pk,
                                                     "evidence": "与其他机构轮流中选"})
    assert response.status_code == 302
    client.logout()
    html = client.get("/credit/").content.decode()
    assert "黑名单测试中介有限公司" in html
    assert "黑名单测试中介有限公司" in client.get("/credit/blacklist.csv").content.decode("utf-8-sig")
    body = client.get(f"/api/v1/credit/agencies/{agency.organization.uscc}/").json()
    assert body["good_standing"] is False and body["grade"] == "D" and body["banned_until"]
    assert body["active_breaches"][0]["rule"] == "COLLUSION"
    assert client.get("/api/v1/credit/blacklist/").json()["count"] == 1
    assert client.get("/api/v1/credit/agencies/914403001922038216/").status_code == 404


def test_api_breach_recording_is_for_regulators_only():
    from rest_framework.test import APIClient

    agency = active_agency()
    api = APIClient()
    api.force_authenticate(agency_admin(active_agency()))
    payload = {"agency": agency.pk, "rule": "BRIBERY", "evidence": "行贿"}
    assert api.post("/api/v1/credit/breaches/", payload, format="json").status_code == 403
    api.force_authenticate(make_regulator())
    response = api.post("/api/v1/credit/breaches/", payload, format="json")
    assert response.status_code == 201 and response.json()["ban_until"]


def test_regulators_edit_breach_rules_in_the_admin_and_each_edit_is_audited(client):
    reg = make_regulator()
    client.force_login(reg)
    rule_obj = rule("NO_RESPONSE")
    url = f"/admin/snippets/credit/breachrule/edit/{rule_obj.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    data = {"code": rule_obj.code, "name": rule_obj.name, "description": rule_obj.description,
            "severity": rule_obj.severity, "points": 5, "ban_days": 0, "automatic": "on", "is_active": "on"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:500]
    rule_obj.refresh_from_db()
    assert rule_obj.points == 5
    event = AuditEvent.objects.filter(action="breachrule.update", object_id=str(rule_obj.pk)).get()
    assert event.before["points"] == 3 and event.after["points"] == 5
    outsider = agency_admin(active_agency())
    client.force_login(outsider)
    assert client.get(url).status_code in (302, 403)
