"""Lead search: one rule for the leads page's `q`, the API list's `q` and the header's jump box.

On PostgreSQL a lead's name, company, e-mail and external id are folded (lower case, accents
removed by `unaccent`) into one stored generated column, `Lead.search_text`, with a GIN
trigram index (`lead_search_trgm`, migration 0011): a substring search reads the index instead
of every lead. Trigrams rather than full-text search because people type fragments ("garc",
"acme.ex", the start of an e-mail) and full-text only matches whole words or word prefixes
(docs/search.md has the measurement). SQLite, the embedded default, keeps `icontains` on
the same column (case-insensitive for ASCII only).

The term is folded by the same database function as the column, so "Garcia" finds "García",
and is matched literally: Django's `contains` escapes `%`, `_` and `\\`.

Which read (PostgreSQL, `indexed_search`, docs/search.md "At a million leads"): the leads
holding the term's rarest word are read from the index once and the whole term is checked on
them; a word every lead holds ("company", a mail domain) never drives the index read. When
every word is common, the newest leads are walked: matches are everywhere, a page fills fast.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import F, FloatField, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, StrIndex
from django.db.models.lookups import GreaterThan

# The database function created by migration 0011 (PostgreSQL): IMMUTABLE, so a generated
# column and an index may use it.
FOLD_FUNCTION = "handoff_search_fold"
# Fields the search reads, in the order they are joined into `search_text`.
SEARCHED_FIELDS = ("first_name", "last_name", "company", "email_normalized", "external_id")
# Longest term taken. A search box needs no more; longer input is an error naming `q`.
MAX_TERM = 200
# Shortest term the jump box suggests for. A trigram index cannot serve one or two characters,
# and a rare pair would read every lead (0.85 s at a million) on a keystroke nobody finished.
MIN_SUGGESTION_TERM = 3
# A word held by fewer leads than this is read from the trigram index and its matches sorted.
# At a million leads, reading 5,000 matches costs about what walking the newest 5,000 leads
# to fill a page does (26 matches among 5,000 in a million are one lead in 200).
RARE_BOUND = 5_000
# Words tried per term, longest first: one query each.
MAX_COUNTED_WORDS = 3
# A run of three letters or digits: the least a trigram index can read.
INDEXABLE = re.compile(r"[^\W_]{3}")


class SearchFold(Func):
    """Lower case without accents: `handoff_search_fold()` on PostgreSQL; `LOWER()` on SQLite,
    which folds ASCII only (its search is `icontains` anyway)."""

    function = FOLD_FUNCTION
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(compiler, connection, function="LOWER", **extra)


def search_document() -> SearchFold:
    """The expression stored in `Lead.search_text`: the searched fields, space-separated, so
    that a full name ("Ana García") matches across first and last name."""
    parts: list[Any] = []
    for name in SEARCHED_FIELDS:
        if parts:
            parts.append(Value(" "))
        parts.append(name)
    return SearchFold(Concat(*parts, output_field=TextField()))


def clean_term(raw: str) -> str:
    """The term as searched: surrounding spaces and runs of inner spaces are not meaningful."""
    return " ".join(raw.split())


def search_condition(term: str, *, vendor: str) -> Q:
    """Leads whose searched fields contain `term`, ignoring case (and accents on PostgreSQL,
    where the term is folded by the column's own function, so both sides fold alike)."""
    if vendor == "postgresql":
        return Q(search_text__contains=SearchFold(Value(term)))
    return Q(search_text__icontains=term)


def indexed_search(term: str, leads: QuerySet) -> Q:
    """PostgreSQL's search for `term` among `leads` (all leads of the database searched):
    the leads holding its rarest word, read from the trigram index once, then the whole term
    checked on them; the plain condition when every word is common.

    The words are tried longest first (at most `MAX_COUNTED_WORDS`, one query each): the
    first held by fewer than `RARE_BOUND` leads gives their ids, so the page's count and rows
    read those few leads by primary key and sort them, instead of walking the newest leads
    hoping to meet a match or reading the index again. A word every lead holds ("company", a
    mail domain) is skipped, so its long trigram lists are never intersected. The whole term
    is checked again when the ids are read: a lead edited since no longer matching is left out.
    """
    leads = leads.order_by()  # matches as the index yields them: no sort to count or list
    words = sorted(
        {word for word in term.split(" ") if INDEXABLE.search(word)}, key=lambda w: (-len(w), w)
    )
    for word in words[:MAX_COUNTED_WORDS]:
        holding = leads.filter(search_condition(word, vendor="postgresql"))
        ids = list(holding.values_list("pk", flat=True)[:RARE_BOUND])
        if len(ids) < RARE_BOUND:
            # Not a LIKE: the planner reads the ids by primary key, not the trigram index.
            whole = GreaterThan(StrIndex("search_text", SearchFold(Value(term))), 0)
            return Q(pk__in=ids) & Q(whole)
    return search_condition(term, vendor="postgresql")


def closeness(term: str, *, vendor: str) -> Any:
    """How close a lead's searched text comes to `term`, higher first: trigram word
    similarity on PostgreSQL (a name that is the term beats one that merely contains it);
    elsewhere every match is as close as another."""
    if vendor == "postgresql":
        return Func(
            SearchFold(Value(term)),
            F("search_text"),
            function="word_similarity",
            output_field=FloatField(),
        )
    return Value(0.0, output_field=FloatField())


def exact_identity(term: str) -> Q:
    """The lead whose e-mail or external id is the term itself: ranked before the others."""
    return Q(email_normalized=term.lower()) | Q(external_id=term)
