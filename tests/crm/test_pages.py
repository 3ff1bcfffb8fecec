from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert b"Sign in to Handoff" in response.content
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/")


def test_a_signed_in_user_sees_the_pipeline(client, marketer, engaged_lead):
    client.force_login(marketer)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Engaged" in response.content


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").json() == {"status": "ok"}
