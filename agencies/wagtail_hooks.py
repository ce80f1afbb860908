"""The Wagtail admin points regulators to the agency review pages and the official calendar
(kept on regulator pages of this app, where every change goes through the services and the audit)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from market.accounts.permissions import is_regulator


class RegulatorMenuItem(MenuItem):
    def is_shown(self, request):
        return is_regulator(request.user)


@hooks.register("register_admin_menu_item")
def register_agencies_menu():
    items = [
        RegulatorMenuItem(_("Registrations to review"), reverse("agencies:review-queue"), name="agency-review",
                          icon_name="tasks", order=100),
        RegulatorMenuItem(_("Publicity objections"), reverse("agencies:objections"), name="agency-objections",
                          icon_name="warning", order=200),
        RegulatorMenuItem(_("All registrations"), reverse("agencies:review-all"), name="agency-all",
                          icon_name="list-ul", order=300),
        RegulatorMenuItem(_("Official calendar"), reverse("agencies:calendar"), name="agency-calendar",
                          icon_name="date", order=400),
    ]
    return SubmenuMenuItem(_("Agencies"), Menu(items=items), name="agencies", icon_name="group", order=250)
