"""Cheap rows for the state-machine tests: one object per machine, written straight to the database
(a few inserts; no service runs), the people who may or may not move it, and for every guard a way
to make it pass and a way to make it refuse.

A machine added to the registry needs a row builder here, and a guard needs its arrangement:
the tests name what is missing."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from market.core import statemachine
from tests.factories import make_owner, make_regulator, make_user, next_uscc, org_admin, region
from tests.request_factories import active_agency

_seq = itertools.count(1)


@dataclass
class World:
    """Who and what a row hangs on: a regulator, an owner and an agency (each with its admin), an
    outsider (also the person an invitation is for), a service item and the server time."""

    regulator: object
    owner: object
    owner_admin: object
    agency: object
    agency_admin: object
    outsider: object
    item: object
    now: dt.datetime

    @property
    def candidates(self) -> list:
        """Who tries a move, in order: the system first, then people; the first one the move lets
        through makes it, the first one it refuses tries it wrongly."""
        return [None, self.regulator, self.owner_admin, self.agency_admin, self.outsider]


def make_world() -> World:
    from market.catalogue.models import ServiceItem

    owner = make_owner(verified=True)
    agency = active_agency()
    outsider = make_user()
    return World(regulator=make_regulator(), owner=owner, owner_admin=org_admin(owner),
                 agency=agency, agency_admin=org_admin(agency.organization), outsider=outsider,
                 item=ServiceItem.objects.filter(is_active=True).order_by("code").first(), now=timezone.now())


def model(label: str):
    return apps.get_model(label)


def set_status(obj, status: str) -> None:
    """Put a row in a status directly (the test's own arrangement, not a move)."""
    m = statemachine.machine_for(obj)
    type(obj)._base_manager.filter(pk=obj.pk).update(**{m.field: status})
    setattr(obj, m.field, status)


def save(obj, **fields) -> None:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(fields))


def first_allowed(move, obj, world: World):
    for actor in world.candidates:
        if statemachine.may_make(move, actor, obj):
            return actor
    raise AssertionError(f"nobody in the test world may make {move.name}: extend World.candidates")


def first_refused(move, obj, world: World):
    """A real person the move refuses, else an anonymous visitor (never allowed)."""
    return next((a for a in world.candidates if not statemachine.may_make(move, a, obj)), AnonymousUser())


# --- one row per machine -----------------------------------------------------------------------------------


def request_row(w: World, **fields):
    values = dict(owner=w.owner, created_by=w.owner_admin, project_name="状态机测试项目", service_item=w.item,
                  region=w.owner.region, budget_fen=1_000_000, service_term_days=30, selection_method="lowest",
                  bid_deadline=w.now + dt.timedelta(hours=1), selection_time=w.now + dt.timedelta(hours=1),
                  contact_name="张三", contact_phone="13800000000", status="published")
    values.update(fields)
    return model("market.ServiceRequest").objects.create(**values)


def bid_row(w: World, request=None):
    request = request or request_row(w)
    return model("bids.Bid").objects.create(request=request, agency=w.agency, submitted_by=w.agency_admin,
                                            price_fen=500_000, nonce="00" * 16, content_hash="0" * 64,
                                            submitted_at=w.now, updated_at=w.now)


def result_objection_row(w: World, request=None):
    bid = bid_row(w, request)
    run = model("bids.SelectionRun").objects.create(request=bid.request, run=1, method="lowest", outcome="selected",
                                                    winner=bid, published={}, created_at=w.now)
    return model("bids.ResultObjection").objects.create(request=bid.request, selection_run=run, bid=bid,
                                                        lodged_by=w.agency_admin, reason="结果有误")


def contract_row(w: World):
    bid = bid_row(w, request_row(w, status="awarded"))
    return model("market.Contract").objects.create(
        number=f"HT-TEST-{next(_seq)}", request=bid.request, bid=bid, owner=w.owner, agency=w.agency,
        service_item=w.item, amount_fen=bid.price_fen, term_days=30, deliverables="测绘成果", drafted_at=w.now,
        confirm_deadline=w.now + dt.timedelta(days=5))


def breach_row(w: World):
    rule = model("credit.BreachRule").objects.order_by("code").first() or model("credit.BreachRule").objects.create(
        code="TEST", name="测试规则", description="测试", severity="minor", points=1)
    return model("credit.Breach").objects.create(agency=w.agency, rule=rule, source="regulator", evidence="证据",
                                                 points=rule.points, recorded_at=w.now,
                                                 appeal_deadline=w.now + dt.timedelta(days=15))


ROWS = {
    "request": request_row,
    "bid": bid_row,
    "objection": result_objection_row,
    "warning": lambda w: model("supervision.RiskWarning").objects.create(
        rule="identical_prices", subject_type="owner", subject_key=f"owner:{w.owner.pk}:{next(_seq)}",
        subject_label=w.owner.name, owner=w.owner, first_seen_at=w.now, last_seen_at=w.now),
    "complaint": lambda w: model("supervision.Complaint").objects.create(
        complainant=w.outsider, subject_type="owner", owner=w.owner, subject_label=w.owner.name,
        grounds="收费不合理，请依法处理。", lodged_at=w.now, accept_by=w.now + dt.timedelta(days=5)),
    "inspection_plan": lambda w: model("supervision.InspectionPlan").objects.create(
        title="随机抽查", sample_size=1, inspectors_per_agency=1, draw_at=w.now - dt.timedelta(minutes=1),
        created_by=w.regulator),
    "notification_email": lambda w: statemachine.machine("notification_email").model_class.objects.create(
        recipient=w.outsider, kind="request.published", subject="主题", body="正文", dedupe_key=uuid.uuid4().hex,
        created_at=w.now),
    "agency": lambda w: w.agency,
    "publicity_objection": lambda w: model("agencies.PublicityObjection").objects.create(
        agency=w.agency, contact_name="李四", reason="资质不实"),
    "invitation": lambda w: model("agencies.AgencyInvitation").objects.create(
        agency=w.agency, email=w.outsider.email, role="staff", invited_by=w.agency_admin),
    "organization": lambda w: model("market.Organization").objects.create(
        kind="owner", name=f"待核验业主{next(_seq)}", uscc=next_uscc("440104", "11"), region=region()),
    "breach": breach_row,
    "appeal": lambda w: model("credit.Appeal").objects.create(breach=breach_row(w), lodged_by=w.agency_admin,
                                                              reason="申诉理由"),
    "repair": lambda w: model("credit.RepairRequest").objects.create(breach=breach_row(w), lodged_by=w.agency_admin,
                                                                     evidence="整改证明"),
    "contract": contract_row,
    "delivery": lambda w: model("market.DeliveryRound").objects.create(
        contract=contract_row(w), number=1, note="成果", submitted_by=w.agency_admin, submitted_at=w.now,
        review_deadline=w.now + dt.timedelta(days=7)),
    "extension": lambda w: model("market.ExtensionRequest").objects.create(
        contract=contract_row(w), days=10, reason="天气原因", requested_by=w.agency_admin, requested_at=w.now),
    "evaluation": lambda w: model("market.Evaluation").objects.create(
        contract=contract_row(w), agency=w.agency, quality=5, timeliness=5, attitude=5, fee_compliance=5, conduct=5,
        comment="好", submitted_by=w.owner_admin, submitted_at=w.now),
    "payment": lambda w: statemachine.machine("payment").model_class.objects.create(
        contract=contract_row(w), intent_id=f"pi_test_{uuid.uuid4().hex}", client_secret="secret", amount_fen=500_000,
        capture_method="manual", created_at=w.now, updated_at=w.now),
}


# --- guards: (make it pass, make it refuse) ------------------------------------------------------------------


def _agency_complete(agency, w: World) -> None:
    save(agency.organization, legal_representative="王五", contact_name="赵六", contact_phone="13900000000")
    agency.licence_files.create(kind="business_licence", file="agencies/test/licence.pdf", original_name="licence.pdf")
    if not agency.offered_items.exists():
        agency.offered_items.create(service_item=w.item, fee_quote="按标准收费")


def _objection(agency, status: str) -> None:
    agency.objections.create(contact_name="李四", reason="异议", status=status)


def _bidding(bid, deadline) -> None:
    save(bid.request, status="published", bid_deadline=deadline, selection_time=deadline)


def _arrangements() -> dict:
    from agencies import states as agency_states
    from bids import states as bid_states
    from market.contracts import states as contract_states
    from market.requests import states as request_states
    from supervision import states as supervision_states

    past, future = dt.timedelta(seconds=-1), dt.timedelta(days=1)
    return {
        request_states.publicity_over: (
            lambda r, w: save(r, publicity_ends_at=w.now + past),
            lambda r, w: save(r, publicity_ends_at=w.now + future)),
        request_states.no_open_objection: (
            lambda r, w: r.result_objections.filter(status="open").delete(),
            lambda r, w: result_objection_row(w, request=r)),
        bid_states.bidding_open: (
            lambda b, w: _bidding(b, w.now + future),
            lambda b, w: _bidding(b, w.now + past)),
        supervision_states.draw_time_come: (
            lambda p, w: save(p, draw_at=w.now + past),
            lambda p, w: save(p, draw_at=w.now + future)),
        supervision_states.every_result_entered: (
            lambda p, w: p.inspections.all().delete(),
            lambda p, w: p.inspections.create(agency=w.agency, rank=1, ticket="t")),
        agency_states.complete: (
            _agency_complete,
            lambda a, w: a.licence_files.all().delete()),
        agency_states.publicity_over: (
            lambda a, w: save(a, publicity_ends_at=w.now + past),
            lambda a, w: save(a, publicity_ends_at=w.now + future)),
        agency_states.no_open_objection: (
            lambda a, w: a.objections.filter(status="open").delete(),
            lambda a, w: _objection(a, "open")),
        agency_states.objection_upheld: (
            lambda a, w: (save(a, publicity_started_at=w.now - future), _objection(a, "upheld")),
            lambda a, w: a.objections.filter(status="upheld").delete()),
        agency_states.was_active: (
            lambda a, w: save(a, activated_at=w.now - future),
            lambda a, w: save(a, activated_at=None)),
        contract_states.both_signed: (
            lambda c, w: save(c, owner_confirmed_at=w.now, agency_confirmed_at=w.now),
            lambda c, w: save(c, owner_confirmed_at=None)),
        contract_states.in_review_period: (
            lambda d, w: save(d, review_deadline=w.now + future),
            lambda d, w: save(d, review_deadline=w.now + past)),
    }


_ARRANGE: dict | None = None


def arrangements() -> dict:
    global _ARRANGE
    if _ARRANGE is None:
        _ARRANGE = _arrangements()
    return _ARRANGE


def every_guard() -> set:
    return {g for m in statemachine.machines() for move in m.moves for g in move.guards}
