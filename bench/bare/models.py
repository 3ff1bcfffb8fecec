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
