"""Branded error pages: a 404 inside the layout, and a 500 that needs no request or database."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.views.defaults import server_error


@pytest.mark.django_db
def test_an_unknown_address_gets_the_branded_not_found_page(client, sales_rep):
    client.force_login(sales_rep)
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in page
    assert 'href="/leads/"' in page and 'aria-label="Main"' in page


@pytest.mark.django_db
def test_an_unknown_lead_is_the_same_not_found_page(client, manager):
    client.force_login(manager)
    response = client.get("/leads/999999/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_the_server_error_page_renders_without_a_request_or_the_database():
    # No django_db mark: any database access here fails the test.
    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page
    assert 'href="/static/css/handoff.css"' in page
    response = server_error(RequestFactory().get("/leads/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
