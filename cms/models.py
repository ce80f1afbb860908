"""Wagtail pages of the public site: home, fee schedules, notices, policies, service guides."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from market.catalogue import selectors


class HomePage(Page):
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["cms.FeeSchedulePage", "cms.NoticeIndexPage", "cms.PolicyIndexPage", "cms.GuideIndexPage"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["sections"] = self.get_children().live().specific().order_by("path")
        context["latest_notices"] = NoticePage.objects.live().order_by("-date", "-pk")[:5]
        context["latest_policies"] = PolicyPage.objects.live().order_by("-date", "-pk")[:5]
        context["facets"] = selectors.service_item_facets()
        return context


class FeeSchedulePage(RoutablePageMixin, Page):
    """The public fee schedule: the catalogue of service items, filtered and searched."""

    intro = RichTextField(_("introduction"), blank=True)
    page_size = 20

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types: list[str] = []
    max_count = 1

    class Meta:
        verbose_name = _("fee schedule page")

    @path("")
    def item_list(self, request):
        filters = selectors.ServiceItemFilters.from_params(request.GET)
        items = selectors.service_item_list(filters=filters)
        paginator = Paginator(items, self.page_size)
        page = paginator.get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return self.render(request, context_overrides={
            "filters": filters, "items_page": page, "facets": selectors.service_item_facets(),
            "querystring": query.urlencode(), "base_url": self.get_url(request),
        })

    @path("<str:code>/")
    def item_detail(self, request, code):
        item = selectors.service_item_get(code=code)
        if item is None:
            raise Http404
        return self.render(request, template="cms/service_item_detail.html", context_overrides={"item": item})


class NoticeIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.NoticePage"]

    class Meta:
        verbose_name = _("notice index")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        notices = NoticePage.objects.child_of(self).live().order_by("-date", "-pk")
        context["children_page"] = Paginator(notices, 20).get_page(request.GET.get("page"))
        return context


class NoticePage(Page):
    """通知公告."""

    date = models.DateField(_("date"))
    body = RichTextField(_("body"))
    search_fields = Page.search_fields + [index.SearchField("body")]
    content_panels = Page.content_panels + [FieldPanel("date"), FieldPanel("body")]
    parent_page_types = ["cms.NoticeIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("notice")


class PolicyIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PolicyPage"]

    class Meta:
        verbose_name = _("policy index")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        policies = PolicyPage.objects.child_of(self).live().order_by("-date", "-pk")
        context["children_page"] = Paginator(policies, 20).get_page(request.GET.get("page"))
        return context


class PolicyPage(Page):
    """政策法规."""

    date = models.DateField(_("date"))
    document_number = models.CharField(_("document number"), max_length=100, blank=True)
    issuer = models.CharField(_("issuer"), max_length=100, blank=True)
    body = RichTextField(_("body"))
    search_fields = Page.search_fields + [index.SearchField("body")]
    content_panels = Page.content_panels + [FieldPanel("date"), FieldPanel("document_number"), FieldPanel("issuer"),
                                            FieldPanel("body")]
    parent_page_types = ["cms.PolicyIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("policy or regulation")


class GuideIndexPage(Page):
    intro = RichTextField(_("introduction"), blank=True)
    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.GuidePage"]

    class Meta:
        verbose_name = _("service guide index")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["guides"] = GuidePage.objects.child_of(self).live().order_by("path")
        return context


class GuidePage(Page):
    """办事指南, one for each role."""

    class Role(models.TextChoices):
        OWNER = "owner", _("project owner")
        AGENCY = "agency", _("agency")
        REGULATOR = "regulator", _("regulator")
        PUBLIC = "public", _("public")

    role = models.CharField(_("for"), max_length=16, choices=Role.choices)
    summary = models.CharField(_("summary"), max_length=255, blank=True)
    body = RichTextField(_("body"))
    search_fields = Page.search_fields + [index.SearchField("body")]
    content_panels = Page.content_panels + [FieldPanel("role"), FieldPanel("summary"), FieldPanel("body")]
    parent_page_types = ["cms.GuideIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("service guide")
