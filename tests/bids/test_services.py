import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from agencies.models import AgencyStatus
from market.core import draw
from bids import services
from bids.models import Bid, BidStatus, SelectionRun
from market.requests import services as request_services
from market.core.models import AuditEvent
from market.catalogue.models import QualificationType, ServiceItem
from market.requests.models import RequestStatus, ServiceRequest
from tests.factories import make_owner, make_regulator, make_user, org_admin
from tests.request_factories import (active_agency, agency_admin, freeze, item_with_qualification, published_request,
                                     request_fields)

pytestmark = pytest.mark.django_db


def after(request, seconds=1):
    return request.bid_deadline + dt.timedelta(seconds=seconds)


def bid(request, agency, price=5_000_000, **kw):
    return services.bid_submit(actor=agency_admin(agency), request=request, agency=agency, price_fen=price, **kw)


def bidders(request, prices):
    agencies = [active_agency(item=request.service_item) for _ in prices]
    return [bid(request, a, p) for a, p in zip(agencies, prices)]


# --- request rules ------------------------------------------------------------------------------


def _create(owner, item, quals=(), **overrides):
    return request_services.request_create(actor=org_admin(owner), owner=owner, required_qualifications=list(quals),
                                           **request_fields(item, **overrides))


def test_ceiling_above_government_set_fee_is_refused(owner_org):
    item = ServiceItem.objects.filter(pricing_mode="government_set").first()
    with pytest.raises(ValidationError) as exc:
        _create(owner_org, item, budget_fen=item.fee_cap_fen + 1)
    assert "budget_fen" in exc.value.error_dict
    assert _create(owner_org, item, budget_fen=item.fee_cap_fen).pk


def test_qualification_not_named_by_the_catalogue_is_refused(owner_org):
    item = item_with_qualification()
    foreign = QualificationType.objects.exclude(pk__in=item.qualification_types.all()).first()
    with pytest.raises(ValidationError) as exc:
        _create(owner_org, item, quals=[foreign])
    assert foreign.name in str(exc.value.error_dict["required_qualifications"])


def test_deadline_inside_the_minimum_window_is_refused(owner_org, settings):
    settings.MARKET = {**settings.MARKET, "MIN_BIDDING_WINDOW_SECONDS": 3600}
    soon = timezone.now() + dt.timedelta(minutes=30)
    with pytest.raises(ValidationError) as exc:
        _create(owner_org, item_with_qualification(), bid_deadline=soon, selection_time=soon)
    assert "bid_deadline" in exc.value.error_dict


def test_direct_choice_with_state_funds_needs_an_exemption(owner_org):
    item = item_with_qualification()
    with pytest.raises(ValidationError) as exc:
        _create(owner_org, item, selection_method="direct")
    assert "selection_method" in exc.value.error_dict
    assert _create(owner_org, item, selection_method="direct", direct_exemption="《政府采购法》第三十一条").pk
    assert _create(owner_org, item, selection_method="direct", fiscal_share=0, social_share=100).pk


def test_weights_must_sum_to_100(owner_org):
    item = item_with_qualification()
    criteria = [{"name": "技术方案", "weight": 40}, {"name": "业绩", "weight": 20}]
    with pytest.raises(ValidationError) as exc:
        _create(owner_org, item, selection_method="weighted", price_weight=30, quality_criteria=criteria)
    assert "100" in str(exc.value.error_dict["quality_criteria"])
    assert _create(owner_org, item, selection_method="weighted", price_weight=40, quality_criteria=criteria).pk


def test_unverified_owner_cannot_publish():
    owner = make_owner(verified=False)
    request = _create(owner, item_with_qualification())
    with pytest.raises(ValidationError) as exc:
        request_services.request_publish(actor=org_admin(owner), request=request)
    assert exc.value.code == "owner_not_verified"


def test_other_owner_cannot_draft_or_publish_for_an_owner(owner_org):
    outsider = org_admin(make_owner())
    with pytest.raises(PermissionDenied):
        request_services.request_create(actor=outsider, owner=owner_org, **request_fields(item_with_qualification()))
    request = _create(owner_org, item_with_qualification())
    with pytest.raises(PermissionDenied):
        request_services.request_publish(actor=outsider, request=request)


def test_publication_commits_to_a_secret():
    request = published_request()
    assert request.status == RequestStatus.PUBLISHED
    assert request.commitment == draw.commitment_of(request.secret)


def test_illegal_transitions_are_refused():
    request = published_request()
    for target in (RequestStatus.AWARDED, RequestStatus.CLOSED, RequestStatus.DRAFT):
        with pytest.raises(ValidationError) as exc:
            request_services.request_transition(request=request, to=target, actor=None)
        assert exc.value.code == "illegal_transition"
    request_services.request_cancel(actor=org_admin(request.owner), request=request, reason="项目取消")
    with pytest.raises(ValidationError):
        request_services.request_transition(request=request, to=RequestStatus.PUBLISHED, actor=None)
    with pytest.raises(ValidationError):  # a draft cannot be published twice either
        request_services.request_publish(actor=org_admin(request.owner), request=request)


def test_state_follows_server_time():
    request = published_request()
    assert request.effective_status(timezone.now()) == RequestStatus.PUBLISHED
    assert request.effective_status(after(request)) == RequestStatus.BIDDING_CLOSED


# --- bids ---------------------------------------------------------------------------------------


def test_bid_is_stored_with_its_content_hash_in_the_audit_log():
    request = published_request()
    b = bid(request, active_agency(item=request.service_item), 4_200_000)
    event = AuditEvent.objects.get(action="bid.submit", object_id=str(b.pk))
    assert event.after["content_hash"] == b.content_hash
    assert "4200000" not in str(event.after)  # the audit log does not leak the sealed price


def test_bid_after_deadline_is_refused_by_server_time():
    request = published_request()
    agency = active_agency(item=request.service_item)
    with freeze(request.bid_deadline):
        with pytest.raises(services.BidRefused) as exc:
            bid(request, agency)
    assert exc.value.refusal.code == "late"
    with freeze(request.bid_deadline - dt.timedelta(seconds=1)):
        assert bid(request, agency).pk
    assert Bid.objects.filter(request=request).count() == 1


def test_change_and_withdraw_only_before_the_deadline():
    request = published_request()
    agency = active_agency(item=request.service_item)
    b = bid(request, agency, 5_000_000)
    b = services.bid_change(actor=agency_admin(agency), bid=b, price_fen=4_000_000)
    assert b.price_fen == 4_000_000
    with freeze(after(request)):
        with pytest.raises(services.BidRefused):
            services.bid_change(actor=agency_admin(agency), bid=b, price_fen=3_000_000)
        with pytest.raises(services.BidRefused):
            services.bid_withdraw(actor=agency_admin(agency), bid=b)
    b.refresh_from_db()
    assert b.price_fen == 4_000_000 and b.status == BidStatus.ACTIVE


def test_double_submit_leaves_one_bid():
    request = published_request()
    agency = active_agency(item=request.service_item)
    bid(request, agency)
    with pytest.raises(services.BidRefused) as exc:
        bid(request, agency)
    assert exc.value.refusal.code == "duplicate"
    assert Bid.objects.filter(request=request, agency=agency).count() == 1


@pytest.mark.parametrize("status", [AgencyStatus.SUSPENDED, AgencyStatus.BANNED, AgencyStatus.SUBMITTED])
def test_inactive_agency_is_refused(status):
    request = published_request()
    agency = active_agency(item=request.service_item, status=status)
    with pytest.raises(services.BidRefused) as exc:
        bid(request, agency)
    assert exc.value.refusal.code in ("suspended", "banned", "not_active")


def test_expired_qualification_is_refused():
    request = published_request()
    agency = active_agency(item=request.service_item, valid_to=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(services.BidRefused) as exc:
        bid(request, agency)
    assert exc.value.refusal.code == "qualification_expired"


def test_missing_qualification_is_refused():
    request = published_request()
    agency = active_agency(item=None)
    with pytest.raises(services.BidRefused) as exc:
        bid(request, agency)
    assert exc.value.refusal.code == "qualification_missing"


def test_avoided_agency_is_refused():
    agency = active_agency(item=item_with_qualification())
    owner = make_owner()
    request = request_services.request_create(
        actor=org_admin(owner), owner=owner, avoidances=[(agency, "与业主存在关联关系")],
        **request_fields(item_with_qualification()))
    request_services.request_publish(actor=org_admin(owner), request=request)
    with pytest.raises(services.BidRefused) as exc:
        bid(request, agency)
    assert exc.value.refusal.code == "avoided" and "关联关系" in exc.value.refusal.message


def test_price_above_ceiling_is_refused():
    request = published_request()
    with pytest.raises(services.BidRefused) as exc:
        bid(request, active_agency(item=request.service_item), request.budget_fen + 1)
    assert exc.value.refusal.code == "price_above_ceiling"


def test_member_of_another_agency_cannot_bid_for_it():
    request = published_request()
    agency, other = active_agency(item=request.service_item), active_agency(item=request.service_item)
    with pytest.raises(PermissionDenied):
        services.bid_submit(actor=agency_admin(other), request=request, agency=agency, price_fen=1000)


# --- selection ----------------------------------------------------------------------------------


def test_lowest_price_selection_end_to_end_and_verifiable(capsys):
    request = published_request(selection_method="lowest")
    bids = bidders(request, [5_000_000, 4_000_000, 4_500_000])
    with freeze(after(request)):
        run = services.selection_run(actor=org_admin(request.owner), request=request)
    assert run.outcome == SelectionRun.Outcome.SELECTED and run.winner_id == bids[1].pk
    request.refresh_from_db()
    assert request.status == RequestStatus.PUBLICITY and request.publicity_ends_at > after(request)
    assert draw.verify(run.published) == []
    call_command("verify_selection", str(request.pk))
    assert "matches" in capsys.readouterr().out


def test_random_draw_winner_is_the_smallest_ticket():
    request = published_request(selection_method="random")
    bidders(request, [5_000_000, 4_000_000, 4_500_000])
    with freeze(after(request)):
        run = services.selection_run(actor=None, request=request)
    tickets = {e["bid_id"]: e["ticket"] for e in run.published["eligible"]}
    assert run.winner_id == min(tickets, key=tickets.get)


def test_reference_price_selection_publishes_factor():
    request = published_request(selection_method="reference")
    bidders(request, [5_000_000, 4_000_000, 4_500_000, 4_800_000])
    with freeze(after(request)):
        run = services.selection_run(actor=None, request=request)
    assert 0.95 <= float(run.published["factor"]) <= 0.98
    assert draw.verify(run.published) == []


def test_weighted_selection_with_panel_scores():
    criteria = [{"name": "技术方案", "weight": 40}, {"name": "业绩", "weight": 20}]
    request = published_request(selection_method="weighted", price_weight=40, quality_criteria=criteria)
    cheap, good, mid = bidders(request, [4_000_000, 5_000_000, 4_500_000])
    owner = org_admin(request.owner)
    with freeze(after(request)):
        panel = services.evaluators_set(actor=owner, request=request, names=["李评审", "王评审"])
        with pytest.raises(ValidationError):
            services.selection_run(actor=owner, request=request)  # scores missing
        marks = {cheap.pk: (20, 10), good.pk: (40, 20), mid.pk: (30, 15)}
        for ev in panel:
            for b in (cheap, good, mid):
                services.quality_scores_submit(actor=owner, evaluator=ev, bid=b,
                                               scores={"技术方案": marks[b.pk][0], "业绩": marks[b.pk][1]})
        with pytest.raises(ValidationError):
            services.quality_scores_submit(actor=owner, evaluator=panel[0], bid=cheap, scores={"技术方案": 41, "业绩": 0})
        run = services.selection_run(actor=owner, request=request)
    # cheap: 40 + 30 = 70; good: 32 + 60 = 92; mid: 35.56 + 45 = 80.56
    assert run.winner_id == good.pk
    entry = next(e for e in run.published["eligible"] if e["bid_id"] == good.pk)
    assert entry["total_score"] == "92.0000"
    assert set(entry["evaluator_scores"]) == {"李评审", "王评审"}
    assert draw.verify(run.published) == []


def test_direct_choice_publishes_the_reason():
    request = published_request(selection_method="direct", fiscal_share=0, social_share=100)
    chosen = bidders(request, [5_000_000])[0]
    with freeze(after(request)):
        with pytest.raises(ValidationError):
            services.selection_run(actor=org_admin(request.owner), request=request, direct_bid_id=chosen.pk)
        run = services.selection_run(actor=org_admin(request.owner), request=request, direct_bid_id=chosen.pk,
                                     direct_reason="唯一具备特殊资质的机构")
    assert run.winner_id == chosen.pk and run.published["direct_reason"] == "唯一具备特殊资质的机构"


def test_selection_before_deadline_is_refused():
    request = published_request()
    bidders(request, [1, 2, 3])
    with pytest.raises(ValidationError) as exc:
        services.selection_run(actor=None, request=request)
    assert exc.value.code == "bidding_open"


def test_too_few_bids_with_state_funds_fail_the_round():
    request = published_request(fiscal_share=100)
    bidders(request, [5_000_000, 4_000_000])
    with freeze(after(request)):
        run = services.selection_run(actor=None, request=request)
    assert run.outcome == SelectionRun.Outcome.FAILED and run.winner is None
    request.refresh_from_db()
    assert request.status == RequestStatus.FAILED
    new = request_services.request_reissue(actor=org_admin(request.owner), request=request)
    assert new.round_number == 2 and new.previous_round_id == request.pk and new.status == RequestStatus.DRAFT
    with pytest.raises(ValidationError):
        request_services.request_reissue(actor=org_admin(request.owner), request=request)


def test_one_bid_is_enough_with_social_funds():
    request = published_request(fiscal_share=0, social_share=100)
    bidders(request, [5_000_000])
    with freeze(after(request)):
        assert services.selection_run(actor=None, request=request).outcome == SelectionRun.Outcome.SELECTED


def test_eligibility_is_rechecked_at_selection():
    request = published_request()
    bids = bidders(request, [3_000_000, 4_000_000, 4_500_000, 4_800_000])
    bids[0].agency.status = AgencyStatus.SUSPENDED
    bids[0].agency.status_reason = "违规承接业务"
    bids[0].agency.save()
    with freeze(after(request)):
        run = services.selection_run(actor=None, request=request)
    assert run.winner_id == bids[1].pk
    excluded = run.published["excluded"]
    assert [e["bid_id"] for e in excluded] == [bids[0].pk] and "违规承接业务" in excluded[0]["reason"]


# --- sealing ------------------------------------------------------------------------------------


def test_sealed_prices_are_invisible_before_the_deadline_and_visible_after(client):
    from bids.selectors import bids_visible

    request = published_request()
    mine, theirs = bidders(request, [4_100_000, 4_200_000])
    owner_user = org_admin(request.owner)
    for user in (owner_user, agency_admin(theirs.agency), make_user(), make_regulator()):
        count, visible = bids_visible(request=request, user=user, now=timezone.now())
        assert count == 2
        assert mine.pk not in [b.pk for b in visible]
    count, visible = bids_visible(request=request, user=agency_admin(mine.agency), now=timezone.now())
    assert [b.pk for b in visible] == [mine.pk]
    count, visible = bids_visible(request=request, user=owner_user, now=after(request))
    assert {b.pk for b in visible} == {mine.pk, theirs.pk}


# --- objections and award -----------------------------------------------------------------------


def _selected_request():
    request = published_request(selection_method="lowest")
    bids = bidders(request, [4_000_000, 4_500_000, 5_000_000, 5_500_000])
    with freeze(after(request)):
        services.selection_run(actor=None, request=request)
    request.refresh_from_db()
    return request, bids


def test_award_follows_publicity_by_server_time():
    from market.core.deadlines import run_due

    request, _ = _selected_request()
    run_due(now=request.publicity_ends_at - dt.timedelta(seconds=1))
    request.refresh_from_db()
    assert request.status == RequestStatus.PUBLICITY
    run_due(now=request.publicity_ends_at)
    run_due(now=request.publicity_ends_at)  # repeated runs are harmless
    request.refresh_from_db()
    assert request.status == RequestStatus.AWARDED


def test_an_open_objection_holds_the_award_until_dismissed():
    from market.core.deadlines import run_due

    request, bids = _selected_request()
    with freeze(request.publicity_ends_at - dt.timedelta(hours=1)):
        objection = services.objection_lodge(actor=agency_admin(bids[1].agency), request=request, bid=bids[1],
                                             reason="中选机构资质存疑")
    run_due(now=request.publicity_ends_at + dt.timedelta(days=1))
    request.refresh_from_db()
    assert request.status == RequestStatus.PUBLICITY  # held
    with pytest.raises(PermissionDenied):
        services.objection_rule(actor=org_admin(request.owner), objection=objection, uphold=False, ruling="x")
    with freeze(request.publicity_ends_at + dt.timedelta(days=1)):
        services.objection_rule(actor=make_regulator(), objection=objection, uphold=False, ruling="经核查资质有效，驳回")
    request.refresh_from_db()
    assert request.status == RequestStatus.AWARDED


def test_an_upheld_objection_reselects_without_the_winner():
    request, bids = _selected_request()
    with freeze(request.publicity_ends_at - dt.timedelta(hours=1)):
        objection = services.objection_lodge(actor=agency_admin(bids[1].agency), request=request, bid=bids[1],
                                             reason="中选机构提供虚假业绩")
        services.objection_rule(actor=make_regulator(), objection=objection, uphold=True, ruling="情况属实，取消中选资格")
    runs = list(request.selection_runs.order_by("run"))
    assert [r.outcome for r in runs] == [SelectionRun.Outcome.VOID, SelectionRun.Outcome.SELECTED]
    assert runs[1].winner_id == bids[1].pk
    assert any(e["bid_id"] == bids[0].pk and e["reason_code"] == "objection_upheld" for e in runs[1].published["excluded"])
    assert draw.verify(runs[1].published) == []


def test_objection_after_publicity_is_refused():
    request, bids = _selected_request()
    with freeze(request.publicity_ends_at):
        with pytest.raises(ValidationError):
            services.objection_lodge(actor=agency_admin(bids[1].agency), request=request, bid=bids[1], reason="迟到")


# --- amendments and clarifications ---------------------------------------------------------------


def test_material_amendment_restarts_the_window_and_notifies_bidders(settings, django_capture_on_commit_callbacks):
    request = published_request()
    b = bid(request, active_agency(item=request.service_item))
    owner = org_admin(request.owner)
    later = timezone.now() + dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"] - 60)
    with freeze(later):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            amendment = request_services.request_amend(actor=owner, request=request, reason="调整服务期限",
                                                       service_term_days=45)
    request.refresh_from_db()
    assert amendment.material
    assert request.bid_deadline >= later + dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"])
    assert [m.to for m in mail.outbox] == [[agency_admin(b.agency).email]]


def test_clarification_answer_is_published():
    request = published_request()
    agency = active_agency(item=request.service_item)
    q = request_services.question_ask(actor=agency_admin(agency), request=request, organization=agency.organization,
                                      question="是否需要提供纸质成果？")
    with pytest.raises(PermissionDenied):
        request_services.question_answer(actor=agency_admin(agency), question=q, answer="自问自答")
    request_services.question_answer(actor=org_admin(request.owner), question=q, answer="需提供纸质成果一式三份")
    q.refresh_from_db()
    assert q.answer and q.answered_at
