"""Forms keep what was typed: after an error, after a refusal, and on a stale edit (both
versions shown, the person's re-applied on purpose); amounts typed as people write them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from leads.forms import LeadEditForm, OpportunityForm
from leads.models import Lead
from leads.services.cleaning import amount_from_text
from leads.services.leads import lead_update
from tests.factories import PersonaFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _checked(page: str, name: str) -> set[str]:
    boxes = re.findall(rf'<input type="checkbox" name="{name}" value="([^"]+)"[^>]*checked', page)
    return set(boxes)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_refused_hand_off_keeps_the_ticked_criteria_and_the_rep(
    client, marketer, sales_rep, engaged_lead, headers
):
    client.force_login(marketer)
    response = client.post(
        reverse("leads:action", args=[engaged_lead.pk, "hand_off"]),
        {
            "version": engaged_lead.version,
            "assignee": sales_rep.pk,
            "criteria": ["budget-confirmed"],
        },
        **headers,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Cannot hand off" in page
    assert _checked(page, "criteria") == {"budget-confirmed"}
    assert f'<option value="{sales_rep.pk}" selected>' in page
    assert Lead.objects.get(pk=engaged_lead.pk).stage == "engaged"


def test_a_reject_without_a_reason_keeps_the_note(client, sales_rep, qualified_lead):
    client.force_login(sales_rep)
    page = client.post(
        reverse("leads:action", args=[qualified_lead.pk, "reject"]),
        {"version": qualified_lead.version, "reason": "", "note": "They went with a rival"},
    ).content.decode()
    assert "Please correct" in page
    assert "They went with a rival</textarea>" in page
    assert re.search(r'<details class="action" open><summary>Reject', page)


def test_a_stale_edit_shows_both_versions_and_saves_mine_on_purpose(client, marketer, engaged_lead):
    seen = engaged_lead.version
    lead_update(
        lead=engaged_lead, actor=marketer, fields={"company": "Theirs Ltd"}, expected_version=seen
    )
    client.force_login(marketer)
    url = reverse("leads:action", args=[engaged_lead.pk, "edit"])
    mine = {"version": seen, "email": engaged_lead.email, "company": "Mine GmbH", "phone": "555"}
    page = client.post(url, mine).content.decode()
    conflict = page.split('id="conflict"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">Company</th><td>Mine GmbH</td><td>Theirs Ltd</td>' in conflict
    assert '<th scope="row">Phone</th><td>555</td><td>—</td>' in conflict
    current = Lead.objects.get(pk=engaged_lead.pk)
    assert current.company == "Theirs Ltd"
    assert f'name="version" value="{current.version}"' in page.split('id="edit-details"', 1)[1]
    assert 'value="Mine GmbH"' in page and "Save mine" in page

    client.post(url, {**mine, "version": current.version})
    assert Lead.objects.get(pk=engaged_lead.pk).company == "Mine GmbH"


def test_the_persona_criterion_is_ticked_once_a_persona_is_set(client, marketer, make_lead):
    without = make_lead()
    with_persona = make_lead(persona=PersonaFactory().pk)
    client.force_login(marketer)
    page = client.get(reverse("leads:detail", args=[without.pk])).content.decode()
    assert "fits-icp" not in _checked(page, "criteria")
    page = client.get(reverse("leads:detail", args=[with_persona.pk])).content.decode()
    assert "fits-icp" in _checked(page, "criteria")


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("48000", "48000"),
        ("48,000", "48000"),
        ("48 000", "48000"),
        ("48\u202f000", "48000"),
        ("48 000,50", "48000.50"),
        ("48.000,50", "48000.50"),
        ("48,000.50", "48000.50"),
        ("1'250.75", "1250.75"),
        ("48,5", "48.5"),
        ("48.5", "48.5"),
        ("1.234.567", "1234567"),
    ],
)
def test_amounts_read_either_convention(typed, amount):
    assert amount_from_text(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["12,34,567", "4 8000", "1,2.3", "48k", "1.000.00"])
def test_unclear_amounts_are_refused_with_the_reason(typed):
    form = OpportunityForm({"version": 1, "estimated_value": typed, "next_step": "Call"})
    assert not form.is_valid()
    assert form.errors["estimated_value"]


def test_the_edit_form_saves_an_amount_typed_with_spaces(client, manager, engaged_lead):
    client.force_login(manager)
    client.post(
        reverse("leads:action", args=[engaged_lead.pk, "edit"]),
        {
            "version": engaged_lead.version,
            "email": engaged_lead.email,
            "estimated_value": "48 000,50",
        },
    )
    assert Lead.objects.get(pk=engaged_lead.pk).estimated_value == Decimal("48000.50")
    assert LeadEditForm().fields["estimated_value"].widget.input_type == "text"
