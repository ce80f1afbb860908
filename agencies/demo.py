"""Demo agencies: `options["agencies"]` registrations across Guangdong's regions, in every status
(mostly active), offering catalogue items of their trade with fee quotes, holding qualification
certificates (some expiring soon, some expired) and practitioners; users agency1…N administer them.

Bulk inserts keep it fast (200 agencies in a couple of seconds); each agency still gets its audit
event. Idempotent: an agency whose user (agencyN) exists is left alone.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from market.core.audit import audit_record
from market.demo.core import DEMO_PASSWORD, demo_uscc
from market.demo.names import AGENCY_SUFFIX, AGENCY_WORDS, GENERIC_SUFFIX, offered_items, person_name, phone
from market.accounts.models import Membership, Organization, OrganizationUserObjectPermission, Region, User
from market.catalogue.models import PricingMode, QualificationType, ServiceItem
from market.calendar.workdays import period_end

from .models import (Agency, AgencyServiceItem, AgencyStatus, AgencyType, LicenceFile, Practitioner, PublicityObjection,
                     Qualification, private_storage)

S = AgencyStatus
# agency1 is an active agency with a certificate about to expire (log in as agency1 to see the warning);
# agency2…agency10 cover every other status.
FIXED_STATUSES = {1: S.ACTIVE, 2: S.DRAFT, 3: S.SUBMITTED, 4: S.RETURNED, 5: S.PUBLICITY, 6: S.SUSPENDED, 7: S.BANNED,
                  8: S.REJECTED, 9: S.WITHDRAWN, 10: S.PUBLICITY}
STATUS_WEIGHTS = [(S.ACTIVE, 72), (S.SUBMITTED, 7), (S.PUBLICITY, 5), (S.DRAFT, 5), (S.RETURNED, 4), (S.SUSPENDED, 3),
                  (S.BANNED, 2), (S.REJECTED, 1), (S.WITHDRAWN, 1)]
GRADES = [("A", 60, (90, 100)), ("B", 25, (75, 89)), ("C", 10, (60, 74)), ("D", 5, (40, 59))]
TITLES = ["高级工程师", "工程师", "注册测绘师", "注册环评工程师", "注册安全工程师", "注册会计师", "注册造价工程师",
          "一级注册建筑师", "注册土地估价师", "助理工程师", "注册咨询工程师（投资）"]
RETURN_COMMENTS = ["营业执照扫描件不清晰，请重新上传。", "资质证书有效期与原件不一致，请核对后补正。",
                   "服务承诺过于笼统，请写明服务时限和成果要求。", "联系人电话无法接通，请更新联系方式。"]
REJECT_COMMENTS = ["经核查，提交的资质证书系伪造，不予入驻。", "申请机构经营范围不含所申报的中介服务，不予入驻。"]
SUSPEND_REASONS = ["涉嫌虚假承诺，暂停承接业务接受调查。", "年度抽查发现服务成果质量严重不合格，暂停整改。"]
BAN_REASONS = ["中选后无正当理由拒不签订合同，列入黑名单一年。", "提供虚假材料骗取中选，列入黑名单三年。"]
OBJECTION_REASONS = ["该机构注册地址为虚假地址，实地核查无此单位。", "该机构近三年存在违规执业被行政处罚记录，申报材料未如实说明。"]
DEMO_PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")
LICENCE_NAME = "agencies/demo/business-licence.pdf"
CERTIFICATE_NAME = "agencies/demo/certificate.pdf"


def _shared_demo_files() -> None:
    """One small PDF every demo licence and certificate points to (not one file per agency)."""
    storage = private_storage()
    for name in (LICENCE_NAME, CERTIFICATE_NAME):
        if not storage.exists(name):
            saved = storage.save(name, ContentFile(DEMO_PDF))
            assert saved == name, saved


def _catalogue() -> tuple[dict[str, list[ServiceItem]], dict[int, list[int]], list[str]]:
    items = list(ServiceItem.objects.filter(is_active=True).select_related("category").prefetch_related("qualification_types")
                 .order_by("code"))
    by_category: dict[str, list[ServiceItem]] = defaultdict(list)
    required: dict[int, list[int]] = {}
    for item in items:
        by_category[item.category.code].append(item)
        required[item.pk] = sorted(t.pk for t in item.qualification_types.all())
    return by_category, required, sorted(by_category)


def _fee(rng: random.Random, item: ServiceItem) -> tuple[str, int | None]:
    if item.pricing_mode != PricingMode.MARKET and item.fee_cap_fen:
        discount = rng.choice([0, 5, 10, 15, 20])
        fen = int(item.fee_cap_fen * (100 - discount) / 100) // 100 * 100
        text = "执行政府定价" if discount == 0 and item.pricing_mode == PricingMode.GOVERNMENT_SET else f"按收费标准下浮{discount}%"
        return text, fen
    fen = rng.randrange(50, 3000) * 10_000
    return rng.choice(["按项目规模协商计费", "参考行业收费标准协商确定", f"一般项目约{fen // 100:,}元"]), fen


def _validity(rng: random.Random, today: dt.date, *, force: str = "") -> tuple[dt.date, dt.date]:
    roll = rng.random()
    kind = force or ("expired" if roll < 0.06 else "expiring" if roll < 0.16 else "valid")
    if kind == "expired":
        valid_to = today - dt.timedelta(days=rng.randint(1, 200))
    elif kind == "expiring":
        valid_to = today + dt.timedelta(days=rng.randint(1, settings.MARKET["QUALIFICATION_WARNING_DAYS"] - 1))
    else:
        valid_to = today + dt.timedelta(days=rng.randint(60, 1500))
    return valid_to - dt.timedelta(days=rng.choice([1095, 1826])), valid_to


def seed(*, rng: random.Random, options: dict, progress) -> dict:
    count = int(options.get("agencies", 200))
    if count <= 0:
        return {"agencies_created": 0}
    now = timezone.now()
    today = timezone.localdate()
    regulator = User.objects.filter(username="regulator").first()
    places = list(Region.objects.filter(level__in=[Region.Level.COUNTY, Region.Level.TOWN]).select_related("parent")
                  .order_by("code"))
    by_category, required, categories = _catalogue()
    if not places or not categories:
        progress("agencies: no regions or catalogue; load the reference data first")
        return {"agencies_created": 0}
    existing_users = set(User.objects.filter(username__startswith="agency").values_list("username", flat=True))
    used_usccs = set(Organization.objects.filter(kind=Organization.Kind.AGENCY).values_list("uscc", flat=True))
    used_names = set(Organization.objects.filter(kind=Organization.Kind.AGENCY).values_list("name", flat=True))
    status_values = [s for s, _w in STATUS_WEIGHTS]
    status_weights = [w for _s, w in STATUS_WEIGHTS]

    # 1. Plan every agency (the random draws do not depend on what exists, so reruns are stable).
    plans = []
    for i in progress.iter(range(1, count + 1), "agencies", total=count):
        status = FIXED_STATUSES.get(i) or rng.choices(status_values, status_weights)[0]
        place = places[rng.randrange(len(places))]
        category = categories[rng.randrange(len(categories))]
        if i == 1 and "surveying" in by_category:  # an item that needs a certificate, to show the expiry warning
            category = "surveying"
        chosen = offered_items(rng, by_category, categories, category)
        prefecture = (place.parent.name if place.parent else place.name).removesuffix("市")
        name = f"{prefecture}{rng.choice(AGENCY_WORDS)}{rng.choice(AGENCY_WORDS)}{AGENCY_SUFFIX.get(category, GENERIC_SUFFIX)}"
        uscc = demo_uscc(rng, place.code, "1", "9")
        grade, _weight, (low, high) = rng.choices(GRADES, [g[1] for g in GRADES])[0]
        plan = {
            "i": i, "status": status, "place": place, "items": chosen, "name": name, "uscc": uscc,
            "grade": grade, "score": rng.randint(low, high), "legal": person_name(rng), "contact": person_name(rng),
            "phone": phone(rng), "street": rng.randint(1, 999), "type": AgencyType.PARTNERSHIP if "事务所" in name else (
                AgencyType.INSTITUTION if "研究院" in name else AgencyType.COMPANY),
            "offers": [(item, *_fee(rng, item), f"收到委托后{max(1, item.time_limit_days - rng.randint(0, 3))}个工作日内提交成果")
                       for item in chosen],
            "age_days": rng.randint(20, 1200), "hours": rng.randint(1, 72),
            "practitioners": [(person_name(rng), rng.choice(TITLES), f"{rng.randint(10**9, 10**10 - 1)}")
                              for _ in range(rng.randint(2, 6))],
            "comment": rng.choice(RETURN_COMMENTS), "reject": rng.choice(REJECT_COMMENTS),
            "suspend": rng.choice(SUSPEND_REASONS), "ban": rng.choice(BAN_REASONS),
            "draft_step": rng.randint(2, 6),
        }
        qual_types = []
        for item in chosen:
            options_ = required[item.pk]
            if options_ and not any(t in qual_types for t in options_):
                qual_types.append(options_[rng.randrange(len(options_))])
        plan["quals"] = [(t, *_validity(rng, today, force="expiring" if i == 1 and n == 0 else ""),
                          f"{rng.choice('ABCDEFGH')}{rng.randint(10**7, 10**8 - 1)}", rng.random() < 0.7)
                         for n, t in enumerate(qual_types)]
        plans.append(plan)

    todo = [p for p in plans if f"agency{p['i']}" not in existing_users]
    if not todo:
        return {"agencies_created": 0}
    for p in todo:  # unique names and codes among all agencies
        if p["name"] in used_names:
            p["name"] = p["name"].replace("有限公司", f"（{p['i']}）有限公司") if "有限公司" in p["name"] else f"{p['name']}（{p['i']}）"
        while p["uscc"] in used_usccs:
            p["uscc"] = demo_uscc(rng, p["place"].code, "1", "9")
        used_names.add(p["name"])
        used_usccs.add(p["uscc"])

    _shared_demo_files()
    password = make_password(DEMO_PASSWORD)
    perms = {p.codename: p for p in Permission.objects.filter(
        content_type__app_label="market", codename__in=["act_for_organization", "manage_organization"])}
    quals_by_type = {qt.pk: qt for qt in QualificationType.objects.all()}
    working_days = settings.MARKET["AGENCY_PUBLICITY_WORKING_DAYS"]
    override = settings.MARKET["AGENCY_PUBLICITY_SECONDS"]

    created = 0
    chunk = 500
    for start in range(0, len(todo), chunk):
        batch = todo[start:start + chunk]
        with transaction.atomic():
            users = User.objects.bulk_create([
                User(username=f"agency{p['i']}", email=f"agency{p['i']}@example.com", password=password,
                     first_name=p["contact"]) for p in batch])
            orgs = Organization.objects.bulk_create([
                Organization(kind=Organization.Kind.AGENCY, name=p["name"], uscc=p["uscc"], region=p["place"],
                             address=f"{p['place'].full_name}{p['street']}号", legal_representative=p["legal"],
                             contact_name=p["contact"], contact_phone=p["phone"], contact_email=f"agency{p['i']}@example.com",
                             status=(Organization.Status.VERIFIED if p["status"] in (S.ACTIVE, S.SUSPENDED, S.BANNED)
                                     else Organization.Status.PENDING),
                             verified_at=now - dt.timedelta(days=p["age_days"] - 10)
                             if p["status"] in (S.ACTIVE, S.SUSPENDED, S.BANNED) else None)
                for p in batch])
            Membership.objects.bulk_create([Membership(user=u, organization=o, role=Membership.Role.ADMIN)
                                            for u, o in zip(users, orgs)])
            OrganizationUserObjectPermission.objects.bulk_create([
                OrganizationUserObjectPermission(permission=perm, user=u, content_object=o)
                for u, o in zip(users, orgs) for perm in perms.values()])
            agencies = Agency.objects.bulk_create([_agency(p, o, u, now, working_days, override) for p, o, u in
                                                   zip(batch, orgs, users)])
            AgencyServiceItem.objects.bulk_create([
                AgencyServiceItem(agency=a, service_item=item, fee_quote=text, fee_quote_fen=fen, commitment=commitment)
                for p, a in zip(batch, agencies) for item, text, fen, commitment in p["offers"]])
            Qualification.objects.bulk_create([
                Qualification(agency=a, qualification_type_id=t, certificate_number=number, level=_level(quals_by_type[t].name),
                              issuer=(quals_by_type[t].issuer or "发证机关")[:100], valid_from=valid_from, valid_to=valid_to,
                              file=CERTIFICATE_NAME if scanned else "", original_name="资质证书.pdf" if scanned else "",
                              content_type="application/pdf" if scanned else "")
                for p, a in zip(batch, agencies) for t, valid_from, valid_to, number, scanned in p["quals"]])
            Practitioner.objects.bulk_create([
                Practitioner(agency=a, name=name, title=title, certificate_number=number)
                for p, a in zip(batch, agencies) for name, title, number in p["practitioners"]])
            LicenceFile.objects.bulk_create([
                LicenceFile(agency=a, kind=LicenceFile.Kind.BUSINESS_LICENCE, file=LICENCE_NAME, original_name="营业执照.pdf",
                            content_type="application/pdf", size=len(DEMO_PDF))
                for p, a in zip(batch, agencies) if not (p["status"] == S.DRAFT and p["draft_step"] <= 2)])
            objections = []
            for p, a in zip(batch, agencies):
                if p["status"] == S.PUBLICITY and p["i"] % 2 == 0:  # agency10 and others: an open objection
                    objections.append(PublicityObjection(agency=a, contact_name=person_name(rng), contact_phone=phone(rng),
                                                         reason=rng.choice(OBJECTION_REASONS)))
            PublicityObjection.objects.bulk_create(objections)
            for p, a in zip(batch, agencies):
                audit_record(actor=regulator, action="agency.demo_seed", obj=a,
                             after={"status": a.status, "uscc": p["uscc"], "user": f"agency{p['i']}"})
            created += len(agencies)
    counts = defaultdict(int)
    for p in todo:
        counts[str(p["status"])] += 1
    return {"agencies_created": created, **{f"status_{k}": v for k, v in sorted(counts.items())}}


def _level(name: str) -> str:
    for level in ("甲级", "乙级", "丙级"):
        if level in name:
            return level
    return ""


def _agency(p: dict, org: Organization, user: User, now: dt.datetime, working_days: int, override: int) -> Agency:
    status = p["status"]
    created = now - dt.timedelta(days=p["age_days"])
    agency = Agency(organization=org, agency_type=p["type"], status=status, created_by=user,
                    introduction=f"{org.name}专业从事相关中介服务，执业人员{len(p['practitioners'])}名，服务范围覆盖全省。",
                    credit_grade=p["grade"] if status in (S.ACTIVE, S.SUSPENDED, S.BANNED) else "A",
                    credit_score=p["score"] if status in (S.ACTIVE, S.SUSPENDED, S.BANNED) else 100,
                    draft_step=p["draft_step"] if status == S.DRAFT else 6)
    if status == S.BANNED:
        agency.credit_grade, agency.credit_score = "D", min(p["score"], 55)
    if status in (S.DRAFT,):
        return agency
    if status == S.WITHDRAWN:
        agency.status_reason = "机构业务调整，主动撤回入驻申请。"
        return agency
    if status == S.PUBLICITY:
        agency.submitted_at = now - dt.timedelta(hours=p["hours"] + 24)
        agency.publicity_started_at = now - dt.timedelta(hours=p["hours"] % 24)
        agency.publicity_ends_at = period_end(agency.publicity_started_at, working_days=working_days,
                                              override_seconds=override)
        agency.review_comment = "资料齐全，同意入驻，进入公示。"
        return agency
    agency.submitted_at = created if status in (S.ACTIVE, S.SUSPENDED, S.BANNED) else now - dt.timedelta(hours=p["hours"])
    if status == S.RETURNED:
        agency.review_comment = p["comment"]
    elif status == S.REJECTED:
        agency.review_comment = p["reject"]
    elif status in (S.ACTIVE, S.SUSPENDED, S.BANNED):
        agency.publicity_started_at = created + dt.timedelta(days=2)
        agency.publicity_ends_at = created + dt.timedelta(days=9)
        agency.activated_at = agency.publicity_ends_at
        agency.review_comment = "资料齐全，同意入驻。"
        if status == S.SUSPENDED:
            agency.status_reason = p["suspend"]
        elif status == S.BANNED:
            agency.status_reason = p["ban"]
    return agency
