"""Fill the site with realistic demo data. Idempotent; --seed makes it repeatable."""

from __future__ import annotations

import random
from importlib import import_module

from django.core.management.base import BaseCommand
from tqdm import tqdm

# Each app contributes one seeding step, run in this order.
SEEDERS = [
    "market.demo.core.seed",
    "cms.demo.seed",
    "agencies.demo.seed",
    "bids.demo.seed",
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


class Command(BaseCommand):
    help = "Create demo data: regulators, owners, the catalogue, pages, agencies, requests and bids."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="random seed for repeatable data")
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--owners", type=int, help="number of project owners")
        parser.add_argument("--agencies", type=int, help="number of agencies")
        parser.add_argument("--requests", type=int, help="number of service requests")
        parser.add_argument("--quiet", action="store_true", help="no progress bars")

    def handle(self, *args, **opts):
        options = dict(SCALES[opts["scale"]])
        for key in ("owners", "agencies", "requests"):
            if opts.get(key) is not None:
                options[key] = opts[key]
        progress = Progress(self, opts["quiet"] or opts["verbosity"] == 0)
        for dotted in SEEDERS:
            module_name, func_name = dotted.rsplit(".", 1)
            seed = getattr(import_module(module_name), func_name)
            rng = random.Random(f"{opts['seed']}:{dotted}")
            result = seed(rng=rng, options=options, progress=progress)
            progress(f"{dotted}: {result}")
        self.stdout.write(self.style.SUCCESS("demo data ready"))
