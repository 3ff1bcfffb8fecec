"""POST /leads/ creates one row with a plain ModelSerializer; GET /leads/ lists 50.
GET /list/?stage=&owner=&rows= renders the leads list page's rows with a plain ListView."""

from django.db.models import QuerySet
from django.urls import path
from django.views.generic import ListView
from rest_framework import generics, serializers

from bench.bare.models import BareLead, ListedLead


class BareLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = BareLead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "source",
            "external_id",
            "stage",
            "created_at",
        ]
        read_only_fields = ["id", "stage", "created_at"]

    def create(self, validated_data):
        validated_data["email_normalized"] = validated_data["email"].lower()
        return super().create(validated_data)


class BareLeads(generics.ListCreateAPIView):
    serializer_class = BareLeadSerializer

    def get_queryset(self):
        return BareLead.objects.filter(stage="engaged").order_by("-created_at", "-id")[:50]


class LeadRows(ListView):
    """The same rows as the leads list page (its filter, its order, its page size, its
    columns) through a template, and nothing else: no session, no filter form, no header."""

    template_name = "bare/lead_list.html"

    def get_queryset(self) -> QuerySet[ListedLead]:
        wanted = self.request.GET
        leads = ListedLead.objects.select_related("owner", "campaign", "persona")
        if "stage" in wanted:
            leads = leads.filter(stage=wanted["stage"])
        if "owner" in wanted:
            leads = leads.filter(owner_id=wanted["owner"])
        return leads.order_by("-created_at", "-id")[: int(wanted.get("rows", 25))]


urlpatterns = [path("leads/", BareLeads.as_view()), path("list/", LeadRows.as_view())]
