"""Audit events: `hash_version` (1 for every event stored so far) and, when events exist, the
opening of every stream, chained to its last stored event: the cut-over to hashing every field
(market/audit.py). An empty log is opened by its first event instead."""

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def open_streams(apps, schema_editor):
    from market.core.audit import GENESIS_HASH, OPEN_ACTION, opening_fields

    AuditEvent = apps.get_model("market", "AuditEvent")
    db = schema_editor.connection.alias
    events = AuditEvent.objects.using(db)
    if not events.exists() or events.filter(action=OPEN_ACTION, hash_version=2).exists():
        return
    streams = max(int(settings.MARKET.get("AUDIT_STREAMS", 16)), 1)
    now = timezone.now()
    heads = [events.filter(stream=k).order_by("-id").values_list("hash", flat=True).first() for k in range(streams)]
    events.bulk_create([
        AuditEvent(**opening_fields(stream=k, streams=streams, prev_hash=head or GENESIS_HASH, created_at=now))
        for k, head in enumerate(heads)
    ])


def close_streams(apps, schema_editor):
    """Back to version 1 only while nothing but the openings carries version 2."""
    from market.core.audit import OPEN_ACTION

    events = apps.get_model("market", "AuditEvent").objects.using(schema_editor.connection.alias)
    if events.filter(hash_version=2).exclude(action=OPEN_ACTION).exists():
        raise RuntimeError("audit events were written with hash version 2; the old code could not verify them")
    events.filter(hash_version=2).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0008_audit_streams'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='hash_version',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RunPython(open_streams, close_streams),
    ]
