"""`/api/v1/`: one router where every app registers its viewsets, plus the schema and docs.

To add endpoints: write a viewset (declare `read_scope`/`write_scope`), then register it
in an app's `register(router)` and call that here.
"""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from leads import api as leads_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
leads_api.register(router)

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
