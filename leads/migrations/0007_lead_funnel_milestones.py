"""Funnel milestones on the lead, backfilled from its history (first arrival at each step)."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef, Q, Subquery

# The history events whose first occurrence sets each milestone (see leads.lifecycle).
MILESTONE_EVENTS = {
    "first_handed_off_at": Q(kind="transition", to_stage="qualified"),
    "first_accepted_at": Q(kind="accepted"),
    "first_opportunity_at": Q(kind="transition", to_stage="opportunity"),
}


def backfill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    LeadEvent = apps.get_model("leads", "LeadEvent")
    for field, condition in MILESTONE_EVENTS.items():
        events = LeadEvent.objects.filter(condition, lead=OuterRef("pk"))
        first = events.order_by("created_at", "id").values("created_at")[:1]
        Lead.objects.filter(Exists(events)).update(**{field: Subquery(first)})


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0006_lead_owner_stage_keyset_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="first_accepted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="lead",
            name="first_handed_off_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="lead",
            name="first_opportunity_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
