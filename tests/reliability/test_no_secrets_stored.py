"""Neither a raw API key nor the demo password is stored anywhere: after the demo is seeded,
a key issued and used, and a demo user signed in, no row of any table contains them."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from crm.keys import api_key_create
from crm.models import ApiScope, User
from leads.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo
from tests.reliability.conftest import tables_mentioning

pytestmark = pytest.mark.django_db


def test_no_raw_api_key_or_demo_password_is_stored(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    seed_demo(now=timezone.now())
    manager = User.objects.filter(role="manager").first()
    issued = api_key_create(
        actor=manager, name="Web form", scopes=[ApiScope.LEADS_READ, ApiScope.LEADS_WRITE]
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}")
    created = api.post(
        "/api/v1/leads/",
        {"email": "form.fill@example.org", "company": "Acme"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert created.status_code == 201
    browser = Client()
    username = DEMO_USERS[0][0]
    signed_in = browser.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302, "the demo login should work"
    assert browser.get("/").status_code == 200

    secret = issued.raw_key.split("_", 2)[2]
    assert tables_mentioning(issued.raw_key) == set()
    assert tables_mentioning(secret) == set()
    assert tables_mentioning(DEMO_PASSWORD) == set()
    # The dump does see what is stored: the key's public prefix and the demo users.
    assert "crm_apikey" in tables_mentioning(issued.api_key.prefix)
    assert "crm_user" in tables_mentioning(username)
