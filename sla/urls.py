from django.urls import path

from sla import views

app_name = "sla"

urlpatterns = [
    path("sla/breaches/", views.breach_report, name="breaches"),
    path("sla/breaches.csv", views.breach_export, name="breaches_csv"),
    path("sla/breaches/<int:pk>/acknowledge/", views.breach_acknowledge, name="acknowledge"),
    path(
        "sla/breaches/<int:pk>/exemption/",
        views.exemption_request_view,
        name="exemption_request",
    ),
    path("sla/exemptions/<int:pk>/decide/", views.exemption_decide_view, name="exemption_decide"),
    path("sla/policies/", views.policy_list, name="policies"),
    path("sla/policies/new/", views.policy_edit, name="policy_new"),
    path("sla/policies/<int:pk>/edit/", views.policy_edit, name="policy_edit"),
    path("sla/calendars/", views.calendar_list, name="calendars"),
    path("sla/commitments/new/", views.commitment_new, name="commitment_new"),
    path("sla/commitments/<int:pk>/edit/", views.commitment_edit, name="commitment_edit"),
    path("sla/calendars/new/", views.calendar_edit, name="calendar_new"),
    path("sla/calendars/<int:pk>/edit/", views.calendar_edit, name="calendar_edit"),
    path("review/", views.joint_review_page, name="review"),
    path("review/decisions/<int:pk>/close/", views.decision_close_page, name="decision_close"),
    path("sla/availability/", views.availability, name="availability"),
    path(
        "sla/availability/absences/<int:pk>/cancel/",
        views.absence_cancel_view,
        name="absence_cancel",
    ),
    path(
        "sla/availability/<int:user_id>/settings/",
        views.availability_settings,
        name="availability_settings",
    ),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notification_read_all, name="notifications_read_all"),
]
