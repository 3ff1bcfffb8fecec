"""Definitions published from the page: versions kept, a diff between any two, stale refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.errors import DomainError, ErrorCode
from leads.definitions import definition_diff
from leads.models import StageDefinition
from leads.services.catalog import definition_publish
from leads.services.transitions import lead_hand_off
from tests.conftest import ALL_REQUIRED_CRITERIA

pytestmark = pytest.mark.django_db

PUBLISHED_AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _current() -> StageDefinition:
    return StageDefinition.objects.get(stage="qualified", is_current=True)


def _criteria_rows(definition: StageDefinition) -> list[dict]:
    return [
        {"key": c.key, "label": c.label, "required": c.required} for c in definition.criteria.all()
    ]


def _publish_form(definition: StageDefinition, *, rows: list[dict], **fields) -> dict:
    """What the publish page posts: the definition's fields and one row per criterion."""
    data = {
        "based_on": definition.version,
        "title": definition.title,
        "description": definition.description,
        "criteria-TOTAL_FORMS": len(rows),
        "criteria-INITIAL_FORMS": 0,
        **fields,
    }
    for n, row in enumerate(rows):
        data[f"criteria-{n}-key"] = row.get("key", "")
        data[f"criteria-{n}-label"] = row.get("label", "")
        if row.get("required"):
            data[f"criteria-{n}-required"] = "on"
        if row.get("remove"):
            data[f"criteria-{n}-remove"] = "on"
    return data


def test_it_publishes_a_new_version_and_keeps_the_old(manager):
    v1 = _current()
    rows = _criteria_rows(v1)
    rows[0]["label"] = "Company fits a persona we sell to"
    rows[4]["required"] = True
    del rows[1]
    rows.append({"key": "", "label": "Uses a CRM today", "required": False})
    v2 = definition_publish(
        actor=manager,
        stage="qualified",
        title=v1.title,
        description=v1.description + "\nSales answers within a day.",
        criteria=rows,
        based_on=1,
        now=PUBLISHED_AT,
    )
    assert (v2.version, v2.is_current, v2.created_by, v2.created_at) == (
        2,
        True,
        manager,
        PUBLISHED_AT,
    )
    v1.refresh_from_db()
    assert not v1.is_current and v1.criteria.count() == 5
    diff = definition_diff(v1, v2)
    assert [c.key for c in diff.added] == ["uses-a-crm-today"]
    assert [c.key for c in diff.removed] == ["budget-confirmed"]
    assert [(c.key, c.what) for c in diff.changed] == [
        ("fits-icp", ["label"]),
        ("timeline-known", ["required"]),
    ]
    assert ("added", "Sales answers within a day.") in diff.description
    assert not diff.title_changed


def test_a_diff_of_a_version_with_itself_is_empty(db):
    assert definition_diff(_current(), _current()).is_empty


def test_it_refuses_a_stale_publish_and_keeps_the_first(manager):
    v1 = _current()
    definition_publish(
        actor=manager, stage="qualified", title="First edit", criteria=_criteria_rows(v1),
        based_on=1,
    )  # fmt: skip
    with pytest.raises(DomainError) as err:
        definition_publish(
            actor=manager, stage="qualified", title="Second edit", criteria=_criteria_rows(v1),
            based_on=1,
        )  # fmt: skip
    assert err.value.code == ErrorCode.STALE
    assert _current().title == "First edit"
    assert StageDefinition.objects.filter(stage="qualified").count() == 2


def test_it_refuses_a_version_that_changes_nothing(manager):
    v1 = _current()
    with pytest.raises(DomainError, match="Nothing changed since version 1"):
        definition_publish(
            actor=manager, stage="qualified", title=v1.title, description=v1.description,
            criteria=_criteria_rows(v1), based_on=1,
        )  # fmt: skip
    assert StageDefinition.objects.filter(stage="qualified").count() == 1


@pytest.mark.parametrize("who", ["marketer", "sales_rep"])
def test_only_managers_reach_the_publish_page(client, request, who):
    client.force_login(request.getfixturevalue(who))
    url = reverse("leads:definition_publish", args=["qualified"])
    assert client.get(url).status_code == 403
    assert client.post(url, _publish_form(_current(), rows=[], title="Hijack")).status_code == 403
    assert _current().version == 1


def test_the_page_publishes_and_shows_the_diff(client, manager):
    client.force_login(manager)
    v1 = _current()
    rows = _criteria_rows(v1)
    rows[2]["remove"] = True
    rows.append({"label": "Has a project this quarter", "required": True})
    response = client.post(
        reverse("leads:definition_publish", args=["qualified"]),
        _publish_form(v1, rows=rows),
        follow=True,
    )
    page = response.content.decode()
    assert _current().version == 2
    assert "Version 2 published." in page
    assert "Version 1 → version 2" in page
    assert "<ins>Has a project this quarter</ins>" in page
    assert "<del>Talking to a decision maker or a direct influencer</del>" in page
    assert manager.display_name in page


def test_the_page_keeps_what_was_typed_when_refused(client, manager):
    client.force_login(manager)
    v1 = _current()
    rows = [*_criteria_rows(v1), {"key": "fits-icp", "label": "A second fits-icp"}]
    response = client.post(
        reverse("leads:definition_publish", args=["qualified"]),
        _publish_form(v1, rows=rows, title="Sharper SQL"),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "empty or repeated" in page
    assert 'value="Sharper SQL"' in page and 'value="A second fits-icp"' in page
    assert _current().version == 1


def test_the_page_refuses_an_empty_title_naming_the_field(client, manager):
    client.force_login(manager)
    v1 = _current()
    response = client.post(
        reverse("leads:definition_publish", args=["qualified"]),
        _publish_form(v1, rows=_criteria_rows(v1), title=""),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["title"]
    assert _current().version == 1


def test_history_of_an_unknown_stage_is_not_found(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("leads:definition_history", args=["prospect"])).status_code == 404
    history = reverse("leads:definition_history", args=["qualified"])
    assert client.get(history, {"a": "9" * 30, "b": "x"}).status_code == 200


def test_the_history_page_runs_a_constant_number_of_queries(client, manager):
    client.force_login(manager)
    url = reverse("leads:definition_history", args=["qualified"])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(5):
        definition_publish(
            actor=manager, stage="qualified", title=f"Edit {n}",
            criteria=_criteria_rows(_current()),
        )  # fmt: skip
    assert count() == few


def test_a_lead_says_which_version_qualified_it(client, manager, engaged_lead, marketer, sales_rep):
    lead = lead_hand_off(
        lead=engaged_lead, actor=marketer, assignee=sales_rep, criteria=ALL_REQUIRED_CRITERIA
    )
    v1 = _current()
    definition_publish(
        actor=manager, stage="qualified", title="Sharper", criteria=_criteria_rows(v1)
    )
    definition_publish(
        actor=manager, stage="qualified", title="Sharper still", criteria=_criteria_rows(v1)
    )
    client.force_login(sales_rep)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert lead.qualified_definition == v1
    assert "<dt>Qualified under</dt>" in page
    assert ">version 1</a>" in page and "now version 3" in page
