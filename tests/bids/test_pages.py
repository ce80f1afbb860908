"""The request, bid and result pages: they render, filter, keep bids sealed, show refusals, and run a
fixed number of queries whatever the number of rows."""

import datetime as dt
import re
import secrets

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import engines
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.models import Agency, AgencyStatus
from bids import services
from bids.models import Bid, ResultObjection, SelectionRun
from bids.services import content_hash
from market.requests import panels
from market.requests import services as request_services
from market.requests.views import render_request_page
from market.accounts.models import Organization
from market.requests.models import RequestStatus, ServiceRequest
from market.core.money import fen_to_yuan
from tests.factories import make_owner, make_regulator, make_user, next_uscc, org_admin, region
from tests.request_factories import active_agency, agency_admin, freeze, item_with_qualification, published_request

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def after(request, seconds=1):
    return request.bid_deadline + dt.timedelta(seconds=seconds)


def bid(request, agency, price, **kw):
    return services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=price, **kw)


def html_of(client, url, user=None, **extra):
    client.logout()
    if user is not None:
        client.force_login(user)
    response = client.get(url, **extra)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def local_input(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- public pages -------------------------------------------------------------------------------


def test_request_list_renders_and_filters(client):
    lowest = published_request(project_name="甲路测绘项目", selection_method="lowest")
    random = published_request(project_name="乙桥评估项目", selection_method="random",
                               owner=make_owner(region_code="440303"))
    html = html_of(client, "/requests/")
    assert "甲路测绘项目" in html and "乙桥评估项目" in html
    html = html_of(client, "/requests/?method=random")
    assert "乙桥评估项目" in html and "甲路测绘项目" not in html
    html = html_of(client, "/requests/?region=440100")  # a prefecture matches its districts
    assert "甲路测绘项目" in html and "乙桥评估项目" not in html
    html = html_of(client, "/requests/?region=440303")
    assert "乙桥评估项目" in html and "甲路测绘项目" not in html
    html = html_of(client, f"/requests/?service_item={lowest.service_item.code}&q=乙桥")
    assert "乙桥评估项目" in html and "甲路测绘项目" not in html
    assert "bidding_closed" in html  # the derived status is offered as a filter
    with freeze(after(random)):
        html = html_of(client, "/requests/?status=bidding_closed")
        assert "甲路测绘项目" in html and "status-bidding_closed" in html
        html = html_of(client, "/requests/?status=published")
        assert "甲路测绘项目" not in html


def test_list_shows_only_the_bid_count_and_never_drafts(client):
    request = published_request(project_name="丙区规划项目")
    bid(request, active_agency(item=request.service_item), 4_321_000)
    owner = request.owner
    request_services.request_create(actor=org_admin(owner), owner=owner, required_qualifications=[],
                                    **{**_fields(request), "project_name": "未发布的草稿"})
    html = html_of(client, "/requests/")
    assert "丙区规划项目" in html and "未发布的草稿" not in html
    assert fen_to_yuan(4_321_000) not in html


def _fields(request: ServiceRequest) -> dict:
    return {f: getattr(request, f) for f in request_services.EDITABLE_FIELDS}


def test_detail_shows_every_public_field(client):
    avoided = active_agency(name="被回避的测绘公司")
    request = published_request(project_code="2401-440104-04-01-123456", avoidances=[(avoided, "与业主存在关联关系")],
                                budget_fen=12_345_678)
    agency = active_agency(item=request.service_item)
    q = request_services.question_ask(actor=agency_admin(agency), request=request, organization=agency.organization,
                                      question="成果是否需要纸质版？")
    request_services.question_answer(actor=org_admin(request.owner), question=q, answer="需要纸质版一式三份")
    request_services.question_ask(actor=agency_admin(agency), request=request, organization=agency.organization,
                                  question="尚未回答的问题")
    request_services.request_amend(actor=org_admin(request.owner), request=request, reason="更正联系电话",
                                   contact_phone="13911112222")
    html = html_of(client, f"/requests/{request.pk}/")
    for text in ("2401-440104-04-01-123456", "123,456.78", request.commitment, "被回避的测绘公司", "与业主存在关联关系",
                 "需要纸质版一式三份", "更正联系电话", "13911112222", request.service_item.name, "100%"):
        assert text in html, text
    for qual in request.required_qualifications.all():
        assert qual.name in html
    assert "尚未回答的问题" not in html  # unanswered questions only reach the owner
    assert "尚未回答的问题" in html_of(client, f"/requests/{request.pk}/", org_admin(request.owner))


def test_cancelled_request_shows_its_reason(client):
    request = published_request()
    request_services.request_cancel(actor=org_admin(request.owner), request=request, reason="项目已停建")
    assert "项目已停建" in html_of(client, f"/requests/{request.pk}/")


# --- sealing ------------------------------------------------------------------------------------


def test_sealed_prices_and_nonces_appear_nowhere_before_the_deadline(client):
    request = published_request(selection_method="lowest", fiscal_share=0, social_share=100)
    mine_agency, other_agency = active_agency(item=request.service_item), active_agency(item=request.service_item)
    nonce = secrets.token_hex(16)
    mine = bid(request, mine_agency, 4_123_456, nonce=nonce)
    theirs = bid(request, other_agency, 4_234_567)
    price = fen_to_yuan(mine.price_fen)
    bystanders = [None, org_admin(request.owner), agency_admin(other_agency), make_regulator()]
    for user in bystanders:
        for url in (f"/requests/{request.pk}/", "/requests/", "/results/"):
            html = html_of(client, url, user)
            assert price not in html and nonce not in html and mine.content_hash not in html, (user, url)
    for user in bystanders[1:]:
        html = html_of(client, "/accounts/dashboard/", user)
        assert price not in html and nonce not in html
    assert client.get(f"/requests/{request.pk}/result/").status_code == 404
    # The bidding agency sees its own bid, and only its own.
    html = html_of(client, f"/requests/{request.pk}/", agency_admin(mine_agency))
    assert price in html and nonce in html and fen_to_yuan(theirs.price_fen) not in html
    assert price in html_of(client, "/accounts/dashboard/", agency_admin(mine_agency))

    with freeze(after(request)):
        services.selection_run(actor=None, request=request)
        html = html_of(client, f"/requests/{request.pk}/result/")
        run = SelectionRun.objects.get(request=request)
    assert price in html and nonce in html and fen_to_yuan(theirs.price_fen) in html and theirs.nonce in html
    for field in ("secret", "commitment", "seed"):
        assert run.published[field] in html
    for entry in run.published["eligible"]:
        assert entry["ticket"] in html
    assert f"python manage.py verify_selection {request.pk}" in html
    assert run.winner_id == mine.pk


# --- agency pages -------------------------------------------------------------------------------


def test_agency_bids_changes_and_withdraws_through_the_page(client):
    request = published_request()
    agency = active_agency(item=request.service_item)
    client.force_login(agency_admin(agency))
    html = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'name="bid-price_fen"' in html and 'for="id_bid-price_fen"' in html
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "45,000.50",
                                                             "bid-proposal": "三人团队，十五天完成"})
    assert response.status_code == 302
    b = Bid.objects.get(request=request, agency=agency)
    assert b.price_fen == 4_500_050 and len(b.nonce) == 32
    response = client.post(f"/bids/{b.pk}/change/", {"change-price_fen": "44000"})
    assert response.status_code == 302
    b.refresh_from_db()
    assert b.price_fen == 4_400_000
    assert client.post(f"/bids/{b.pk}/withdraw/").status_code == 302
    b.refresh_from_db()
    assert b.status == "withdrawn"
    # Someone else's bid is not reachable.
    client.force_login(agency_admin(active_agency(item=request.service_item)))
    assert client.post(f"/bids/{b.pk}/change/", {"change-price_fen": "1"}).status_code == 404


def test_discount_bid_is_entered_in_percent(client):
    request = published_request(quote_mode="discount", discount_min_bp=500, discount_max_bp=2000)
    agency = active_agency(item=request.service_item)
    client.force_login(agency_admin(agency))
    html = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'name="bid-discount_bp"' in html and 'name="bid-price_fen"' not in html
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-discount_bp": "12.5"})
    assert response.status_code == 302
    b = Bid.objects.get(request=request, agency=agency)
    assert b.discount_bp == 1250 and b.price_fen == request.budget_fen * 8750 // 10000


def test_refused_bid_shows_its_reason_on_the_page(client):
    request = published_request(budget_fen=10_000_000)
    agency = active_agency(item=request.service_item)
    client.force_login(agency_admin(agency))
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "100000.01"}, **EN)
    assert response.status_code == 400
    html = response.content.decode()
    assert "is above the ceiling of 100,000.00 yuan" in html and 'class="refusal"' in html
    assert not Bid.objects.filter(request=request).exists()


def test_avoided_agency_is_refused_with_403_and_the_reason(client):
    avoided = active_agency(name="回避测试中介")
    request = published_request(required_all=False, avoidances=[(avoided, "曾为本项目编制可研报告")])
    client.force_login(agency_admin(avoided))
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": avoided.pk, "bid-price_fen": "50000"})
    assert response.status_code == 403
    assert "曾为本项目编制可研报告" in response.content.decode()


def test_suspended_agency_and_late_bid_are_refused_on_the_page(client):
    request = published_request()
    suspended = active_agency(item=request.service_item, status=AgencyStatus.SUSPENDED)
    client.force_login(agency_admin(suspended))
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": suspended.pk, "bid-price_fen": "50000"}, **EN)
    assert response.status_code == 403 and "suspended" in response.content.decode()
    agency = active_agency(item=request.service_item)
    with freeze(after(request)):  # sessions last 12 hours: log in at the frozen time
        client.force_login(agency_admin(agency))
        response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "50000"}, **EN)
    assert response.status_code == 400 and "the bid is late" in response.content.decode()


def test_agency_asks_a_question_and_owner_answers_it(client):
    request = published_request()
    agency = active_agency(item=request.service_item)
    client.force_login(agency_admin(agency))
    response = client.post(f"/requests/{request.pk}/questions/", {"ask-organization": agency.organization_id,
                                                                  "ask-question": "是否接受联合体？"})
    assert response.status_code == 302
    q = request.questions.get()
    client.force_login(org_admin(request.owner))
    assert client.post(f"/requests/{request.pk}/questions/{q.pk}/answer/", {f"a{q.pk}-answer": ""}).status_code == 400
    response = client.post(f"/requests/{request.pk}/questions/{q.pk}/answer/", {f"a{q.pk}-answer": "不接受联合体"})
    assert response.status_code == 302
    assert "不接受联合体" in html_of(client, f"/requests/{request.pk}/")


# --- owner pages --------------------------------------------------------------------------------


def _new_request_data(item, owner, **overrides) -> dict:
    deadline = timezone.now() + dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"], hours=2)
    data = {
        "owner": owner.pk, "project_name": "某片区城市更新测绘服务", "project_code": "", "service_item": item.pk,
        "region": "", "description": "1:500 地形图测绘", "fiscal_share": "60", "state_share": "0", "social_share": "40",
        "quote_mode": "price", "budget_fen": "80,000.00", "discount_min_bp": "", "discount_max_bp": "",
        "service_term_days": "30", "required_qualifications": [q.pk for q in item.qualification_types.all()],
        "selection_method": "lowest", "price_weight": "", "quality_criteria": "", "direct_exemption": "",
        "bid_deadline": local_input(deadline), "selection_time": "", "min_bidders": "", "contact_name": "李四",
        "contact_phone": "020-12345678", "avoidances": "",
    }
    data.update(overrides)
    return data


def test_owner_drafts_edits_and_publishes_through_the_pages(client):
    owner = make_owner(verified=True)
    item = item_with_qualification()
    avoided = active_agency(name="需回避中介")
    client.force_login(org_admin(owner))
    html = client.get("/requests/new/").content.decode()
    assert 'for="id_budget_fen"' in html and "style=" not in html
    assert html.count("<script") == html.count("<script src=")  # script files only, none inline
    response = client.post("/requests/new/", _new_request_data(
        item, owner, avoidances=f"{avoided.organization.uscc}：曾参与前期咨询"))
    assert response.status_code == 302, response.content.decode()
    request = ServiceRequest.objects.get(project_name="某片区城市更新测绘服务")
    assert request.status == RequestStatus.DRAFT and request.budget_fen == 8_000_000
    assert request.region == owner.region and request.selection_time == request.bid_deadline
    assert list(request.avoidances.values_list("agency_id", "reason")) == [(avoided.pk, "曾参与前期咨询")]
    assert response["Location"] == f"/requests/{request.pk}/"
    html = html_of(client, f"/requests/{request.pk}/", org_admin(owner))
    assert "需回避中介" in html and f"/requests/{request.pk}/publish/" in html

    response = client.post(f"/requests/{request.pk}/edit/", _new_request_data(item, owner, budget_fen="75000"))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.budget_fen == 7_500_000

    assert client.post(f"/requests/{request.pk}/publish/").status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.PUBLISHED and len(request.commitment) == 64
    html = html_of(client, "/requests/")
    assert "某片区城市更新测绘服务" in html


def test_request_form_refuses_bad_input_with_400(client):
    owner = make_owner(verified=True)
    item = item_with_qualification()
    client.force_login(org_admin(owner))
    response = client.post("/requests/new/", _new_request_data(
        item, owner, selection_method="weighted", price_weight="40", quality_criteria="技术方案:40\n业绩:10"), **EN)
    assert response.status_code == 400
    assert "must add up to 100 (now 90)" in response.content.decode()
    response = client.post("/requests/new/", _new_request_data(item, owner, budget_fen="12.345"), **EN)
    assert response.status_code == 400 and "at most two decimals" in response.content.decode()
    response = client.post("/requests/new/", _new_request_data(
        item, owner, selection_method="weighted", price_weight="40", quality_criteria="技术方案:40\n业绩：20"))
    assert response.status_code == 302
    assert ServiceRequest.objects.get().quality_criteria == [{"name": "技术方案", "weight": 40}, {"name": "业绩", "weight": 20}]


def test_unverified_owner_cannot_publish_and_sees_why(client):
    owner = make_owner(verified=False)
    item = item_with_qualification()
    client.force_login(org_admin(owner))
    assert client.post("/requests/new/", _new_request_data(item, owner)).status_code == 302
    request = ServiceRequest.objects.get()
    response = client.post(f"/requests/{request.pk}/publish/", **EN)
    assert response.status_code == 400 and "must be verified" in response.content.decode()


def test_member_of_another_owner_cannot_see_or_act_on_a_draft(client):
    owner = make_owner(verified=True)
    draft = request_services.request_create(
        actor=org_admin(owner), owner=owner, required_qualifications=[],
        **_fields(published_request()) | {"project_name": "保密草稿"})
    stranger = org_admin(make_owner(verified=True))
    client.force_login(stranger)
    for url in (f"/requests/{draft.pk}/", f"/requests/{draft.pk}/edit/", f"/requests/{draft.pk}/cancel/",
                f"/requests/{draft.pk}/result/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/requests/{draft.pk}/publish/").status_code == 404
    client.logout()
    assert client.get(f"/requests/{draft.pk}/").status_code == 404
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT
    # On a published request of another owner, the owner's actions are forbidden.
    published = published_request()
    client.force_login(stranger)
    assert client.post(f"/requests/{published.pk}/cancel/", {"reason": "恶意撤销"}).status_code == 403
    assert client.get(f"/requests/{published.pk}/amend/").status_code == 403
    assert "保密草稿" not in html_of(client, "/accounts/dashboard/", stranger)
    assert "保密草稿" in html_of(client, "/accounts/dashboard/", org_admin(owner))


def test_owner_amends_and_cancels_through_the_pages(client):
    request = published_request()
    client.force_login(org_admin(request.owner))
    html = client.get(f"/requests/{request.pk}/amend/").content.decode()
    assert 'for="id_reason"' in html
    data = {"reason": "延长服务期限", "bid_deadline": local_input(request.bid_deadline),
            "selection_time": local_input(request.selection_time), "budget_fen": "100000.00", "service_term_days": "45",
            "min_bidders": "", "description": request.description, "contact_name": request.contact_name,
            "contact_phone": request.contact_phone}
    assert client.post(f"/requests/{request.pk}/amend/", data).status_code == 302
    amendment = request.amendments.get()
    assert amendment.changes == {"service_term_days": 45} and amendment.material
    assert client.post(f"/requests/{request.pk}/cancel/", {"reason": ""}).status_code == 400
    assert client.post(f"/requests/{request.pk}/cancel/", {"reason": "规划调整"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED and request.status_reason == "规划调整"


def test_failed_round_is_reissued_from_the_page(client):
    request = published_request(fiscal_share=100)
    bid(request, active_agency(item=request.service_item), 5_000_000)
    with freeze(after(request)):
        services.selection_run(actor=None, request=request)
    html = html_of(client, "/results/")
    assert request.project_name in html
    html = html_of(client, f"/requests/{request.pk}/result/")
    assert "5,000,000" not in html and fen_to_yuan(5_000_000) in html
    client.force_login(org_admin(request.owner))
    response = client.post(f"/requests/{request.pk}/reissue/", {"bid_deadline": ""})
    assert response.status_code == 302
    new = ServiceRequest.objects.get(previous_round=request)
    assert new.round_number == 2 and new.status == RequestStatus.DRAFT
    assert response["Location"] == f"/requests/{new.pk}/"


def test_weighted_selection_through_the_pages(client):
    criteria = [{"name": "技术方案", "weight": 40}, {"name": "业绩", "weight": 20}]
    request = published_request(selection_method="weighted", price_weight=40, quality_criteria=criteria)
    bids = [bid(request, active_agency(item=request.service_item), p) for p in (4_000_000, 5_000_000, 4_500_000)]
    owner = org_admin(request.owner)
    client.force_login(owner)
    assert client.get(f"/requests/{request.pk}/evaluators/").status_code == 200
    assert client.get(f"/requests/{request.pk}/select/").status_code == 403  # sealed until the deadline
    with freeze(after(request)):
        client.force_login(owner)
        response = client.post(f"/requests/{request.pk}/evaluators/", {"names": "李评审\n王评审"})
        assert response.status_code == 302 and response["Location"] == f"/requests/{request.pk}/scores/"
        html = client.get(f"/requests/{request.pk}/scores/").content.decode()
        assert html.count("<label") >= 2 * 3 * 2
        assert_labelled(html, "scores")
        assert_labelled(client.get(f"/requests/{request.pk}/evaluators/").content.decode(), "evaluators")
        panel = list(request.evaluators.order_by("pk"))
        marks = {bids[0].pk: (20, 10), bids[1].pk: (40, 20), bids[2].pk: (30, 15)}
        data = {f"s_{ev.pk}_{b.pk}_{i}": marks[b.pk][i] for ev in panel for b in bids for i in range(2)}
        too_high = {**data, f"s_{panel[0].pk}_{bids[0].pk}_0": 41}
        assert client.post(f"/requests/{request.pk}/scores/", too_high).status_code == 400
        assert client.post(f"/requests/{request.pk}/scores/", data).status_code == 302
        response = client.post(f"/requests/{request.pk}/select/", {})
        assert response.status_code == 302 and response["Location"] == f"/requests/{request.pk}/result/"
        html = html_of(client, f"/requests/{request.pk}/result/")
    assert SelectionRun.objects.get(request=request).winner_id == bids[1].pk
    assert "李评审" in html and "王评审" in html and "92.0000" in html


def test_direct_choice_needs_a_reason_on_the_page(client):
    request = published_request(selection_method="direct", fiscal_share=0, social_share=100)
    chosen = bid(request, active_agency(item=request.service_item), 5_000_000)
    with freeze(after(request)):
        client.force_login(org_admin(request.owner))
        assert_labelled(client.get(f"/requests/{request.pk}/select/").content.decode(), "select")
        assert client.post(f"/requests/{request.pk}/select/", {"bid": chosen.pk, "reason": ""}).status_code == 400
        response = client.post(f"/requests/{request.pk}/select/", {"bid": chosen.pk, "reason": "唯一具备特殊资质"})
        assert response.status_code == 302
        html = html_of(client, f"/requests/{request.pk}/result/")
    assert "唯一具备特殊资质" in html


def test_direct_choice_without_bids_fails_the_round_from_the_page(client):
    request = published_request(selection_method="direct", fiscal_share=0, social_share=100)
    with freeze(after(request)):
        client.force_login(org_admin(request.owner))
        assert 'name="bid"' not in client.get(f"/requests/{request.pk}/select/").content.decode()
        assert client.post(f"/requests/{request.pk}/select/", {}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED


# --- objections ---------------------------------------------------------------------------------


def test_objection_is_lodged_and_ruled_through_the_pages(client):
    request = published_request(selection_method="lowest")
    bids = [bid(request, active_agency(item=request.service_item), p)
            for p in (4_000_000, 4_500_000, 5_000_000, 5_500_000)]
    with freeze(after(request)):
        services.selection_run(actor=None, request=request)
    request.refresh_from_db()
    loser = agency_admin(bids[1].agency)
    with freeze(request.publicity_ends_at - dt.timedelta(hours=1)):
        client.force_login(loser)
        html = client.get(f"/requests/{request.pk}/result/").content.decode()
        assert 'for="id_objection-reason"' in html
        assert_labelled(html, "result")
        response = client.post(f"/requests/{request.pk}/objections/",
                               {"objection-bid": bids[1].pk, "objection-reason": "中选机构业绩造假"})
        assert response.status_code == 302
    objection = ResultObjection.objects.get()
    client.force_login(make_user())
    assert client.get("/regulator/objections/").status_code == 403
    regulator = make_regulator()
    html = html_of(client, "/regulator/objections/", regulator)
    assert "中选机构业绩造假" in html and f'for="id_o{objection.pk}-ruling"' in html
    assert_labelled(html, "regulator")
    assert "objection" in html_of(client, "/accounts/dashboard/", regulator).lower()
    with freeze(request.publicity_ends_at - dt.timedelta(minutes=30)):
        client.force_login(regulator)
        response = client.post(f"/regulator/objections/{objection.pk}/rule/",
                               {f"o{objection.pk}-decision": "uphold", f"o{objection.pk}-ruling": ""})
        assert response.status_code == 400
        response = client.post(f"/regulator/objections/{objection.pk}/rule/",
                               {f"o{objection.pk}-decision": "uphold", f"o{objection.pk}-ruling": "情况属实"})
        assert response.status_code == 302
        html = html_of(client, f"/requests/{request.pk}/result/")
    runs = list(request.selection_runs.order_by("run"))
    assert [r.outcome for r in runs] == ["void", "selected"]
    assert "情况属实" in html and "中选机构业绩造假" in html
    for r in runs:  # the voided run stays on the page with the new one
        assert r.published["seed"] in html


# --- query counts -------------------------------------------------------------------------------


def _bulk_agencies(n: int) -> list[Agency]:
    orgs = Organization.objects.bulk_create([
        Organization(kind=Organization.Kind.AGENCY, name=f"批量中介{i}", uscc=next_uscc("440106", "91"),
                     region=region("440106"), status=Organization.Status.VERIFIED) for i in range(n)])
    return Agency.objects.bulk_create([Agency(organization=o, status=AgencyStatus.ACTIVE) for o in orgs])


def _bulk_bids(request: ServiceRequest, n: int) -> None:
    now = timezone.now()
    rows = []
    for i, agency in enumerate(_bulk_agencies(n)):
        price, nonce = 4_000_000 + i * 100, secrets.token_hex(16)
        rows.append(Bid(request=request, agency=agency, price_fen=price, nonce=nonce, submitted_at=now, updated_at=now,
                        content_hash=content_hash(request_id=request.pk, agency_id=agency.pk, price_fen=price,
                                                  discount_bp=None, nonce=nonce, proposal="")))
    Bid.objects.bulk_create(rows)


def _queries(client, url) -> int:
    from market.search import indexing

    indexing.flush_pending()  # what a commit before this request would have indexed
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_request_list_runs_the_same_number_of_queries_for_10_and_100_requests(client):
    template = published_request()
    _bulk_bids(template, 3)
    fields = {f.attname: getattr(template, f.attname) for f in ServiceRequest._meta.concrete_fields
              if f.attname not in ("id", "previous_round_id")}

    def add(n):
        from market.search import indexing

        created = ServiceRequest.objects.bulk_create([ServiceRequest(**fields) for _ in range(n)])
        indexing.apply_changes({"request": {r.pk for r in created}})  # bulk inserts send no signals

    add(9)
    small = _queries(client, "/requests/")
    small_results = _queries(client, "/results/")
    add(90)
    assert _queries(client, "/requests/") == small
    assert _queries(client, "/results/") == small_results
    client.force_login(org_admin(template.owner))
    dashboard = _queries(client, "/accounts/dashboard/")
    add(10)
    assert _queries(client, "/accounts/dashboard/") == dashboard


@pytest.mark.parametrize("method", ["lowest", "weighted"])
def test_result_and_detail_pages_run_the_same_number_of_queries_for_10_and_100_bids(client, method):
    extra = {"price_weight": 40, "quality_criteria": [{"name": "方案", "weight": 60}]} if method == "weighted" else {}
    counts = []
    for n in (10, 100):
        request = published_request(required_all=False, selection_method=method, **extra)
        _bulk_bids(request, n)
        with freeze(after(request)):
            if method == "weighted":
                owner = org_admin(request.owner)
                panel = services.evaluators_set(actor=owner, request=request, names=["甲", "乙"])
                for ev in panel:
                    for b in request.bids.all():
                        services.quality_scores_submit(actor=owner, evaluator=ev, bid=b, scores={"方案": 30})
            detail = _queries(client, f"/requests/{request.pk}/")  # bids opened, not yet selected
            services.selection_run(actor=None, request=request)
            counts.append((detail, _queries(client, f"/requests/{request.pk}/result/")))
    assert counts[0] == counts[1]


def test_detail_page_queries_do_not_grow_with_bids_for_a_bidding_agency(client):
    counts = []
    for n in (10, 100):
        request = published_request(required_all=False)
        _bulk_bids(request, n)
        agency = active_agency()
        bid(request, agency, 3_000_000)
        client.force_login(agency_admin(agency))
        counts.append(_queries(client, f"/requests/{request.pk}/"))
    assert counts[0] == counts[1]


def assert_labelled(html: str, where: str = "") -> None:
    """Every visible form field has a <label> (by for=, or wrapping it); no inline script or style."""
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if 'type="hidden"' in tag or 'type="submit"' in tag:
            continue
        field_id = re.search(r'id="([^"]+)"', tag)
        assert field_id and (field_id.group(1) in labelled or _wrapped(html, field_id.group(1))), (where, tag)
    # Scripts only as files the site serves itself (/static/…); never inline, never from elsewhere.
    assert not re.search(r'<script(?![^>]*\bsrc="/static/)', html) and " style=" not in html, where


def _wrapped(html: str, field_id: str) -> bool:
    position = html.find(f'id="{field_id}"')
    opening, closing = html.rfind("<label", 0, position), html.rfind("</label>", 0, position)
    return opening > closing


def test_every_form_field_on_the_request_pages_has_a_label(client):
    request = published_request()
    agency = active_agency(item=request.service_item)
    pages = [(agency_admin(agency), f"/requests/{request.pk}/"), (org_admin(request.owner), "/requests/new/"),
             (org_admin(request.owner), f"/requests/{request.pk}/amend/"),
             (org_admin(request.owner), f"/requests/{request.pk}/cancel/"), (None, "/requests/"), (None, "/results/")]
    for user, url in pages:
        assert_labelled(html_of(client, url, user), url)


def test_the_request_list_is_the_search_with_counts(client):
    """/requests/ searches by meaning (an abbreviation finds the full term) and shows each filter
    choice with the number of announcements it leaves."""
    hp = published_request(project_name="某水库工程环境影响评价服务")
    other = published_request(project_name="某道路工程地形测量服务")
    response = client.get("/requests/", {"q": "环评"})
    listed = [r.pk for r in response.context["page_obj"]]
    assert listed == [hp.pk] and other.pk not in listed
    html = response.content.decode()
    assert f'{hp.service_item.code} {hp.service_item.name} (1)</option>' in html
    everything = client.get("/requests/").context["page_obj"]
    assert {r.pk for r in everything} >= {hp.pk, other.pk}


# --- the request page and its panels (market.requests.panels) ---------------------------------------------


def test_the_bids_parts_of_the_request_page_are_registered_panels():
    """market.requests owns the request page; bids registers its parts there (BidsConfig.ready)."""
    assert [c.name for c in panels._in_order(panels._detail_panels)] == ["bids"]
    assert [c.name for c in panels._in_order(panels._owner_actions)] == ["bids"]
    assert [c.name for c in panels._in_order(panels._status_links)] == ["bids"]


def test_the_result_link_is_on_the_request_page_and_in_its_row_once_selected(client):
    request = published_request(fiscal_share=100)
    bid(request, active_agency(item=request.service_item), 5_000_000)
    result = f'href="/requests/{request.pk}/result/"'
    assert result not in html_of(client, f"/requests/{request.pk}/")
    with freeze(after(request)):
        services.selection_run(actor=None, request=request)
    assert result in html_of(client, f"/requests/{request.pk}/", **EN)
    assert f'<a {result}>result</a>' in html_of(client, "/requests/", **EN)


def test_owner_actions_of_the_selection_are_in_the_owners_action_list(client):
    request = published_request(selection_method="weighted", price_weight=40,
                                quality_criteria=[{"name": "方案", "weight": 60}])
    with freeze(after(request)):
        html = html_of(client, f"/requests/{request.pk}/", org_admin(request.owner), **EN)
        actions = html[html.index('<ul class="action-list">'):html.index("</ul>", html.index('<ul class="action-list">'))]
        for url in (f"/requests/{request.pk}/cancel/", f"/requests/{request.pk}/evaluators/",
                    f"/requests/{request.pk}/scores/", f"/requests/{request.pk}/select/"):
            assert f'href="{url}"' in actions, url
        assert "action-list" not in html_of(client, f"/requests/{request.pk}/", **EN)  # not the public's


def test_a_refused_bid_comes_back_in_the_bid_panel_as_typed(client):
    request = published_request(budget_fen=10_000_000)
    agency = active_agency(item=request.service_item)
    client.force_login(agency_admin(agency))
    response = client.post(f"/requests/{request.pk}/bid/", {"bid-agency": agency.pk, "bid-price_fen": "100000.01",
                                                             "bid-proposal": "我们的方案"}, **EN)
    html = response.content.decode()
    assert response.status_code == 400 and 'value="100000.01"' in html and "我们的方案" in html
    assert html.index('class="refusal"') < html.index("<h1>") < html.index('class="form bid-form"')


def test_a_registered_panel_gets_the_page_and_its_state(client, monkeypatch):
    seen = []

    def context(request, page, state):
        seen.append((page.service_request.pk, page.is_owner, page.sealed, page.bidding_open, state))
        return {"word": "面板内容"}

    monkeypatch.setattr(panels, "_detail_panels", dict(panels._detail_panels))
    panels.register_detail_panel("probe", context, engines["django"].from_string("<p>{{ panel.word }} {{ sr.pk }}</p>"),
                                 order=1)
    request = published_request()
    html = html_of(client, f"/requests/{request.pk}/", **EN)
    assert f"<p>面板内容 {request.pk}</p>" in html
    assert html.index("面板内容") < html.index("<h2>Bids</h2>")  # order 1 comes before the bids' 100
    assert seen == [(request.pk, False, True, True, {})]
    http_request = RequestFactory().get(f"/requests/{request.pk}/")
    http_request.user = AnonymousUser()
    response = render_request_page(http_request, request, status=400, panel_state={"probe": {"form": "bound"}})
    assert response.status_code == 400 and seen[-1][-1] == {"form": "bound"}
