"""Demo contracts, built through the contract services while the server clock replays each one's
history (as bids.demo does for requests), so that audit events and open-data releases follow.

1. Every awarded request without a contract gets one drafted at its award, as process_deadlines
   would, and moves on as far as its dates allow: signed, delivered, accepted, evaluated and closed
   with the payment settled offline.
2. Then, for each state a demo has to show that is still missing, a request is built and awarded
   through the same services with dates that fit it: a contract awaiting signatures, one in service,
   one delivered awaiting acceptance, one accepted, paid offline and evaluated, and one overdue.
   The owner is `owner1` and the winner `agency1` where they can take part (the overdue one goes to
   another agency), so the demo accounts see them on their desks.

Idempotent: a re-run finds every awarded request contracted and every state present, and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from agencies.demo import DEMO_PDF
from agencies.models import Agency
from bids import services as bid_services
from bids.demo import _admin, biddable_items
from bids.demo import server_time as _server_time
from market.contracts import services
from market.contracts.models import Contract, ContractStatus, DeliveryStatus
from market.demo.names import PROJECTS
from market.accounts.models import Organization
from market.requests.models import RequestStatus, ServiceRequest
from market.requests.services import min_bidding_window, request_create, request_publish
from market.calendar.workdays import period_end

_real_now = timezone.now
C = ContractStatus

# The states every demo shows, in the order they are made.
REQUIRED = ("closed", "overdue", "delivered", "in_service", "drafted")
# For the other awarded requests: how often each state is chosen, among those their dates allow.
WEIGHTS = {"closed": 5, "delivered": 2, "in_service": 3, "drafted": 1}

DELIVERY_NOTES = ["提交正式成果报告及附图，请审查。", "按合同约定提交服务成果，含技术报告和电子数据。",
                  "成果已按审批部门意见修改完善，现正式提交。"]
RETURN_REASONS = ["成果报告缺少现场踏勘照片和坐标成果表，请补充。", "部分数据与审批要求不一致，请核实后重新提交。"]
COMMENTS = ["服务规范，按期提交成果，沟通顺畅。", "技术力量较强，成果质量较好，个别环节响应稍慢。",
            "收费符合约定标准，现场配合积极。", ""]


def server_time(moment: dt.datetime):
    """bids.demo.server_time in UTC, as the database gives times back (the audit chain hashes them)."""
    return _server_time(moment.astimezone(dt.timezone.utc))


def _present(now: dt.datetime) -> set[str]:
    """Which of the REQUIRED states some contract is in now."""
    found = set()
    if Contract.objects.filter(status=C.DRAFTED, confirm_deadline__gt=now).exists():
        found.add("drafted")
    if Contract.objects.filter(status=C.IN_SERVICE, due_at__gt=now).exists():
        found.add("in_service")
    if Contract.objects.filter(status=C.IN_SERVICE, due_at__lte=now).exists():
        found.add("overdue")
    if Contract.objects.filter(status=C.DELIVERED, delivery_rounds__status=DeliveryStatus.PENDING,
                               delivery_rounds__review_deadline__gt=now).exists():
        found.add("delivered")
    if Contract.objects.filter(status=C.CLOSED, evaluation__isnull=False).exists():
        found.add("closed")
    return found


# --- the dates of one contract --------------------------------------------------------------------------------


def _sign_time(awarded_at: dt.datetime) -> dt.datetime:
    return awarded_at + dt.timedelta(hours=3)


def _feasible(awarded_at: dt.datetime, term_days: int, now: dt.datetime) -> set[str]:
    """The states a contract awarded at `awarded_at` can honestly be in at `now`."""
    states = set()
    if services.confirm_deadline_from(awarded_at) > now + dt.timedelta(hours=1):
        states.add("drafted")
    signed = _sign_time(awarded_at)
    if signed + dt.timedelta(hours=1) > now:
        return states
    due = services._term_end(signed, term_days)
    breach_from = services.overrun_breach_at(due)
    if due > now:
        states.add("in_service")
    elif due <= now - dt.timedelta(hours=12) and now < breach_from:
        states.add("overdue")  # late, but not yet by as much as makes a breach
    if now < breach_from:  # delivered lately: late perhaps, but before an overrun became a breach
        states.add("delivered")
    if signed + dt.timedelta(hours=8) < now:
        states.add("closed")
    return states


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, DEMO_PDF, content_type="application/pdf")


def _play(*, rng: random.Random, request: ServiceRequest, target: str, now: dt.datetime, admins: dict) -> Contract:
    """Draft the contract at the award and replay its life up to `target`, each step at its own time."""
    awarded_at = request.awarded_at or request.publicity_ends_at
    with server_time(awarded_at):
        contract = services.contract_draft(request=request)
    owner = _admin(contract.owner_id, admins)
    agency = _admin(contract.agency.organization_id, admins)
    signed = _sign_time(awarded_at)
    if target == "drafted":
        if signed < now:  # the agency has signed; the owner has yet to
            with server_time(signed):
                services.contract_confirm(actor=agency, contract=contract, side=services.AGENCY)
        return contract
    with server_time(signed - dt.timedelta(hours=1)):
        services.contract_confirm(actor=agency, contract=contract, side=services.AGENCY)
    with server_time(signed):
        services.contract_confirm(actor=owner, contract=contract, side=services.OWNER)
    contract.refresh_from_db()
    if target in ("in_service", "overdue"):
        return contract
    if target == "delivered":
        delivered = max(signed + dt.timedelta(hours=1), now - dt.timedelta(hours=rng.randint(2, 30)))
        with server_time(delivered):
            services.deliverable_upload(actor=agency, contract=contract, note=rng.choice(DELIVERY_NOTES),
                                        files=[_pdf("服务成果报告.pdf")])
        return contract
    # Closed: delivered before the due date (once returned for changes, now and then), accepted,
    # evaluated, and closed by the owner once paid off the platform.
    end = min(contract.due_at, now - dt.timedelta(hours=4))
    span = end - signed
    delivered = signed + span * rng.uniform(0.4, 0.7)
    with server_time(delivered):
        delivery = services.deliverable_upload(actor=agency, contract=contract, note=rng.choice(DELIVERY_NOTES),
                                               files=[_pdf("服务成果报告.pdf"), _pdf("附图.pdf")])
    if rng.random() < 0.3:
        with server_time(delivered + span * 0.1):
            services.deliverable_return(actor=owner, delivery_round=delivery, reason=rng.choice(RETURN_REASONS))
        delivered = delivered + span * 0.2
        with server_time(delivered):
            delivery = services.deliverable_upload(actor=agency, contract=contract, note="已按意见补充完善，重新提交。",
                                                   files=[_pdf("服务成果报告（修改稿）.pdf")])
    accepted = delivered + min(span * 0.1, dt.timedelta(days=2))
    with server_time(accepted):
        services.deliverable_accept(actor=owner, delivery_round=delivery)
    contract.refresh_from_db()
    scores = {name: rng.choice([3, 4, 4, 5, 5]) for name in ("quality", "timeliness", "attitude", "fee_compliance",
                                                             "conduct")}
    with server_time(accepted + dt.timedelta(minutes=30)):
        services.evaluation_submit(actor=owner, contract=contract, scores=scores, comment=rng.choice(COMMENTS))
    with server_time(accepted + dt.timedelta(hours=1)):
        try:
            services.contract_close(actor=owner, contract=contract, reason="合同价款已线下支付")
        except ValidationError:  # Stripe is configured: the contract stays accepted until paid through it
            pass
    contract.refresh_from_db()
    return contract


# --- requests built for a missing state -------------------------------------------------------------------


def _award_time(deadline: dt.datetime) -> dt.datetime:
    """When a request with this bid deadline is awarded: the result publicity after its selection."""
    selected = deadline + dt.timedelta(minutes=31)
    return period_end(selected, working_days=settings.MARKET["RESULT_PUBLICITY_WORKING_DAYS"],
                      override_seconds=settings.MARKET["RESULT_PUBLICITY_SECONDS"])


def _deadline_for(target: str, term_days: int, now: dt.datetime) -> dt.datetime | None:
    """The most recent bid deadline (on the hour) whose award leaves room for `target`."""
    base = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    for hours_back in range(24, 24 * 200, 6):
        deadline = base - dt.timedelta(hours=hours_back)
        awarded_at = _award_time(deadline)
        if awarded_at >= now - dt.timedelta(hours=1):
            continue
        if target in _feasible(awarded_at, term_days, now):
            return deadline
    return None


def _build_request(*, rng: random.Random, target: str, now: dt.datetime, admins: dict, agency_orgs: dict,
                   items: list, owner: Organization, star: Agency | None) -> ServiceRequest | None:
    """An awarded request (lowest price, state funds, three bids) whose dates fit `target`."""
    term_days = 15 if target == "overdue" else rng.choice([30, 45, 60])
    deadline = _deadline_for(target, term_days, now)
    if deadline is None:
        return None
    # The lowest price wins: agency1, if it can bid for some item, bids first and lowest — except for
    # the overdue contract, where it bids last and highest.
    with_star = [entry for entry in items if star is not None and star.pk in entry[2]]
    item, _types, pool = rng.choice(with_star if with_star and target != "overdue" else items)
    others = [a for a in pool if star is None or a != star.pk]
    rng.shuffle(others)
    if star is not None and star.pk in pool:
        bidders = others + [star.pk] if target == "overdue" else [star.pk] + others
    else:
        bidders = others
    owner_admin = _admin(owner.pk, admins)
    budget = item.fee_cap_fen or rng.choice([80, 150, 300, 500]) * 1_000_00
    published_at = deadline - min_bidding_window() - dt.timedelta(hours=2)
    with transaction.atomic():
        with server_time(published_at - dt.timedelta(hours=1)):
            request = request_create(
                actor=owner_admin, owner=owner, required_qualifications=list(item.qualification_types.all()),
                project_name=f"{rng.choice(PROJECTS)}{item.name}", service_item=item, fiscal_share=100, social_share=0,
                budget_fen=budget, service_term_days=term_days, selection_method="lowest", bid_deadline=deadline,
                selection_time=deadline + dt.timedelta(minutes=30), contact_name="项目联系人",
                contact_phone="020-87654321", description="按国家和省相关技术规范完成服务，提交成果并配合审批部门审查。")
        with server_time(published_at):
            request = request_publish(actor=owner_admin, request=request)
        made = 0
        for n, agency_id in enumerate(bidders):
            if made == 3:
                break
            agency = Agency.objects.select_related("organization").get(pk=agency_id)
            # Between publication and the deadline, however short the bidding window is (demos shorten it).
            with server_time(published_at + (deadline - published_at) * (0.5 + 0.1 * n)):
                try:
                    bid_services.bid_submit(actor=_admin(agency_orgs[agency_id], admins), request=request,
                                            agency=agency, price_fen=int(budget * (0.80 + 0.05 * made)),
                                            proposal="我司具备相应资质和类似项目经验，承诺按期保质完成。")
                    made += 1
                except bid_services.BidRefused:
                    continue
        if made < 3:
            transaction.set_rollback(True)
            return None
        with server_time(deadline + dt.timedelta(minutes=31)):
            bid_services.selection_run(actor=owner_admin, request=request)
        request.refresh_from_db()
        if request.status != RequestStatus.PUBLICITY or request.publicity_ends_at > now:
            transaction.set_rollback(True)
            return None
        with server_time(request.publicity_ends_at):
            locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
            bid_services.request_award_if_due(request=locked, now=request.publicity_ends_at)
    request.refresh_from_db()
    return request


# --- the step ------------------------------------------------------------------------------------------------


def seed(*, rng: random.Random, options: dict, progress) -> dict:
    now = _real_now()
    admins: dict[int, object] = {}
    made: dict[str, int] = {}
    missing = [s for s in REQUIRED if s not in _present(now)]

    def play(request: ServiceRequest, target: str) -> bool:
        try:
            with transaction.atomic():
                _play(rng=rng, request=request, target=target, now=now, admins=admins)
        except (ValidationError, PermissionDenied) as exc:  # keep going: demo data, not a test
            progress(f"contract of request {request.pk}: skipped ({exc})")
            return False
        made[target] = made.get(target, 0) + 1
        if target in missing:
            missing.remove(target)
        return True

    # 1. The awarded requests of the demo, contracted as their dates allow.
    awarded = list(ServiceRequest.objects.filter(status=RequestStatus.AWARDED, contracts__isnull=True)
                   .select_related("service_item", "owner").order_by("pk"))
    for request in progress.iter(awarded, "contracts"):
        feasible = _feasible(request.awarded_at or request.publicity_ends_at, request.service_term_days, now)
        wanted = [s for s in missing if s in feasible]
        choices = [s for s in WEIGHTS if s in feasible]
        if not (wanted or choices):
            continue
        target = wanted[0] if wanted else rng.choices(choices, weights=[WEIGHTS[s] for s in choices])[0]
        play(request, target)

    # 2. A request built for each state still missing.
    if missing:
        items = biddable_items()
        owner = (Organization.objects.filter(memberships__user__username="owner1", kind=Organization.Kind.OWNER,
                                             status=Organization.Status.VERIFIED).first()
                 or Organization.objects.filter(kind=Organization.Kind.OWNER, status=Organization.Status.VERIFIED)
                 .order_by("pk").first())
        star = Agency.objects.filter(organization__memberships__user__username="agency1").first()
        agency_orgs = dict(Agency.objects.values_list("pk", "organization_id"))
        for target in list(missing):
            if not items or owner is None:
                break
            try:
                request = _build_request(rng=rng, target=target, now=now, admins=admins, agency_orgs=agency_orgs,
                                         items=items, owner=owner, star=star)
            except (ValidationError, PermissionDenied) as exc:
                progress(f"request for a {target} contract: skipped ({exc})")
                continue
            if request is None:
                progress(f"no request could be built for a {target} contract")
                continue
            play(request, target)
    return {"contracts": Contract.objects.count(), "created": made, "missing": missing}
