"""Version 1 of every stage definition and the starting reason lists.

Both teams read these on the Definitions page; managers publish new versions from there.
"""

from django.db import migrations

DEFINITIONS = {
    "engaged": ("Engaged", "marketing", "A person who has engaged with a campaign or the site and "
                "shared a work email. Marketing works them until they meet the qualified definition."),
    "qualified": ("Sales-qualified lead", "sales", "Marketing hands a lead to sales when every "
                  "required criterion below is ticked. Sales must accept or reject it."),
    "opportunity": ("Opportunity", "sales", "An accepted lead with a real buying conversation: "
                    "an estimated value and an agreed next step."),
    "won": ("Won", "sales", "The customer signed."),
    "lost": ("Lost", "sales", "The deal did not happen, for a reason from the lost list."),
    "nurture": ("Nurture", "marketing", "Recycled to marketing: rejected by sales or lost, "
                "worth keeping warm."),
    "disqualified": ("Disqualified", "", "Not a prospect at all (spam, student, competitor...)."),
}
CRITERIA = [
    ("fits-icp", "Company fits an ideal customer profile (persona set)", True),
    ("budget-confirmed", "Budget confirmed or likely (BANT: budget)", True),
    ("decision-maker", "Talking to a decision maker or a direct influencer", True),
    ("need-identified", "A specific need or pain identified", True),
    ("timeline-known", "Buying timeline within 6 months", False),
]
REASONS = {
    "reject": ["Not enough information", "Not a decision maker", "Outside our territory",
               "Already a customer", "Duplicate of another lead"],
    "lost": ["Price", "Chose a competitor", "No budget", "No decision / went dark", "Timing"],
    "disqualify": ["Spam or fake", "Student or job seeker", "Competitor", "Unsubscribed"],
}


def create(apps, schema_editor):
    StageDefinition = apps.get_model("leads", "StageDefinition")
    QualificationCriterion = apps.get_model("leads", "QualificationCriterion")
    Reason = apps.get_model("leads", "Reason")
    for stage, (title, team, description) in DEFINITIONS.items():
        definition, created = StageDefinition.objects.get_or_create(
            stage=stage, version=1,
            defaults={"title": title, "owner_team": team, "description": description,
                      "is_current": True},
        )
        if created and stage == "qualified":
            for position, (key, label, required) in enumerate(CRITERIA):
                QualificationCriterion.objects.create(
                    definition=definition, key=key, label=label, required=required,
                    position=position,
                )
    for kind, labels in REASONS.items():
        for label in labels:
            Reason.objects.get_or_create(kind=kind, label=label)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
