"""What the domains above market.requests show on the request pages.

market.requests owns the request pages (the announcements, a request's page, the owner's forms) but lies
below the domains that act on a request (bids and the selection …), so it imports none of them. They
register their parts here, from their AppConfig.ready(), and the pages gather what is registered:

    register_status_link(name, link_fn, order=100)
        link_fn(service_request, where) -> (href, label) or None: a link after the request's status, on its
        page (where="detail") and in its row of the announcements (where="list").
    register_owner_actions(name, context_fn, template, order=100)
        Items (<li>) of the owner's action list on a request's page, shown to members of the owner only.
    register_detail_panel(name, context_fn, template, order=100)
        A part of a request's page, after the clarifications.

    context_fn(request, page, state) -> dict or None
        `request` is the HTTP request; `page` the RequestPage (the service request and what the page has
        worked out: the time, the status, whether the user acts for the owner, sealing, the user's agencies);
        `state` what a view that re-renders the page passed under the contribution's name —
        market.requests.views.render_request_page(..., panel_state={name: {...}}), such as a bound form after a
        refusal — else {}. It returns the template's context, which the template reads as `panel` beside the
        page's own context (`sr`, `now`, `is_owner` …), or None to show nothing.

Contributions show by `order`, then by name; registering a name again replaces it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from agencies.models import Agency

from .models import ServiceRequest

DETAIL = "detail"  # where a status link shows: a request's page
LIST = "list"  # … or its row in the announcements


@dataclass(frozen=True)
class RequestPage:
    """What a request's page has worked out, for the panels."""

    service_request: ServiceRequest
    now: dt.datetime
    status_now: str
    is_owner: bool  # the user acts for the owner
    sealed: bool  # before the bid deadline: prices and nonces stay sealed
    bidding_open: bool
    user_agencies: list[Agency] = field(default_factory=list)  # the user's agencies that can still take part


@dataclass(frozen=True)
class Contribution:
    name: str
    fn: Callable
    template: str = ""
    order: int = 100


@dataclass(frozen=True)
class Panel:
    """A contribution to render: its template with its context (`panel` in the template)."""

    name: str
    template: str
    context: dict


_status_links: dict[str, Contribution] = {}
_owner_actions: dict[str, Contribution] = {}
_detail_panels: dict[str, Contribution] = {}


def register_status_link(name: str, link_fn: Callable[[ServiceRequest, str], tuple[str, str] | None],
                         order: int = 100) -> None:
    _status_links[name] = Contribution(name, link_fn, order=order)


def register_owner_actions(name: str, context_fn: Callable[..., dict | None], template: str, order: int = 100) -> None:
    _owner_actions[name] = Contribution(name, context_fn, template, order)


def register_detail_panel(name: str, context_fn: Callable[..., dict | None], template: str, order: int = 100) -> None:
    _detail_panels[name] = Contribution(name, context_fn, template, order)


def _in_order(registry: dict[str, Contribution]) -> list[Contribution]:
    return sorted(registry.values(), key=lambda c: (c.order, c.name))


def status_links(service_request: ServiceRequest, *, where: str) -> list[tuple[str, str]]:
    """(href, label) of the links after the request's status."""
    links = (c.fn(service_request, where) for c in _in_order(_status_links))
    return [link for link in links if link is not None]


def _panels(registry: dict[str, Contribution], request, page: RequestPage, panel_state: dict | None) -> list[Panel]:
    panels = []
    for c in _in_order(registry):
        context = c.fn(request, page, (panel_state or {}).get(c.name) or {})
        if context is not None:
            panels.append(Panel(c.name, c.template, context))
    return panels


def owner_actions(request, page: RequestPage, panel_state: dict | None = None) -> list[Panel]:
    return _panels(_owner_actions, request, page, panel_state) if page.is_owner else []


def detail_panels(request, page: RequestPage, panel_state: dict | None = None) -> list[Panel]:
    return _panels(_detail_panels, request, page, panel_state)
