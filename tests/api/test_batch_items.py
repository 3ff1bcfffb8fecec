"""Batch items are checked by one reused serializer with a short path for plainly valid
items: whatever the item, the answer is exactly the single create's serializer's."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from leads.api_serializers import BatchItemChecker, LeadCreateSerializer

FIELDS = list(LeadCreateSerializer().fields)
CHECK = BatchItemChecker()

odd_text = st.sampled_from(
    ["", "   ", " padded ", "x\x00y", "\ud800", "not-an-email", "jo@acme.example", "12.50", "7"]
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**54),
    st.floats(allow_nan=False),
    st.text(max_size=300),
    odd_text,
    st.lists(st.integers(), max_size=2),
)
# Mostly values a real sender would send, so that many items are valid and reach the
# short path; the rest of the time anything at all.
plausible = st.one_of(
    st.text(max_size=60).map(lambda t: f" {t} "),
    st.text(max_size=60),
    st.integers(min_value=1, max_value=10**6),
    st.none(),
)
emails = st.one_of(st.emails().map(lambda e: f" {e} "), st.emails(), odd_text, values)
items = st.one_of(
    st.fixed_dictionaries(
        {"email": emails},
        optional={name: st.one_of(plausible, plausible, values) for name in FIELDS[1:]},
    ),
    st.fixed_dictionaries(
        {"email": emails}, optional={name: values for name in [*FIELDS[1:], "stage", "nope"]}
    ),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=4),
    values,
)


def _serializer_answer(item: Any) -> tuple[str, Any]:
    serializer = LeadCreateSerializer(data=item)
    if serializer.is_valid():
        return "valid", dict(serializer.validated_data)
    return "invalid", serializer.errors


def _checker_answer(item: Any) -> tuple[str, Any]:
    try:
        return "valid", CHECK(item)
    except ValidationError as exc:
        return "invalid", exc.detail


@settings(max_examples=400, derandomize=True, deadline=None)
@given(items)
def test_it_answers_every_item_as_the_serializer_does(item: Any) -> None:
    assert _checker_answer(item) == _serializer_answer(item)


@pytest.mark.parametrize(
    "item",
    [
        {"email": "jo@acme.example"},
        {
            "email": " Jo+ads@Acme.example ",
            "first_name": "Jo",
            "last_name": "",
            "phone": "+1 555 0100",
            "company": "Acme",
            "job_title": "Buyer",
            "campaign": 3,
            "persona": None,
            "source": "webinar",
            "external_id": None,
        },
    ],
)
def test_a_plainly_valid_item_takes_the_short_path(item: dict[str, Any]) -> None:
    assert CHECK.short_path
    assert CHECK._plain(item) == _serializer_answer(item)[1]
