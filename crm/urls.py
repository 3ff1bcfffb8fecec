from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views
from crm.signin import ThrottledLoginView

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("metrics.csv", views.dashboard_export, name="dashboard_csv"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.prometheus_metrics, name="prometheus_metrics"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("admin/", admin.site.urls),
    path("api/", include("crm.api.urls")),
    path("", include("leads.urls")),
    path("", include("sla.urls")),
]
