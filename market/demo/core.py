"""Demo data of the core: regulators, owners (verified and pending), the catalogue."""

from __future__ import annotations

import random

from django.contrib.auth import get_user_model
from django.db import transaction

from market.accounts import services
from market.accounts.models import Membership, Organization, Region
from market.management.reference_data import load_reference_data
from market.core.uscc import ALPHABET, make_uscc

from .names import OWNER_COMPANIES, OWNER_PREFIXES, person_name, phone

DEMO_PASSWORD = "Demo@2026!"
User = get_user_model()


def demo_uscc(rng: random.Random, region_code: str, kind_digit: str = "1", reg_digit: str = "9") -> str:
    body = reg_digit + kind_digit + region_code[:6] + "".join(rng.choice(ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return make_uscc(body)


def ensure_user(username: str, email: str, *, superuser: bool = False) -> tuple[User, bool]:
    user = User.objects.filter(username=username).first()
    if user:
        return user, False
    if superuser:
        return User.objects.create_superuser(username=username, email=email, password=DEMO_PASSWORD), True
    return services.user_register(username=username, email=email, password=DEMO_PASSWORD), True


def seed(*, rng: random.Random, options: dict, progress) -> dict:
    counts = load_reference_data()
    progress(f"reference data: {counts}")
    admin, _ = ensure_user("admin", "admin@example.gov.cn", superuser=True)
    province = Region.objects.get(code="440000")

    # Regulators: the provincial office (by the superuser) and one regulator per prefecture made by it.
    reg_org = Organization.objects.filter(kind=Organization.Kind.REGULATOR, name="广东省政务服务和数据管理局").first()
    if reg_org is None:
        reg_org = services.regulator_organization_create(
            actor=admin, name="广东省政务服务和数据管理局", uscc=make_uscc("11440000MB2C" + "00001"), region=province,
            superuser_bootstrap=True)
    regulator = User.objects.filter(username="regulator").first()
    if regulator is None:
        regulator = services.regulator_user_create(actor=admin, organization=reg_org, username="regulator",
                                                   email="regulator@example.gov.cn", password=DEMO_PASSWORD,
                                                   role=Membership.Role.ADMIN, superuser_bootstrap=True)

    prefectures = list(Region.objects.filter(level=Region.Level.PREFECTURE).order_by("code"))
    for pref in prefectures[: options.get("regulators", 3)]:
        name = f"{pref.name}政务服务数据管理局"
        if not Organization.objects.filter(kind=Organization.Kind.REGULATOR, name=name).exists():
            org = services.regulator_organization_create(actor=regulator, name=name, uscc=demo_uscc(rng, pref.code, "1", "1"),
                                                         region=pref)
            username = f"regulator_{pref.code}"
            if not User.objects.filter(username=username).exists():
                services.regulator_user_create(actor=regulator, organization=org, username=username,
                                               email=f"{username}@example.gov.cn", password=DEMO_PASSWORD)

    # Project owners: government bodies and state enterprises across the province.
    counties = list(Region.objects.filter(level__in=[Region.Level.COUNTY, Region.Level.TOWN]).select_related("parent").order_by("code"))
    n_owners = options.get("owners", 30)
    made = 0
    for i in progress.iter(range(1, n_owners + 1), "owners"):
        username = f"owner{i}"
        if User.objects.filter(username=username).exists():
            rng.random(); rng.random()
            continue
        region = counties[rng.randrange(len(counties))]
        if rng.random() < 0.5:
            name = f"{region.parent.name}{region.name}{rng.choice(OWNER_PREFIXES)}"
            kind_digit, reg_digit = "1", "1"
        else:
            name = f"{region.parent.name.removesuffix('市')}{region.name[:2]}{rng.choice(OWNER_COMPANIES)}"
            kind_digit, reg_digit = "1", "9"
        if Organization.objects.filter(kind=Organization.Kind.OWNER, name=name).exists():
            name = f"{name}（{i}）"
        with transaction.atomic():
            user, _ = ensure_user(username, f"{username}@example.com")
            org = services.organization_register(
                actor=user, kind=Organization.Kind.OWNER, name=name, uscc=demo_uscc(rng, region.code, kind_digit, reg_digit),
                region=region, address=f"{region.full_name}{rng.randint(1, 300)}号", legal_representative=person_name(rng),
                contact_name=person_name(rng), contact_phone=phone(rng), contact_email=f"{username}@example.com")
            # Most owners are verified; the last few wait for a regulator.
            if i <= n_owners - max(2, n_owners // 10):
                services.organization_verify(actor=regulator, organization=org, approve=True, comment="资料齐全，核验通过")
        made += 1
    return {"owners_created": made}
