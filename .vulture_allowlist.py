"""Names that are read where vulture cannot look, so it must not call them dead.

Framework hooks (admin options, DRF and django-filter hooks, management commands, ...) are
matched by pattern in pyproject.toml's [tool.vulture]. This file names single attributes,
grouped by what reads them. Each line reads the names, which is all vulture needs; the file
is never imported. A name with no reader belongs in no group: delete the code instead.
"""

# Read by templates ({{ obj.name }}).
_.shown_state, _.safe_url, _.percent, _.percent_of_target, _.time_to_goal, _.read_at
_.under_1d, _.d1_7, _.d7_30, _.over_30d, _.oldest_since
_.can_reassign
_.opportunities, _.won, _.cost_per_lead, _.cost_per_opportunity, _.cost_per_won
_.imported_count, _.error_count, _.failure, _.cancelled_at, _.reason_note
_.qualified_definition, _.is_empty, _.overdue
_.formula, _.definition, _.shown, _.flow, _.marketing, _.sales, _.outcomes, _.group
_.volume_percent, _.acceptance_percent, _.min_acceptance_percent, _.status
_.volume_figure, _.acceptance_figure

# Declared fields that their class reads: serializer fields, filters, form fields, dataclass
# fields filled by keyword and read by tests or the demo command's summary.
_.created_after, _.created_before, _.sla_state, _.file, _.remove, _.emailed_kinds
_.target_hours, _.at_risk_percent, _.weekdays
_.allowed_transitions, _.actor_name, _.converted, _.policy_name, _.source_name
_.target_seconds, _.median_time_to_goal_seconds, _.has_secret
_.retried, _.failed, _.clock_states, _.duplicate
_.from_, _.to, _.currency, _.period_from, _.period_to, _.time_zone
_.reassign_to, _.hand_off_to

# Columns written by services and read back through the ORM by name, raw SQL or the admin.
_.recipient, _.next_attempt_at, _.claimed_until, _.sent_at, _.completed_at, _.finished_at
_.is_current, _.handed_off_at, _.accepted_by, _.closed_at, _.updated_at, _.last_user
_.first_handed_off_at, _.first_accepted_at, _.first_opportunity_at
_.search_text, _.next_due_at
_.evaluated_at, _.commitment_result, _.processed_at, _.duration_ms, _.succeeded
_.progressed_at, _.recorded_by, _.recorded_at
# Choice values stored in rows.
_.PAID_SEARCH, _.REFERRAL, _.NOTE
# Query expression hooks Django calls by name (a Func's SQL function and per-vendor SQL).
_.function, _.output_field, _.as_sqlite
# Class-level caches read back through cls.__dict__.
_._fields_built
# Named by dotted path in settings (REST_FRAMEWORK, SPECTACULAR_SETTINGS).
_.ContractAutoSchema, _.contract_postprocess
# Outbox handlers named by dotted path (settings.OUTBOX_HANDLERS).
_.deliver_in_app, _.deliver_email, _.deliver_webhook, _.breach_fan_outs_expand

# Not yet reviewed: no reader outside tests. Each goes with its code, or moves to a group
# above with the reader that keeps it.
_.reason_create, _.signature_is_valid

# Read by the libraries that call them: prometheus-client (a collector's collect), Celery
# signals (a connected receiver), urllib3 pools and requests sessions (their attributes).
_.collect, _.count_task_failure, _.tag_task_log_lines, _.log_task_outcome
# Named by settings.LOGGING as a formatter factory, and by DATABASE_ROUTERS with the hooks
# Django calls on a router.
_.json_formatter, _.ReplicaRouter, _.db_for_read, _.db_for_write, _.allow_relation
_.ConnectionCls, _.pool_classes_by_scheme, _.trust_env
# Read by the joint review's template (templates/sla/review.html).
_.good, _.headline, _.sales_goals, _.can_close
# Serializer fields and a model field of the joint review.
_.sla_compliance, _.closed_by, _.previous_value, _.previous_shown

# Routing, availability and exemptions: read by templates and the API.
_.away_now, _.decided_at, _.decision_note, _.updated_by, _.cancelled_by, _.decided_by
_.requested_by, _.requested_at, _.adjusted_percent, _.may_request, _.may_decide, _.help_text
# Written for reports and the API (adjusted compliance reads exempted_at through a join;
# reassigned_at is the sweep's claim marker, read in SQL).
_.exempted_at, _.reassigned_at
# A model instance's state that Django reads (a row written by raw SQL is no longer "adding").
_.adding
