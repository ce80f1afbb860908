"""What `process_deadlines` runs: each app registers the jobs that move its objects when their
time comes (ends of publicity, expiries, scheduled selections). Every job must be idempotent and
safe to run concurrently: it re-checks the state under a row lock and skips what another run took."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import pkgutil
from typing import Callable

from django.apps import apps

logger = logging.getLogger(__name__)

Job = Callable[[dt.datetime], int]
_JOBS: list[tuple[str, Job]] = []

PROJECT_APP = "market"


def deadline_job(name: str):
    def register(func: Job) -> Job:
        if name not in {n for n, _ in _JOBS}:
            _JOBS.append((name, func))
        return func

    return register


def _job_modules() -> list[str]:
    """`<app>.jobs` of each app and, for the project's own app (market, one package per domain),
    `market.<package>.jobs` of each package that has one, in the order of the packages' names."""
    names = []
    for config in apps.get_app_configs():
        names.append(f"{config.name}.jobs")
        if config.name == PROJECT_APP:
            for info in pkgutil.iter_modules(config.module.__path__):
                if info.ispkg and os.path.isfile(os.path.join(info.module_finder.path, info.name, "jobs.py")):
                    names.append(f"{config.name}.{info.name}.jobs")
    return names


def jobs() -> list[tuple[str, Job]]:
    for name in _job_modules():  # import each deadlines module so it registers
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return list(_JOBS)


def run_due(*, now: dt.datetime) -> dict[str, int]:
    results = {}
    for name, job in jobs():
        results[name] = job(now)
    return results
