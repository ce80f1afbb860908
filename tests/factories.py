"""Factories for tests: build data through the services, as users would."""

from __future__ import annotations

import itertools

from market import services
from market.models import Membership, Organization, Region, User
from market.uscc import make_uscc

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
