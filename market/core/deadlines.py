"""What `process_deadlines` runs: each app registers the jobs that move its objects when their
time comes (ends of publicity, expiries, scheduled selections). Every job must be idempotent and
safe to run concurrently: it re-checks the state under a row lock and skips what another run took."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

logger = logging.getLogger(__name__)

Job = Callable[[dt.datetime], int]
_JOBS: list[tuple[str, Job]] = []


def deadline_job(name: str):
    def register(func: Job) -> Job:
        if name not in {n for n, _ in _JOBS}:
            _JOBS.append((name, func))
        return func

    return register


def jobs() -> list[tuple[str, Job]]:
    from django.apps import apps

    for config in apps.get_app_configs():  # import each app's deadlines module so it registers
        try:
            __import__(f"{config.name}.jobs")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.jobs":
                raise
    return list(_JOBS)


def run_due(*, now: dt.datetime) -> dict[str, int]:
    results = {}
    for name, job in jobs():
        results[name] = job(now)
    return results
