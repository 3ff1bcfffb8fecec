"""Generic API plumbing shared by every app's endpoints: authentication and scopes, the
problem+json error handler, strict parsing, filtering and pagination, Idempotency-Key, small
serializer building blocks, and the `/api/` URLs. Apps keep their own viewsets and
serializers in `<app>/api.py` and `<app>/api_serializers.py`."""
