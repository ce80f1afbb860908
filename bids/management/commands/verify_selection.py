"""Recompute a selection from its published result alone and say whether it matches."""

import json
import urllib.request

from django.core.management.base import BaseCommand, CommandError

from market.core import draw
from bids.models import SelectionRun


class Command(BaseCommand):
    help = ("Recompute the commitment, seed, tickets, factor and winner of a request's published selection "
            "and say whether they match. Reads the published result from this database, a JSON file "
            "(--file) or a marketplace's API (--url).")

    def add_arguments(self, parser):
        parser.add_argument("request_id", nargs="?", type=int)
        parser.add_argument("--file", help="a JSON file as served by GET /api/v1/requests/{id}/selection/")
        parser.add_argument("--url", help="base URL of a marketplace, e.g. http://127.0.0.1:8000")

    def handle(self, *args, request_id=None, file=None, url=None, **options):
        if file:
            with open(file, encoding="utf-8") as fh:
                results = [json.load(fh)]
        elif url:
            if request_id is None:
                raise CommandError("give the REQUEST_ID with --url")
            if not url.startswith(("http://", "https://")):
                raise CommandError("--url must be an http:// or https:// address")
            endpoint = f"{url.rstrip('/')}/api/v1/requests/{request_id}/selection/"
            with urllib.request.urlopen(endpoint, timeout=30) as resp:  # nosec B310 - scheme checked above
                results = [json.loads(resp.read())]
        else:
            if request_id is None:
                raise CommandError("give a REQUEST_ID, --file or --url")
            runs = list(SelectionRun.objects.filter(request_id=request_id).order_by("run"))
            if not runs:
                raise CommandError(f"request {request_id} has no published selection")
            results = [r.published for r in runs]
        failed = False
        for published in results:
            label = f"request {published.get('request_id')} run {published.get('run', 1)} ({published.get('method')})"
            problems = draw.verify(published)
            if problems:
                failed = True
                self.stdout.write(self.style.ERROR(f"{label}: DOES NOT MATCH"))
                for p in problems:
                    self.stdout.write(f"  - {p}")
            else:
                self.stdout.write(self.style.SUCCESS(
                    f"{label}: matches — commitment, seed {published.get('seed', '')[:16]}…, "
                    f"{len(published.get('eligible', []))} tickets and winner {published.get('winner_bid_id')} recomputed"))
        if failed:
            raise CommandError("the published selection does not verify")
