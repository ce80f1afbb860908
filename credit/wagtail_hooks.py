"""Regulators keep the catalogue of breach rules in the Wagtail admin; every edit is audited
(through the same hooks as the service-item catalogue, cms/wagtail_hooks.py)."""

from django.utils.translation import gettext_lazy as _
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import BreachRule


class BreachRuleViewSet(SnippetViewSet):
    model = BreachRule
    icon = "warning"
    menu_label = _("Breach rules")
    list_display = ["code", "name", "severity", "points", "ban_days", "automatic", "is_active"]
    list_filter = ["severity", "automatic", "is_active"]
    search_fields = ["code", "name"]
    ordering = ["code"]
    add_to_admin_menu = True


register_snippet(BreachRuleViewSet)
