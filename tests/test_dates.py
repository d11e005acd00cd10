from __future__ import annotations

from datetime import date

import pytest

from kg.extractors.dates import ResolvedDate, TimeParser, compatible, finer, resolve
from kg.lexicon import load_lexicon


@pytest.fixture(scope="module")
def parser() -> TimeParser:
    return TimeParser(load_lexicon("fr"))


def _resolve_first(parser: TimeParser, text: str, ref: date | None, precision: str | None) -> str | None:
    expressions = parser.find(text)
    assert expressions, f"no time expression found in {text!r}"
    resolved = resolve(expressions[0], ref, precision)
    return resolved.iso if resolved else None


@pytest.mark.parametrize(
    ("text", "ref", "precision", "expected"),
    [
        ("jeudi soir", date(2024, 1, 28), "day", "2024-01-25"),  # 28 Jan 2024 is a Sunday
        ("samedi", date(2024, 1, 27), "day", "2024-01-20"),  # same weekday as publication: the week before
        (
            "samedi soir",
            date(2020, 7, 1),
            "month",
            "2020-07",
        ),  # month-level publication keeps month precision
        ("vendredi vers 2h50", None, None, None),
        ("fin décembre", date(2020, 2, 1), "month", "2019-12"),
        ("en mars", date(2020, 7, 1), "month", "2020-03"),
        ("En juin", date(2020, 7, 1), "month", "2020-06"),
        ("le 16 février à 15 h 24", date(2020, 2, 1), "month", "2020-02-16"),
        ("le 18 juin", date(2020, 7, 1), "month", "2020-06-18"),
        ("le 3 janvier 2020", None, None, "2020-01-03"),
        ("de janvier 2020", None, None, "2020-01"),
        ("l'année dernière", date(2023, 10, 20), "day", "2022"),
        ("en 2019", None, None, "2019"),
        ("dans la nuit de mardi à mercredi, vers 1 h 30", date(2023, 10, 25), "day", "2023-10-25"),
        ("dans la nuit de jeudi à vendredi, peu après minuit", date(2020, 3, 13), "day", "2020-03-13"),
        ("dans la nuit de jeudi à vendredi", date(2020, 3, 14), "day", "2020-03-12"),
        ("dans la nuit du 12 au 13 novembre, vers 2 h", date(2023, 11, 14), "day", "2023-11-13"),
        ("dans la nuit du 12 au 13 novembre", date(2023, 11, 14), "day", "2023-11-12"),
        ("nuit du jeudi 25 au vendredi 26 juin, vers 23 h 30", date(2020, 6, 1), "month", "2020-06-25"),
        ("nuit du samedi 13 au dimanche 14 juin, peu après 1 h", date(2020, 6, 1), "month", "2020-06-14"),
        ("dans la nuit du 31 mai au 1er juin", date(2021, 6, 3), "day", "2021-05-31"),
        ("dans la nuit du 31 mai au 1er juin, vers 3 h", date(2021, 6, 3), "day", "2021-06-01"),
    ],
)
def test_dates_resolution(
    parser: TimeParser, text: str, ref: date | None, precision: str | None, expected: str | None
) -> None:
    assert _resolve_first(parser, text, ref, precision) == expected


def test_dates_find_marks_night_and_early(parser: TimeParser) -> None:
    night = parser.find("jeudi soir, trois obus")[0]
    early = parser.find("vendredi vers 2h50 du matin")[0]
    assert night.night and not night.early
    assert early.early and early.weekday == 4


def test_dates_same_time_marker(parser: TimeParser) -> None:
    assert parser.find("Simultanément, plusieurs explosions")[0].same_as_previous


def test_dates_compatible_and_finer() -> None:
    month = ResolvedDate("2020-02", "month")
    day = ResolvedDate("2020-02-16", "day")
    other = ResolvedDate("2020-03", "month")
    assert compatible(month, day) and not compatible(other, day)
    assert compatible(None, day)
    assert finer(month, day) == day


@pytest.mark.parametrize(
    ("language", "text", "precision", "expected"),
    [
        ("fr", "a été visée hier", "day", "2021-07-07"),
        ("fr", "hier soir vers 23 h", "day", "2021-07-07"),
        ("fr", "avant-hier", "day", "2021-07-06"),
        ("fr", "la nuit dernière", "day", "2021-07-07"),
        ("fr", "cette nuit, vers 2 h", "day", "2021-07-08"),  # after midnight: the publication day
        ("fr", "aujourd'hui", "day", "2021-07-08"),
        ("fr", "hier", "month", None),  # a paper dated to the month: no day to count back from
        ("en", "claiming yesterday's rocket attack", "day", "2021-07-07"),
        ("en", "Last night, at approximately 7:30 p.m.", "day", "2021-07-07"),
        ("en", "the day before yesterday", "day", "2021-07-06"),
    ],
)
def test_days_counted_back_from_publication(
    language: str, text: str, precision: str, expected: str | None
) -> None:
    assert _resolve_first(TimeParser(load_lexicon(language)), text, date(2021, 7, 8), precision) == expected
