from django.core.management.base import BaseCommand
from django.utils import timezone

from market.core.deadlines import run_due


class Command(BaseCommand):
    help = "Run whatever is due by server time (ends of publicity, expiries, scheduled selections). Safe to repeat."

    def handle(self, *args, **options):
        results = run_due(now=timezone.now())
        for name, count in results.items():
            self.stdout.write(f"{name}: {count}")
