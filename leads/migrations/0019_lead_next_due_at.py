"""Lead.next_due_at: the due time of the lead's earliest SLA goal still awaited, kept by the
SLA engine (sla.clocks.next_due_refresh), so "most urgent first" is a scan of one index.

Existing leads get it in one set-based UPDATE from their clocks, before the index is built."""

from datetime import UTC, datetime

from django.db import migrations, models
from django.db.models import DateTimeField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)
# sla.models.awaiting_goal_q as it stands at this migration.
AWAITED_STATES = ["running", "at_risk", "breached"]


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    SlaClock = apps.get_model("sla", "SlaClock")
    awaited = SlaClock.objects.filter(
        lead_id=OuterRef("pk"),
        state__in=AWAITED_STATES,
        met_at__isnull=True,
        cancelled_at__isnull=True,
    )
    first_due = awaited.order_by("due_at").values("due_at")[:1]
    Lead.objects.filter(Exists(awaited)).update(
        next_due_at=Coalesce(Subquery(first_due), Value(NO_DUE), output_field=DateTimeField())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0018_exemption_reasons"),
        ("sla", "0008_merge_routing_and_exemptions"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="next_due_at",
            field=models.DateTimeField(db_default=NO_DUE, default=NO_DUE, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["next_due_at", "id"], name="lead_next_due_idx"),
        ),
    ]
