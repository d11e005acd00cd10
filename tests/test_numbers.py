from __future__ import annotations

import pytest

from kg.extractors.numbers import parse_number
from kg.lexicon import load_lexicon


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("une", 1),
        ("deux", 2),
        ("quatre", 4),
        ("vingt-deux", 22),
        ("5 200", 5200),
        ("2500", 2500),
        ("dix-sept", 17),
        ("trente et un", 31),
        ("cent", 100),
        ("deux cents", 200),
        ("mille", 1000),
        ("une dizaine", 10),
        ("quatre-vingt-dix", 90),
        ("soixante-dix", 70),
        ("soldats", None),
        ("", None),
        ("quatre-vingts", 80),
    ],
)
def test_numbers_french(text: str, value: int | None) -> None:
    assert parse_number(text, load_lexicon("fr")) == value


@pytest.mark.parametrize(("text", "value"), [("three", 3), ("twenty-two", 22), ("1,000", None), ("a", 1)])
def test_numbers_english(text: str, value: int | None) -> None:
    assert parse_number(text, load_lexicon("en")) == value
