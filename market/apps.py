from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Marketplace")

    def ready(self):
        from market.core import checks, page_cache  # noqa: F401 (checks registers the deployment checks)

        page_cache.connect_signals()
