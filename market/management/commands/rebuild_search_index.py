"""Rebuild the search index: the database index always; Elasticsearch too when ELASTICSEARCH_URL
is set (a new index per kind, then an atomic alias swap: searches never see a half-built index)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from market.search import backends, indexing
from market.search.registry import KINDS


class Command(BaseCommand):
    help = "Rebuild the search index (database, and Elasticsearch with an alias swap when configured)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", action="append", choices=KINDS, dest="kinds",
                            help="Only this kind (repeatable); default: agency, request and item.")
        parser.add_argument("--database-only", action="store_true", help="Rebuild only the database index.")
        parser.add_argument("--elasticsearch-only", action="store_true", help="Rebuild only the Elasticsearch index.")
        parser.add_argument("--outbox", action="store_true",
                            help="Only write the changes queued while Elasticsearch was unreachable.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        kinds = options["kinds"] or list(KINDS)
        es = backends.elasticsearch_backend()
        quiet = options["no_progress"] or options["verbosity"] == 0
        if options["outbox"]:
            if es is None:
                raise CommandError("ELASTICSEARCH_URL is not set: there is no outbox to write.")
            done = 0
            while True:
                n = indexing.drain_outbox(limit=1000)
                done += n
                if not n:
                    break
            left = indexing.SearchOutbox.objects.count()
            self.stdout.write(f"outbox: {done} written, {left} left")
            return
        if options["elasticsearch_only"] and es is None:
            raise CommandError("ELASTICSEARCH_URL is not set.")
        if not options["elasticsearch_only"]:
            for kind in kinds:
                total = indexing.count_documents(kind)
                with tqdm(total=total, desc=f"database {kind}", unit="doc", disable=quiet) as bar:
                    counts = indexing.rebuild_database([kind], progress=bar.update)
                self.stdout.write(f"database {kind}: {counts[kind]} documents")
        if es is not None and not options["database_only"]:
            for kind in kinds:
                total = indexing.count_documents(kind)
                with tqdm(total=total, desc=f"elasticsearch {kind}", unit="doc", disable=quiet) as bar:
                    try:
                        names = indexing.rebuild_elasticsearch([kind], progress=bar.update)
                    except backends.elasticsearch_errors() as exc:
                        raise CommandError(f"Elasticsearch at {backends.elasticsearch_url()}: {exc}") from exc
                self.stdout.write(f"elasticsearch {kind}: alias {es.alias(kind)} -> {names[kind]}")
