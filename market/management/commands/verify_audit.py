from django.core.management.base import BaseCommand, CommandError

from market.core.audit import audit_check


class Command(BaseCommand):
    help = ("Walk the audit hash chains (one per stream) and check that exactly the streams "
            "MARKET_AUDIT_STREAMS says exist; exit non-zero naming the first broken event or missing stream.")

    def handle(self, *args, **options):
        report = audit_check()
        broken = report.broken
        if broken is not None:
            if broken.event_id is not None:
                raise CommandError(f"audit chain broken at event #{broken.event_id}: {broken.reason}")
            raise CommandError(f"audit log broken: {broken.reason}")
        if not report.events:
            self.stdout.write(self.style.SUCCESS("audit chain intact: no events yet"))
            return
        legacy = ""
        if report.legacy_events:
            legacy = (f"; {report.legacy_events} events from before the cut-over verified with the version-1 hash "
                      f"(their actor_repr, object_repr and stream are not covered)")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.events} events in {report.streams} streams"
                                             f"{legacy}"))
