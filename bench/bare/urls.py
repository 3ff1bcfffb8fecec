"""POST /leads/ creates one row with a plain ModelSerializer; GET /leads/ lists 50."""

from django.urls import path
from rest_framework import generics, serializers

from bench.bare.models import BareLead


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


urlpatterns = [path("leads/", BareLeads.as_view())]
