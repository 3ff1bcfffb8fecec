"""Kept counts of the leads by owning team, owner, campaign, persona and stage (LeadTally),
kept by the database: each insert, update, delete or truncate of leads appends its change
(minus the old values, plus the new), so no write path can forget them.

On PostgreSQL one trigger per statement writes one change row per key it touched (a batch or
a COPY of a thousand leads adds a handful of rows); on SQLite a trigger per row does. The
existing leads are counted once, here.
"""

from django.db import migrations, models

COLUMNS = "owner_team, owner_id, campaign_id, persona_id, stage, leads, opportunities, value"
KEY = "owner_team, coalesce(owner_id, 0), coalesce(campaign_id, 0), coalesce(persona_id, 0), stage"
ADDED = "count(*), count(first_opportunity_at), coalesce(sum(estimated_value), 0)"

FILL = f"""
INSERT INTO leads_leadtally ({COLUMNS})
SELECT {KEY}, {ADDED} FROM leads_lead GROUP BY 1, 2, 3, 4, 5
"""

POSTGRESQL = f"""
CREATE FUNCTION leads_tally_changes() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO leads_leadtally ({COLUMNS})
        SELECT {KEY}, {ADDED} FROM new_rows GROUP BY 1, 2, 3, 4, 5;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO leads_leadtally ({COLUMNS})
        SELECT {KEY}, -count(*), -count(first_opportunity_at),
               -coalesce(sum(estimated_value), 0)
        FROM old_rows GROUP BY 1, 2, 3, 4, 5;
    ELSE
        INSERT INTO leads_leadtally ({COLUMNS})
        SELECT {KEY}, sum(sign), sum(sign * (first_opportunity_at IS NOT NULL)::int),
               sum(sign * coalesce(estimated_value, 0))
        FROM (SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows) change
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(sign) <> 0 OR sum(sign * (first_opportunity_at IS NOT NULL)::int) <> 0
            OR sum(sign * coalesce(estimated_value, 0)) <> 0;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION leads_tally_truncate() RETURNS trigger AS $$
BEGIN
    DELETE FROM leads_leadtally;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER leads_lead_tally_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_tally_changes();
CREATE TRIGGER leads_lead_tally_update AFTER UPDATE ON leads_lead
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_tally_changes();
CREATE TRIGGER leads_lead_tally_delete AFTER DELETE ON leads_lead
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION leads_tally_changes();
CREATE TRIGGER leads_lead_tally_truncate AFTER TRUNCATE ON leads_lead
    FOR EACH STATEMENT EXECUTE FUNCTION leads_tally_truncate();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS leads_lead_tally_insert ON leads_lead;
DROP TRIGGER IF EXISTS leads_lead_tally_update ON leads_lead;
DROP TRIGGER IF EXISTS leads_lead_tally_delete ON leads_lead;
DROP TRIGGER IF EXISTS leads_lead_tally_truncate ON leads_lead;
DROP FUNCTION IF EXISTS leads_tally_changes();
DROP FUNCTION IF EXISTS leads_tally_truncate();
"""


def _row(side: str, sign: str) -> str:
    return (
        f"({side}.owner_team, coalesce({side}.owner_id, 0), coalesce({side}.campaign_id, 0), "
        f"coalesce({side}.persona_id, 0), {side}.stage, {sign}1, "
        f"{sign}({side}.first_opportunity_at IS NOT NULL), "
        f"{sign}coalesce({side}.estimated_value, 0))"
    )


TRACKED = (
    "owner_team",
    "owner_id",
    "campaign_id",
    "persona_id",
    "stage",
    "first_opportunity_at",
    "estimated_value",
)
SQLITE = [
    "CREATE TRIGGER leads_lead_tally_insert AFTER INSERT ON leads_lead BEGIN "
    f"INSERT INTO leads_leadtally ({COLUMNS}) VALUES {_row('NEW', '')}; END",
    f"CREATE TRIGGER leads_lead_tally_update AFTER UPDATE OF {', '.join(TRACKED)} ON leads_lead "
    f"WHEN {' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in TRACKED)} BEGIN "
    f"INSERT INTO leads_leadtally ({COLUMNS}) VALUES {_row('OLD', '-')}, {_row('NEW', '')}; END",
    "CREATE TRIGGER leads_lead_tally_delete AFTER DELETE ON leads_lead BEGIN "
    f"INSERT INTO leads_leadtally ({COLUMNS}) VALUES {_row('OLD', '-')}; END",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS leads_lead_tally_{event}" for event in ("insert", "update", "delete")
]


def keep_tallies(apps, schema_editor):
    schema_editor.execute(FILL, params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement, params=None)


def stop_keeping(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("leads", "0021_lead_references_indexed_where_set")]

    operations = [
        migrations.CreateModel(
            name="LeadTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("owner_team", models.CharField(blank=True, max_length=20)),
                ("owner_id", models.BigIntegerField(default=0)),
                ("campaign_id", models.BigIntegerField(default=0)),
                ("persona_id", models.BigIntegerField(default=0)),
                ("stage", models.CharField(max_length=20)),
                ("leads", models.BigIntegerField(default=0)),
                ("opportunities", models.BigIntegerField(default=0)),
                ("value", models.DecimalField(decimal_places=2, default=0, max_digits=18)),
            ],
        ),
        migrations.RunPython(keep_tallies, stop_keeping),
    ]
