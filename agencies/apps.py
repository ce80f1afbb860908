from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"

    def ready(self):
        from market.accounts import views as account_views
        from market.accounts.models import Organization

        from . import views

        # An agency's people join by invitation: the accounts members page hands agency organizations to agencies.
        account_views.member_page_register(kind=Organization.Kind.AGENCY, page=views.organization_members)
