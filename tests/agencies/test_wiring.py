"""The accounts members page hands agency organizations to agencies (agencies/apps.py): an agency's
people join only by invitation, and never while it is black-listed."""

from agencies import views as agency_views
from market.accounts import views as account_views
from market.accounts.models import Organization


def test_the_members_page_of_an_agency_is_the_agencys():
    assert account_views._member_pages[Organization.Kind.AGENCY] is agency_views.organization_members
    assert Organization.Kind.OWNER not in account_views._member_pages
