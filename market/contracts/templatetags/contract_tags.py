"""Template tags of the contract pages, and the snippets other pages include (market.contracts is
not an installed app: the library is named in settings, TEMPLATES' OPTIONS "libraries"):

    {% load contract_tags %}
    {% agency_evaluations agency %}     on an agency's public page: averages and published evaluations
    {% request_contract sr %}           on a request's page: its contract(s), public summary
    {% contracts_dashboard %}           on the desk: the user's contracts, what awaits them, overdue ones
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from market.core.money import fen_to_yuan

from .. import selectors as contract_selectors

register = template.Library()


@register.filter
def yuan(fen) -> str:
    if fen in (None, ""):
        return "—"
    return fen_to_yuan(int(fen))


@register.filter
def stars(value) -> str:
    """A 1–5 score as stars: 4 -> ★★★★☆."""
    try:
        n = max(0, min(5, int(round(float(value)))))
    except (TypeError, ValueError):
        return "—"
    return "★" * n + "☆" * (5 - n)


@register.inclusion_tag("contracts/agency_evaluations.html")
def agency_evaluations(agency):
    return {"agency": agency, "summary": contract_selectors.evaluation_summary(agency)}


@register.inclusion_tag("contracts/request_contract.html", takes_context=True)
def request_contract(context, sr):
    return {"sr": sr, "contracts": list(contract_selectors.contracts_of_request(request=sr)), "now": timezone.now(),
            "request": context.get("request")}


@register.inclusion_tag("contracts/dashboard_section.html", takes_context=True)
def contracts_dashboard(context):
    user = context.get("user")
    if not (user and user.is_authenticated):
        return {"desk": None}
    return {"desk": contract_selectors.user_dashboard(user=user), "user": user}
