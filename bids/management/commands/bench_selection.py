"""Benchmark: selection time for 10, 1,000 and 10,000 bids, and bid-submission throughput.

Builds its data in bulk, measures, and removes it again (everything it makes is deleted at the end).
Target: selection under 1 s at 10,000 bids; submission above 200 bids per second.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time

from django.core.management.base import BaseCommand
from django.db import connections, transaction
from django.utils import timezone

from agencies.models import Agency, AgencyStatus, Qualification
from market.core import draw
from bids import services
from bids.models import Bid, SelectionRun
from market.accounts import services as market_services
from market.core.models import AuditEvent
from market.accounts.models import Membership, Organization, Region, User
from market.catalogue.models import ServiceItem
from market.requests.models import RequestStatus, ServiceRequest
from market.accounts.permissions import grant_role_permissions
from market.core.uscc import make_uscc

PREFIX = "BENCH"


class Command(BaseCommand):
    help = "Print selection time for 10, 1,000 and 10,000 bids and bid-submission throughput."

    def add_arguments(self, parser):
        parser.add_argument("--sizes", default="10,1000,10000")
        parser.add_argument("--submissions", type=int, default=400, help="bids to submit for the throughput figure")
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, sizes, submissions, threads, repeat, **options):
        sizes = [int(s) for s in sizes.split(",")]
        item = ServiceItem.objects.filter(qualification_types__isnull=False).distinct().first()
        region = Region.objects.filter(level="county").first()
        owner_user = User.objects.create_user(username=f"{PREFIX.lower()}_owner_{int(time.time())}", password=None)
        owner = Organization.objects.create(kind="owner", name=f"{PREFIX} 业主", uscc=make_uscc(f"11440000{int(time.time()) % 10**9:09d}"),
                                            region=region, status="verified")
        Membership.objects.create(user=owner_user, organization=owner, role="admin")
        agencies = self._agencies(max(max(sizes), submissions), item, region)
        try:
            self.stdout.write(f"{'bids':>8} {'method':>10} {'median s':>10} {'max s':>8}")
            for n in sizes:
                for method in ("lowest", "reference", "random"):
                    times = []
                    for _ in range(repeat):
                        request = self._request(owner, owner_user, item, region, method, closed=True)
                        self._bids(request, agencies[:n])
                        t0 = time.perf_counter()
                        with transaction.atomic():
                            locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
                            run = services._perform_selection(request=locked, actor=None, now=timezone.now(),
                                                              excluded_bid_ids={})
                        times.append(time.perf_counter() - t0)
                        assert run.outcome == SelectionRun.Outcome.SELECTED, run.published.get("failed_reason")
                    self.stdout.write(f"{n:>8} {method:>10} {statistics.median(times):>10.3f} {max(times):>8.3f}")
            self._throughput(owner, owner_user, item, region, agencies[:submissions], threads)
        finally:
            self._cleanup(owner, agencies)

    def _agencies(self, n, item, region):
        stamp = int(time.time()) % 10**6
        users = User.objects.bulk_create([User(username=f"{PREFIX.lower()}_{stamp}_{i}", password="!") for i in range(n)])
        orgs = Organization.objects.bulk_create([
            Organization(kind="agency", name=f"{PREFIX} 中介 {i}", uscc=make_uscc(f"91{region.code}{(stamp % 10**4) * 10**5 + i:09d}"),
                         region=region, status="verified") for i in range(n)])
        agencies = Agency.objects.bulk_create([Agency(organization=o, status=AgencyStatus.ACTIVE) for o in orgs])
        today = timezone.localdate()
        qtypes = list(item.qualification_types.all())
        Qualification.objects.bulk_create([
            Qualification(agency=a, qualification_type=qt, certificate_number=f"B{a.pk}", issuer="bench",
                          valid_from=today - dt.timedelta(days=10), valid_to=today + dt.timedelta(days=300))
            for a in agencies for qt in qtypes], batch_size=2000)
        memberships = Membership.objects.bulk_create([Membership(user=u, organization=o, role="admin")
                                                      for u, o in zip(users, orgs)])
        self._users = {a.pk: u for a, u in zip(agencies, users)}
        self._memberships = memberships
        return agencies

    def _request(self, owner, user, item, region, method, closed):
        now = timezone.now()
        deadline = now - dt.timedelta(seconds=1) if closed else now + dt.timedelta(hours=1)
        secret = draw.new_secret()
        return ServiceRequest.objects.create(
            owner=owner, created_by=user, project_name=f"{PREFIX} {method}", service_item=item, region=region,
            fiscal_share=0, social_share=100, budget_fen=10**10, service_term_days=30, selection_method=method,
            bid_deadline=deadline, selection_time=deadline, contact_name="bench", contact_phone="0",
            status=RequestStatus.PUBLISHED, secret=secret, commitment=draw.commitment_of(secret), published_at=now)

    def _bids(self, request, agencies):
        now = timezone.now()
        Bid.objects.bulk_create([
            Bid(request=request, agency=a, price_fen=1_000_000 + (i * 7919) % 500_000, nonce=draw.new_nonce(),
                content_hash="0" * 64, submitted_at=now, updated_at=now) for i, a in enumerate(agencies)], batch_size=2000)

    def _throughput(self, owner, owner_user, item, region, agencies, threads):
        for m in self._memberships[: len(agencies)]:
            grant_role_permissions(membership=m)
        request = self._request(owner, owner_user, item, region, "lowest", closed=False)
        chunks = [agencies[i::threads] for i in range(threads)]
        errors = []

        def worker(chunk):
            try:
                for a in chunk:
                    services.bid_submit(actor=self._users[a.pk], request=request, agency=a, price_fen=1_000_000)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        t0 = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        stored = Bid.objects.filter(request=request).count()
        self.stdout.write(f"bid submission: {stored} bids in {elapsed:.2f} s with {threads} threads = "
                          f"{stored / elapsed:.0f} bids/s ({connections['default'].vendor}); errors: {len(errors)}")

    def _cleanup(self, owner, agencies):
        bench_requests = ServiceRequest.objects.filter(owner=owner)
        with transaction.atomic():
            SelectionRun.objects.filter(request__in=bench_requests).delete()
            Bid.objects.filter(request__in=bench_requests).delete()
            bench_requests.delete()
            org_ids = [a.organization_id for a in agencies]
            Qualification.objects.filter(agency__in=agencies).delete()
            Agency.objects.filter(pk__in=[a.pk for a in agencies]).delete()
            user_ids = list(Membership.objects.filter(organization_id__in=org_ids + [owner.pk]).values_list("user_id", flat=True))
            Membership.objects.filter(organization_id__in=org_ids + [owner.pk]).delete()
            from market.accounts.models import OrganizationUserObjectPermission

            OrganizationUserObjectPermission.objects.filter(content_object_id__in=org_ids).delete()
            Organization.objects.filter(pk__in=org_ids + [owner.pk]).delete()
            User.objects.filter(pk__in=user_ids).delete()
        self.stdout.write("bench data removed (audit events of the submissions remain in the chain)")
