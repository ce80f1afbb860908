"""Filters for money and rates, and the dashboard sections of the bids app."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

from market.accounts import permissions
from market.requests import selectors as request_selectors
from market.accounts.models import Organization
from market.requests.models import RequestStatus
from market.core.money import fen_to_yuan

from .. import selectors
from ..models import ResultObjection

register = template.Library()
DASHBOARD_ROWS = 100


@register.filter
def yuan(fen) -> str:
    """Integer fen as yuan: 123456 -> "1,234.56"."""
    if fen in (None, ""):
        return "—"
    return fen_to_yuan(int(fen))


@register.filter
def fen_decimal_yuan(value, places: int = 4) -> str:
    """A published fixed-point fen string ("4312345.6700") as yuan with `places` decimals."""
    if value in (None, ""):
        return "—"
    try:
        amount = Decimal(str(value)) / 100
    except InvalidOperation:
        return str(value)
    return f"{amount:,.{int(places)}f}"


@register.filter
def bp_percent(bp) -> str:
    """Basis points as a percentage: 1250 -> "12.50"."""
    if bp in (None, ""):
        return "—"
    return f"{Decimal(int(bp)) / 100:.2f}"


@register.filter
def status_label(value) -> str:
    try:
        return RequestStatus(value).label
    except ValueError:
        return value


@register.inclusion_tag("bids/owner_section.html", takes_context=True)
def owner_section(context):
    user = context.get("user")
    if not (user and user.is_authenticated):
        return {"owners": []}
    owners = [o for o in Organization.objects.filter(memberships__user=user, kind=Organization.Kind.OWNER).order_by("name")
              if permissions.can_act_for(user, o)]
    now = timezone.now()
    rows = list(request_selectors.owner_requests(owners=owners)[:DASHBOARD_ROWS]) if owners else []
    for r in rows:
        r.status_now = r.effective_status(now)
        r.status_now_label = RequestStatus(r.status_now).label
    return {"owners": owners, "rows": rows, "limit": DASHBOARD_ROWS, "now": now}


@register.inclusion_tag("bids/agency_section.html", takes_context=True)
def agency_section(context):
    user = context.get("user")
    agency_ids = selectors.user_agency_ids(user) if user is not None else []
    now = timezone.now()
    rows = list(selectors.agency_bids(agency_ids=agency_ids)[:DASHBOARD_ROWS]) if agency_ids else []
    for b in rows:
        b.request_status_label = RequestStatus(b.request.effective_status(now)).label
        b.has_result = b.request.status in request_selectors.RESULT_STATUSES
    return {"agency_ids": agency_ids, "rows": rows, "limit": DASHBOARD_ROWS}


@register.simple_tag
def open_objection_count() -> int:
    return ResultObjection.objects.filter(status=ResultObjection.Status.OPEN).count()
