"""Persistent database connections survive backends killed while idle (a restart, a failover, an
idle timeout in a pooler): with DB_CONN_MAX_AGE set, each request checks the connection it reuses
(CONN_HEALTH_CHECKS) and reconnects, so no request fails. PostgreSQL only: the suite runs on it in CI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _statuses(port: int, n: int) -> list[int]:
    out = []
    for _ in range(n):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/db/", timeout=10) as resp:
                out.append(resp.status)
        except urllib.error.HTTPError as exc:
            out.append(exc.code)
    return out


def _serve(health_checks: bool):
    settings_dict = connection.settings_dict
    url = (f"postgres://{settings_dict['USER'] or 'postgres'}@{settings_dict['HOST'] or '127.0.0.1'}:"
           f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")
    env = {"DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "PATH": "/usr/bin:/bin",
           "SECRET_KEY": os.environ["SECRET_KEY"], "DB_CONN_MAX_AGE": "60",
           "DB_CONN_HEALTH_CHECKS": "1" if health_checks else "0"}
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "market.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2):
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    pytest.fail("gunicorn did not answer")


def _kill_idle_backends(name: str) -> int:
    s = connection.settings_dict
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
                         dbname="postgres", autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND state = 'idle' AND pid <> pg_backend_pid()", [name]).fetchall()
    return len(rows)


@pytest.mark.parametrize("health_checks", [True, False], ids=["health-checks-on", "health-checks-off"])
def test_idle_connections_killed_by_the_database_cost_no_request(health_checks):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    proc, port = _serve(health_checks)
    try:
        assert set(_statuses(port, 20)) == {200}  # both workers hold a persistent connection now
        assert _kill_idle_backends(connection.settings_dict["NAME"]) >= 1
        after = _statuses(port, 20)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if health_checks:
        assert set(after) == {200}, after
    else:  # the control: without the checks the killed connections fail requests, as the outside run saw
        assert any(code >= 500 for code in after), after
