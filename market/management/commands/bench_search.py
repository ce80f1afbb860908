"""Search latency on the database backend.

    python manage.py bench_search --agencies 1000
    python manage.py bench_search --agencies 100000 --runs 20

Makes sure at least that many active agencies exist (bulk-creating realistic ones — names, offered
catalogue items, regions, grades — and indexing them in bulk), then runs a fixed set of searches
(Chinese words, traditional characters, abbreviations, filters, facets, pages, broad and narrow
queries) and prints the median and 95th percentile latency of each and of all together.
Agencies it creates carry the contact e-mail bench@example.invalid; --delete removes them.
"""

from __future__ import annotations

import math
import random
import statistics
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from market.search import indexing
from market.search.backends import database
from market.search.backends.base import build_query
from agencies.search import AGENCY

BENCH_EMAIL = "bench@example.invalid"

BRANDS = ["粤海", "华南", "南方", "广业", "珠江", "恒信", "正和", "建科", "中地", "岭南", "华晟", "泰和", "宏基", "天润", "中联",
          "信达", "汇智", "合力", "国泰", "金禾", "东方", "鹏城", "羊城", "中科", "新华", "博远", "诚信", "安泰", "广信", "中正"]
TRADES = [  # (business in the name, catalogue item code prefixes it offers)
    ("环境科技", ["GD-ZJ-HP-"]), ("环保工程", ["GD-ZJ-HP-"]), ("测绘地理信息", ["GD-ZJ-CH-"]), ("勘测设计", ["GD-ZJ-CH-", "GD-ZJ-KCSJ-"]),
    ("工程造价咨询", ["GD-ZJ-SJ-002", "GD-ZJ-KCSJ-003"]), ("安全技术", ["GD-ZJ-AP-"]), ("安全评价", ["GD-ZJ-AP-"]),
    ("水土保持技术", ["GD-ZJ-SB-"]), ("地质工程勘察", ["GD-ZJ-DZZH-", "GD-ZJ-KCSJ-001"]), ("工程咨询", ["GD-ZJ-KCSJ-002", "GD-ZJ-NY-"]),
    ("土地房地产估价", ["GD-ZJ-TD-", "GD-ZJ-FG-"]), ("会计师事务所", ["GD-ZJ-SJ-"]), ("防雷检测", ["GD-ZJ-FL-"]),
    ("交通规划设计", ["GD-ZJ-JT-"]), ("节能技术服务", ["GD-ZJ-NY-"]), ("建筑设计审图", ["GD-ZJ-ST-"]), ("地震工程", ["GD-ZJ-DZAP-"]),
    ("职业卫生技术", ["GD-ZJ-ZW-"]), ("文物考古", ["GD-ZJ-WW-"]),
]
GRADES = [("A", 0.4, 90), ("B", 0.35, 78), ("C", 0.2, 65), ("D", 0.05, 40)]

QUERIES = [  # (label, search arguments): what the directory, the request list and /search/ ask
    ("环评 (abbreviation)", {"q": "环评", "kinds": ["agency"], "facets": ["service_item", "region", "grade"]}),
    ("环境影响评价", {"q": "环境影响评价", "kinds": ["agency"], "facets": ["service_item", "region", "grade"]}),
    ("環境影響 (traditional)", {"q": "環境影響", "kinds": ["agency"], "facets": ["region", "grade"]}),
    ("测绘 广州", {"q": "测绘 广州", "kinds": ["agency"], "facets": ["service_item", "region", "grade"]}),
    ("水保 in Shenzhen", {"q": "水保", "kinds": ["agency"], "filters": {"region": "440300"},
                          "facets": ["service_item", "region", "grade"]}),
    ("造价 grade A", {"q": "造价", "kinds": ["agency"], "filters": {"grade": "A"}, "facets": ["region"]}),
    ("a company's name", {"q": None, "kinds": ["agency"], "facets": ["grade"]}),  # q: an indexed agency's name
    ("有限公司 (matches all)", {"q": "有限公司", "kinds": ["agency"], "facets": ["service_item", "region", "grade"]}),
    ("测绘 page 5", {"q": "测绘", "kinds": ["agency"], "page": 5, "facets": ["region", "grade"]}),
    ("directory: item filter, by grade", {"kinds": ["agency"], "filters": {"service_item": "GD-ZJ-HP-001"},
                                           "sort": "grade", "facets": ["service_item", "region", "grade"]}),
    ("directory: everything, by name", {"kinds": ["agency"], "sort": "name",
                                        "facets": ["service_item", "region", "grade"]}),
    ("/search/ 环评, all kinds", {"q": "环评", "facets": ["kind", "service_item", "region", "grade", "method", "status"]}),
]


class Command(BaseCommand):
    help = "Print search latency (median, 95th percentile) on the database backend with N agencies."

    def add_arguments(self, parser):
        parser.add_argument("--agencies", type=int, default=1000, help="At least this many active agencies (default 1000).")
        parser.add_argument("--runs", type=int, default=20, help="Timed runs of each query (default 20).")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--delete", action="store_true", help="Delete the agencies this command created, and stop.")

    def handle(self, *args, **options):
        from agencies.models import Agency

        if options["delete"]:
            self._delete()
            return
        rng = random.Random(options["seed"])
        reindexed = False
        active = Agency.objects.filter(status="active").count()
        missing = options["agencies"] - active
        if missing > 0:
            self.stdout.write(f"{active} active agencies; creating {missing} …")
            self._create(missing, rng)
            total = Agency.objects.filter(status="active").count()
            with tqdm(total=total, desc="indexing agencies", unit="doc") as bar:
                indexing.rebuild_database([AGENCY], progress=bar.update)
            reindexed = True
        from market.search.models import SearchEntry

        for kind in ("agency", "request", "item"):
            expected = indexing.count_documents(kind)
            if SearchEntry.objects.filter(kind=kind).count() != expected:
                with tqdm(total=expected, desc=f"indexing {kind}", unit="doc") as bar:
                    indexing.rebuild_database([kind], progress=bar.update)
                reindexed = True
        if reindexed and database.vendor() == "postgresql":
            from django.db import connection

            with connection.cursor() as cur:  # a rebuild leaves the old rows dead in the table
                # VACUUM cannot run inside a transaction (a test's); ANALYZE can.
                for table in ("market_search_entry", "market_search_bitmap"):
                    if connection.in_atomic_block:
                        cur.execute(f"ANALYZE {table}")
                    else:
                        cur.execute(f"VACUUM (FULL, ANALYZE) {table}")
                        cur.execute(f"VACUUM {table}")  # the visibility map (index-only scans), as autovacuum would
        n = SearchEntry.objects.filter(kind=AGENCY).count()
        self.stdout.write(f"database backend ({database.vendor()}), {n} agencies indexed, {options['runs']} runs a query\n")
        self._run(options["runs"])

    # --- data -----------------------------------------------------------------------------------

    def _create(self, count: int, rng: random.Random) -> None:
        from agencies.models import Agency, AgencyServiceItem
        from market.accounts.models import Organization, Region
        from market.catalogue.models import ServiceItem
        from market.core.uscc import make_uscc

        counties = list(Region.objects.filter(level__in=["county", "town"]).values_list("code", "parent__name"))
        if not counties:
            raise SystemExit("No regions: run `python manage.py load_reference_data` first.")
        items = list(ServiceItem.objects.filter(is_active=True).values_list("pk", "code"))
        start = Organization.objects.filter(kind=Organization.Kind.AGENCY).count() + 10_000_000
        now = timezone.now()
        batch = 2000
        with tqdm(total=count, desc="creating agencies", unit="agency") as bar:
            for offset in range(0, count, batch):
                n = min(batch, count - offset)
                plans = []
                for i in range(n):
                    code, city = rng.choice(counties)
                    trade, prefixes = rng.choice(TRADES)
                    brand = rng.choice(BRANDS) + (rng.choice(BRANDS)[0] if rng.random() < 0.5 else "")
                    city = (city or "广东").removesuffix("市")
                    name = f"{city}{brand}{trade}有限公司" if rng.random() < 0.8 else f"广东{brand}{trade}有限公司"
                    offered = [pk for pk, c in items if any(c.startswith(p) for p in prefixes)]
                    offered = rng.sample(offered, k=min(len(offered), rng.randint(1, 3)))
                    grade = rng.choices([g for g, _, _ in GRADES], weights=[w for _, w, _ in GRADES])[0]
                    score = dict((g, s) for g, _, s in GRADES)[grade] + rng.randint(0, 8)
                    intro = (f"本公司成立于{rng.randint(1995, 2022)}年，主要从事{trade}相关的中介服务，拥有专业技术人员"
                             f"{rng.randint(5, 300)}名，服务范围覆盖全省。")
                    uscc = make_uscc(f"91{code[:6]}{(start + offset + i) % 10**9:09d}")
                    plans.append((name, code, uscc, offered, grade, score, intro))
                with transaction.atomic():
                    orgs = Organization.objects.bulk_create([
                        Organization(kind=Organization.Kind.AGENCY, name=name, uscc=uscc, region_id=code,
                                     status=Organization.Status.VERIFIED, contact_name="联系人",
                                     contact_phone="13800000000", contact_email=BENCH_EMAIL)
                        for name, code, uscc, *_ in plans])
                    if any(o.pk is None for o in orgs):
                        by_uscc = dict(Organization.objects.filter(uscc__in=[o.uscc for o in orgs], kind="agency")
                                       .values_list("uscc", "pk"))
                        for o in orgs:
                            o.pk = by_uscc[o.uscc]
                    agencies = Agency.objects.bulk_create([
                        Agency(organization=o, status="active", activated_at=now, credit_grade=p[4], credit_score=p[5],
                               introduction=p[6])
                        for o, p in zip(orgs, plans)])
                    if any(a.pk is None for a in agencies):
                        by_org = dict(Agency.objects.filter(organization__in=orgs).values_list("organization_id", "pk"))
                        for a in agencies:
                            a.pk = by_org[a.organization_id]
                    AgencyServiceItem.objects.bulk_create([
                        AgencyServiceItem(agency=a, service_item_id=pk, fee_quote="按收费标准下浮10%")
                        for a, p in zip(agencies, plans) for pk in p[3]])
                bar.update(n)

    def _delete(self) -> None:
        from agencies.models import Agency, AgencyServiceItem
        from market.accounts.models import Organization

        orgs = Organization.objects.filter(contact_email=BENCH_EMAIL, kind="agency")
        agency_ids = list(Agency.objects.filter(organization__in=orgs).values_list("pk", flat=True))
        with transaction.atomic():
            AgencyServiceItem.objects.filter(agency_id__in=agency_ids).delete()
            Agency.objects.filter(pk__in=agency_ids).delete()
            orgs.delete()
        indexing.rebuild_database([AGENCY])
        self.stdout.write(f"deleted {len(agency_ids)} bench agencies")

    # --- timing ---------------------------------------------------------------------------------

    def _run(self, runs: int) -> None:
        """Each query `runs` times cold (its cached counts dropped first: a pass over every match)
        and `runs` times warm (counts cached, as for a query asked again before the index changes;
        the page of hits is always read fresh)."""
        from market.search.models import SearchEntry

        entries = SearchEntry.objects.filter(kind=AGENCY).order_by("object_id")
        some_name = entries.values_list("name", flat=True)[entries.count() // 2] if entries.exists() else "有限公司"
        cold_all: list[float] = []
        warm_all: list[float] = []
        self.stdout.write(f"{'query':36} {'hits':>7} {'cold median':>12} {'cold p95':>9} {'warm median':>12} {'warm p95':>9}")
        for label, kwargs in QUERIES:
            if "q" in kwargs and kwargs["q"] is None:
                kwargs = {**kwargs, "q": some_name.removesuffix("有限公司")}
            query = build_query(page_size=20, **kwargs)
            result = database.search(query)  # warm-up
            cold, warm = [], []
            for _ in range(runs):
                database.bump_generation()
                t0 = time.perf_counter()
                database.search(query)
                cold.append((time.perf_counter() - t0) * 1000)
            database.search(query)
            for _ in range(runs):
                t0 = time.perf_counter()
                database.search(query)
                warm.append((time.perf_counter() - t0) * 1000)
            cold_all += cold
            warm_all += warm
            self.stdout.write(f"{label:36} {result.total:>7} {statistics.median(cold):>12.1f} {p95(cold):>9.1f} "
                              f"{statistics.median(warm):>12.1f} {p95(warm):>9.1f}")
        self.stdout.write(f"{'all queries':36} {'':>7} {statistics.median(cold_all):>12.1f} {p95(cold_all):>9.1f} "
                          f"{statistics.median(warm_all):>12.1f} {p95(warm_all):>9.1f}")
        self.stdout.write("(milliseconds; cold: counts computed, warm: counts from the count cache)")


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
