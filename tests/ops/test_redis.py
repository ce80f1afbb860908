"""Production pieces this machine can run: Redis as the shared cache (login lockout counters are
shared by every worker), gunicorn serving the site."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.cache import caches

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_lockout_counters_live_in_redis_shared_by_workers(settings):
    import redis

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    from market.core import lockout

    cache = caches["default"]
    cache.clear()
    for _ in range(lockout.MAX_FAILURES):
        lockout.record_failure("shared-user", "10.0.0.1")
    # Another worker (a separate client on the same Redis) sees the lock.
    other = redis.Redis.from_url(REDIS_URL)
    assert any(b"login-fail:user:shared-user" in key for key in other.keys("*"))
    assert lockout.is_locked("shared-user", "10.0.0.2")
    cache.clear()


def test_gunicorn_serves_the_site(tmp_path):
    db = tmp_path / "g.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{db}", "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "PATH": "/usr/bin:/bin",
           "SECRET_KEY": os.environ["SECRET_KEY"]}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, check=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    gunicorn = [sys.executable, "-m", "gunicorn", "market.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
    proc = subprocess.Popen(gunicorn, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as resp:
                    assert resp.status == 200 and b"ok" in resp.read()
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/service-items/", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
