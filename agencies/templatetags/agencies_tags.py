"""Template tags: the agency part of the member's desk (market/dashboard.html includes it)."""

from django import template
from django.utils import timezone

from market.accounts import permissions as market_permissions

from .. import selectors

register = template.Library()


@register.inclusion_tag("agencies/dashboard_section.html", takes_context=True)
def agency_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    agencies = list(selectors.agencies_of_user(user=user))
    today = timezone.localdate()
    is_regulator = market_permissions.is_regulator(user)
    return {
        "show": True,
        "agencies": agencies,
        "expiring": selectors.qualifications_expiring(agencies=agencies, today=today) if agencies else [],
        "today": today,
        "is_regulator": is_regulator,
        "counts": selectors.regulator_desk_counts() if is_regulator else None,
    }
