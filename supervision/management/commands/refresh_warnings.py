from django.core.management.base import BaseCommand
from django.utils import timezone

from supervision.indicators import warnings_refresh


class Command(BaseCommand):
    help = "Recompute the warning signs (risk indicators) from the data and store them. Safe to repeat."

    def handle(self, *args, **options):
        run = warnings_refresh(now=timezone.now())
        for rule, count in sorted(run.found.items()):
            self.stdout.write(f"{rule}: {count}")
        self.stdout.write(self.style.SUCCESS(f"new warnings: {run.created}"))
