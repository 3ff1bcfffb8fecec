import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
application = get_wsgi_application()

# Load every view, serializer and model now, then take what is loaded out of the cyclic
# garbage collector's sight: these objects live as long as the process, and scanning them
# (~80 ms for a full collection) would otherwise land on whichever request happens to
# allocate enough to trigger one, a batch of leads most often.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
