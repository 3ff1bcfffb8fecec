"""Lead search: the leads page's `q` and the header's jump box share one rule
(`Lead.objects.search`), which ignores case (and accents on PostgreSQL), matches `%`, `_`
and `\\` literally, reads the trigram index on PostgreSQL and refuses a term nobody types."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from leads import search
from leads.models import Lead
from leads.selectors import lead_suggestions
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def lead(**fields: object) -> Lead:
    fields.setdefault("first_name", "Pat")
    fields.setdefault("last_name", "Doe")
    fields.setdefault("company", "Plain Co")
    return LeadFactory(**fields)


def found(term: str) -> set[int]:
    return set(Lead.objects.search(term).values_list("pk", flat=True))


def test_it_ignores_case_in_names_companies_and_emails() -> None:
    ana = lead(first_name="Ana", last_name="Moreno", company="Acme Logistics")
    other = lead(email="someone@else.example", email_normalized="someone@else.example")

    assert found("MORENO") == {ana.pk}
    assert found("acme log") == {ana.pk}
    assert found("ana moreno") == {ana.pk}  # a full name reads across first and last name
    assert found("SOMEONE@ELSE") == {other.pk}
    assert found("  ") == found("") == set(Lead.objects.values_list("pk", flat=True))


@pytest.mark.postgres
def test_it_ignores_accents_both_ways() -> None:
    garcia = lead(last_name="García", company="Société Générale")
    plain = lead(last_name="Garcia")

    assert found("Garcia") == {garcia.pk, plain.pk}
    assert found("garcía") == {garcia.pk, plain.pk}
    assert found("SOCIETE GEN") == {garcia.pk}


def test_an_email_prefix_finds_its_lead() -> None:
    wanted = lead(email="jo.bloggs@acme.example", email_normalized="jo.bloggs@acme.example")
    lead(email="jo.other@acme.example", email_normalized="jo.other@acme.example")

    assert found("jo.bloggs@") == {wanted.pk}
    assert found("Jo.Bloggs@acme.ex") == {wanted.pk}


def test_an_external_id_finds_its_lead() -> None:
    wanted = lead(source="api", external_id="CRM-8812")
    lead(source="api", external_id="CRM-9912")

    assert found("crm-88") == {wanted.pk}


@pytest.mark.parametrize(
    ("term", "expected"),
    [("50%", "fifty"), ("a_b", "underscore"), ("x\\y", "backslash")],
)
def test_wildcards_and_backslash_match_literally(term: str, expected: str) -> None:
    leads = {
        "fifty": lead(company="50% Off Ltd"),
        "fifty_near": lead(company="500 Offices"),
        "underscore": lead(company="a_b studio"),
        "underscore_near": lead(company="axb studio"),
        "backslash": lead(company="x\\y works"),
        "backslash_near": lead(company="xy works"),
    }

    assert found(term) == {leads[expected].pk}


def test_suggestions_put_the_exact_email_or_external_id_first() -> None:
    now = timezone.now()
    exact = lead(
        email="sam@acme.example",
        email_normalized="sam@acme.example",
        created_at=now - timedelta(days=90),
    )
    lead(first_name="Sam", email="sam@acme.example.org", email_normalized="sam@acme.example.org")
    by_id = lead(source="api", external_id="sam@acme", created_at=now - timedelta(days=30))

    assert lead_suggestions(term="SAM@acme.example")[0] == exact
    assert lead_suggestions(term="sam@acme")[0] == by_id
    assert lead_suggestions(term="") == []


@pytest.mark.postgres
def test_suggestions_rank_the_closest_name_before_newer_partial_matches() -> None:
    now = timezone.now()
    close = lead(first_name="Lena", last_name="Berg", created_at=now - timedelta(days=10))
    lead(first_name="Magdalena", last_name="Bergström", created_at=now)

    assert lead_suggestions(term="lena berg")[0] == close


def seed_many(count: int) -> None:
    """`count` leads shaped like the bench's: every one holds "company" and "lead"."""
    now = timezone.now()
    Lead.objects.bulk_create(
        Lead(
            first_name=f"First{n}",
            last_name=f"Last{n % 97}",
            email=f"lead{n}@company{n % 89}.example",
            email_normalized=f"lead{n}@company{n % 89}.example",
            company=f"Company {n % 389}",
            created_at=now - timedelta(minutes=n),
            updated_at=now,
            stage_changed_at=now,
            owner_team="marketing",
        )
        for n in range(count)
    )


def plan_searches(term: str) -> tuple[list[str], str, list[Lead]]:
    """The plans of the queries `Lead.objects.search(term)` runs to choose its read, the plan
    of the list's page, and the page, planned on a database that prefers no full scan."""
    with connection.cursor() as cursor:
        # Rows just inserted wait in the GIN index's pending list, which the planner prices
        # as a scan of its own; a running database merges it at its next vacuum.
        cursor.execute("SELECT gin_clean_pending_list('lead_search_trgm')")
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("SET LOCAL enable_seqscan = off")
    with CaptureQueriesContext(connection) as choosing:
        page = Lead.objects.search(term).order_by("-created_at", "-id")[:26]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        plans = []
        for query in [*(q["sql"] for q in choosing.captured_queries), sql]:
            cursor.execute(f"EXPLAIN {query}", params if query is sql else None)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans[:-1], plans[-1], list(page)


def index_reads(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if "Index Cond" in line and "~~" in line]


@pytest.mark.postgres
def test_the_search_reads_the_trigram_index() -> None:
    """A rare term, planned on enough leads for the choice to matter: its leads come from the
    trigram index once and the page reads those few by primary key and sorts them, rather
    than walk down the newest leads. A table this small could still be read whole, so a full
    scan is ruled out; at a million leads it is never the cheaper."""
    seed_many(5_000)
    wanted = lead(last_name="García")

    (choosing,), listing, page = plan_searches("garcía")

    assert "lead_search_trgm" in choosing, choosing
    assert "leads_lead_pkey" in listing, listing
    assert "lead_search_trgm" not in listing and "lead_created_id_idx" not in listing, listing
    assert [row.pk for row in page] == [wanted.pk]


@pytest.mark.postgres
def test_a_word_every_lead_holds_does_not_drive_the_index_read(monkeypatch) -> None:
    """Every lead holds "company", so for "Company 142" the index reads "142" alone and the
    whole term is checked on those few leads (docs/search.md, common trigrams)."""
    monkeypatch.setattr(search, "RARE_BOUND", 1_000)
    seed_many(2_000)

    choosing, listing, page = plan_searches("Company 142")

    assert len(choosing) == 2, choosing  # "company": too common; "142": rare
    assert "lead_search_trgm" in choosing[1] and index_reads(choosing[1]), choosing[1]
    assert all("142" in line for line in index_reads(choosing[1])), choosing[1]
    assert not any("company" in line for line in index_reads(choosing[1]) + index_reads(listing))
    assert "lead_search_trgm" not in listing, listing
    assert {row.company for row in page} == {"Company 142"}


@pytest.mark.postgres
@pytest.mark.parametrize("rare_bound", [1, 5_000], ids=["every word common", "fenced read"])
def test_every_read_finds_the_same_leads(monkeypatch, rare_bound: int) -> None:
    """Whichever read the counts choose (a word counted as common is not read from the index),
    the same leads match: names, companies, e-mails, accents, case, literal % _ \\."""
    monkeypatch.setattr(search, "RARE_BOUND", rare_bound)
    people = [
        ("Ana", "García", "50% Off Ltd"),
        ("Bea", "Garcia", "a_b studio"),
        ("Cy", "Near", "500 Offices"),
    ]
    ana, bea, cy = (
        lead(
            first_name=first,
            last_name=last,
            company=company,
            email=f"{first}@acme.example",
            email_normalized=f"{first.lower()}@acme.example",
        )
        for first, last, company in people
    )

    assert found("ANA GARCIA") == {ana.pk}
    assert found("garcía") == {ana.pk, bea.pk}
    assert found("50% off") == {ana.pk}
    assert found("a_b studio") == {bea.pk}
    assert found("bea@acme.ex studio") == set()  # every word present, not the whole term
    assert found("acme.example") == {ana.pk, bea.pk, cy.pk}


# ---------------------------------------------------------------- pages


def test_the_leads_page_searches_and_keeps_the_term(client, marketer) -> None:
    wanted = lead(company="Zeta Freight")
    lead(company="Other Corp")
    client.force_login(marketer)

    page = client.get(reverse("leads:list"), {"q": "zeta f"}).content.decode()

    assert reverse("leads:detail", args=[wanted.pk]) in page
    assert "Other Corp" not in page
    assert 'value="zeta f"' in page


@pytest.mark.parametrize("term", ["x" * 10_000, "a\x00b"])
def test_the_leads_page_says_why_it_refuses_a_term(client, marketer, term: str) -> None:
    lead(company="Zeta Freight")
    client.force_login(marketer)

    response = client.get(reverse("leads:list"), {"q": term})

    assert response.status_code == 200  # the page keeps what was typed and says why
    assert "q" in response.context["filter"].errors
    assert "Some filters are not valid" in response.content.decode()
    assert "Zeta Freight" not in response.content.decode()


def test_the_jump_box_suggests_leads_and_links_to_all_matches(client, marketer) -> None:
    wanted = lead(first_name="Ines", last_name="Okafor", company="Delta Foods")
    lead(first_name="Nobody", last_name="Else")
    client.force_login(marketer)

    response = client.get(reverse("leads:jump"), {"q": "okafor"}, **HTMX)
    page = response.content.decode()

    assert response.status_code == 200
    assert reverse("leads:detail", args=[wanted.pk]) in page
    assert "Nobody" not in page
    assert f"{reverse('leads:list')}?q=okafor" in page
    assert "1 best match for “okafor”" in page


@pytest.mark.parametrize(
    ("term", "message"),
    [("x" * 10_000, "at most 200 characters"), ("a\x00b", "Null characters are not allowed")],
)
def test_the_jump_box_refuses_an_impossible_term_with_a_400(
    client, marketer, term, message
) -> None:
    client.force_login(marketer)

    response = client.get(reverse("leads:jump"), {"q": term}, **HTMX)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_jump_box_follows_the_lists_read_rules(client) -> None:
    lead(company="Secret Co")

    response = client.get(reverse("leads:jump"), {"q": "secret"})

    assert response.status_code == 302
    assert "Secret Co" not in response.content.decode()


def test_the_jump_box_costs_the_same_queries_at_any_size(client, marketer) -> None:
    lead(first_name="Query", last_name="Count")
    client.force_login(marketer)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("leads:jump"), {"q": "count"}, **HTMX).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(20):
        lead(first_name="Query", last_name=f"Count{n}")
    # session, user, the exact e-mail, the term counted (leads/search.py), the ranked matches
    assert count() == few == 5


def test_the_jump_box_waits_for_a_third_character_without_reading_leads(client, marketer) -> None:
    lead(first_name="Ox", last_name="Li")
    client.force_login(marketer)

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("leads:jump"), {"q": " li "}, **HTMX)

    assert response.status_code == 200
    assert "Type 3 or more characters" in response.content.decode()
    assert not [q for q in ctx.captured_queries if "leads_lead" in q["sql"]]
