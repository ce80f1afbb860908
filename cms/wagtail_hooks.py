"""Regulators keep the catalogue as Wagtail snippets; every change goes into the audit chain."""

from django.forms.models import model_to_dict
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from market.core.audit import _jsonable, audit_record
from market.catalogue.models import QualificationType, ServiceCategory, ServiceItem

from credit.models import BreachRule  # noqa: E402

# Regulator-edited catalogues whose every change goes into the audit chain.
CATALOGUE_MODELS = (ServiceItem, ServiceCategory, QualificationType, BreachRule)


class ServiceItemViewSet(SnippetViewSet):
    model = ServiceItem
    icon = "list-ul"
    menu_label = _("Service items")
    list_display = ["code", "name", "category", "pricing_mode", "department", "level", "is_active"]
    list_filter = ["category", "pricing_mode", "level", "is_active"]
    search_fields = ["name", "code"]
    ordering = ["code"]


class ServiceCategoryViewSet(SnippetViewSet):
    model = ServiceCategory
    icon = "folder-open-inverse"
    menu_label = _("Categories")
    list_display = ["code", "name", "sort_order"]


class QualificationTypeViewSet(SnippetViewSet):
    model = QualificationType
    icon = "doc-full"
    menu_label = _("Qualification types")
    list_display = ["code", "name", "issuer"]
    search_fields = ["name", "code"]


class CatalogueGroup(SnippetViewSetGroup):
    items = (ServiceItemViewSet, ServiceCategoryViewSet, QualificationTypeViewSet)
    menu_icon = "list-ul"
    menu_label = _("Catalogue")
    menu_name = "catalogue"


register_snippet(CatalogueGroup)


def _state(instance) -> dict:
    data = model_to_dict(instance)
    return _jsonable(data)


@hooks.register("before_edit_snippet")
def remember_before(request, instance):
    if isinstance(instance, CATALOGUE_MODELS):
        fresh = type(instance).objects.filter(pk=instance.pk).first()
        request._audit_before = _state(fresh) if fresh else None


@hooks.register("after_create_snippet")
def audit_create(request, instance):
    if isinstance(instance, CATALOGUE_MODELS):
        audit_record(actor=request.user, action=f"{instance._meta.model_name}.create", obj=instance, after=_state(instance))


@hooks.register("after_edit_snippet")
def audit_edit(request, instance):
    if isinstance(instance, CATALOGUE_MODELS):
        audit_record(actor=request.user, action=f"{instance._meta.model_name}.update", obj=instance,
                     before=getattr(request, "_audit_before", None), after=_state(instance))


@hooks.register("before_delete_snippet")
def audit_delete(request, instances):
    for instance in instances:
        if isinstance(instance, CATALOGUE_MODELS):
            audit_record(actor=request.user, action=f"{instance._meta.model_name}.delete", obj=instance,
                         before=_state(instance))
