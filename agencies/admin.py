"""Django admin (superusers only, see market.admin): registrations and what they hold.
Status changes go through agencies.services; the admin shows the status read-only."""

from django.contrib import admin

from .models import Agency, AgencyInvitation, AgencyServiceItem, LicenceFile, Practitioner, PublicityObjection, Qualification


class OfferedItemInline(admin.TabularInline):
    model = AgencyServiceItem
    extra = 0
    raw_id_fields = ["service_item"]


class QualificationInline(admin.TabularInline):
    model = Qualification
    extra = 0
    fields = ["qualification_type", "certificate_number", "level", "issuer", "valid_from", "valid_to", "expiry_warned_at"]
    readonly_fields = ["expiry_warned_at"]


class LicenceFileInline(admin.TabularInline):
    model = LicenceFile
    extra = 0
    fields = ["kind", "original_name", "content_type", "size", "uploaded_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PractitionerInline(admin.TabularInline):
    model = Practitioner
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "status", "credit_grade", "submitted_at", "publicity_ends_at", "activated_at"]
    list_filter = ["status", "credit_grade", "agency_type"]
    search_fields = ["organization__name", "organization__uscc"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization", "created_by"]
    readonly_fields = ["status", "submitted_at", "publicity_started_at", "publicity_ends_at", "activated_at",
                       "review_comment", "status_reason", "credit_score", "credit_grade", "created_at", "updated_at"]
    inlines = [OfferedItemInline, QualificationInline, LicenceFileInline, PractitionerInline]


@admin.register(PublicityObjection)
class PublicityObjectionAdmin(admin.ModelAdmin):
    list_display = ["id", "agency", "contact_name", "status", "created_at", "ruled_at"]
    list_filter = ["status"]
    list_select_related = ["agency__organization"]
    raw_id_fields = ["agency", "lodged_by", "ruled_by"]
    readonly_fields = ["status", "ruling", "ruled_by", "ruled_at"]


@admin.register(AgencyInvitation)
class AgencyInvitationAdmin(admin.ModelAdmin):
    list_display = ["id", "agency", "email", "role", "status", "created_at", "accepted_at"]
    list_filter = ["status", "role"]
    list_select_related = ["agency__organization"]
    raw_id_fields = ["agency", "invited_by", "accepted_by"]
    readonly_fields = ["key", "status", "accepted_by", "accepted_at"]
