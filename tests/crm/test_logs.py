"""Production log lines: one JSON object each, carrying the request id and the user's id,
never an e-mail address or a name."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from crm.celery import app as celery_app
from crm.logs import json_formatter

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    # Loading the tasks sets Django up again, which re-applies LOGGING: do it before the levels.
    celery_app.loader.import_default_modules()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("handoff")
    logger.addHandler(handler)
    # The levels LOG_FORMAT=json gives (the suite runs with the plain console).
    names = ("handoff", "handoff.request", "handoff.task")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in levels:
        logging.getLogger(name).setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_line_is_json_with_the_request_id_and_no_email(
    client, sales_rep, engaged_lead, json_lines
):
    client.force_login(sales_rep)
    response = client.get(f"/leads/{engaged_lead.pk}/")
    assert response.status_code == 200
    (line,) = [entry for entry in lines(json_lines) if entry["event"] == "request"]
    assert line["request_id"] == response["X-Request-ID"]
    assert (line["user_id"], line["lead_id"], line["status"], line["outcome"]) == (
        sales_rep.pk,
        engaged_lead.pk,
        200,
        "ok",
    )
    assert line["view"] == "leads:detail"
    text = json_lines.getvalue()
    for personal in (sales_rep.email, engaged_lead.email, sales_rep.first_name):
        assert personal not in text


def test_a_sane_request_id_from_the_proxy_is_kept_and_a_hostile_one_replaced(client, json_lines):
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-4f2a.9"})
    replaced = client.get("/healthz", headers={"X-Request-ID": 'x" injected\n{"a":1}'})
    assert kept["X-Request-ID"] == "edge-4f2a.9"
    assert replaced["X-Request-ID"] != 'x" injected\n{"a":1}'
    ids = [entry["request_id"] for entry in lines(json_lines) if entry["event"] == "request"]
    assert ids == ["edge-4f2a.9", replaced["X-Request-ID"]]


def test_every_line_of_a_request_carries_its_id_and_e_mails_are_masked(json_lines):
    import structlog

    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        logging.getLogger("handoff.outbox").warning("mail to %s refused", "pat@acme.example")
    finally:
        structlog.contextvars.clear_contextvars()
    (line,) = lines(json_lines)
    assert line == {
        "event": "mail to [email] refused",
        "request_id": "req-1",
        "level": "warning",
        "logger": "handoff.outbox",
        "timestamp": line["timestamp"],
    }


def test_a_task_ends_with_one_line_naming_it_and_its_outcome(json_lines):
    from celery.signals import task_postrun, task_prerun

    task = celery_app.tasks["crm.tasks.heartbeat"]  # loaded by the fixture
    task_prerun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t-1", task=task, args=(), kwargs={}, state="SUCCESS")
    (line,) = [entry for entry in lines(json_lines) if entry["event"] == "task"]
    assert (line["task"], line["task_id"], line["outcome"]) == (
        "crm.tasks.heartbeat",
        "t-1",
        "success",
    )


def test_the_plain_console_prints_no_line_per_task(settings):
    """`make run` keeps the plain console: beat's every-minute tasks must not fill it."""
    from celery.signals import task_postrun, task_prerun

    assert settings.LOG_FORMAT == "plain"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("handoff").addHandler(handler)
    celery_app.loader.import_default_modules()
    task = celery_app.tasks["crm.tasks.heartbeat"]
    try:
        task_prerun.send(sender=task, task_id="t-2", task=task, args=(), kwargs={})
        task_postrun.send(
            sender=task, task_id="t-2", task=task, args=(), kwargs={}, state="SUCCESS"
        )
        logging.getLogger("handoff.task").warning("a task's warning still shows")
    finally:
        logging.getLogger("handoff").removeHandler(handler)
    assert stream.getvalue().splitlines() == ["a task's warning still shows"]
