"""`/api/v1/`: one router where every app registers its viewsets, plus the schema and docs.

To add endpoints: write a viewset (declare `read_scope`/`write_scope`), then register it
in an app's `register(router)` and call that here.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from crm.api.errors import PROBLEM_CONTENT_TYPE, problem_body
from leads import api as leads_api
from sla import api as sla_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
leads_api.register(router)
sla_api.register(router)


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Unknown API paths (or ids that are not ids) answer problem+json too, not a page."""
    body = problem_body(
        status_code=404, code="not_found", detail="No such endpoint.", instance=request.path
    )
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the page keeps the strict CSP.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^", api_not_found),
]
