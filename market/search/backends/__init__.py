"""Which backend answers: Elasticsearch when settings.ELASTICSEARCH_URL is set, the database
otherwise. The database index is always kept (it is what searches fall back to); Elasticsearch is
written as well when it is configured.

When Elasticsearch fails (unreachable, timing out, erroring), it is marked down for
ELASTICSEARCH_RETRY_SECONDS (30 by default): meanwhile searches go straight to the database and
changes go to the outbox, so no request waits on a dead cluster.
"""

from __future__ import annotations

import functools
import logging
import time

from django.conf import settings

logger = logging.getLogger("market.search")

_down_until = 0.0


def elasticsearch_url() -> str:
    return (getattr(settings, "ELASTICSEARCH_URL", "") or "").strip()


def elasticsearch_configured() -> bool:
    return bool(elasticsearch_url())


@functools.lru_cache(maxsize=4)
def _backend_for(url: str, prefix: str, timeout: float, replicas: int | None):
    # Imported here, the one import inside a function in the engine: the Elasticsearch client and
    # the analyzer tables cost ~0.8 s a process, paid only where ELASTICSEARCH_URL is set.
    from .elastic import ElasticsearchBackend

    return ElasticsearchBackend(url, prefix=prefix, timeout=timeout, replicas=replicas)


def elasticsearch_backend():
    """The Elasticsearch backend of the current settings (None when none is configured)."""
    url = elasticsearch_url()
    if not url:
        return None
    return _backend_for(url, getattr(settings, "ELASTICSEARCH_INDEX_PREFIX", "market"),
                        float(getattr(settings, "ELASTICSEARCH_TIMEOUT", 5.0)),
                        getattr(settings, "ELASTICSEARCH_REPLICAS", None))


def elasticsearch_up() -> bool:
    return time.monotonic() >= _down_until


def mark_elasticsearch_down(exc: BaseException, *, action: str) -> None:
    global _down_until
    retry = float(getattr(settings, "ELASTICSEARCH_RETRY_SECONDS", 30))
    _down_until = time.monotonic() + retry
    logger.warning("Elasticsearch at %s failed while %s (%s: %s); using the database index for %.0f s",
                   elasticsearch_url(), action, type(exc).__name__, exc, retry)


def mark_elasticsearch_up() -> None:
    global _down_until
    _down_until = 0.0


def elasticsearch_errors() -> tuple[type[BaseException], ...]:
    """What counts as Elasticsearch failing (transport errors, HTTP errors, bulk item errors)."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError
    from elasticsearch.helpers import BulkIndexError

    return (TransportError, ApiError, BulkIndexError)
