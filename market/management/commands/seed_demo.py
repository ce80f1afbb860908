"""Fill the site with realistic demo data. Idempotent; --seed makes it repeatable."""

from __future__ import annotations

import random
import time
from importlib import import_module

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

# Each app contributes one seeding step, run in this order.
SEEDERS = [
    "market.demo.core.seed",
    "cms.demo.seed",
    "agencies.demo.seed",
    "bids.demo.seed",
    "market.demo.contracts.seed",
]
# The large scale makes owners, agencies, requests and bids in bulk with PostgreSQL's COPY
# (market/demo/large.py); the core step then makes only the reference data and the regulators.
LARGE_SEEDERS = [
    "market.demo.core.seed",
    "cms.demo.seed",
    "market.demo.large.seed",
]

SCALES = {
    "small": {"owners": 30, "agencies": 200, "requests": 60, "regulators": 3},
    "medium": {"owners": 300, "agencies": 2000, "requests": 1000, "regulators": 21},
    "large": {"owners": 20000, "agencies": 100000, "requests": 1000000, "bids": 5000000, "regulators": 21},
}


class Progress:
    def __init__(self, command: BaseCommand, quiet: bool):
        self.command, self.quiet = command, quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            self.command.stdout.write(message)

    def iter(self, iterable, desc: str, total: int | None = None):
        return tqdm(iterable, desc=desc, total=total, disable=self.quiet, file=self.command.stderr, unit="")

    def bar(self, desc: str, total: int):
        """A bar the caller advances with update(n) (bulk steps)."""
        return tqdm(desc=desc, total=total, disable=self.quiet, file=self.command.stderr, unit="", unit_scale=True,
                    smoothing=0.05)


class Command(BaseCommand):
    help = "Create demo data: regulators, owners, the catalogue, pages, agencies, requests, bids and contracts."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="random seed for repeatable data")
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--owners", type=int, help="number of project owners")
        parser.add_argument("--agencies", type=int, help="number of agencies")
        parser.add_argument("--requests", type=int, help="number of service requests")
        parser.add_argument("--bids", type=int, help="number of bids (large scale)")
        parser.add_argument("--quiet", action="store_true", help="no progress bars")

    def handle(self, *args, **opts):
        from django.conf import settings

        # Demo history would e-mail thousands of notifications; they stay in the in-site inboxes.
        settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
        options = dict(SCALES[opts["scale"]])
        for key in ("owners", "agencies", "requests", "bids"):
            if opts.get(key) is not None:
                options[key] = opts[key]
        options["scale"] = opts["scale"]
        large = opts["scale"] == "large"
        if large and connection.vendor != "postgresql":
            raise CommandError("--scale large writes with PostgreSQL's COPY: set DATABASE_URL to a PostgreSQL database")
        progress = Progress(self, opts["quiet"] or opts["verbosity"] == 0)
        started = time.monotonic()
        for dotted in LARGE_SEEDERS if large else SEEDERS:
            module_name, func_name = dotted.rsplit(".", 1)
            seed = getattr(import_module(module_name), func_name)
            rng = random.Random(f"{opts['seed']}:{dotted}")
            step_options = {**options, "owners": 0} if large and dotted == "market.demo.core.seed" else options
            result = seed(rng=rng, options=step_options, progress=progress)
            progress(f"{dotted}: {result}")
        if large:
            progress(f"seeded in {time.monotonic() - started:.0f} s")
        self.stdout.write(self.style.SUCCESS("demo data ready"))
