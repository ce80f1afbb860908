"""Open data hears the requests' events (market.requests.events) and records their OCDS releases in
the same transaction as the change."""

from __future__ import annotations

from market.requests.events import request_amended, request_moved

from .ocds import TAG_FOR_STATUS, ocds_release_record


def on_request_moved(sender, *, request, to: str, **kwargs) -> None:
    if to in TAG_FOR_STATUS:
        ocds_release_record(request=request, tag=TAG_FOR_STATUS[to])


def on_request_amended(sender, *, request, **kwargs) -> None:
    ocds_release_record(request=request, tag="tenderAmendment")


def connect() -> None:
    request_moved.connect(on_request_moved, dispatch_uid="opendata.request_moved")
    request_amended.connect(on_request_amended, dispatch_uid="opendata.request_amended")
