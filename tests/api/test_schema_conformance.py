"""Every operation of the published schema, fuzzed by schemathesis with all its checks, on
PostgreSQL (CI requires it): no server error, no answer outside the schema.

The schema cannot express referential rules (a campaign id that exists, an email nobody
else has, a transition the lead's stage allows), so besides the default 2xx/401/403/404/409
a schema-valid request may also be refused with 400 (naming the field), 412 (an If-Match
that is well formed but not the current version), 422 (a reused Idempotency-Key) or 428
(a PATCH with neither If-Match nor `version`: "one of a header or a body field" is not
expressible in OpenAPI). The batch checks its items one by one, so an item the schema would
refuse is answered as that item's error in a 200 (by design: one bad item never sinks the
rest); negative-data rejection is off for that operation only. Every other check keeps its
defaults.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from crm.keys import api_key_create
from crm.models import ApiScope
from crm.wsgi import application
from tests.api.schema_operations import schema_operation_count
from tests.api.sla_world import build_sla_world
from tests.factories import CampaignFactory, LeadFactory, PersonaFactory

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    *("2xx", "400", "401", "403", "404", "409", "412", "422", "428", "429")
                ]
            }
        },
        "operations": [
            {
                "include-path": "/api/v1/leads/batch/",
                "checks": {"negative_data_rejection": {"enabled": False}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


@pytest.fixture
def api_headers(manager, marketer, sales_rep, make_lead) -> dict[str, str]:
    CampaignFactory.create_batch(2)
    PersonaFactory.create_batch(2)
    LeadFactory.create_batch(3)
    build_sla_world(manager=manager, marketer=marketer, sales_rep=sales_rep, make_lead=make_lead)
    issued = api_key_create(actor=None, name="Fuzzer", scopes=list(ApiScope.values), user=manager)
    return {"Authorization": f"Bearer {issued.raw_key}"}


def test_it_fuzzes_every_operation_of_the_schema() -> None:
    operations = [result.ok() for result in schema.get_all_operations()]

    assert len(operations) == schema_operation_count()
    assert all(operation.path.startswith("/api/v1/") for operation in operations)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("_keep_test_connection")
@schema.parametrize()
@settings(
    # About 45 operations: 10 examples each keeps the run near a minute on two cores.
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_it_conforms_to_its_schema(case, api_headers) -> None:
    case.call_and_validate(headers=api_headers)
