from django.apps import AppConfig


class BidsConfig(AppConfig):
    name = "bids"

    def ready(self):
        # The bids' parts of a request's page (market.requests is below bids and cannot import them).
        from market.requests import panels

        from . import receivers, views

        panels.register_status_link(views.PANEL, views.result_link)
        panels.register_owner_actions(views.PANEL, views.selection_actions, "bids/request_owner_actions.html")
        panels.register_detail_panel(views.PANEL, views.bid_panel, "bids/request_panel.html")
        receivers.connect()  # bidders hear of amendments and cancellations (market.requests.events)
