"""With DEBUG off the site refuses to start on a missing, published or weak SECRET_KEY, and the
deployment checks warn about the other development defaults that matter."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from market.settings import DEVELOPMENT_SECRET_KEY

# These start fresh processes on their own settings; the test database plays no part, so one run (SQLite) is enough.
pytestmark = pytest.mark.skipif(connection.vendor == "postgresql", reason="settings only: run once, on SQLite")

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_hex(32)


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "market.settings",
            "DATABASE_URL": "sqlite:///:memory:"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", [None, "", DEVELOPMENT_SECRET_KEY, "django-insecure-" + "x" * 60, "short-key",
                                 "a" * 60], ids=["unset", "empty", "development key", "django-insecure", "short",
                                                 "one character"])
def test_production_refuses_to_start_on_a_missing_or_known_secret(key):
    env = {"DEBUG": "0", "ALLOWED_HOSTS": "zjcs.example.gov.cn"}
    if key is not None:
        env["SECRET_KEY"] = key
    result = _run("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "ImproperlyConfigured" in result.stderr


def test_production_starts_on_a_secret_of_its_own():
    result = _run("check", DEBUG="0", SECRET_KEY=STRONG, ALLOWED_HOSTS="zjcs.example.gov.cn")
    assert result.returncode == 0, result.stderr


def test_development_runs_on_the_development_key():
    result = _run("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def _deploy(**env: str) -> subprocess.CompletedProcess:
    production = {"DEBUG": "0", "SECRET_KEY": STRONG, "ALLOWED_HOSTS": "zjcs.example.gov.cn",
                  "EMAIL_HOST": "smtp.example.gov.cn", "STATIC_MANIFEST": "1", "SECURE_SSL_REDIRECT": "1"}
    return _run("check", "--deploy", "--fail-level", "WARNING", **{**production, **env})


def test_deployment_check_passes_on_production_settings():
    result = _deploy()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("env, warning", [
    ({"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}, "market.W001"),
    ({"ALLOWED_HOSTS": "*"}, "market.W002"),
    ({"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_PUBLISHABLE_KEY": "pk_test_123"}, "market.W003"),
    ({"EMAIL_HOST": ""}, "market.W004"),
], ids=["development hosts", "any host", "stripe test keys", "console e-mail"])
def test_deployment_check_warns_on_development_defaults(env, warning):
    result = _deploy(**env)
    assert result.returncode != 0 and warning in result.stderr, result.stderr


def test_stripe_test_keys_on_loopback_are_no_production_host():
    result = _run("check", "--deploy", DEBUG="0", SECRET_KEY=STRONG, STRIPE_SECRET_KEY="sk_test_123")
    assert "market.W003" not in result.stderr
