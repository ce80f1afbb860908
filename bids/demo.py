"""Demo requests in every state with bids, built through the real services while the server
clock is moved through each request's history (publication, bids, selection, publicity, award)."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from unittest import mock

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agencies.models import Agency, AgencyStatus, Qualification
from market.requests import services as request_services
from market.demo.names import PROJECTS
from market.accounts.models import Membership, Organization
from market.catalogue.models import ServiceItem
from market.requests.models import RequestStatus, ServiceRequest

from . import services
from .models import Bid

_real_now = timezone.now
STATES = [("draft", 8), ("open", 30), ("closed", 8), ("publicity", 18), ("awarded", 18), ("failed", 10), ("cancelled", 8)]
METHODS = [("random", 30), ("lowest", 25), ("reference", 25), ("weighted", 15), ("direct", 5)]


@contextlib.contextmanager
def server_time(moment: dt.datetime):
    """Replay history: timezone.now() answers `moment` inside the block."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _weighted(rng: random.Random, pairs):
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _admin(org_id: int, cache: dict):
    if org_id not in cache:
        cache[org_id] = Membership.objects.filter(organization_id=org_id, role="admin").select_related("user").first().user
    return cache[org_id]


def biddable_items() -> list[tuple[ServiceItem, list[int], list[int]]]:
    """(item, its qualification type ids, ids of the active agencies holding a certificate of one of
    them valid today) for every item at least three such agencies can bid for."""
    today = timezone.localdate()
    valid = (Qualification.objects.filter(agency__status=AgencyStatus.ACTIVE, valid_from__lte=today, valid_to__gte=today)
             .values_list("qualification_type_id", "agency_id"))
    holders: dict[int, set[int]] = {}
    for qt, agency_id in valid:
        holders.setdefault(qt, set()).add(agency_id)
    items = []
    for item in ServiceItem.objects.filter(is_active=True).prefetch_related("qualification_types"):
        types = [q.pk for q in item.qualification_types.all()]
        pool = set().union(*(holders.get(t, set()) for t in types)) if types else set()
        if len(pool) >= 3:
            items.append((item, types, sorted(pool)))
    return items


def seed(*, rng: random.Random, options: dict, progress) -> dict:
    wanted = options.get("requests", 60)
    have = ServiceRequest.objects.count()
    if have >= wanted:
        return {"requests": have, "created": 0}
    owners = list(Organization.objects.filter(kind=Organization.Kind.OWNER, status=Organization.Status.VERIFIED).order_by("pk"))
    if not owners:
        return {"requests": have, "created": 0}
    items = biddable_items()
    if not items:
        return {"requests": have, "created": 0}
    agency_orgs = dict(Agency.objects.values_list("pk", "organization_id"))
    admins: dict[int, object] = {}
    window = dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"])
    created = 0
    now = _real_now()
    for i in progress.iter(range(have, wanted), "requests"):
        item, types, pool = items[rng.randrange(len(items))]
        owner = owners[rng.randrange(len(owners))]
        owner_admin = _admin(owner.pk, admins)
        state = _weighted(rng, STATES)
        method = _weighted(rng, METHODS)
        social = method == "direct" or rng.random() < 0.25
        budget = item.fee_cap_fen if item.fee_cap_fen else rng.choice([80, 150, 300, 500, 1200]) * 1_000_00
        if state in ("draft", "open", "cancelled"):
            deadline = now + dt.timedelta(hours=rng.randint(20, 120))
        elif state in ("closed", "publicity"):
            deadline = now - dt.timedelta(hours=rng.randint(2, 20))
        else:
            deadline = now - dt.timedelta(days=rng.randint(10, 40))
        published_at = deadline - window - dt.timedelta(hours=rng.randint(1, 48))
        selection_time = now + dt.timedelta(days=2) if state == "closed" else deadline + dt.timedelta(minutes=30)
        fields = dict(
            project_name=f"{rng.choice(PROJECTS)}{item.name}",
            service_item=item, fiscal_share=0 if social else 100, social_share=100 if social else 0,
            budget_fen=budget, service_term_days=rng.choice([15, 30, 45, 60, 90]), selection_method=method,
            bid_deadline=deadline, selection_time=selection_time, contact_name="项目联系人", contact_phone="020-8888" + f"{i:04d}"[-4:],
            description="按国家和省相关技术规范完成服务，提交成果并配合审批部门审查。",
        )
        if method == "weighted":
            fields.update(price_weight=40, quality_criteria=[{"name": "技术方案", "weight": 40}, {"name": "类似业绩", "weight": 20}])
        if method == "direct":
            fields["direct_exemption"] = ""
        try:
            with transaction.atomic():
                with server_time(published_at - dt.timedelta(hours=1)):
                    quals = list(item.qualification_types.all())
                    request = request_services.request_create(actor=owner_admin, owner=owner, required_qualifications=quals,
                                                              **fields)
                if state == "draft":
                    created += 1
                    continue
                with server_time(published_at):
                    request = request_services.request_publish(actor=owner_admin, request=request)
                if state == "cancelled":
                    with server_time(min(published_at + dt.timedelta(hours=5), deadline - dt.timedelta(minutes=10))):
                        request_services.request_cancel(actor=owner_admin, request=request, reason="项目规划调整，暂停实施")
                    created += 1
                    continue
                n_bids = {"open": rng.randint(0, 3), "failed": rng.randint(0, 2) if not social else 0}.get(state, rng.randint(3, 7))
                bidders = rng.sample(pool, min(n_bids, len(pool)))
                bid_time = min(published_at + dt.timedelta(hours=6), deadline - dt.timedelta(minutes=5))
                made = []
                for agency_id in bidders:
                    agency = Agency.objects.select_related("organization").get(pk=agency_id)
                    with server_time(bid_time):
                        try:
                            made.append(services.bid_submit(
                                actor=_admin(agency_orgs[agency_id], admins), request=request, agency=agency,
                                price_fen=int(budget * rng.uniform(0.7, 0.98)), proposal="我司具备相应资质和类似项目经验，承诺按期保质完成。"))
                        except services.BidRefused:
                            pass
                if state in ("open", "closed"):
                    created += 1
                    continue
                at = selection_time + dt.timedelta(minutes=1)
                with server_time(at):
                    if method == "weighted" and len(made) >= request.effective_min_bidders:
                        panel = services.evaluators_set(actor=owner_admin, request=request, names=["专家甲", "专家乙", "专家丙"])
                        for ev in panel:
                            for b in made:
                                services.quality_scores_submit(actor=owner_admin, evaluator=ev, bid=b, scores={
                                    "技术方案": rng.randint(20, 40), "类似业绩": rng.randint(8, 20)})
                    direct = {"direct_bid_id": made[0].pk, "direct_reason": "该机构具备本项目所需专项经验"} if method == "direct" and made else {}
                    services.selection_run(actor=owner_admin, request=request, **direct)
                request.refresh_from_db()
                if state == "awarded" and request.status == RequestStatus.PUBLICITY:
                    if request.publicity_ends_at <= now:
                        with server_time(request.publicity_ends_at):
                            locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
                            services.request_award_if_due(request=locked, now=request.publicity_ends_at)
            created += 1
        except (ValidationError, services.BidRefused) as exc:  # keep going: demo data, not a test
            progress(f"request {i}: skipped ({exc})")
    return {"requests": ServiceRequest.objects.count(), "created": created, "bids": Bid.objects.count()}
