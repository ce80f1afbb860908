"""Domain events: one signal the services send when something happens that people should hear about.

A service calls `emit("request.published", request_id=request.pk)` inside its transaction; the
signal goes out only once the transaction commits (never for a rolled-back change), with the kind
and the payload as keyword arguments. Payloads carry ids, not objects, so receivers can hand them
to background tasks. Receivers (notifications, supervision) must not slow or break the service:
they are called robustly and their errors are logged, not raised.
"""

from __future__ import annotations

import logging

import django.dispatch
from django.db import transaction

logger = logging.getLogger(__name__)

# kwargs: kind (str, e.g. "request.published"), then the payload of that kind.
domain_event = django.dispatch.Signal()


def _send(kind: str, payload: dict) -> None:
    for receiver, result in domain_event.send_robust(sender=None, kind=kind, **payload):
        if isinstance(result, Exception):
            logger.error("receiver %r of domain event %s failed: %r", receiver, kind, result,
                         exc_info=(type(result), result, result.__traceback__))


def emit(kind: str, **payload) -> None:
    """Send `domain_event` for `kind` after the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _send(kind, payload))
