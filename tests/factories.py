"""Factories for tests: build data through the services, as users would."""

from __future__ import annotations

import itertools

from market.accounts import services
from market.accounts.models import Membership, Organization, Region, User
from market.core.uscc import make_uscc

_seq = itertools.count(1)
PASSWORD = "Test-pass-2026!"


def next_uscc(region_code: str = "440104", kind: str = "91") -> str:
    n = next(_seq)
    return make_uscc(f"{kind}{region_code}{n:09d}")


def make_user(username: str | None = None, **kwargs) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    return User.objects.create_user(username=username, email=kwargs.pop("email", f"{username}@example.com"),
                                    password=PASSWORD, **kwargs)


def region(code: str = "440104") -> Region:
    return Region.objects.get(code=code)


def make_regulator(username: str | None = None) -> User:
    org = Organization.objects.filter(kind=Organization.Kind.REGULATOR).first()
    if org is None:
        org = services.regulator_organization_create(actor=None, name="广东省政务服务和数据管理局",
                                                     uscc=next_uscc("440000", "11"), region=region("440000"),
                                                     superuser_bootstrap=True)
    user = make_user(username)
    services.membership_add(actor=None, organization=org, user=user, role=Membership.Role.ADMIN, _bootstrap=True)
    return user


def make_owner(*, verified: bool = True, admin: User | None = None, name: str | None = None,
               region_code: str = "440104") -> Organization:
    admin = admin or make_user()
    org = services.organization_register(actor=admin, kind=Organization.Kind.OWNER, name=name or f"测试业主{next(_seq)}",
                                         uscc=next_uscc(region_code, "11"), region=region(region_code),
                                         contact_name="张三", contact_phone="13800000000")
    if verified:
        org = services.organization_verify(actor=make_regulator(), organization=org, approve=True)
    return org


def org_admin(org: Organization) -> User:
    return org.memberships.filter(role=Membership.Role.ADMIN).select_related("user").first().user


# --- Agencies (agencies app) -----------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def pdf_upload(name: str = "营业执照.pdf", content: bytes = PDF_BYTES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _factory_private_storage():
    """Files made by factories never land in the project's own private_media directory: unless a
    test already points the private storage elsewhere, they go to a temporary directory."""
    import contextlib
    import tempfile
    from pathlib import Path

    from django.conf import settings
    from django.test import override_settings

    location = Path(settings.STORAGES["private"].get("OPTIONS", {}).get("location", ""))
    if location.resolve() != (Path(settings.BASE_DIR) / "private_media").resolve():
        return contextlib.nullcontext()
    tmp = Path(tempfile.gettempdir()) / "market-test-private"
    return override_settings(STORAGES={**settings.STORAGES, "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp), "base_url": None}}})


def _as_service_item(value):
    from market.catalogue.models import ServiceItem

    return value if isinstance(value, ServiceItem) else ServiceItem.objects.get(code=value)


def _as_qualification_type(value):
    from market.catalogue.models import QualificationType

    return value if isinstance(value, QualificationType) else QualificationType.objects.get(code=value)


def make_agency(*, status: str = "active", service_items=(), qualification_types=(), valid_to=None,
                region_code: str = "440104", admin: User | None = None, name: str | None = None,
                fee_quote_fen: int | None = None):
    """An agency built through the agencies services and brought to `status` by legal moves.

    service_items / qualification_types: ServiceItem / QualificationType objects or codes. With no
    item given, the agency offers one catalogue item that needs no qualification. Each qualification
    type gets a certificate valid from a year ago to `valid_to` (default: two years ahead; a past
    date makes an expired certificate)."""
    import datetime as dt

    from django.utils import timezone

    from agencies import services as agency_services
    from agencies.models import Agency, AgencyStatus, Qualification
    from market.catalogue.models import ServiceItem

    admin = admin or make_user()
    n = next(_seq)
    agency = agency_services.agency_register(
        actor=admin, name=name or f"测试中介服务{n}有限公司", uscc=next_uscc(region_code[:6], "91"), region=region(region_code),
        legal_representative="王五", contact_name="赵六", contact_phone="13900000000", contact_email=admin.email,
        address="广州市天河路1号")
    with _factory_private_storage():
        agency_services.licence_file_add(actor=admin, agency=agency, upload=pdf_upload())
    items = [_as_service_item(x) for x in service_items] or [
        ServiceItem.objects.filter(is_active=True, qualification_types__isnull=True).order_by("code").first()]
    for item in items:
        agency_services.agency_item_set(actor=admin, agency=agency, service_item=item, fee_quote="按收费标准下浮10%",
                                        fee_quote_fen=fee_quote_fen, commitment="按时保质完成")
    today = timezone.localdate()
    for i, qtype in enumerate(_as_qualification_type(x) for x in qualification_types):
        qual = agency_services.qualification_add(
            actor=admin, agency=agency, qualification_type=qtype, certificate_number=f"ZZ{n:05d}-{i}", issuer=qtype.issuer or "发证机关",
            level="甲级", valid_from=today - dt.timedelta(days=365), valid_to=today + dt.timedelta(days=730))
        if valid_to is not None:
            Qualification.objects.filter(pk=qual.pk).update(valid_from=min(today - dt.timedelta(days=365),
                                                                           valid_to - dt.timedelta(days=365)),
                                                            valid_to=valid_to)
    agency_services.practitioner_add(actor=admin, agency=agency, name="钱七", title="高级工程师", certificate_number=f"P{n:06d}")

    S = AgencyStatus
    if status == S.DRAFT:
        return Agency.objects.get(pk=agency.pk)
    if status == S.WITHDRAWN:
        agency_services.agency_transition(agency=agency, to=S.WITHDRAWN, actor=admin, comment="不再入驻")
        return Agency.objects.get(pk=agency.pk)
    agency_services.agency_transition(agency=agency, to=S.SUBMITTED, actor=admin)
    if status == S.SUBMITTED:
        return Agency.objects.get(pk=agency.pk)
    reviewer = make_regulator()
    if status in (S.RETURNED, S.REJECTED):
        agency_services.agency_transition(agency=agency, to=status, actor=reviewer, comment="材料不全，请补充")
        return Agency.objects.get(pk=agency.pk)
    agency_services.agency_transition(agency=agency, to=S.PUBLICITY, actor=reviewer, comment="同意入驻，进入公示")
    if status == S.PUBLICITY:
        return Agency.objects.get(pk=agency.pk)
    Agency.objects.filter(pk=agency.pk).update(publicity_ends_at=timezone.now() - dt.timedelta(seconds=1))
    agency_services.agency_transition(agency=agency, to=S.ACTIVE, actor=None)
    if status in (S.SUSPENDED, S.BANNED):
        agency_services.agency_transition(agency=agency, to=status, actor=reviewer, comment="违规，暂停/禁入")
    elif status != S.ACTIVE:
        raise ValueError(f"unknown agency status {status!r}")
    return Agency.objects.select_related("organization").get(pk=agency.pk)


def agency_admin(agency) -> User:
    return org_admin(agency.organization)


def make_agencies_bulk(count: int, *, service_items=(), qualification_types=(), region_codes=("440104",),
                       status: str = "active", valid_to=None) -> list:
    """Many agencies at once (bulk inserts, no services, no audit): for query-count and load tests."""
    import datetime as dt

    from django.utils import timezone

    from agencies.models import Agency, AgencyServiceItem, Qualification

    items = [_as_service_item(x) for x in service_items]
    qtypes = [_as_qualification_type(x) for x in qualification_types]
    regions = {code: region(code) for code in region_codes}
    start = next(_seq) * 100_000
    orgs = Organization.objects.bulk_create([
        Organization(kind=Organization.Kind.AGENCY, name=f"批量中介机构{start + i}有限公司",
                     uscc=make_uscc(f"91{region_codes[i % len(region_codes)][:6]}{(start + i) % 10**9:09d}"),
                     region=regions[region_codes[i % len(region_codes)]], status=Organization.Status.VERIFIED,
                     contact_name="联系人", contact_phone="13800000000")
        for i in range(count)])
    if any(o.pk is None for o in orgs):  # backends without RETURNING
        orgs = list(Organization.objects.filter(uscc__in=[o.uscc for o in orgs], kind=Organization.Kind.AGENCY))
    now = timezone.now()
    agencies = Agency.objects.bulk_create([
        Agency(organization=o, status=status, activated_at=now if status == "active" else None,
               credit_grade="ABCD"[i % 4], credit_score=100 - (i % 4) * 15)
        for i, o in enumerate(orgs)])
    if any(a.pk is None for a in agencies):
        agencies = list(Agency.objects.filter(organization__in=orgs))
    today = timezone.localdate()
    AgencyServiceItem.objects.bulk_create([
        AgencyServiceItem(agency=a, service_item=item, fee_quote="按标准收费", fee_quote_fen=100_000)
        for a in agencies for item in items])
    end = valid_to or today + dt.timedelta(days=365)
    Qualification.objects.bulk_create([
        Qualification(agency=a, qualification_type=q, certificate_number=f"B{a.pk}-{q.pk}", issuer=q.issuer or "发证机关",
                      valid_from=min(today, end) - dt.timedelta(days=365), valid_to=end)
        for a in agencies for q in qtypes])
    from market.search import indexing

    indexing.apply_changes({"agency": {a.pk for a in agencies}})  # bulk inserts send no signals
    return agencies
