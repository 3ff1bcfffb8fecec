"""Indexed lead search (leads/search.py, docs/search.md).

PostgreSQL: the `pg_trgm` and `unaccent` extensions, an IMMUTABLE fold function (lower case,
accents removed; `unaccent()` itself is only STABLE because its dictionary could change, so
the wrapper names the dictionary explicitly), the stored generated column `search_text` and
its GIN trigram index. The column gets a finer statistics target so the planner can tell a
rare term (read the index) from a common one (walk the newest leads until a page is full).

SQLite: the same column as LOWER(...), no index; search stays a scan there.

Adding a stored column rewrites the leads table: on a million leads, minutes under lock.
"""

import django.db.models.functions.text
from django.db import migrations, models

import leads.search

FUNCTION = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE OR REPLACE FUNCTION handoff_search_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS handoff_search_fold(text);"

# Used by LeadQuerySet.search on every `q` (the leads page, the API list, the header box).
INDEX = """
CREATE INDEX lead_search_trgm ON leads_lead USING gin (search_text gin_trgm_ops);
ALTER TABLE leads_lead ALTER COLUMN search_text SET STATISTICS 1000;
"""
DROP_INDEX = "DROP INDEX IF EXISTS lead_search_trgm;"


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_description_limits")]

    operations = [
        migrations.RunPython(on_postgresql(FUNCTION), on_postgresql(DROP_FUNCTION)),
        migrations.AddField(
            model_name="lead",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=leads.search.SearchFold(
                    django.db.models.functions.text.Concat(
                        "first_name",
                        models.Value(" "),
                        "last_name",
                        models.Value(" "),
                        "company",
                        models.Value(" "),
                        "email_normalized",
                        models.Value(" "),
                        "external_id",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(on_postgresql(INDEX), on_postgresql(DROP_INDEX)),
    ]
