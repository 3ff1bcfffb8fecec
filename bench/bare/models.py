from django.db import models
from django.db.models import Q


class BareLead(models.Model):
    """The columns and indexes of a lead that a create writes, without the product around it."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    email_normalized = models.CharField(max_length=254, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=50, default="manual")
    external_id = models.CharField(max_length=100, null=True, blank=True)
    stage = models.CharField(max_length=20, default="engaged")
    owner_team = models.CharField(max_length=20, default="marketing")
    criteria_met = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    stage_changed_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "bare"
        db_table = "bench_bare_lead"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="bench_bare_source_external_uniq",
            ),
        ]
        indexes = [models.Index(fields=["stage", "-created_at"], name="bench_bare_stage_idx")]

    def __str__(self) -> str:
        return self.email


# The leads list page's ceiling reads the product's own tables (no copy, the same rows): the
# models below map the columns the list shows and are never created or migrated here.


class ListedPerson(models.Model):
    username = models.CharField(max_length=150)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)

    class Meta:
        app_label = "bare"
        db_table = "crm_user"
        managed = False

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


class ListedName(models.Model):
    name = models.CharField(max_length=200)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class ListedCampaign(ListedName):
    class Meta:
        app_label = "bare"
        db_table = "leads_campaign"
        managed = False


class ListedPersona(ListedName):
    class Meta:
        app_label = "bare"
        db_table = "leads_persona"
        managed = False


STAGES = [
    ("engaged", "Engaged"),
    ("qualified", "Qualified"),
    ("opportunity", "Opportunity"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("nurture", "Nurture"),
    ("disqualified", "Disqualified"),
]


class ListedLead(models.Model):
    """A row of the leads list: what it shows, read from the product's leads table."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254)
    company = models.CharField(max_length=200)
    stage = models.CharField(max_length=20, choices=STAGES)
    accepted_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    version = models.PositiveIntegerField()  # sent with each row's tick box
    owner = models.ForeignKey(ListedPerson, null=True, on_delete=models.DO_NOTHING)
    campaign = models.ForeignKey(ListedCampaign, null=True, on_delete=models.DO_NOTHING)
    persona = models.ForeignKey(ListedPersona, null=True, on_delete=models.DO_NOTHING)

    class Meta:
        app_label = "bare"
        db_table = "leads_lead"
        managed = False

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
