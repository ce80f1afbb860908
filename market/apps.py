from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Marketplace")

    def ready(self):
        from market.core import checks, page_cache  # noqa: F401 (checks registers the deployment checks)
        from market.opendata import receivers as opendata_receivers
        from market.payments import receivers as payment_receivers

        page_cache.connect_signals()
        payment_receivers.connect()  # payments hear the contracts' events (market.contracts.events)
        opendata_receivers.connect()  # open data records the requests' releases (market.requests.events)
