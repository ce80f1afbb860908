"""Demo data at provincial scale, in bulk (``seed_demo --scale large``).

The small and medium demos go through the real services one object at a time; at 100,000 agencies,
20,000 owners, 1,000,000 requests and 5,000,000 bids that would take days. This module writes the
same kind of rows straight into PostgreSQL with COPY, in batches, and keeps them consistent:

* owners: verified organizations with valid USCCs in Guangdong's counties and towns, each with one
  administrator (``ownerN``, the demo password; all share one precomputed hash), a membership and
  its guardian permissions;
* agencies: organization, registration (mostly active), administrator ``agencyN`` with membership
  and permissions, 1–3 offered items (sometimes one of another trade), a qualification certificate of
  a type each offered item requires (valid; some expire within the warning period), practitioners and
  the business licence (one shared demo PDF);
* requests over the last three years in time order, so the status follows from the clock: old ones
  were selected and awarded (or failed for want of valid bids, or were cancelled), recent ones are in
  result publicity, waiting for selection or open for bids, a few are drafts. Each published request
  has its secret and commitment; each has the required qualifications of its item;
* bids (0–15 per request, the requested total spread over the requests) by active agencies that
  offer the item and hold a certificate valid from publication to selection, with nonces and the
  same content hash the service computes; one active bid per agency and request (a few agencies
  withdrew a bid and bid again, so the partial unique index is exercised);
* for every request whose selection time has passed, the SelectionRun the service would have
  published (bids/draw.run over the active bids: seed, tickets, factor, ranking, winner; a failed
  round below the minimum), so ``verify_selection`` recomputes every result;
* OCDS releases (the service's build_release shape: tender, award, awardUpdate, tenderUpdate,
  tenderCancellation) for the requests published in the last ``OCDS_RECENT_DAYS`` days only — the
  older ones have none (writing ~2.6 million releases of ~3 kB would dominate the run).

Not generated in bulk: audit events per row (one ``demo.bulk_seed`` event records the run), the
search index (run ``rebuild_search_index``), contracts, quality scores (past requests use the random,
lowest, reference and direct methods; the weighted-score method appears among open requests),
questions, amendments and breaches.

Speed: each phase runs in one transaction; the secondary indexes, unique and foreign-key constraints
of the tables it fills are dropped first and recreated (same names and definitions) before it
commits, so a failure leaves nothing dropped and nothing half-loaded. Ids are reserved from each
table's identity sequence, which is left past the last id. ANALYZE (VACUUM ANALYZE outside a
transaction) runs at the end. Idempotent: a phase whose volume exists is skipped.
"""

from __future__ import annotations

# bandit: the suppressions below were reviewed — table and sequence names in SQL here come from model metadata, never from input.

import bisect
import datetime as dt
import hashlib
import itertools
import json
import random
import time
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Sequence

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.models import (Agency, AgencyServiceItem, AgencyStatus, AgencyType, LicenceFile, Practitioner,
                             Qualification)
from market.core import draw
from bids.models import Bid, BidStatus, SelectionRun
from market.core.audit import audit_record
from market.accounts.models import Membership, Organization, OrganizationUserObjectPermission, Region, User
from market.catalogue.models import QualificationType, ServiceItem
from market.requests.models import QuoteMode, RequestStatus, SelectionMethod, ServiceRequest
from market.opendata.ocds import AWARD_CRITERIA, CRITERIA_DETAILS, METHOD, ORG_SCHEME
from market.opendata.models import OcdsRelease
from market.calendar.workdays import add_working_days

from .core import DEMO_PASSWORD, demo_uscc
from .names import (AGENCY_SUFFIX, AGENCY_WORDS, GENERIC_SUFFIX, OWNER_COMPANIES, OWNER_PREFIXES, PROJECTS,
                    offered_items, person_name, phone)

SPAN_DAYS = 3 * 365  # requests were published over the last three years
OCDS_RECENT_DAYS = 60  # OCDS releases only for requests published this recently
REQUEST_BATCH = 10_000
ROW_BATCH = 5_000  # owners / agencies per COPY batch
MAX_BIDS = 15
LICENCE_NAME = "agencies/demo/business-licence.pdf"
CERTIFICATE_NAME = "agencies/demo/certificate.pdf"
AGENCY_STATUSES = [(AgencyStatus.ACTIVE, 930), (AgencyStatus.SUSPENDED, 15), (AgencyStatus.BANNED, 10),
                   (AgencyStatus.SUBMITTED, 15), (AgencyStatus.PUBLICITY, 10), (AgencyStatus.DRAFT, 10),
                   (AgencyStatus.RETURNED, 5), (AgencyStatus.REJECTED, 3), (AgencyStatus.WITHDRAWN, 2)]
GRADES = [("A", 60, (90, 100)), ("B", 25, (75, 89)), ("C", 10, (60, 74)), ("D", 5, (40, 59))]
TITLES = ["高级工程师", "工程师", "注册测绘师", "注册环评工程师", "注册安全工程师", "注册会计师", "注册造价工程师",
          "一级注册建筑师", "注册土地估价师", "助理工程师", "注册咨询工程师（投资）"]
PROPOSALS = ["我司具备相应资质和类似项目经验，承诺按期保质完成。", "项目组由注册执业人员牵头，收到委托后即组织现场踏勘。",
             "近三年完成同类项目二十余项，成果均一次通过审查。", "严格执行国家和省相关技术规范，按约定时限提交成果。",
             "本地设有分支机构，可随时配合审批部门审查和答疑。", "报价已含全部服务费用，不另行收取任何费用。"]
PAST_METHODS = [(SelectionMethod.RANDOM, 35), (SelectionMethod.LOWEST, 30), (SelectionMethod.REFERENCE, 30)]
OPEN_METHODS = PAST_METHODS + [(SelectionMethod.WEIGHTED, 15)]
CANCEL_REASON = "项目规划调整，暂停实施"
DESCRIPTION = "按国家和省相关技术规范完成服务，提交成果并配合审批部门审查。"
DIRECT_REASON = "该机构具备本项目所需专项经验"
UTC = dt.timezone.utc


class QuietBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(progress, desc: str, total: int):
    maker = getattr(progress, "bar", None)
    return maker(desc, total) if maker else QuietBar()


def _weighted(rng: random.Random, pairs):
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC)


# --- COPY plumbing --------------------------------------------------------------------------------------


class Table:
    """A model's table as COPY sees it: the columns a seeder fills per row, in order, then every
    other column with its model default (a new non-null column without a default is an error here,
    not a silent failure of the load)."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], now: dt.datetime):
        self.model = model
        self.name = model._meta.db_table
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in by_attname]
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {unknown}")
        extra, constants = [], []
        for attname, f in by_attname.items():
            if attname in columns:
                continue
            if f.has_default():
                value = f.get_default()
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            elif f.null:
                value = None
            elif f.empty_strings_allowed and f.blank:
                value = ""
            else:
                raise ValueError(f"the bulk seeder gives no value for {model.__name__}.{attname}")
            if isinstance(f, models.JSONField):
                value = json.dumps(value, ensure_ascii=False)
            extra.append(f.column)
            constants.append(value)
        self.columns = [by_attname[c].column for c in columns] + extra
        self.constants = tuple(constants)

    def copy(self, cursor, rows: Iterable[tuple]) -> int:
        qn = connection.ops.quote_name
        sql = f"COPY {qn(self.name)} ({', '.join(qn(c) for c in self.columns)}) FROM STDIN"
        constants, n = self.constants, 0
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row + constants)
                n += 1
        return n


class Ids:
    """Ids reserved from a table's identity sequence in blocks (nextval + setval), handed out in
    order; what is left of the last block is given back at the end."""

    BLOCK = 100_000

    def __init__(self, cursor, model: type[models.Model]):
        self.cursor, self.table = cursor, model._meta.db_table
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.table])
        self.sequence = cursor.fetchone()[0]
        sync_sequence(cursor, self.table)
        self.next = self.end = 0  # the current block is [next, end)

    def take(self) -> int:
        if self.next >= self.end:
            self.cursor.execute("SELECT nextval(%s)", [self.sequence])
            first = self.cursor.fetchone()[0]
            self.cursor.execute("SELECT setval(%s, %s)", [self.sequence, first + self.BLOCK - 1])
            self.next, self.end = first, first + self.BLOCK
        value = self.next
        self.next += 1
        return value

    def finish(self) -> None:
        """Give back the unused tail if nobody reserved after it (the sequence still ends our block)."""
        if self.end:
            self.cursor.execute("SELECT last_value FROM " + self.sequence)  # nosec B608
            if self.cursor.fetchone()[0] == self.end - 1:
                self.cursor.execute("SELECT setval(%s, %s)", [self.sequence, max(self.next - 1, 1)])
        sync_sequence(self.cursor, self.table)


def sync_sequence(cursor, table: str) -> None:
    """Put the identity sequence at or past the largest id, so that later inserts work."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    qn = connection.ops.quote_name
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(table)}")  # nosec B608
    top = cursor.fetchone()[0]
    cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # nosec B608
    last, called = cursor.fetchone()
    current = last if called else 0
    if top > current:
        cursor.execute("SELECT setval(%s, %s)", [sequence, top])


class DeferredIndexes:
    """Drop the secondary indexes, unique and foreign-key constraints of some tables (never their
    primary keys or check constraints) and recreate them with the same names and definitions. Call
    both inside one transaction: if the load fails, the drop is rolled back with it."""

    def __init__(self, cursor, models_: Iterable[type[models.Model]]):
        self.cursor = cursor
        self.tables = [m._meta.db_table for m in models_]
        self.indexes: list[str] = []  # CREATE INDEX statements
        self.uniques: list[tuple[str, str, str]] = []  # (table, name, definition)
        self.foreign_keys: list[tuple[str, str, str]] = []

    def drop(self) -> None:
        qn = connection.ops.quote_name
        c = self.cursor
        for table in self.tables:
            c.execute("""
                SELECT con.conname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con
                WHERE con.conrelid = %s::regclass AND con.contype IN ('f', 'u')
                  AND NOT (con.contype = 'u' AND EXISTS (
                      SELECT 1 FROM pg_constraint ref WHERE ref.contype = 'f' AND ref.conindid = con.conindid))
                ORDER BY con.conname""", [table])
            for name, kind, definition in c.fetchall():
                (self.foreign_keys if kind == "f" else self.uniques).append((table, name, definition))
            c.execute("""
                SELECT idx.relname, pg_get_indexdef(ix.indexrelid) FROM pg_index ix
                JOIN pg_class idx ON idx.oid = ix.indexrelid
                WHERE ix.indrelid = %s::regclass AND NOT ix.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid)
                ORDER BY idx.relname""", [table])
            self.indexes.extend(definition for _name, definition in c.fetchall())
            for _table, name, _def in [*self.foreign_keys, *self.uniques]:
                if _table == table:
                    c.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for definition in self.indexes:
            name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            c.execute(f"DROP INDEX {name}")

    def restore(self, progress=None) -> None:
        qn = connection.ops.quote_name
        steps = [(f"ALTER TABLE {qn(t)} ADD CONSTRAINT {qn(n)} {d}", n) for t, n, d in self.uniques]
        steps += [(d, d.split(" INDEX ", 1)[1].split(" ON ", 1)[0]) for d in self.indexes]
        steps += [(f"ALTER TABLE {qn(t)} ADD CONSTRAINT {qn(n)} {d}", n) for t, n, d in self.foreign_keys]
        bar = _bar(progress, "indexes and constraints", len(steps)) if progress else QuietBar()
        for sql, name in steps:
            bar.set_postfix_str(name[:40])
            self.cursor.execute(sql)
            bar.update(1)
        bar.close()


def _fast_session(cursor) -> None:
    cursor.execute("SET LOCAL synchronous_commit = off")
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' "
                   "AND 'lz4' = ANY(enumvals)")
    if cursor.fetchone():
        cursor.execute("SET LOCAL default_toast_compression = 'lz4'")


# --- shared context --------------------------------------------------------------------------------------


@dataclass
class Context:
    rng: random.Random
    now: dt.datetime
    today: dt.date
    password: str
    places: list[tuple[str, str, str, str]]  # (code, name, full name, prefecture name)
    items: list[dict]
    qualification_types: dict[int, dict]
    perm_ids: list[int]
    regulator_id: int | None
    progress: Any
    publicity_cache: dict = field(default_factory=dict)

    def publicity_end(self, start: dt.datetime) -> dt.datetime:
        """period_end() of the result publicity, memoized by local day (it depends only on the day)."""
        override = settings.MARKET["RESULT_PUBLICITY_SECONDS"]
        if override:
            return start + dt.timedelta(seconds=override)
        day = timezone.localtime(start).date()
        if day not in self.publicity_cache:
            self.publicity_cache[day] = _utc(add_working_days(start, settings.MARKET["RESULT_PUBLICITY_WORKING_DAYS"]))
        return self.publicity_cache[day]


def _context(rng: random.Random, progress) -> Context:
    now = _utc(timezone.now())
    places = [(r.code, r.name, r.full_name or r.name, (r.parent.name if r.parent else r.name))
              for r in Region.objects.filter(level__in=[Region.Level.COUNTY, Region.Level.TOWN])
              .select_related("parent").order_by("code")]
    items = []
    for item in (ServiceItem.objects.filter(is_active=True).select_related("category")
                 .prefetch_related("qualification_types").order_by("code")):
        types = sorted(item.qualification_types.all(), key=lambda q: q.code)
        items.append({"id": item.pk, "code": item.code, "name": item.name, "category": item.category.code,
                      "cap": item.fee_cap_fen, "mode": item.pricing_mode, "days": item.time_limit_days,
                      "types": [t.pk for t in types], "type_names": [t.name for t in types]})
    qts = {q.pk: {"name": q.name, "issuer": q.issuer} for q in QualificationType.objects.all()}
    perm_ids = list(Permission.objects.filter(content_type__app_label="market",
                                              codename__in=["act_for_organization", "manage_organization"])
                    .order_by("codename").values_list("pk", flat=True))
    regulator = User.objects.filter(username="regulator").values_list("pk", flat=True).first()
    return Context(rng=rng, now=now, today=timezone.localdate(), password=make_password(DEMO_PASSWORD),
                   places=places, items=items, qualification_types=qts, perm_ids=perm_ids, regulator_id=regulator,
                   progress=progress)


def _free_names(prefix: str, wanted: int) -> list[str]:
    """`wanted` user names prefixN with the smallest N not taken."""
    taken = set(User.objects.filter(username__startswith=prefix).values_list("username", flat=True))
    out, i = [], 0
    while len(out) < wanted:
        i += 1
        name = f"{prefix}{i}"
        if name not in taken:
            out.append(name)
    return out


def _unique(value: str, seen: set[str], make) -> str:
    while value in seen:
        value = make()
    seen.add(value)
    return value


# --- owners ------------------------------------------------------------------------------------------------


def seed_owners(ctx: Context, wanted: int) -> int:
    have = Organization.objects.filter(kind=Organization.Kind.OWNER).count()
    todo = wanted - have
    if todo <= 0:
        return 0
    rng, now = ctx.rng, ctx.now
    usernames = _free_names("owner", todo)
    usccs = set(Organization.objects.filter(kind=Organization.Kind.OWNER).values_list("uscc", flat=True))
    names = set(Organization.objects.filter(kind=Organization.Kind.OWNER).values_list("name", flat=True))
    t_user = Table(User, ["id", "password", "username", "first_name", "email", "date_joined"], now)
    t_org = Table(Organization, ["id", "kind", "name", "uscc", "region_id", "address", "legal_representative",
                                 "contact_name", "contact_phone", "contact_email", "status", "status_comment",
                                 "verified_at", "created_at"], now)
    t_member = Table(Membership, ["id", "user_id", "organization_id", "role", "created_at"], now)
    t_perm = Table(OrganizationUserObjectPermission, ["id", "user_id", "permission_id", "content_object_id"], now)
    pending_from = wanted - max(2, wanted // 100)  # the last few wait for a regulator
    with transaction.atomic(), connection.cursor() as cursor:
        _fast_session(cursor)
        deferred = DeferredIndexes(cursor, [User, Organization, Membership, OrganizationUserObjectPermission])
        deferred.drop()
        ids = {m: Ids(cursor, m) for m in (User, Organization, Membership, OrganizationUserObjectPermission)}
        bar = _bar(ctx.progress, "owners", todo)
        for start in range(0, todo, ROW_BATCH):
            users, orgs, members, perms = [], [], [], []
            for k in range(start, min(todo, start + ROW_BATCH)):
                username = usernames[k]
                code, place, full, prefecture = ctx.places[rng.randrange(len(ctx.places))]
                if rng.random() < 0.5:
                    name = f"{prefecture}{place}{rng.choice(OWNER_PREFIXES)}"
                    reg = "1"
                else:
                    name = f"{prefecture.removesuffix('市')}{place[:2]}{rng.choice(OWNER_COMPANIES)}"
                    reg = "9"
                n = 1
                while name in names:
                    n += 1
                    name = f"{name.split('（')[0]}（{n}）"
                names.add(name)
                uscc = _unique(demo_uscc(rng, code, "1", reg), usccs, lambda: demo_uscc(rng, code, "1", reg))
                joined = now - dt.timedelta(days=SPAN_DAYS + 60 + rng.randint(0, 900), seconds=rng.randint(0, 86399))
                verified = have + k + 1 <= pending_from
                uid, oid = ids[User].take(), ids[Organization].take()
                contact = person_name(rng)
                email = f"{username}@example.com"
                users.append((uid, ctx.password, username, contact, email, joined))
                orgs.append((oid, Organization.Kind.OWNER, name, uscc, code, f"{full}{rng.randint(1, 300)}号",
                             person_name(rng), contact, phone(rng), email,
                             Organization.Status.VERIFIED if verified else Organization.Status.PENDING,
                             "资料齐全，核验通过" if verified else "", joined + dt.timedelta(days=2) if verified else None,
                             joined))
                members.append((ids[Membership].take(), uid, oid, Membership.Role.ADMIN, joined))
                perms.extend((ids[OrganizationUserObjectPermission].take(), uid, p, oid) for p in ctx.perm_ids)
            t_user.copy(cursor, users)
            t_org.copy(cursor, orgs)
            t_member.copy(cursor, members)
            t_perm.copy(cursor, perms)
            bar.update(len(users))
        bar.close()
        for i in ids.values():
            i.finish()
        deferred.restore(ctx.progress)
    return todo


# --- agencies ----------------------------------------------------------------------------------------------


def _fee(rng: random.Random, item: dict) -> tuple[str, int]:
    if item["mode"] != "market" and item["cap"]:
        discount = rng.choice([0, 5, 10, 15, 20])
        fen = int(item["cap"] * (100 - discount) / 100) // 100 * 100
        text = "执行政府定价" if discount == 0 and item["mode"] == "government_set" else f"按收费标准下浮{discount}%"
        return text, fen
    fen = rng.randrange(50, 3000) * 10_000
    return rng.choice(["按项目规模协商计费", "参考行业收费标准协商确定", f"一般项目约{fen // 100:,}元"]), fen


def _level(name: str) -> str:
    for level in ("甲级", "乙级", "丙级"):
        if level in name:
            return level
    return ""


def seed_agencies(ctx: Context, wanted: int) -> int:
    have = Agency.objects.count()
    todo = wanted - have
    if todo <= 0:
        return 0
    rng, now, today = ctx.rng, ctx.now, ctx.today
    usernames = _free_names("agency", todo)
    usccs = set(Organization.objects.filter(kind=Organization.Kind.AGENCY).values_list("uscc", flat=True))
    names = set(Organization.objects.filter(kind=Organization.Kind.AGENCY).values_list("name", flat=True))
    by_category: dict[str, list[dict]] = defaultdict(list)
    for item in ctx.items:
        by_category[item["category"]].append(item)
    categories = sorted(by_category)
    statuses = [s for s, _ in AGENCY_STATUSES]
    status_weights = [w for _, w in AGENCY_STATUSES]
    warning_days = settings.MARKET["QUALIFICATION_WARNING_DAYS"]
    t_user = Table(User, ["id", "password", "username", "first_name", "email", "date_joined"], now)
    t_org = Table(Organization, ["id", "kind", "name", "uscc", "region_id", "address", "legal_representative",
                                 "contact_name", "contact_phone", "contact_email", "status", "verified_at",
                                 "created_at"], now)
    t_member = Table(Membership, ["id", "user_id", "organization_id", "role", "created_at"], now)
    t_perm = Table(OrganizationUserObjectPermission, ["id", "user_id", "permission_id", "content_object_id"], now)
    t_agency = Table(Agency, ["id", "organization_id", "agency_type", "status", "introduction", "draft_step",
                              "review_comment", "status_reason", "submitted_at", "publicity_started_at",
                              "publicity_ends_at", "activated_at", "created_by_id", "created_at", "updated_at",
                              "credit_score", "credit_grade"], now)
    t_offer = Table(AgencyServiceItem, ["id", "agency_id", "service_item_id", "fee_quote", "fee_quote_fen",
                                        "commitment"], now)
    t_qual = Table(Qualification, ["id", "agency_id", "qualification_type_id", "certificate_number", "level", "issuer",
                                   "valid_from", "valid_to", "file", "original_name", "content_type", "created_at"], now)
    t_prac = Table(Practitioner, ["id", "agency_id", "name", "title", "certificate_number"], now)
    t_lic = Table(LicenceFile, ["id", "agency_id", "kind", "file", "original_name", "content_type", "size",
                                "uploaded_at"], now)
    tables = [User, Organization, Membership, OrganizationUserObjectPermission, Agency, AgencyServiceItem,
              Qualification, Practitioner, LicenceFile]
    from agencies.demo import DEMO_PDF, _shared_demo_files

    _shared_demo_files()
    with transaction.atomic(), connection.cursor() as cursor:
        _fast_session(cursor)
        deferred = DeferredIndexes(cursor, tables)
        deferred.drop()
        ids = {m: Ids(cursor, m) for m in tables}
        bar = _bar(ctx.progress, "agencies", todo)
        for start in range(0, todo, ROW_BATCH):
            rows: dict[type, list] = {m: [] for m in tables}
            for k in range(start, min(todo, start + ROW_BATCH)):
                username = usernames[k]
                status = rng.choices(statuses, status_weights)[0]
                code, place, full, prefecture = ctx.places[rng.randrange(len(ctx.places))]
                category = categories[rng.randrange(len(categories))]
                chosen = offered_items(rng, by_category, categories, category)
                suffix = AGENCY_SUFFIX.get(category, GENERIC_SUFFIX)

                def make_name():
                    return (f"{prefecture.removesuffix('市')}{rng.choice(AGENCY_WORDS)}{rng.choice(AGENCY_WORDS)}"
                            f"{rng.choice(AGENCY_WORDS)}{suffix}")

                name = f"{prefecture.removesuffix('市')}{rng.choice(AGENCY_WORDS)}{rng.choice(AGENCY_WORDS)}{suffix}"
                tries = 0
                while name in names and tries < 3:
                    name, tries = make_name(), tries + 1
                if name in names:
                    name = name.replace("有限公司", f"（{have + k + 1}）有限公司") if "有限公司" in name \
                        else f"{name}（{have + k + 1}）"
                names.add(name)
                uscc = _unique(demo_uscc(rng, code, "1", "9"), usccs, lambda: demo_uscc(rng, code, "1", "9"))
                live = status in (AgencyStatus.ACTIVE, AgencyStatus.SUSPENDED, AgencyStatus.BANNED)
                # Active agencies registered over the last six and a half years; the others recently.
                age = rng.randint(30, 2400) if live else rng.randint(1, 40)
                created = now - dt.timedelta(days=age, seconds=rng.randint(0, 86399))
                uid, oid, aid = ids[User].take(), ids[Organization].take(), ids[Agency].take()
                contact = person_name(rng)
                email = f"{username}@example.com"
                rows[User].append((uid, ctx.password, username, contact, email, created))
                rows[Organization].append((oid, Organization.Kind.AGENCY, name, uscc, code,
                                           f"{full}{rng.randint(1, 999)}号", person_name(rng), contact, phone(rng),
                                           email, Organization.Status.VERIFIED if live else Organization.Status.PENDING,
                                           created + dt.timedelta(days=1) if live else None, created))
                rows[Membership].append((ids[Membership].take(), uid, oid, Membership.Role.ADMIN, created))
                rows[OrganizationUserObjectPermission].extend(
                    (ids[OrganizationUserObjectPermission].take(), uid, p, oid) for p in ctx.perm_ids)
                grade, _w, (low, high) = rng.choices(GRADES, [g[1] for g in GRADES])[0]
                score = rng.randint(low, high)
                submitted = publicity_start = publicity_end = activated = None
                review, reason, draft_step = "", "", 6
                if live:
                    submitted = created
                    publicity_start, publicity_end = created + dt.timedelta(days=2), created + dt.timedelta(days=9)
                    activated, review = publicity_end, "资料齐全，同意入驻。"
                    if status == AgencyStatus.SUSPENDED:
                        reason = "涉嫌虚假承诺，暂停承接业务接受调查。"
                    elif status == AgencyStatus.BANNED:
                        reason, grade, score = "中选后无正当理由拒不签订合同，列入黑名单一年。", "D", min(score, 55)
                else:
                    grade, score = "A", 100
                    if status == AgencyStatus.DRAFT:
                        draft_step = rng.randint(2, 6)
                    elif status == AgencyStatus.WITHDRAWN:
                        reason = "机构业务调整，主动撤回入驻申请。"
                    elif status == AgencyStatus.PUBLICITY:
                        submitted = created
                        publicity_start = now - dt.timedelta(hours=rng.randint(1, 23))
                        publicity_end = publicity_start + dt.timedelta(days=7)
                        review = "资料齐全，同意入驻，进入公示。"
                    elif status in (AgencyStatus.SUBMITTED, AgencyStatus.RETURNED, AgencyStatus.REJECTED):
                        submitted = created
                        review = {AgencyStatus.RETURNED: "营业执照扫描件不清晰，请重新上传。",
                                  AgencyStatus.REJECTED: "经核查，提交的资质证书系伪造，不予入驻。"}.get(status, "")
                agency_type = (AgencyType.PARTNERSHIP if "事务所" in name else
                               AgencyType.INSTITUTION if "研究院" in name else AgencyType.COMPANY)
                practitioners = [(person_name(rng), rng.choice(TITLES), f"{rng.randint(10**9, 10**10 - 1)}")
                                 for _ in range(rng.randint(2, 4))]
                rows[Agency].append((aid, oid, agency_type, status,
                                     f"{name}专业从事相关中介服务，执业人员{len(practitioners)}名，服务范围覆盖全省。",
                                     draft_step, review, reason, submitted, publicity_start, publicity_end, activated,
                                     uid, created, activated or created, score, grade))
                held: list[int] = []
                for item in chosen:
                    text, fen = _fee(rng, item)
                    rows[AgencyServiceItem].append((
                        ids[AgencyServiceItem].take(), aid, item["id"], text, fen,
                        f"收到委托后{max(1, item['days'] - rng.randint(0, 3))}个工作日内提交成果"))
                    if item["types"] and not any(t in held for t in item["types"]):
                        held.append(item["types"][rng.randrange(len(item["types"]))])
                for t in held:
                    qt = ctx.qualification_types[t]
                    if rng.random() < 0.05:  # expires within the warning period
                        valid_to = today + dt.timedelta(days=rng.randint(1, warning_days - 1))
                    else:
                        valid_to = today + dt.timedelta(days=rng.randint(60, 1500))
                    # Valid well before the agency could first bid.
                    valid_from = min(timezone.localtime(created).date() - dt.timedelta(days=rng.randint(30, 365)),
                                     valid_to - dt.timedelta(days=1095))
                    scanned = rng.random() < 0.7
                    rows[Qualification].append((
                        ids[Qualification].take(), aid, t, f"{rng.choice('ABCDEFGH')}{rng.randint(10**7, 10**8 - 1)}",
                        _level(qt["name"]), (qt["issuer"] or "发证机关")[:100], valid_from, valid_to,
                        CERTIFICATE_NAME if scanned else "", "资质证书.pdf" if scanned else "",
                        "application/pdf" if scanned else "", created))
                rows[Practitioner].extend((ids[Practitioner].take(), aid, *p) for p in practitioners)
                if not (status == AgencyStatus.DRAFT and draft_step <= 2):
                    rows[LicenceFile].append((ids[LicenceFile].take(), aid, LicenceFile.Kind.BUSINESS_LICENCE,
                                              LICENCE_NAME, "营业执照.pdf", "application/pdf", len(DEMO_PDF), created))
            for table in (t_user, t_org, t_member, t_perm, t_agency, t_offer, t_qual, t_prac, t_lic):
                table.copy(cursor, rows[table.model])
            bar.update(len(rows[Agency]))
        bar.close()
        for i in ids.values():
            i.finish()
        deferred.restore(ctx.progress)
    return todo


# --- requests, bids, selections, open data --------------------------------------------------------------


@dataclass
class Bidder:
    agency_id: int
    user_id: int
    name: str
    uscc: str
    region: str
    since: dt.datetime  # may bid on requests published after this
    valid_until: dict[int, dt.date]  # item id -> last day its certificate is valid


def _bidders() -> tuple[dict[int, list[Bidder]], dict[int, list[dt.datetime]]]:
    """Active agencies by offered item, ordered by activation, with what eligibility needs."""
    admins = dict(Membership.objects.filter(organization__kind=Organization.Kind.AGENCY, role=Membership.Role.ADMIN)
                  .order_by("-pk").values_list("organization_id", "user_id"))
    quals: dict[int, list[tuple[int, dt.date, dt.date]]] = defaultdict(list)
    for agency_id, type_id, valid_from, valid_to in (Qualification.objects.filter(agency__status=AgencyStatus.ACTIVE)
                                                     .values_list("agency_id", "qualification_type_id", "valid_from",
                                                                  "valid_to")):
        quals[agency_id].append((type_id, valid_from, valid_to))
    offers: dict[int, list[int]] = defaultdict(list)
    for agency_id, item_id in AgencyServiceItem.objects.filter(agency__status=AgencyStatus.ACTIVE).values_list(
            "agency_id", "service_item_id"):
        offers[agency_id].append(item_id)
    item_types = {i.pk: [t.pk for t in i.qualification_types.all()]
                  for i in ServiceItem.objects.prefetch_related("qualification_types")}
    pools: dict[int, list[Bidder]] = defaultdict(list)
    for pk, activated, org_id, name, uscc, region in (
            Agency.objects.filter(status=AgencyStatus.ACTIVE, activated_at__isnull=False)
            .values_list("pk", "activated_at", "organization_id", "organization__name", "organization__uscc",
                         "organization__region_id")):
        if org_id not in admins:
            continue
        valid_until: dict[int, dt.date] = {}
        since = _utc(activated)
        for item_id in offers.get(pk, []):
            types = item_types.get(item_id, [])
            if not types:
                valid_until[item_id] = dt.date.max
                continue
            held = [q for q in quals.get(pk, []) if q[0] in types]
            if not held:
                continue
            _t, valid_from, valid_to = max(held, key=lambda q: q[2])
            valid_until[item_id] = valid_to
            since = max(since, dt.datetime.combine(valid_from, dt.time.min, tzinfo=UTC) + dt.timedelta(days=1))
        bidder = Bidder(pk, admins[org_id], name, uscc, region, since, valid_until)
        for item_id in valid_until:
            pools[item_id].append(bidder)
    for pool in pools.values():
        pool.sort(key=lambda b: (b.since, b.agency_id))
    starts = {item_id: [b.since for b in pool] for item_id, pool in pools.items()}
    return pools, starts


_PROPOSALS_JSON = [json.dumps(p, ensure_ascii=False) for p in PROPOSALS]


def fast_content_hash(request_id: int, agency_id: int, price_fen: int, nonce: str, proposal_index: int) -> str:
    """bids.services.content_hash for a price quote with PROPOSALS[proposal_index], without json.dumps
    (the same bytes: sorted keys, no spaces; the test compares the two)."""
    payload = (f'{{"agency":{agency_id},"discount_bp":null,"nonce":"{nonce}","price_fen":{price_fen},'
               f'"proposal":{_PROPOSALS_JSON[proposal_index]},"request":{request_id}}}')
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    import math

    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _value(fen: int | None) -> dict | None:
    return None if fen is None else {"amount": fen / 100, "currency": "CNY"}


def _party(uscc: str, name: str, region: str, roles: list[str]) -> dict:
    return {"id": f"{ORG_SCHEME}-{uscc}", "name": name, "roles": roles,
            "identifier": {"scheme": ORG_SCHEME, "id": uscc, "legalName": name},
            "address": {"region": region, "countryName": "中国"}}


@dataclass
class Owner:
    id: int
    user_id: int
    name: str
    uscc: str
    region: str


def _owners() -> list[Owner]:
    admins = dict(Membership.objects.filter(organization__kind=Organization.Kind.OWNER, role=Membership.Role.ADMIN)
                  .order_by("-pk").values_list("organization_id", "user_id"))
    return [Owner(pk, admins[pk], name, uscc, region) for pk, name, uscc, region in
            Organization.objects.filter(kind=Organization.Kind.OWNER, status=Organization.Status.VERIFIED)
            .order_by("pk").values_list("pk", "name", "uscc", "region_id") if pk in admins]


class RequestSeeder:
    """Plans and writes requests with their bids, selection runs and OCDS releases, batch by batch."""

    def __init__(self, ctx: Context, cursor, n_requests: int, n_bids: int):
        self.ctx, self.cursor, self.rng, self.now = ctx, cursor, ctx.rng, ctx.now
        self.n_requests, self.bids_left = n_requests, n_bids
        self.owners = _owners()
        self.pools, self.starts = _bidders()
        self.items = [i for i in ctx.items if len(self.pools.get(i["id"], [])) >= 1]
        # Popular items (more qualified agencies) get more requests.
        self.item_weights = list(itertools.accumulate(len(self.pools[i["id"]]) for i in self.items))
        self.window = dt.timedelta(seconds=settings.MARKET["MIN_BIDDING_WINDOW_SECONDS"])
        self.method_labels = {m: str(SelectionMethod(m).label) for m in SelectionMethod.values}
        self.ocds_prefix = settings.MARKET["OCDS_PREFIX"]
        self.ocds_since = self.now - dt.timedelta(days=OCDS_RECENT_DAYS)
        now = self.now
        self.t_request = Table(ServiceRequest, [
            "id", "owner_id", "created_by_id", "project_name", "service_item_id", "region_id", "description",
            "fiscal_share", "state_share", "social_share", "quote_mode", "budget_fen", "service_term_days",
            "selection_method", "price_weight", "quality_criteria", "direct_exemption", "bid_deadline", "selection_time",
            "contact_name", "contact_phone", "status", "status_reason", "round_number", "commitment", "secret",
            "published_at", "publicity_ends_at", "awarded_at", "created_at", "updated_at"], now)
        through = ServiceRequest.required_qualifications.through
        self.t_required = Table(through, ["id", "servicerequest_id", "qualificationtype_id"], now)
        self.t_bid = Table(Bid, ["id", "request_id", "agency_id", "submitted_by_id", "status", "price_fen", "nonce",
                                 "proposal", "content_hash", "submitted_at", "updated_at", "withdrawn_at"], now)
        self.t_run = Table(SelectionRun, ["id", "request_id", "run", "method", "outcome", "winner_id", "published",
                                          "performed_by_id", "created_at"], now)
        self.t_release = Table(OcdsRelease, ["id", "ocid", "release_id", "request_id", "date", "tags", "data"], now)
        self.ids = {m: Ids(cursor, m) for m in (ServiceRequest, through, Bid, SelectionRun, OcdsRelease)}
        self.through = through
        self.counts = defaultdict(int)
        self.timings: dict[str, float] = defaultdict(float)

    # -- planning ------------------------------------------------------------------------------------

    def _kinds(self) -> tuple[array, int]:
        """Per request: 0 draft, 1 cancelled, 2 ordinary; and how many ordinary requests there are."""
        kinds = array("b", [2]) * self.n_requests
        rng = self.rng
        recent = max(1, self.n_requests * 30 // SPAN_DAYS)  # created in the last month or so
        for i in range(self.n_requests):
            r = rng.random()
            if i >= self.n_requests - recent and r < 0.12:
                kinds[i] = 0
            elif r < 0.04:
                kinds[i] = 1
        return kinds, sum(1 for k in kinds if k == 2)

    def run(self) -> dict:
        kinds, ordinary_left = self._kinds()
        self.ordinary_left = ordinary_left
        start = self.now - dt.timedelta(days=SPAN_DAYS)
        step = (self.now - dt.timedelta(hours=2) - start) / self.n_requests
        bar = _bar(self.ctx.progress, "requests", self.n_requests)
        for first in range(0, self.n_requests, REQUEST_BATCH):
            batch = range(first, min(self.n_requests, first + REQUEST_BATCH))
            rows: dict[str, list] = defaultdict(list)
            t0 = time.perf_counter()
            for i in batch:
                published = start + step * (i + self.rng.random())
                self._request(rows, kinds[i], _utc(published))
            self.timings["generate"] += time.perf_counter() - t0
            for key, table in (("request", self.t_request), ("required", self.t_required), ("bid", self.t_bid),
                               ("run", self.t_run), ("release", self.t_release)):
                t0 = time.perf_counter()
                table.copy(self.cursor, rows[key])
                self.timings[f"copy {key}"] += time.perf_counter() - t0
            bar.update(len(batch))
            bar.set_postfix_str(f"bids {self.counts['bids']:,}")
        bar.close()
        for ids in self.ids.values():
            ids.finish()
        self.ctx.progress("requests: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items()))
        return dict(self.counts)

    def _request(self, rows, kind: int, published: dt.datetime) -> None:
        rng, now = self.rng, self.now
        item = rng.choices(self.items, cum_weights=self.item_weights)[0]
        owner = self.owners[rng.randrange(len(self.owners))]
        rid = self.ids[ServiceRequest].take()
        created = published - dt.timedelta(minutes=rng.randint(30, 2880))
        deadline = published + self.window + dt.timedelta(hours=rng.randint(1, 72))
        selection_time = deadline + dt.timedelta(minutes=30)
        draft = kind == 0
        if draft:  # drafts are recent and not yet published: their dates lie ahead
            created = min(created, now - dt.timedelta(minutes=5))
            deadline = now + self.window + dt.timedelta(hours=rng.randint(24, 240))
            selection_time = deadline + dt.timedelta(minutes=30)
        open_now = deadline > now
        social = rng.random() < 0.2
        state = not social and rng.random() < 0.2
        method = _weighted(rng, OPEN_METHODS if open_now or draft else PAST_METHODS)
        if social and rng.random() < 0.25:
            method = SelectionMethod.DIRECT
        budget = item["cap"] if item["cap"] else rng.choice([80, 150, 300, 500, 1200]) * 1_000_00
        project = f"{rng.choice(PROJECTS)}{item['name']}"
        term = rng.choice([15, 30, 45, 60, 90])
        weighted = method == SelectionMethod.WEIGHTED
        criteria = [{"name": "技术方案", "weight": 40}, {"name": "类似业绩", "weight": 20}] if weighted else []
        secret = "" if draft else rng.randbytes(32).hex()
        cancel_at = None
        if kind == 1:
            cancel_at = published + dt.timedelta(hours=rng.randint(5, max(6, int(self.window.total_seconds() // 3600))))
            cancel_at = max(published + dt.timedelta(minutes=1), min(cancel_at, deadline - dt.timedelta(minutes=1)))
            if cancel_at >= now:
                cancel_at = None  # not cancelled yet: still open
        status = RequestStatus.DRAFT if draft else RequestStatus.PUBLISHED
        reason = ""
        publicity_ends = awarded = None
        min_bidders = 1 if social else 3
        # How many bids: the remaining total spread over the remaining ordinary requests (± 40%).
        n_bids = 0
        if kind == 2:
            mean = self.bids_left / max(1, self.ordinary_left)
            n_bids = min(MAX_BIDS, _poisson(rng, mean * rng.uniform(0.6, 1.4)))
            # Near the end, take what the remaining requests could not hold.
            n_bids = min(MAX_BIDS, max(n_bids, self.bids_left - (self.ordinary_left - 1) * MAX_BIDS))
            self.ordinary_left -= 1
        elif kind == 1 and cancel_at is not None:
            n_bids = rng.randint(0, 2)
        elif kind == 1:
            n_bids = min(MAX_BIDS, _poisson(rng, 3))
        n_bids = max(0, min(n_bids, self.bids_left))
        bid_until = min(deadline, cancel_at or deadline, now) - dt.timedelta(minutes=1)
        selected_at = selection_time + dt.timedelta(minutes=1)
        made = self._bids(rows, rid, item, published, bid_until, selected_at, budget, n_bids) if not draft else []
        active = [b for group in made for b in group if b["status"] == BidStatus.ACTIVE]
        run = None
        if cancel_at is not None:
            status, reason = RequestStatus.CANCELLED, CANCEL_REASON
        elif not draft and selected_at <= now:
            run = self._selection(rid, owner, item, method, secret, budget, social, min_bidders, active, selected_at,
                                  rows)
            if run["outcome"] == SelectionRun.Outcome.FAILED:
                status, reason = RequestStatus.FAILED, run["published"]["failed_reason"]
            else:
                publicity_ends = self.ctx.publicity_end(selected_at)
                if publicity_ends <= now:
                    status, awarded = RequestStatus.AWARDED, publicity_ends
                else:
                    status = RequestStatus.PUBLICITY
        updated = max(t for t in (created, None if draft else published, cancel_at, run and selected_at, awarded) if t)
        rows["request"].append((
            rid, owner.id, owner.user_id, project, item["id"], owner.region, DESCRIPTION,
            0 if social or state else 100, 100 if state else 0, 100 if social else 0, QuoteMode.PRICE, budget, term, method,
            40 if weighted else None, json.dumps(criteria, ensure_ascii=False), "", deadline, selection_time,
            "项目联系人", f"020-8888{rid % 10000:04d}", status, reason, 1,
            draw.commitment_of(secret) if secret else "", secret, None if draft else published, publicity_ends, awarded,
            created, updated))
        rows["required"].extend((self.ids[self.through].take(), rid, t) for t in item["types"])
        self.counts["requests"] += 1
        self.counts[f"status_{status}"] += 1
        if not draft and published >= self.ocds_since:
            self._releases(rows, rid, owner, item, project, term, method, budget, published, deadline, reason,
                           cancel_at, run, active, awarded)

    def _bids(self, rows, rid: int, item: dict, published: dt.datetime, until: dt.datetime, selected_at: dt.datetime,
              budget: int, n: int) -> list[list[dict]]:
        """n bids by distinct eligible agencies; a few agencies withdrew a first bid and bid again."""
        if n <= 0 or until <= published:
            return []
        rng = self.rng
        pool, starts = self.pools[item["id"]], self.starts[item["id"]]
        eligible_upto = bisect.bisect_left(starts, published)
        if eligible_upto == 0:
            return []
        select_day = timezone.localtime(selected_at).date()
        picked: list[Bidder] = []
        seen: set[int] = set()
        tries = 0
        while len(picked) < n and tries < n * 3 + 10 and len(seen) < eligible_upto:
            tries += 1
            j = rng.randrange(eligible_upto)
            if j in seen:
                continue
            seen.add(j)
            b = pool[j]
            if b.valid_until.get(item["id"], dt.date.min) >= select_day:
                picked.append(b)
        groups = []
        left = n
        span = (until - published).total_seconds()
        low = min(600.0, span / 2)
        for b in picked:
            if left <= 0:
                break
            group = []
            at = published + dt.timedelta(seconds=rng.uniform(low, span))
            if left >= 2 and rng.random() < 0.01:  # withdrawn, then bid again
                again = published + dt.timedelta(seconds=rng.uniform(low, span))
                first, again = min(at, again), max(at, again)
                group.append(self._bid(rows, rid, b, budget, first, withdrawn_at=first + (again - first) / 2))
                group.append(self._bid(rows, rid, b, budget, again))
            else:
                group.append(self._bid(rows, rid, b, budget, at))
            left -= len(group)
            groups.append(group)
        return groups

    def _bid(self, rows, rid: int, b: Bidder, budget: int, at: dt.datetime, withdrawn_at=None) -> dict:
        rng = self.rng
        bid_id = self.ids[Bid].take()
        price = int(budget * rng.uniform(0.7, 0.98))
        nonce = rng.randbytes(16).hex()
        k = rng.randrange(len(PROPOSALS))
        proposal = PROPOSALS[k]
        digest = fast_content_hash(rid, b.agency_id, price, nonce, k)
        status = BidStatus.WITHDRAWN if withdrawn_at else BidStatus.ACTIVE
        rows["bid"].append((bid_id, rid, b.agency_id, b.user_id, status, price, nonce, proposal, digest, at, at,
                            withdrawn_at))
        self.counts["bids"] += 1
        self.bids_left -= 1
        return {"id": bid_id, "bidder": b, "price": price, "nonce": nonce, "at": at, "status": status}

    def _selection(self, rid: int, owner: Owner, item: dict, method: str, secret: str, budget: int, social: bool,
                   min_bidders: int, active: list[dict], at: dt.datetime, rows) -> dict:
        """The SelectionRun bids.services._perform_selection would publish (every active bid is eligible)."""
        active = sorted(active, key=lambda b: b["id"])
        failed = len(active) < min_bidders
        entries = [draw.Entry(bid_id=b["id"], price_fen=b["price"], nonce=b["nonce"]) for b in active]
        published: dict[str, Any] = {
            "request_id": rid, "run": 1, "method": method, "commitment": draw.commitment_of(secret), "secret": secret,
            "min_bidders": min_bidders, "price_weight": None, "quality_criteria": [], "ceiling_fen": budget,
            "selected_at": at.isoformat(), "excluded": [], "factor": None, "reference_price_fen": None,
            "direct_reason": "", "direct_exemption": "",
        }
        direct_id = None
        if failed:
            outcome = draw.run(method="random", secret_hex=secret, entries=entries)
        else:
            if method == SelectionMethod.DIRECT:
                direct_id = active[self.rng.randrange(len(active))]["id"]
                published["direct_reason"] = DIRECT_REASON
            outcome = draw.run(method=method, secret_hex=secret, entries=entries, price_weight=None,
                               direct_bid_id=direct_id)
        published["seed"] = outcome.seed.hex()
        if outcome.factor is not None:
            published["factor"] = draw.decimal_str(outcome.factor, 12)
            published["reference_price_fen"] = draw.decimal_str(outcome.reference_fen, 2)
        published["eligible"] = [
            {"bid_id": b["id"], "agency_id": b["bidder"].agency_id, "agency": b["bidder"].name, "uscc": b["bidder"].uscc,
             "price_fen": b["price"], "discount_bp": None, "nonce": b["nonce"], "ticket": outcome.tickets[b["id"]],
             "submitted_at": b["at"].isoformat(), "quality_score": None, "quality_score_decimal": None,
             "price_score": None, "total_score": None, "evaluator_scores": None}
            for b in active]
        winner = None
        if failed:
            published.update({"outcome": SelectionRun.Outcome.FAILED, "winner_bid_id": None, "ranking": [],
                              "failed_reason": _("Only %(n)d valid bids; at least %(m)d are needed.")
                              % {"n": len(active), "m": min_bidders}})
        else:
            winner = next(b for b in active if b["id"] == outcome.winner)
            published.update({"outcome": SelectionRun.Outcome.SELECTED, "winner_bid_id": winner["id"],
                              "winner_agency": winner["bidder"].name, "winner_price_fen": winner["price"],
                              "ranking": outcome.ranking})
        rows["run"].append((self.ids[SelectionRun].take(), rid, 1, method, published["outcome"],
                            winner["id"] if winner else None, json.dumps(published, ensure_ascii=False),
                            owner.user_id, at))
        self.counts["selection_runs"] += 1
        return {"outcome": published["outcome"], "published": published, "winner": winner, "at": at}

    def _releases(self, rows, rid, owner: Owner, item, project, term, method, budget, published, deadline, reason,
                  cancel_at, run, active, awarded) -> None:
        """The releases request_transition would have recorded (market.opendata.ocds.build_release's shape)."""
        events = [("tender", published, RequestStatus.PUBLISHED)]
        if cancel_at is not None:
            events.append(("tenderCancellation", cancel_at, RequestStatus.CANCELLED))
        elif run is not None:
            if run["outcome"] == SelectionRun.Outcome.FAILED:
                events.append(("tenderUpdate", run["at"], RequestStatus.FAILED))
            else:
                events.append(("award", run["at"], RequestStatus.PUBLICITY))
                if awarded is not None:
                    events.append(("awardUpdate", awarded, RequestStatus.AWARDED))
        ocid = f"{self.ocds_prefix}-{rid}"
        owner_party = _party(owner.uscc, owner.name, owner.region, ["buyer", "procuringEntity"])
        for sequence, (tag, at, status_then) in enumerate(events, start=1):
            parties = {owner.uscc: json.loads(json.dumps(owner_party))}
            if status_then == RequestStatus.PUBLISHED:
                tender_status = "active" if at < deadline else "complete"
            else:
                tender_status = {RequestStatus.CANCELLED: "cancelled", RequestStatus.FAILED: "unsuccessful"}.get(
                    status_then, "complete")
            tender = self._tender(ocid, project, term, item, method, budget, published, deadline, tender_status)
            if status_then == RequestStatus.CANCELLED:
                tender["statusDetails"] = reason
            release: dict[str, Any] = {
                "ocid": ocid, "id": f"{ocid}-{sequence:04d}", "date": _iso(at), "tag": [tag],
                "initiationType": "tender", "language": "zh", "buyer": {"id": f"{ORG_SCHEME}-{owner.uscc}",
                                                                         "name": owner.name},
                "tender": tender,
            }
            if at >= deadline:  # bidding closed: the tenderers are public
                tender["numberOfTenderers"] = len(active)
                tender["tenderers"] = [{"id": f"{ORG_SCHEME}-{b['bidder'].uscc}", "name": b["bidder"].name}
                                       for b in sorted(active, key=lambda b: b["id"])]
                for b in sorted(active, key=lambda b: b["id"]):
                    parties.setdefault(b["bidder"].uscc, _party(b["bidder"].uscc, b["bidder"].name,
                                                                b["bidder"].region, ["tenderer"]))
            if run is not None and tag != "tender":
                award_status = {"selected": "active" if status_then != RequestStatus.PUBLICITY else "pending",
                                "failed": "unsuccessful", "void": "cancelled"}[run["outcome"]]
                award = {"id": f"{ocid}-award-1", "status": award_status, "date": _iso(run["at"]),
                         "title": project}
                winner = run["winner"]
                if winner is not None:
                    w = winner["bidder"]
                    supplier = parties.setdefault(w.uscc, _party(w.uscc, w.name, w.region, ["tenderer"]))
                    if "supplier" not in supplier["roles"]:
                        supplier["roles"].append("supplier")
                    award["value"] = _value(winner["price"])
                    award["suppliers"] = [{"id": supplier["id"], "name": w.name}]
                else:
                    award["statusDetails"] = run["published"].get("failed_reason", "")
                release["awards"] = [award]
            release["parties"] = list(parties.values())
            rows["release"].append((self.ids[OcdsRelease].take(), ocid, release["id"], rid, at,
                                    json.dumps([tag]), json.dumps(release, ensure_ascii=False)))
            self.counts["ocds_releases"] += 1

    def _tender(self, ocid, project, term, item, method, budget, published, deadline, tender_status) -> dict:
        return {
            "id": f"{ocid}-tender", "title": project, "description": DESCRIPTION,
            "status": tender_status, "value": _value(budget), "procurementMethod": METHOD[method],
            "procurementMethodDetails": self.method_labels[method], "awardCriteria": AWARD_CRITERIA[method],
            "awardCriteriaDetails": CRITERIA_DETAILS[method], "mainProcurementCategory": "services",
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {"startDate": _iso(published), "endDate": _iso(deadline)},
            "items": [{"id": "1", "description": item["name"], "quantity": 1,
                       "classification": {"scheme": "GD-ZJFW", "id": item["code"], "description": item["name"]}}],
            "eligibilityCriteria": "、".join(item["type_names"]) or "无资质要求",
            "contractPeriod": {"durationInDays": term},
        }


def seed_requests(ctx: Context, wanted: int, wanted_bids: int) -> dict:
    have = ServiceRequest.objects.count()
    todo = wanted - have
    if todo <= 0:
        return {}
    bids = max(0, wanted_bids - Bid.objects.count())
    if not Organization.objects.filter(kind=Organization.Kind.OWNER, status=Organization.Status.VERIFIED).exists():
        return {"skipped": "no verified owners"}
    through = ServiceRequest.required_qualifications.through
    with transaction.atomic(), connection.cursor() as cursor:
        _fast_session(cursor)
        deferred = DeferredIndexes(cursor, [ServiceRequest, through, Bid, SelectionRun, OcdsRelease])
        seeder = RequestSeeder(ctx, cursor, todo, bids)  # reads agencies and owners before the indexes go
        if not seeder.items:
            return {"skipped": "no active agency offers a catalogue item"}
        deferred.drop()
        counts = seeder.run()
        deferred.restore(ctx.progress)
    return counts


# --- entry point ------------------------------------------------------------------------------------------


BULK_TABLES = [User, Organization, Membership, OrganizationUserObjectPermission, Agency, AgencyServiceItem,
               Qualification, Practitioner, LicenceFile, ServiceRequest, Bid, SelectionRun, OcdsRelease]


def seed(*, rng: random.Random, options: dict, progress) -> dict:
    """Top up owners, agencies, requests and bids to the sizes in `options` (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("the large scale writes with PostgreSQL's COPY: set DATABASE_URL to a PostgreSQL database")
    ctx = _context(rng, progress)
    if not ctx.places or not ctx.items:
        return {"skipped": "load the reference data first"}
    result: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(7302042)")  # one bulk seeder at a time
    try:
        result["owners_created"] = seed_owners(ctx, int(options.get("owners", 0)))
        result["agencies_created"] = seed_agencies(ctx, int(options.get("agencies", 0)))
        counts = seed_requests(ctx, int(options.get("requests", 0)), int(options.get("bids", 0)))
        result.update({f"created_{k}" if not k.startswith("status_") else k: v for k, v in counts.items()})
        created = any(v for k, v in result.items() if k.endswith("created") or k.startswith("created_"))
        if created:
            with transaction.atomic():
                audit_record(actor=None, action="demo.bulk_seed", object_type="demo", object_id="large",
                             after={k: v for k, v in result.items() if isinstance(v, int)})
            progress("analyzing the tables")
            with connection.cursor() as cursor:
                qn = connection.ops.quote_name
                for model in BULK_TABLES + [ServiceRequest.required_qualifications.through]:
                    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
                    cursor.execute(f"{verb} {qn(model._meta.db_table)}")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(7302042)")
    return result
