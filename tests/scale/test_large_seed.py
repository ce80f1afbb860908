"""seed_demo --scale large: bulk COPY of owners, agencies, requests, bids, selection results and
OCDS releases, at a size a test can afford; the rows must be what the services would have made."""

import json
import random
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from agencies.models import Agency, AgencyServiceItem, AgencyStatus, Qualification
from market.core import draw
from bids import services
from bids.models import Bid, BidStatus, SelectionRun
from market.core.audit import audit_verify
from market.demo.large import PROPOSALS, fast_content_hash
from market.accounts.models import Membership, Organization, User
from market.requests.models import RequestStatus, ServiceRequest
from market.opendata.ocds import build_release
from market.opendata.models import OcdsRelease
from market.accounts.permissions import can_act_for
from market.core.uscc import is_valid_uscc, make_uscc

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("restore_reference_data", "reference_data_tx"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)"),
]

SIZES = {"owners": 50, "agencies": 200, "requests": 1000, "bids": 5000}

SCHEMA = """
SELECT concat_ws(' ', con.conrelid::regclass::text, con.conname, con.contype::text, con.convalidated::text)
FROM pg_constraint con WHERE con.connamespace = 'public'::regnamespace
UNION ALL
SELECT concat_ws(' ', ix.indrelid::regclass::text, ix.indexrelid::regclass::text, ix.indisvalid::text, ix.indisunique::text)
FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid WHERE c.relnamespace = 'public'::regnamespace
ORDER BY 1"""


def _schema() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA)
        return [r[0] for r in cursor.fetchall()]


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", scale="large", quiet=True, stdout=out, **SIZES)
    return out.getvalue()


def test_large_seed_is_consistent_and_idempotent():
    before = _schema()
    _seed()

    # Volumes: owners, agencies and requests exactly; bids as many as qualified agencies allow (at this
    # tiny size early requests find few agencies registered before them).
    assert Organization.objects.filter(kind="owner").count() == SIZES["owners"]
    assert Agency.objects.count() == SIZES["agencies"]
    assert ServiceRequest.objects.count() == SIZES["requests"]
    n_bids = Bid.objects.count()
    assert SIZES["bids"] * 0.9 <= n_bids <= SIZES["bids"]

    # Indexes and constraints were dropped for the load and are all back, valid, under the same names.
    assert _schema() == before

    # Identity sequences are past the loaded ids: ordinary inserts work.
    user = User.objects.create_user(username="after_seed", password="x")
    org = Organization.objects.create(kind="owner", name="之后", uscc=make_uscc("91440101MA5D00000"), region_id="440103")
    Membership.objects.create(user=user, organization=org, role="admin")

    # Owners and agencies: valid USCCs, an administrator who may act for the organization.
    assert all(is_valid_uscc(u) for u in Organization.objects.exclude(pk=org.pk).values_list("uscc", flat=True))
    owner_user = User.objects.get(username="owner1")
    assert owner_user.check_password("Demo@2026!")
    assert can_act_for(owner_user, Organization.objects.get(memberships__user=owner_user))
    agency = Agency.objects.filter(status=AgencyStatus.ACTIVE).select_related("organization").first()
    assert can_act_for(agency.created_by, agency.organization)
    statuses = Counter(Agency.objects.values_list("status", flat=True))
    assert statuses[AgencyStatus.ACTIVE] > 0.8 * SIZES["agencies"]
    for a in Agency.objects.prefetch_related("offered_items__service_item__qualification_types", "qualifications")[:100]:
        offers = list(a.offered_items.all())
        assert 1 <= len(offers) <= 4
        held = {q.qualification_type_id for q in a.qualifications.all() if q.is_valid_on(timezone.localdate())}
        for offer in offers:
            required = {t.pk for t in offer.service_item.qualification_types.all()}
            assert not required or required & held

    # Requests in every state, the old ones decided, some still open.
    by_status = Counter(ServiceRequest.objects.values_list("status", flat=True))
    assert by_status.most_common(1)[0][0] == RequestStatus.AWARDED
    assert by_status[RequestStatus.FAILED] and by_status[RequestStatus.CANCELLED] and by_status[RequestStatus.DRAFT]
    now = timezone.now()
    assert ServiceRequest.objects.filter(status=RequestStatus.PUBLISHED, bid_deadline__gt=now).exists()
    assert not ServiceRequest.objects.exclude(status=RequestStatus.DRAFT).filter(commitment="").exists()
    for sr in ServiceRequest.objects.exclude(status=RequestStatus.DRAFT)[:200]:
        assert draw.commitment_of(sr.secret) == sr.commitment

    # Bids: at most 15 per request, one active bid per agency and request, by active agencies offering
    # the item, between publication and the deadline, with the service's content hash.
    per_request = Counter(Bid.objects.values_list("request_id", flat=True))
    assert max(per_request.values()) <= 15
    active_pairs = Counter(Bid.objects.filter(status=BidStatus.ACTIVE).values_list("request_id", "agency_id"))
    assert max(active_pairs.values()) == 1
    assert Bid.objects.filter(status=BidStatus.WITHDRAWN).count() < n_bids * 0.05
    offered = set(AgencyServiceItem.objects.values_list("agency_id", "service_item_id"))
    for bid in Bid.objects.select_related("request", "agency").order_by("?")[:300]:
        assert bid.agency.status == AgencyStatus.ACTIVE
        assert (bid.agency_id, bid.request.service_item_id) in offered
        assert bid.request.published_at < bid.submitted_at < bid.request.bid_deadline
        assert bid.content_hash == services.content_hash(
            request_id=bid.request_id, agency_id=bid.agency_id, price_fen=bid.price_fen, discount_bp=bid.discount_bp,
            nonce=bid.nonce, proposal=bid.proposal)
        assert bid.price_fen <= bid.request.budget_fen

    # Every published selection verifies; verify_selection says so for a selected one.
    runs = list(SelectionRun.objects.select_related("request"))
    assert runs and all(draw.verify(r.published) == [] for r in runs)
    decided = {RequestStatus.AWARDED, RequestStatus.PUBLICITY, RequestStatus.FAILED}
    assert {r.request_id for r in runs} == set(ServiceRequest.objects.filter(status__in=decided).values_list("pk", flat=True))
    selected = next(r for r in runs if r.outcome == SelectionRun.Outcome.SELECTED)
    out = StringIO()
    call_command("verify_selection", selected.request_id, stdout=out)
    assert "matches" in out.getvalue()

    # …and is exactly what the selection service publishes for the same bids at the same moment.
    rng = random.Random(5)
    for run in rng.sample(runs, 40):
        stored = run.published
        try:
            with transaction.atomic():
                ServiceRequest.objects.filter(pk=run.request_id).update(status=RequestStatus.PUBLISHED,
                                                                         publicity_ends_at=None, awarded_at=None)
                SelectionRun.objects.filter(pk=run.pk).delete()
                request = ServiceRequest.objects.select_for_update().get(pk=run.request_id)
                direct = ({"direct_bid_id": stored["winner_bid_id"], "direct_reason": stored["direct_reason"]}
                          if stored["method"] == "direct" and stored["outcome"] == "selected" else {})
                again = services._perform_selection(request=request, actor=None, now=run.created_at,
                                                    excluded_bid_ids={}, **direct)
                assert again.published == stored
                request.refresh_from_db()
                assert request.publicity_ends_at == run.request.publicity_ends_at
                raise RuntimeError("roll back")
        except RuntimeError as exc:
            assert str(exc) == "roll back"

    # OCDS: the latest release of each recent request is what build_release makes of it.
    latest = {}
    for release in OcdsRelease.objects.order_by("date", "pk"):
        latest[release.request_id] = release
    assert latest
    for request_id, release in latest.items():
        request = ServiceRequest.objects.select_related("owner", "service_item").get(pk=request_id)
        sequence = OcdsRelease.objects.filter(request_id=request_id).count()
        built = build_release(request=request, tags=release.tags, now=release.date, sequence=sequence)
        assert json.loads(json.dumps(built)) == release.data

    assert audit_verify() is None

    # Idempotent: the volume exists, a second run adds nothing.
    counts = (ServiceRequest.objects.count(), Bid.objects.count(), Agency.objects.count(), User.objects.count())
    _seed()
    assert (ServiceRequest.objects.count(), Bid.objects.count(), Agency.objects.count(),
            User.objects.count()) == counts


def test_fast_content_hash_is_the_services_hash():
    for k, proposal in enumerate(PROPOSALS):
        assert fast_content_hash(7, 11, 123_400, "0f" * 16, k) == services.content_hash(
            request_id=7, agency_id=11, price_fen=123_400, discount_bp=None, nonce="0f" * 16, proposal=proposal)


