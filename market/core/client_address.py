"""The client's address, derived once and the same way for every throttle and lockout.

`X-Forwarded-For` is what the client says unless it was written by a proxy we run. Only when the
connection comes from one of `settings.TRUSTED_PROXIES` (addresses or networks, empty by default) is
the header read, from the right: each trusted proxy appended the address it saw, so the first
address from the right that is not a trusted proxy is the client. A client may put anything at the
left of the header; it never gets past the proxies' own entries. Without trusted proxies the address
is the connection's own (`REMOTE_ADDR`), whatever the headers say.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in net for net in networks)


def client_address(request) -> str:
    """The address of the client behind our own proxies; '' when there is no request."""
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))
    if not networks or not _trusted(_parse(remote), networks):
        return remote
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            return remote  # a hop we cannot read: do not guess past it
        if not _trusted(address, networks):
            return str(address)
    return remote  # every hop is one of ours (a health check from the proxy itself)
