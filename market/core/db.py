"""Hand-written SQL on the hot write paths (bid submission, permission checks, the audit head), run
as prepared statements on PostgreSQL.

PostgreSQL plans a statement each time it receives it as text; for the eligibility check of a bid
planning costs several times what executing does. A prepared statement is planned once per database
connection. Django turns psycopg's automatic preparation off (connection poolers in transaction mode
cannot keep prepared statements), so this asks for it per statement, and only for the few statements
here; `DB_PREPARED_STATEMENTS=0` turns it off where such a pooler sits between the site and the
database. The cursor is Django's wrapper around psycopg's, so queries are logged, counted and
error-translated like every other.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Iterator

from django.conf import settings
from django.db import connection


@functools.cache
def _prepared_cursor_class():
    """psycopg's server-binding cursor, asking for every statement to be prepared (made once)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        _prepare_always = True

        def execute(self, query, params=None, **kwargs):
            kwargs.setdefault("prepare", True)
            return super().execute(query, params, **kwargs)

    return PreparedCursor


@functools.cache
def _debug_wrapper_class():
    """Django's query log reads the statement back from psycopg's client-side cursor; a prepared
    statement's cursor has none, so the log gets the statement with its parameters filled in, as
    Django writes it for server-side binding (or with its placeholders if they cannot be filled in)."""
    import psycopg
    from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

    class HotCursorDebugWrapper(CursorDebugWrapper):
        def execute(self, sql, params=None):
            try:
                shown = self.db.ops.compose_sql(sql, params) if params else sql
            except (psycopg.Error, TypeError, ValueError):
                shown = sql
            with self.debug_sql(shown, params):
                return CursorWrapper.execute(self, sql, params)

    return HotCursorDebugWrapper


@contextlib.contextmanager
def hot_cursor() -> Iterator:
    """A cursor for a statement run on every request of a hot path: prepared on PostgreSQL
    (unless DB_PREPARED_STATEMENTS=0), a plain cursor elsewhere. Write the SQL with %s placeholders."""
    if connection.vendor != "postgresql" or not settings.MARKET.get("PREPARED_STATEMENTS", True):
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    raw_connection = connection.connection
    if raw_connection.prepare_threshold is None:
        # Django sets None, which makes psycopg refuse every preparation. The ORM's client-side
        # cursors never prepare whatever the threshold; these cursors ask per statement
        # (prepare=True); so a threshold nothing reaches changes nothing else.
        raw_connection.prepare_threshold = 2**31 - 1
    raw = _prepared_cursor_class()(raw_connection)
    cursor = _debug_wrapper_class()(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor
