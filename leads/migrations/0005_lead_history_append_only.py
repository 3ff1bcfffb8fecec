"""Lead history (LeadEvent, which also carries the SLA clocks' history) is append-only in the
database itself: UPDATE and DELETE are refused unless the transaction has set
`handoff.allow_history_rewrite = 'on'` with SET LOCAL, which only person erasure does.
PostgreSQL only; SQLite has no such setting, and the app never edits history anyway."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION leads_history_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('handoff.allow_history_rewrite', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'lead history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER leads_leadevent_append_only
    BEFORE UPDATE OR DELETE ON leads_leadevent
    FOR EACH ROW EXECUTE FUNCTION leads_history_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS leads_leadevent_append_only ON leads_leadevent;
DROP FUNCTION IF EXISTS leads_history_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_lead_list_and_funnel_indexes")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
