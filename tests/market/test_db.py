"""The hot paths' statements: prepared on PostgreSQL unless DB_PREPARED_STATEMENTS=0, same answers
either way, and still seen by Django's query log (so query counts stay honest)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.accounts import permissions
from market.core.db import hot_cursor
from tests.factories import make_owner, make_user, org_admin

pytestmark = pytest.mark.django_db


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("prepared", [True, False])
def test_the_permission_check_answers_the_same_prepared_or_not(settings, prepared):
    settings.MARKET = {**settings.MARKET, "PREPARED_STATEMENTS": prepared}
    org = make_owner()
    admin, outsider = org_admin(org), make_user()
    before = _prepared_statements() if connection.vendor == "postgresql" else []
    with CaptureQueriesContext(connection) as queries:
        assert permissions.can_act_for(admin, org)
        assert not permissions.can_act_for(outsider, org)
    assert len(queries.captured_queries) == 2
    assert "market_organizationuserobjectpermission" in queries.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        after = _prepared_statements()
        if prepared:
            assert any("market_organizationuserobjectpermission" in s for s in after)
        else:  # nothing new prepared, and the statement went through Django's own client-side cursor
            assert sorted(after) == sorted(before)
            with hot_cursor() as cursor:
                assert not hasattr(type(cursor.cursor), "_prepare_always")


def test_a_hot_statement_is_prepared_once_per_connection(settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL feature; SQLite runs the same SQL plainly")
    settings.MARKET = {**settings.MARKET, "PREPARED_STATEMENTS": True}
    for n in range(3):
        with hot_cursor() as cursor:
            cursor.execute("SELECT %s::int + 1 AS hot_probe", [n])
            assert cursor.fetchone()[0] == n + 1
    assert sum("hot_probe" in s for s in _prepared_statements()) == 1


def test_errors_in_a_hot_statement_are_djangos_errors():
    from django.db import DatabaseError

    with pytest.raises(DatabaseError):
        with hot_cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_here WHERE id = %s", [1])
