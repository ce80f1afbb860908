from django.core.management.base import BaseCommand

from market.management.reference_data import load_reference_data


class Command(BaseCommand):
    help = "Load GB/T 2260 regions of Guangdong and the seed catalogue of service items (idempotent)."

    def handle(self, *args, **options):
        counts = load_reference_data()
        self.stdout.write(self.style.SUCCESS(f"regions: {counts['regions']}, service items: {counts['service_items']}"))
