"""Concurrent bid submissions around the deadline, on PostgreSQL with real connections."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from bids import services
from bids.models import Bid
from market.core.audit import audit_record, audit_verify
from market.core.models import AuditEvent
from market.requests.models import ServiceRequest
from tests.request_factories import active_agency, agency_admin, published_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("restore_reference_data", "reference_data_tx"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (run with DATABASE_URL=postgres://...)"),
]

N = 50


def _submit_all(jobs, start_at):
    """Run each job in its own thread (own connection), each starting at its own moment."""
    results = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def worker(i, job):
        try:
            barrier.wait()
            delay = start_at + job["offset"] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                bid = services.bid_submit(actor=job["actor"], request=job["request"], agency=job["agency"],
                                          price_fen=job["price"])
                results[i] = ("ok", bid.pk)
            except services.BidRefused as exc:
                results[i] = ("refused", exc.refusal.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_fifty_concurrent_submissions_around_the_deadline(settings):
    settings.MARKET = {**settings.MARKET, "MIN_BIDDING_WINDOW_SECONDS": 1}
    request = published_request(bid_deadline=timezone.now() + dt.timedelta(seconds=30),
                                selection_time=timezone.now() + dt.timedelta(seconds=30))
    agencies = [active_agency(item=request.service_item) for _ in range(N)]
    admins = [agency_admin(a) for a in agencies]
    # Move the deadline to 1.5 s from now; submissions are spread over 0–3 s.
    deadline = timezone.now() + dt.timedelta(seconds=1.5)
    type(request).objects.filter(pk=request.pk).update(bid_deadline=deadline, selection_time=deadline)
    request.refresh_from_db()
    start = time.monotonic() + 0.2
    jobs = [{"actor": admins[i], "agency": agencies[i], "request": request, "price": 1_000_000 + i,
             "offset": i * 3.0 / N} for i in range(N)]
    results = _submit_all(jobs, start)

    stored = {b.agency_id: b for b in Bid.objects.filter(request=request)}
    accepted = [jobs[i]["agency"].pk for i, r in enumerate(results) if r and r[0] == "ok"]
    refused = [r for r in results if r and r[0] == "refused"]
    assert all(r is not None for r in results)
    assert len(accepted) + len(refused) == N
    assert 0 < len(accepted) < N, "the submissions should straddle the deadline"
    assert {code for _, code in refused} == {"late"}
    # Every accepted bid is stored exactly once, and stamped before the deadline; none after it.
    assert sorted(stored) == sorted(accepted)
    assert Bid.objects.filter(request=request).count() == len(accepted)
    assert all(b.submitted_at < deadline for b in stored.values())
    # Every accepted bid's hash is in the audit log, and every stream's chain holds after the race.
    assert AuditEvent.objects.filter(action="bid.submit", object_id__in=[str(b.pk) for b in stored.values()]).count() == len(accepted)
    assert audit_verify() is None


def test_double_submit_from_one_agency_leaves_one_bid(settings):
    request = published_request()
    agency = active_agency(item=request.service_item)
    admin = agency_admin(agency)
    jobs = [{"actor": admin, "agency": agency, "request": request, "price": 2_000_000 + i, "offset": 0} for i in range(8)]
    results = _submit_all(jobs, time.monotonic() + 0.1)
    assert [r[0] for r in results].count("ok") == 1
    assert {r[1] for r in results if r[0] == "refused"} == {"duplicate"}
    assert Bid.objects.filter(request=request, agency=agency).count() == 1


def _in_thread(fn):
    box = {}

    def run():
        try:
            box["result"] = fn()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=30)
    return box


def test_bids_share_the_request_lock_and_a_change_to_the_request_waits_for_them():
    """A bid holds the request with a share lock: a second bid is not kept waiting, while anything
    that takes the request for update (amendment, cancellation, selection) waits for the bid's commit."""
    from django.db import DatabaseError, transaction

    request = published_request()
    holding, release = threading.Event(), threading.Event()

    def bid_in_flight():
        with transaction.atomic():
            services._lock_open_request(request.pk)
            holding.set()
            release.wait(10)

    t = threading.Thread(target=lambda: (bid_in_flight(), connections.close_all()))
    t.start()
    assert holding.wait(10)
    try:
        def another_bid():
            with transaction.atomic():
                with connection.cursor() as cursor:  # waiting on the first bid would fail, not pass late
                    cursor.execute("SET LOCAL lock_timeout = '1s'")
                return services._lock_open_request(request.pk)[0].pk

        assert _in_thread(another_bid).get("result") == request.pk  # not blocked

        def change_now():
            with transaction.atomic():
                ServiceRequest.objects.select_for_update(nowait=True).get(pk=request.pk)

        assert isinstance(_in_thread(change_now).get("error"), DatabaseError)  # the bid in flight holds it
    finally:
        release.set()
        t.join(10)
    assert "error" not in _in_thread(change_now)  # free once the bid committed


def test_audit_events_written_side_by_side_keep_every_chain(settings):
    settings.MARKET = {**settings.MARKET, "AUDIT_STREAMS": 4}
    requests = [published_request() for _ in range(3)]
    barrier = threading.Barrier(12)

    def write(i):
        barrier.wait()
        for j in range(10):
            audit_record(actor=None, action="test.race", obj=requests[(i + j) % 3], after={"writer": i, "n": j})

    threads = [threading.Thread(target=lambda i=i: (write(i), connections.close_all())) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert AuditEvent.objects.filter(action="test.race").count() == 120
    assert audit_verify() is None
