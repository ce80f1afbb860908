from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from . import views

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("market.api.urls")),
    path("api/v1/", include("agencies.api_urls")),
    path("api/v1/", include("bids.api_urls")),
    path("api/v1/", include("credit.api_urls")),
    path("api/v1/", include("supervision.api_urls")),
    path("agencies/", include("agencies.urls")),
    path("", include("bids.urls")),
    path("credit/", include("credit.urls")),
    path("search/", include("market.search.urls")),
    path("supervision/", include("supervision.urls")),
    path("accounts/", include("market.account_urls")),
    path("healthz/", views.healthz, name="healthz"),
    path("healthz/db/", views.healthz_db, name="healthz-db"),
    path("favicon.ico", views.favicon),
    path("contracts/", include("market.contract_urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
