"""Latency and throughput of the public pages and APIs, served by gunicorn on loopback.

    python manage.py bench [--requests 200] [--concurrency 4] [--workers N] [--url http://127.0.0.1:8000] [--only WORDS]

Starts gunicorn (2 × cores + 1 workers unless --workers) on a free loopback port against the
configured database, waits for /healthz/, and measures each endpoint with a bounded number of
requests from a small thread pool: median and 95th-percentile latency, requests per second, and the
ratio of the median to the floor's — /healthz/db/, a bare Django view doing one primary-key query,
on the same server in the same run. The SQL queries of each endpoint are counted once in-process
(django.test.Client + CaptureQueriesContext). With --url it measures a server that already runs
(its database must be the configured one: the fixtures are made here).

Fixtures: a request with at least 200 bids (an existing one, else one is made through the selection
service and kept, so later runs reuse it); for bid submission, an open request and API tokens for as
many distinct active agencies qualified for it as there are submissions — removed at the end (their
audit events stay in the chain, which is append-only).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BENCH_PROJECT = "性能基准：二百家报名的服务采购项目"
OPEN_PROJECT = "性能基准：报名吞吐量测试项目（测后删除）"


@dataclass
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    bodies: list[tuple[dict, bytes]] = field(default_factory=list)  # POST: (headers, body) per request
    expect: int = 200
    note: str = ""


@dataclass
class Result:
    endpoint: Endpoint
    latencies: list[float]
    seconds: float
    errors: int
    queries: int | None
    statuses: dict[int, int]
    cpu_ms: float | None = None  # gunicorn's CPU time per request (when this command started it)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p95_ms(self) -> float:
        if len(self.latencies) < 2:
            return self.median_ms
        return statistics.quantiles(self.latencies, n=20, method="inclusive")[18] * 1000

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def process_tree_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process and its children (Linux /proc), or None."""
    total, found = 0, False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving this project on loopback, production settings (DEBUG off)."""

    def __init__(self, workers: int, stdout):
        self.workers, self.stdout = workers, stdout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "DEBUG": "0"}
        env.setdefault("SECRET_KEY", secrets.token_hex(32))  # production settings refuse to start without a key
        for rate in ("API_ANON_RATE", "API_USER_RATE", "LOGIN_THROTTLE_RATE"):
            env.setdefault(rate, "")  # measure the code, not the throttles (one client address sends everything)
        env.setdefault("DB_CONN_MAX_AGE", "60")  # persistent connections, as in production
        cmd = [sys.executable, "-m", "gunicorn", "market.wsgi", "--workers", str(self.workers),
               "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "120"]
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,  # nosec B603
                                        cwd=str(_project_dir()))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn exited ({self.process.returncode}):\n{self._log_tail()}")
            try:
                status, _body = _get(self.url, "/healthz/", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise CommandError(f"gunicorn did not answer /healthz/ within 90 s:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as fh:
            return fh.read()[-3000:]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def _project_dir():
    from django.conf import settings

    return settings.BASE_DIR


def _request(base: str, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
             timeout: float = 60) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _get(base: str, path: str, timeout: float = 60) -> tuple[int, bytes]:
    return _request(base, "GET", path, timeout=timeout)


def measure(base: str, endpoint: Endpoint, n: int, concurrency: int, warmup: int) -> tuple[list[float], float, int, dict]:
    """n requests (after `warmup` unmeasured ones) from `concurrency` threads."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0

    def one(i: int, record: bool) -> None:
        nonlocal errors
        headers, body = endpoint.bodies[i] if endpoint.bodies else ({}, None)
        t0 = time.perf_counter()
        try:
            status, _ = _request(base, endpoint.method, endpoint.path, headers=headers, body=body)
        except OSError:
            status = 0
        elapsed = time.perf_counter() - t0
        with lock:
            statuses[status] = statuses.get(status, 0) + 1
            if status != endpoint.expect:
                errors += 1
            elif record:
                latencies.append(elapsed)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda i: one(i, False), range(warmup)))
        statuses.clear()
        errors = 0
        t0 = time.perf_counter()
        list(pool.map(lambda i: one(warmup + i, True), range(n)))
        seconds = time.perf_counter() - t0
    return latencies, seconds, errors, statuses


def count_queries(endpoint: Endpoint, body: tuple[dict, bytes] | None = None) -> tuple[int, int]:
    """(status, number of SQL queries) of one request in-process."""
    client = Client(raise_request_exception=False)
    with CaptureQueriesContext(connection) as ctx:
        if endpoint.method == "GET":
            response = client.get(endpoint.path)
        else:
            headers, data = body
            response = client.generic(endpoint.method, endpoint.path, data=data, content_type="application/json",
                                      headers={k: v for k, v in headers.items() if k.lower() != "content-type"})
    return response.status_code, len(ctx.captured_queries)


# --- fixtures ----------------------------------------------------------------------------------------------


def _qualified_agencies(item, on: dt.date):
    """Active agencies holding a certificate valid today of a type the item requires (any, if none)."""
    from agencies.models import Agency, AgencyServiceItem, AgencyStatus, Qualification

    types = list(item.qualification_types.values_list("pk", flat=True))
    qs = Agency.objects.filter(status=AgencyStatus.ACTIVE)
    if types:
        qs = qs.filter(Exists(Qualification.objects.filter(agency=OuterRef("pk"), qualification_type_id__in=types,
                                                           valid_from__lte=on, valid_to__gte=on)))
    else:
        qs = qs.filter(Exists(AgencyServiceItem.objects.filter(agency=OuterRef("pk"), service_item=item)))
    return qs


def _agency_admins(agency_ids: list[int]) -> dict[int, object]:
    from agencies.models import Agency
    from market.accounts.models import Membership

    org_of = dict(Agency.objects.filter(pk__in=agency_ids).values_list("pk", "organization_id"))
    users = {}
    for m in Membership.objects.filter(organization_id__in=org_of.values(), role=Membership.Role.ADMIN,
                                       user__is_active=True).select_related("user").order_by("pk"):
        users.setdefault(m.organization_id, m.user)
    return {a: users[o] for a, o in org_of.items() if o in users}


def _pick_item(min_agencies: int):
    """A service item with required qualifications and at least `min_agencies` qualified active agencies."""
    from market.catalogue.models import ServiceItem

    today = timezone.localdate()
    best = None
    for item in ServiceItem.objects.filter(is_active=True, qualification_types__isnull=False).distinct().order_by("code"):
        n = _qualified_agencies(item, today).count()
        if n >= min_agencies:
            return item
        if best is None or n > best[1]:
            best = (item, n)
    if best is None:
        raise CommandError("no service item with required qualifications: load the reference data")
    return best[0]


def _owner_and_admin():
    from market.accounts.models import Membership, Organization

    m = (Membership.objects.filter(organization__kind=Organization.Kind.OWNER, organization__status="verified",
                                   role=Membership.Role.ADMIN, user__is_active=True)
         .select_related("user", "organization").order_by("pk").first())
    if m is None:
        raise CommandError("no verified project owner: run seed_demo first")
    return m.organization, m.user


def _new_request(*, owner, user, item, deadline: dt.datetime, project: str, social: bool = True):
    from market.core import draw
    from market.requests.models import RequestStatus, SelectionMethod, ServiceRequest

    now = timezone.now()
    secret = draw.new_secret()
    request = ServiceRequest.objects.create(
        owner=owner, created_by=user, project_name=project, service_item=item, region=owner.region,
        description="性能基准测试", fiscal_share=0 if social else 100, social_share=100 if social else 0,
        budget_fen=item.fee_cap_fen or 500_000_00, service_term_days=30, selection_method=SelectionMethod.LOWEST,
        bid_deadline=deadline, selection_time=deadline, contact_name="基准测试", contact_phone="020-00000000",
        status=RequestStatus.PUBLISHED, secret=secret, commitment=draw.commitment_of(secret),
        published_at=min(now, deadline) - dt.timedelta(days=6))
    request.required_qualifications.set(item.qualification_types.all())
    return request


def request_with_bids(n: int, stdout) -> int:
    """A request with at least n active bids and a published result: an existing one, else a new one."""
    from market.core import draw
    from bids import services
    from bids.models import Bid, SelectionRun
    from market.requests.models import ServiceRequest

    existing = (ServiceRequest.objects.filter(project_name=BENCH_PROJECT, selection_runs__isnull=False)
                .values_list("pk", flat=True).first())
    if existing:
        return existing
    with connection.cursor() as cursor:  # any other request with that many bids (one index scan)
        cursor.execute("SELECT b.request_id FROM bids_bid b WHERE b.status = 'active' GROUP BY b.request_id "
                       "HAVING COUNT(*) >= %s LIMIT 1", [n])
        row = cursor.fetchone()
    if row and SelectionRun.objects.filter(request_id=row[0]).exists():
        return row[0]
    stdout.write(f"making a request with {n} bids and its result (kept for later runs)…")
    item = _pick_item(n)
    agencies = list(_qualified_agencies(item, timezone.localdate()).select_related("organization")
                    .order_by("pk")[:n])
    if len(agencies) < n:
        raise CommandError(f"only {len(agencies)} agencies are qualified for {item}: seed more agencies")
    admins = _agency_admins([a.pk for a in agencies])
    owner, user = _owner_and_admin()
    deadline = timezone.now() - dt.timedelta(minutes=5)
    with transaction.atomic():
        request = _new_request(owner=owner, user=user, item=item, deadline=deadline, project=BENCH_PROJECT, social=False)
        bids = []
        for i, a in enumerate(agencies):
            price = int(request.budget_fen * (0.7 + 0.28 * ((i * 7919) % 1000) / 1000))
            nonce = draw.new_nonce()
            proposal = "我司具备相应资质和类似项目经验，承诺按期保质完成。"
            at = deadline - dt.timedelta(hours=1, seconds=i)
            bids.append(Bid(request=request, agency=a, submitted_by=admins.get(a.pk), price_fen=price, nonce=nonce,
                            proposal=proposal, submitted_at=at, updated_at=at,
                            content_hash=services.content_hash(request_id=request.pk, agency_id=a.pk, price_fen=price,
                                                               discount_bp=None, nonce=nonce, proposal=proposal)))
        Bid.objects.bulk_create(bids)
    services.selection_run(actor=user, request=request)
    return request.pk


@dataclass
class SubmissionFixture:
    request_id: int
    agencies: list[int]
    tokens: list[str]
    created_token_ids: list[int]


def submission_fixture(n: int) -> SubmissionFixture:
    """An open request and API tokens of n distinct active agencies qualified for it."""
    from rest_framework.authtoken.models import Token

    item = _pick_item(n)
    owner, user = _owner_and_admin()
    request = _new_request(owner=owner, user=user, item=item, deadline=timezone.now() + dt.timedelta(days=3),
                           project=OPEN_PROJECT)
    candidates = list(_qualified_agencies(item, timezone.localdate()).order_by("pk").values_list("pk", flat=True)[:n * 2])
    admins = _agency_admins(candidates)
    agencies = [a for a in candidates if a in admins][:n]
    if len(agencies) < n:
        raise CommandError(f"only {len(agencies)} agencies are qualified for {item}; lower --requests")
    tokens, created = [], []
    for a in agencies:
        token, was_created = Token.objects.get_or_create(user=admins[a])
        tokens.append(token.key)
        if was_created:
            created.append(token.pk)
    return SubmissionFixture(request.pk, agencies, tokens, created)


def submission_cleanup(fx: SubmissionFixture) -> None:
    from rest_framework.authtoken.models import Token

    from bids.models import Bid
    from market.requests.models import ServiceRequest
    from market.opendata.models import OcdsRelease

    with transaction.atomic():
        Bid.objects.filter(request_id=fx.request_id).delete()
        OcdsRelease.objects.filter(request_id=fx.request_id).delete()
        request = ServiceRequest.objects.filter(pk=fx.request_id).first()
        if request is not None:
            request.required_qualifications.clear()
            request.delete()
        Token.objects.filter(key__in=fx.tokens, pk__in=fx.created_token_ids).delete()


# --- the command ------------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Median and p95 latency, throughput and SQL queries of the main pages and APIs, served by gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200, help="measured requests per endpoint")
        parser.add_argument("--concurrency", type=int, default=4, help="client threads")
        parser.add_argument("--workers", type=int, help="gunicorn workers (default 2 × cores + 1)")
        parser.add_argument("--warmup", type=int, help="unmeasured requests per endpoint first (default 2 × concurrency)")
        parser.add_argument("--url", help="measure a server that already runs here (loopback only), e.g. http://127.0.0.1:8000")
        parser.add_argument("--search", default="测绘", help="the words searched")
        parser.add_argument("--only", help="measure only the endpoints whose name contains one of these "
                                           "comma-separated words (the floor is always measured), e.g. 'bid submission'")

    def handle(self, *args, requests: int, concurrency: int, workers: int | None, warmup: int | None, url: str | None,
               search: str, only: str | None = None, **options):
        if requests < 1 or concurrency < 1:
            raise CommandError("--requests and --concurrency must be at least 1")
        warmup = 2 * concurrency if warmup is None else warmup
        cores = os.cpu_count() or 1
        workers = workers or 2 * cores + 1
        if url:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "http" or parts.hostname not in LOOPBACK:
                raise CommandError("--url must be an http:// address on loopback (127.0.0.1, localhost or ::1)")
        out = self.stdout
        out.write(f"database: {connection.vendor} {connection.settings_dict.get('NAME')}; "
                  f"volume: {self._volume()}")
        out.write(f"machine: {cores} cores, load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")

        warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            big = request_with_bids(200, out)  # the selection's notices are not the bench's output
        from agencies.models import Agency, AgencyStatus

        uscc = (Agency.objects.filter(status=AgencyStatus.ACTIVE).order_by("pk")
                .values_list("organization__uscc", flat=True).first())
        typical = self._typical_result()
        n_submissions = warmup + requests + 1
        fixture = submission_fixture(n_submissions)
        server = None
        try:
            endpoints = self._endpoints(big, typical, uscc, search, fixture)
            if only:
                words = [w.strip().lower() for w in only.split(",") if w.strip()]
                endpoints = [endpoints[0]] + [ep for ep in endpoints[1:] if any(w in ep.name.lower() for w in words)]
            if url is None:
                server = Server(workers, out)
                out.write(f"starting gunicorn with {workers} workers on {server.url} (DEBUG=0, "
                          f"DB_CONN_MAX_AGE={os.environ.get('DB_CONN_MAX_AGE', '60')})…")
                server.start()
                base = server.url
            else:
                base = url.rstrip("/")
            # Every worker loads its code and templates before anything is timed.
            prewarm = 4 * (workers if url is None else concurrency)
            for ep in endpoints:
                if ep.method == "GET" and ep.path:
                    measure(base, ep, prewarm, max(concurrency, 1), 0)
            out.write(f"{requests} requests per endpoint after {warmup} warm-up requests, {concurrency} client threads\n")
            results = []
            for ep in endpoints:
                if ep.note and not ep.path:
                    results.append(None)
                    continue
                queries = self._queries(ep)
                pid = server.process.pid if server else None
                cpu0 = process_tree_cpu(pid) if pid else None
                lat, seconds, errors, statuses = measure(base, ep, requests, concurrency, warmup)
                cpu1 = process_tree_cpu(pid) if pid else None
                r = Result(ep, lat, seconds, errors, queries, statuses)
                if cpu0 is not None and cpu1 is not None and lat:
                    # The warm-up requests ran in the window too.
                    r.cpu_ms = (cpu1 - cpu0) / (requests + warmup) * 1000
                results.append(r)
                out.write(f"  {ep.name}: median {r.median_ms:.1f} ms, p95 {r.p95_ms:.1f} ms, {r.rate:.0f}/s"
                          + (f", gunicorn CPU {r.cpu_ms:.1f} ms/request" if r.cpu_ms is not None else "")
                          + (f", {errors} unexpected answers {statuses}" if errors else ""))
            self._table(endpoints, results)
        finally:
            if server is not None:
                server.stop()
                out.write("gunicorn stopped")
            submission_cleanup(fixture)
            out.write("bid-submission request, its bids and the tokens made for it removed")

    # -- helpers ----------------------------------------------------------------------------------------

    def _volume(self) -> str:
        from agencies.models import Agency
        from bids.models import Bid
        from market.accounts.models import Organization
        from market.requests.models import ServiceRequest

        parts = []
        for label, model in (("agencies", Agency), ("organizations", Organization), ("requests", ServiceRequest),
                             ("bids", Bid)):
            if connection.vendor == "postgresql":  # the planner's estimate: counting 5 M rows takes seconds
                with connection.cursor() as cursor:
                    cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                                   [model._meta.db_table])
                    n = max(cursor.fetchone()[0], 0)
                parts.append(f"~{n:,} {label}")
            else:
                parts.append(f"{model.objects.count():,} {label}")
        return ", ".join(parts)

    def _typical_result(self) -> int | None:
        from bids.models import SelectionRun
        from market.requests.models import RequestStatus, ServiceRequest

        return (ServiceRequest.objects.filter(status=RequestStatus.AWARDED)
                .filter(Exists(SelectionRun.objects.filter(request=OuterRef("pk"))))
                .order_by("-published_at").values_list("pk", flat=True).first())

    def _endpoints(self, big: int, typical: int | None, uscc: str | None, search: str,
                   fx: SubmissionFixture) -> list[Endpoint]:
        eps = [Endpoint("floor: /healthz/db/ (one primary-key query)", "/healthz/db/"),
               Endpoint("home /", "/"),
               Endpoint("agency directory, page 1", "/agencies/"),
               Endpoint("agency directory, page 500", "/agencies/?page=500")]
        try:
            eps.append(Endpoint(f"search ?q={search}", reverse("search:search") + "?" + urllib.parse.urlencode({"q": search})))
        except NoReverseMatch:
            eps.append(Endpoint("search", "", note="no /search/ route: skipped"))
        eps.append(Endpoint("request page, 200 bids", f"/requests/{big}/"))
        eps.append(Endpoint("result page, 200 bids", f"/requests/{big}/result/"))
        if typical:
            eps.append(Endpoint("result page, typical awarded request", f"/requests/{typical}/result/"))
        if uscc:
            eps.append(Endpoint("credit API", f"/api/v1/credit/agencies/{uscc}/"))
        eps.append(Endpoint("OCDS releases API", "/api/v1/ocds/releases/"))
        eps.append(Endpoint("announcements /requests/ (not in the issue's list)", "/requests/"))
        eps.append(Endpoint("results /results/ (not in the issue's list)", "/results/"))
        bodies = []
        for i, (agency, token) in enumerate(zip(fx.agencies, fx.tokens)):
            body = json.dumps({"agency": agency, "price_fen": 100_000 + i, "proposal": "基准测试报价"}).encode()
            bodies.append(({"Authorization": f"Token {token}", "Content-Type": "application/json"}, body))
        # The first body is used for the in-process query count; the others by the server.
        eps.append(Endpoint("bid submission (POST, API token)", f"/api/v1/requests/{fx.request_id}/bids/", "POST",
                            bodies=bodies[1:], expect=201))
        self._count_body = bodies[0]
        return eps

    def _queries(self, ep: Endpoint) -> int | None:
        status, n = count_queries(ep, self._count_body if ep.method == "POST" else None)
        if status != ep.expect:
            self.stdout.write(self.style.WARNING(f"  {ep.path} answered {status} in-process"))
        return n

    def _table(self, endpoints: list[Endpoint], results: list[Result | None]) -> None:
        floor = next((r for r in results if r is not None), None)
        rows = [("endpoint", "median ms", "p95 ms", "req/s", "× floor", "queries", "CPU ms")]
        for ep, r in zip(endpoints, results):
            if r is None:
                rows.append((ep.name, "—", "—", "—", "—", ep.note, "—"))
                continue
            ratio = r.median_ms / floor.median_ms if floor and floor.median_ms else float("nan")
            rows.append((ep.name, f"{r.median_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.rate:.0f}", f"{ratio:.1f}",
                         str(r.queries) + (f" ({r.errors} errors)" if r.errors else ""),
                         "—" if r.cpu_ms is None else f"{r.cpu_ms:.1f}"))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("CPU ms: gunicorn's user + system CPU per request (all workers), which the machine's other load "
                          "does not inflate as it does latency.")
        self.stdout.write("")
        self.stdout.write("| " + " | ".join(h.ljust(w) for h, w in zip(rows[0], widths)) + " |")
        self.stdout.write("| " + " | ".join("-" * w for w in widths) + " |")
        for row in rows[1:]:
            self.stdout.write("| " + " | ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                                               zip(row[1:], widths[1:])]) + " |")
