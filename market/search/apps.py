from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    """Search across agencies, requests and catalogue items (market/search)."""

    name = "market.search"
    label = "market_search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connecting reads the registry, which first imports the domains' search modules (registry.discover()).
        from . import indexing

        indexing.connect_signals()
