"""Django admin: superusers only (regulators work in the Wagtail admin)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from guardian.admin import GuardedModelAdmin

from market.core.models import AuditEvent
from market.accounts.models import Membership, Organization, Region, User


class SuperuserOnlyAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return request.user.is_active and request.user.is_superuser


admin.site.__class__ = SuperuserOnlyAdminSite


@admin.register(User)
class MarketUserAdmin(UserAdmin):
    pass


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(GuardedModelAdmin):
    list_display = ["name", "kind", "uscc", "region", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "uscc"]
    list_select_related = ["region"]
    raw_id_fields = ["region"]
    inlines = [MembershipInline]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "actor_repr", "action", "object_type", "object_id", "stream"]
    list_filter = ["action", "stream"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Contracts, deliveries, payments, Stripe events and evaluations.
from .contracts import admin as contract_admin  # noqa: E402,F401
from .payments import admin as payment_admin  # noqa: E402,F401  (after the contracts': it extends ContractAdmin)
