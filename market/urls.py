from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from wagtail import urls as wagtail_urls
from wagtail import views as wagtail_views
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.documents.views import serve as wagtaildocs_serve

from market.accounts import views
from market.contracts import urls as contract_urls
from market.payments import urls as payment_urls
from market.core.lockout import guard_page_password
from market.requests.models import ServiceRequest


def healthz_db(request):
    """The benchmark floor (manage.py bench): a bare view doing one indexed query, a primary-key lookup.
    It reads a service request, so it lives here in the wiring rather than among the account pages below it."""
    row = ServiceRequest.objects.filter(pk=1).values_list("pk", "status").first()
    return JsonResponse({"status": "ok", "request": row})


urlpatterns = [
    # Wagtail's shared page and document passwords, behind the lockout's per-address guard (market/lockout.py);
    # these come before Wagtail's own routes of the same paths and names.
    path("_util/authenticate_with_password/<int:page_view_restriction_id>/<int:page_id>/",
         guard_page_password(wagtail_views.authenticate_with_password), name="wagtailcore_authenticate_with_password"),
    path("documents/authenticate_with_password/<int:restriction_id>/",
         guard_page_password(wagtaildocs_serve.authenticate_with_password), name="wagtaildocs_authenticate_with_password"),
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
    path("", include("market.requests.urls")),
    path("", include("bids.urls")),
    path("credit/", include("credit.urls")),
    path("search/", include("market.search.urls")),
    path("supervision/", include("market.notifications.urls")),  # the inbox and preferences
    path("supervision/", include("supervision.urls")),
    path("accounts/", include("market.accounts.urls")),
    path("healthz/", views.healthz, name="healthz"),
    path("healthz/db/", healthz_db, name="healthz-db"),
    path("favicon.ico", views.favicon),
    path("contracts/", include((contract_urls.urlpatterns + payment_urls.urlpatterns, "contracts"))),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]

# Errors raised outside the API's views (a route that does not exist, a body refused before any view)
# are JSON under /api/, like every other API error; pages elsewhere.
handler404 = "market.core.errors.page_not_found"
handler400 = "market.core.errors.bad_request"
