from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "credit"

    def ready(self):
        from agencies import permissions as agency_permissions
        from market.contracts import selectors as contract_selectors

        from . import services, standing

        # Credit sits above agencies and below contracts; each hands over what the other needs at start-up:
        # agencies asks credit's black list before any act of an agency (one breach, limited everywhere),
        agency_permissions.standing_check_register(standing.uscc_refusal)
        # and credit weighs contracts' evaluations into the score.
        services.evaluation_source_register(contract_selectors.evaluation_average)
