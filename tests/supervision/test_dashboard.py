"""The regulators' dashboard: figures computed in SQL with a constant number of queries, each chart
with its table and CSV, rendered without scripts or inline styles."""

import csv
import datetime as dt
import io
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from market.core.draw import new_nonce
from bids.models import Bid, SelectionRun
from market.contracts.models import Contract, ContractStatus
from market.accounts.models import Region
from market.catalogue.models import ServiceItem
from market.requests.models import RequestStatus, ServiceRequest
from supervision import selectors
from tests.factories import make_agencies_bulk, make_owner, make_regulator, make_user

from .helpers import active_agency, item_with_qualification, round_with

pytestmark = pytest.mark.django_db
S = RequestStatus
_seq = itertools.count(1)

STATES = [S.PUBLISHED, S.FAILED, S.PUBLICITY, S.AWARDED, S.CONTRACTED, S.CLOSED, S.CANCELLED, S.AWARDED, S.IN_SERVICE,
          S.FAILED]


def bulk_market(n: int):
    """`n` published requests across months, prefectures, items and states, with bids, standing
    results and contracts (some overdue): bulk inserts, for query counts."""
    now = timezone.now()
    owner = make_owner(verified=True)
    items = list(ServiceItem.objects.filter(is_active=True).order_by("code")[:4])
    regions = list(Region.objects.filter(code__in=["440104", "440303", "440604", "441900"]))
    agencies = make_agencies_bulk(5, service_items=items)
    requests = []
    for i in range(n):
        published = now - dt.timedelta(days=20 + (i % 6) * 31)
        status = STATES[i % len(STATES)]
        deadline = now + dt.timedelta(days=3) if status == S.PUBLISHED else published + dt.timedelta(days=6)
        awarded = status in selectors.AWARDED_STATUSES
        requests.append(ServiceRequest(
            owner=owner, project_name=f"批量项目{next(_seq)}", service_item=items[i % len(items)],
            region=regions[i % len(regions)], fiscal_share=100, budget_fen=1_000_000 + 10_000 * i, service_term_days=30,
            selection_method="lowest", bid_deadline=deadline, selection_time=deadline, contact_name="张三",
            contact_phone="13800000000", status=status, published_at=published, commitment="0" * 64, secret="1" * 64,
            publicity_ends_at=deadline + dt.timedelta(days=3) if status != S.PUBLISHED else None,
            awarded_at=deadline + dt.timedelta(days=4) if awarded else None))
    requests = ServiceRequest.objects.bulk_create(requests)
    bids = []
    for i, r in enumerate(requests):
        for j, agency in enumerate(agencies[: 1 + i % 5]):
            bids.append(Bid(request=r, agency=agency, price_fen=r.budget_fen - 50_000 * (j + 1), nonce=new_nonce(),
                            content_hash="0" * 64, submitted_at=r.published_at, updated_at=r.published_at))
    bids = Bid.objects.bulk_create(bids)
    first_bid = {}
    for b in bids:
        first_bid.setdefault(b.request_id, b)
    runs, contracts = [], []
    for i, r in enumerate(requests):
        if r.status in (S.PUBLISHED, S.CANCELLED):
            continue
        failed = r.status == S.FAILED
        winner = None if failed else first_bid[r.pk]
        runs.append(SelectionRun(request=r, run=1, method="lowest", outcome="failed" if failed else "selected",
                                 winner=winner, published={}, created_at=r.bid_deadline))
        if r.status in (S.IN_SERVICE, S.CONTRACTED):
            contracts.append(Contract(
                number=f"HT-B-{r.pk}", request=r, bid=winner, owner=owner, agency=winner.agency, service_item=r.service_item,
                amount_fen=winner.price_fen, term_days=30, deliverables="成果", status=ContractStatus.IN_SERVICE,
                drafted_at=r.awarded_at, confirm_deadline=r.awarded_at + dt.timedelta(days=5),
                due_at=now - dt.timedelta(days=5 + i)))
    SelectionRun.objects.bulk_create(runs)
    Contract.objects.bulk_create(contracts)
    return requests


def _queries(client, n):
    bulk_market(n)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("supervision:dashboard"))
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_the_dashboard_runs_a_constant_number_of_queries(client):
    client.force_login(make_regulator())
    client.get(reverse("supervision:dashboard"))  # warm up (session, content types)
    few, _ = _queries(client, 10)
    many, response = _queries(client, 100)
    assert few == many, (few, many)
    assert many <= 16


def test_the_dashboard_shows_every_figure_with_chart_table_and_csv(client):
    bulk_market(20)
    client.force_login(make_regulator())
    html = client.get(reverse("supervision:dashboard")).content.decode()
    for key in selectors.FIGURE_KEYS:
        assert f'id="figure-{key}"' in html
        assert reverse("supervision:figure-csv", args=[key]) in html
    assert html.count("<svg") == len([k for k in selectors.FIGURE_KEYS if k != "overdue-list"])
    # The site's CSP forbids inline scripts and inline style attributes.
    assert html.count("<script") == html.count("<script src=") and "style=" not in html
    assert "广州市" in html  # prefectures by name


def test_only_regulators_see_the_dashboard(client):
    assert client.get(reverse("supervision:dashboard")).status_code == 302  # to the login page
    client.force_login(make_user())
    assert client.get(reverse("supervision:dashboard")).status_code == 403
    assert client.get(reverse("supervision:figure-csv", args=["month"])).status_code == 403


def test_savings_are_budget_minus_awarded_price(client):
    """On hand-made data through the services: two awarded requests, one failed."""
    item = item_with_qualification()
    agencies = [active_agency(item=item) for _ in range(3)]
    round_with({agencies[0]: 4_000_000, agencies[1]: 4_500_000, agencies[2]: 5_000_000}, item=item, awarded=True,
               budget_fen=10_000_000)
    round_with({agencies[0]: 6_000_000, agencies[1]: 7_000_000, agencies[2]: 8_000_000}, item=item, awarded=True,
               budget_fen=9_000_000)
    round_with({agencies[0]: 6_000_000}, item=item, budget_fen=9_000_000)  # one bid: fails
    figures = selectors.dashboard(now=timezone.now() + dt.timedelta(days=30))
    [row] = figures["item"].rows
    assert (row["requests"], row["awarded"], row["failed"], row["concluded"]) == (3, 2, 1, 3)
    assert (row["awarded_budget"], row["awarded_amount"], row["savings"]) == (19_000_000, 10_000_000, 9_000_000)
    assert row["savings_pct"] == pytest.approx(47.4, abs=0.05)
    bidders = {r["bidders"]: r["requests"] for r in figures["bidders"].rows}
    assert bidders == {3: 2, 1: 1}
    [award_month] = figures["time-to-award"].rows
    assert award_month["awards"] == 2 and award_month["mean_days"] > 0
    client.force_login(make_regulator())
    content = client.get(reverse("supervision:figure-csv", args=["item"])).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[1][0] == item.code and rows[1][-1] == "47.4"
    assert rows[1][rows[0].index(str(selectors.AMOUNT_COLUMNS[5].label))] == "90000.00"


def test_grades_and_overdue_contracts():
    bulk_market(10)
    figures = selectors.dashboard()
    grades = {r["label"]: r["agencies"] for r in figures["grades"].rows}
    assert sum(grades.values()) == 5 and set(grades) >= {"A", "B", "C", "D"}
    overdue = figures["overdue-list"].rows
    assert overdue and all(r["days"] >= 5 for r in overdue)
    assert sum(r["contracts"] for r in figures["overdue"].rows) == len(overdue)


def test_unknown_figure_is_404(client):
    client.force_login(make_regulator())
    assert client.get("/supervision/figures/nothing.csv").status_code == 404

