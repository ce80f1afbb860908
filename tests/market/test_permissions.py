import pytest
from django.core.exceptions import PermissionDenied

from market.accounts import permissions, services
from market.accounts.models import Membership, Organization
from tests.factories import make_owner, make_regulator, make_user, next_uscc, org_admin, region

pytestmark = pytest.mark.django_db


def test_member_may_act_for_own_organization_only():
    org_a, org_b = make_owner(), make_owner()
    admin_a = org_admin(org_a)
    assert permissions.can_act_for(admin_a, org_a)
    assert not permissions.can_act_for(admin_a, org_b)
    with pytest.raises(PermissionDenied):
        permissions.require_act_for(admin_a, org_b)


def test_member_of_one_organization_cannot_manage_another():
    org_a, org_b = make_owner(), make_owner()
    admin_a = org_admin(org_a)
    with pytest.raises(PermissionDenied):
        services.membership_add(actor=admin_a, organization=org_b, user=admin_a, role=Membership.Role.ADMIN)
    with pytest.raises(PermissionDenied):
        services.organization_update(actor=admin_a, organization=org_b, name="被篡改")
    org_b.refresh_from_db()
    assert org_b.name != "被篡改"
    assert not Membership.objects.filter(user=admin_a, organization=org_b).exists()


def test_staff_may_act_but_not_manage():
    org = make_owner()
    staff = make_user()
    services.membership_add(actor=org_admin(org), organization=org, user=staff, role=Membership.Role.STAFF)
    assert permissions.can_act_for(staff, org)
    assert not permissions.can_manage(staff, org)
    with pytest.raises(PermissionDenied):
        services.membership_add(actor=staff, organization=org, user=make_user(), role=Membership.Role.STAFF)


def test_removed_member_loses_permissions():
    org = make_owner()
    staff = make_user()
    services.membership_add(actor=org_admin(org), organization=org, user=staff, role=Membership.Role.STAFF)
    services.membership_remove(actor=org_admin(org), organization=org, user=staff)
    staff = type(staff).objects.get(pk=staff.pk)  # drop guardian's per-user cache
    assert not permissions.can_act_for(staff, org)


def test_only_regulators_verify_owners():
    org = make_owner(verified=False)
    outsider = org_admin(make_owner())
    with pytest.raises(PermissionDenied):
        services.organization_verify(actor=outsider, organization=org, approve=True)
    with pytest.raises(PermissionDenied):
        services.organization_verify(actor=org_admin(org), organization=org, approve=True)
    services.organization_verify(actor=make_regulator(), organization=org, approve=True)
    org.refresh_from_db()
    assert org.status == Organization.Status.VERIFIED


def test_regulators_are_created_only_by_regulators():
    reg = make_regulator()
    reg_org = Organization.objects.get(kind=Organization.Kind.REGULATOR)
    outsider = org_admin(make_owner())
    with pytest.raises(PermissionDenied):
        services.regulator_user_create(actor=outsider, organization=reg_org, username="sneaky", email="s@example.com",
                                       password="Very-long-pass-1")
    with pytest.raises(PermissionDenied):
        services.regulator_organization_create(actor=outsider, name="假监管", uscc=next_uscc("440100", "11"),
                                               region=region("440100"))
    user = services.regulator_user_create(actor=reg, organization=reg_org, username="newreg", email="n@example.com",
                                          password="Very-long-pass-1")
    assert permissions.is_regulator(user)


def test_owners_cannot_self_register_as_regulators():
    user = make_user()
    with pytest.raises(PermissionDenied):
        services.organization_register(actor=user, kind=Organization.Kind.REGULATOR, name="x",
                                       uscc=next_uscc(), region=region())


def test_member_pages_refuse_other_organizations(client):
    org_a, org_b = make_owner(), make_owner()
    client.force_login(org_admin(org_a))
    assert client.get(f"/accounts/organizations/{org_a.pk}/").status_code == 200
    assert client.get(f"/accounts/organizations/{org_b.pk}/").status_code == 403
    response = client.post(f"/accounts/organizations/{org_b.pk}/members/", {"username": "x", "role": "admin"})
    assert response.status_code == 403
    assert client.get("/accounts/regulator/organizations/").status_code == 403


def test_the_one_query_check_answers_what_guardian_answers(django_assert_max_num_queries):
    """can_act_for / can_manage read guardian's tables directly; for every kind of user they agree
    with user.has_perm through guardian's backend, and a member's check is one query."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    org, other = make_owner(), make_owner()
    admin = org_admin(org)
    staff, outsider, via_group, inactive = make_user(), make_user(), make_user(), make_user()
    services.membership_add(actor=admin, organization=org, user=staff, role=Membership.Role.STAFF)
    services.membership_add(actor=admin, organization=org, user=inactive, role=Membership.Role.STAFF)
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)
    group = Group.objects.create(name="代理人")
    group.user_set.add(via_group)
    assign_perm(permissions.ACT, group, org)
    superuser = make_user(is_superuser=True)
    users = [admin, staff, outsider, via_group, type(inactive).objects.get(pk=inactive.pk), superuser]
    for user in users:
        for organization in (org, other):
            for perm, check in ((permissions.ACT, permissions.can_act_for), (permissions.MANAGE, permissions.can_manage)):
                fresh = type(user).objects.get(pk=user.pk)
                assert check(fresh, organization) == fresh.has_perm(perm, organization), (user, organization, perm)
    assert permissions.can_act_for(via_group, org) and not permissions.can_act_for(outsider, org)
    with django_assert_max_num_queries(1):
        assert permissions.can_act_for(staff, org)
