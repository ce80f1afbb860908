"""Write every published release as one OCDS 1.1 release package."""

import json

from django.core.management.base import BaseCommand
from tqdm import tqdm

from market.opendata import ocds
from market.opendata.models import OcdsRelease


class Command(BaseCommand):
    help = "Write the whole OCDS 1.1 release package to FILE (streamed; validates with --validate)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="output file")
        parser.add_argument("--uri", default="https://zjcs.gd.gov.cn/api/v1/ocds/releases/")
        parser.add_argument("--validate", action="store_true", help="validate against ../shared/ocds-1.1 (in memory)")

    def handle(self, *args, out, uri, validate, **options):
        total = OcdsRelease.objects.count()
        package = ocds.release_package(releases=[], uri=uri)
        head = json.dumps({k: v for k, v in package.items() if k != "releases"}, ensure_ascii=False)[:-1]
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(head + ', "releases": [')
            rows = OcdsRelease.objects.order_by("date", "pk").values_list("data", flat=True).iterator(chunk_size=2000)
            for i, data in enumerate(tqdm(rows, total=total, desc="releases", file=self.stderr,
                                          disable=options["verbosity"] == 0)):
                fh.write(("," if i else "") + json.dumps(data, ensure_ascii=False))
            fh.write("]}\n")
        if validate:
            from market.opendata.schema import validation_errors

            with open(out, encoding="utf-8") as fh:
                errors = validation_errors(json.load(fh), kind="release-package")
            if errors:
                for e in errors[:20]:
                    self.stderr.write(e)
                raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"{total} releases written to {out}"))
