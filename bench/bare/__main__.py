"""`python -m bench.bare create_table`: (re)create the bare table, empty."""

import os

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bare.settings"
django.setup()

from django.db import connection  # noqa: E402

from bench.bare.models import BareLead  # noqa: E402

with connection.cursor() as cursor:
    cursor.execute(f"DROP TABLE IF EXISTS {BareLead._meta.db_table}")
with connection.schema_editor() as editor:
    editor.create_model(BareLead)
