"""Payments and refunds keep the version (Unix second) of the Stripe object they mirror, so webhooks
are applied by the object's version instead of by a ladder of statuses (market/payments.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0009_audit_hash_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='stripe_version',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='paymentrefund',
            name='stripe_version',
            field=models.BigIntegerField(default=0),
        ),
    ]
