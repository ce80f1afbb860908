"""Reads of accounts: regions, memberships and organizations. Each returns a queryset with what its
pages need joined, so a page runs a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from django.db.models import QuerySet

from market.accounts.models import Membership, Organization, Region, User


def region_choices(*, include_towns: bool = True) -> QuerySet[Region]:
    qs = Region.objects.exclude(level=Region.Level.PROVINCE)
    if not include_towns:
        qs = qs.exclude(level=Region.Level.TOWN)
    return qs.order_by("code")


def user_memberships(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization", "organization__region")


def organization_pending_verification() -> QuerySet[Organization]:
    return Organization.objects.filter(kind=Organization.Kind.OWNER, status=Organization.Status.PENDING).select_related("region")


def organization_members(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("role", "user__username")
