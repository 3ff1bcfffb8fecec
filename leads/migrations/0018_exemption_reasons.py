"""A managed list of reasons a breach may be exempted for, with a starting set."""

from django.db import migrations, models

EXEMPTION_REASONS = [
    "Customer asked to be contacted later",
    "Wrong or unreachable contact details",
    "Duplicate of a lead already being worked",
    "System outage",
]


def create(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    for label in EXEMPTION_REASONS:
        Reason.objects.get_or_create(kind="exemption", label=label)


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0017_lead_next_step_due"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="reason",
            name="reason_kind_valid",
        ),
        migrations.AlterField(
            model_name="reason",
            name="kind",
            field=models.CharField(
                choices=[
                    ("reject", "Reject reason"),
                    ("lost", "Lost reason"),
                    ("disqualify", "Disqualify reason"),
                    ("exemption", "SLA exemption reason"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="reason",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["reject", "lost", "disqualify", "exemption"])),
                name="reason_kind_valid",
            ),
        ),
        migrations.RunPython(create, migrations.RunPython.noop),
    ]
