from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("leads/", views.lead_list, name="list"),
    path("leads/new/", views.lead_new, name="new"),
    path("leads/export.csv", views.lead_export, name="export"),
    path("leads/bulk/", views.leads_bulk, name="bulk"),
    path("leads/jump/", views.lead_jump, name="jump"),
    path("leads/views/", views.saved_view_save, name="view_save"),
    path("leads/views/<int:pk>/delete/", views.saved_view_remove, name="view_delete"),
    path("leads/<int:pk>/", views.lead_detail, name="detail"),
    path("leads/<int:pk>/actions/<slug:action>/", views.lead_action, name="action"),
    path("leads/import/", views.import_upload, name="import_upload"),
    path("leads/import/<int:pk>/mapping/", views.import_mapping, name="import_mapping"),
    path("leads/import/<int:pk>/", views.import_progress, name="import_progress"),
    path("leads/import/<int:pk>/requeue/", views.import_requeue, name="import_requeue"),
    path("leads/import/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/spend/", views.campaign_spend, name="campaign_spend"),
    path("campaigns/<int:pk>/archive/", views.campaign_archive_page, name="campaign_archive"),
    path("definitions/", views.definitions, name="definitions"),
    path("personas/new/", views.persona_edit, name="persona_new"),
    path("personas/<int:pk>/edit/", views.persona_edit, name="persona_edit"),
    path("definitions/<slug:stage>/", views.definition_history, name="definition_history"),
    path(
        "definitions/<slug:stage>/publish/",
        views.definition_new_version,
        name="definition_publish",
    ),
]
