from django.core.management.base import BaseCommand, CommandError

from market.audit import audit_verify
from market.models import AuditEvent


class Command(BaseCommand):
    help = "Walk the audit hash chains (one per stream); exit non-zero naming the first broken event."

    def handle(self, *args, **options):
        broken = audit_verify()
        if broken is not None:
            raise CommandError(f"audit chain broken at event #{broken.event_id}: {broken.reason}")
        streams = AuditEvent.objects.values("stream").distinct().count()
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {AuditEvent.objects.count()} events "
                                             f"in {streams} streams"))
