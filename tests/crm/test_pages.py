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
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert b"Engaged" in response.content


def test_healthz_reports_the_database(client, db):
    assert client.get("/healthz").json() == {"status": "ok", "database": "up"}


def test_sign_in_is_throttled_after_repeated_failures(client, marketer, password):
    from django.core.cache import cache

    cache.clear()
    for _ in range(5):
        response = client.post("/login/", {"username": marketer.username, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/login/", {"username": marketer.username, "password": password})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    cache.clear()


def test_a_correct_password_signs_in(client, marketer, password):
    response = client.post("/login/", {"username": marketer.username, "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(marketer.pk)


def test_pages_and_api_answers_with_personal_data_are_not_stored(client, marketer, engaged_lead):
    client.force_login(marketer)
    for path in ("/", f"/leads/{engaged_lead.pk}/", f"/api/v1/leads/{engaged_lead.pk}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Cache-Control"] == "no-store", path
