"""Time expressions in article text and their resolution against a reference date.

Articles rarely give full dates: "jeudi soir", "fin décembre", "le 16
février", "en mars", "l'année dernière". Each expression is found as a
``TimeExpression`` (what the text says) and resolved separately against the
article's publication date (what it means), so the two can be tested apart
and so events compared before resolution (weekday vs weekday) when no
publication date is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from kg.lexicon import Lexicon

PRECISIONS = ("year", "month", "day")


@dataclass(frozen=True)
class TimeExpression:
    """A time expression found in text: a character span and what it names."""

    start: int
    end: int
    text: str
    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    relative_years: int | None = None  # -1 for "l'année dernière"
    night: bool = False
    early: bool = False
    same_as_previous: bool = False  # "simultanément", "au même moment"
    this_week: bool = False  # "ce mercredi", "this Wednesday": may be the publication day itself
    days_ago: int | None = None  # "hier" 1, "avant-hier" 2, "aujourd'hui" 0: days before publication


# lexicon keys of words that count days back from publication, and how many days each counts
_DAYS_BACK = {"day_before_yesterday": 2, "last_night": 1, "yesterday": 1, "today": 0}


@dataclass(frozen=True)
class ResolvedDate:
    """An ISO date string at its precision (``2020``, ``2020-07``, ``2020-07-14``)."""

    iso: str
    precision: str

    @property
    def parts(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.iso.split("-"))


def _word_pattern(words: list[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


class TimeParser:
    """Finds time expressions with regular expressions built from the lexicon."""

    def __init__(self, lexicon: Lexicon) -> None:
        dates = lexicon.section("dates")
        self.months: dict[str, int] = {k.lower(): int(v) for k, v in dates["months"].items()}
        self.weekdays: dict[str, int] = {k.lower(): int(v) for k, v in dates["weekdays"].items()}
        self.seasons: dict[str, int] = {k.lower(): int(v) for k, v in dates.get("seasons", {}).items()}
        self.night = frozenset(dates.get("night_words", []))
        self.early = frozenset(dates.get("early_words", []))
        months = _word_pattern(list(self.months))
        weekdays = _word_pattern(list(self.weekdays))
        seasons = _word_pattern(list(self.seasons)) or "(?!x)x"
        last_year = _word_pattern(dates.get("last_year", [])) or "(?!x)x"
        self.month_end = frozenset(dates.get("month_part_end", []))
        self.same = _word_pattern(dates.get("same_time", [])) or "(?!x)x"
        # days counted back from publication: "avant-hier", "hier (soir)", "la nuit dernière", "aujourd'hui"
        modifiers = _word_pattern(sorted(self.night | self.early)) or "(?!x)x"
        self.days_back = {
            key: re.compile(rf"\b(?:{words})\b(?:\s+({modifiers}))?", re.I)
            for key in _DAYS_BACK
            if (words := _word_pattern(dates.get(key, [])))
        }
        self.patterns = [
            # "dans la nuit de jeudi à vendredi", "overnight Tuesday into Wednesday"
            (
                "night_wd",
                re.compile(
                    rf"\b(?:nuit\s+de|overnight|night\s+of)\s+({weekdays})\s+(?:à|au|to|into)\s+({weekdays})\b",
                    re.I,
                ),
            ),
            # "dans la nuit du 12 au 13 novembre", "du samedi 13 au dimanche 14 juin", "du 31 mai au 1er juin"
            (
                "night_dm",
                re.compile(
                    rf"\bnuit\s+du\s+(?:(?:{weekdays})\s+)?(\d{{1,2}})(?:er)?(?:\s+({months}))?"
                    rf"\s+au\s+(?:(?:{weekdays})\s+)?(\d{{1,2}})(?:er)?\s+({months})\b",
                    re.I,
                ),
            ),
            ("dmy", re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({months})\s+(\d{{4}})\b", re.I)),
            ("mdy", re.compile(rf"\b({months})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I)),
            ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
            ("dm", re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({months})\b", re.I)),
            ("md", re.compile(rf"\b({months})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*\d{{3}})", re.I)),
            ("my", re.compile(rf"\b({months})\s+(?:de\s+l'année\s+)?(\d{{4}})\b", re.I)),
            ("season_y", re.compile(rf"\b({seasons})\s+(\d{{4}})\b", re.I)),
            ("m", re.compile(rf"\b(?:(fin|début|mi|end of|early|late|in)[\s-]+)?({months})\b", re.I)),
            (
                "wd",
                re.compile(
                    rf"\b({weekdays})s?\b(?:\s+(soir|soirée|matin|nuit|night|morning|evening|dernier))?", re.I
                ),
            ),
            ("last_year", re.compile(rf"\b(?:{last_year})\b", re.I)),
            ("y", re.compile(r"\b(?:en|in|de|of|depuis|since)\s+((?:19|20)\d{2})\b", re.I)),
            ("same", re.compile(rf"\b(?:{self.same})\b", re.I)),
        ]
        self.patterns[-1:-1] = list(self.days_back.items())
        # most sentences name no time at all: one pass of the union tells, instead of one per pattern
        self.any_time = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in self.patterns), re.I)

    def find(self, text: str, offset: int = 0) -> list[TimeExpression]:
        """Every time expression in ``text`` (offsets shifted by ``offset``), longest first wins."""
        found: list[TimeExpression] = []
        if not self.any_time.search(text):
            return found
        taken: list[tuple[int, int]] = []
        for kind, pattern in self.patterns:
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(start < e and s < end for s, e in taken):
                    continue
                expression = self._build(kind, match, offset, text)
                if expression is not None:
                    found.append(expression)
                    taken.append((start, end))
        return sorted(found, key=lambda e: e.start)

    def _build(self, kind: str, match: re.Match[str], offset: int, text: str) -> TimeExpression | None:
        g = match.groups()
        span = {"start": match.start() + offset, "end": match.end() + offset, "text": match.group(0)}
        after = text[match.end() : match.end() + 30].lower()
        night = bool(re.match(r"\s*(?:soir|soirée|nuit|night|evening)", after))
        early = bool(re.match(r"\s*(?:vers\s+)?\d{1,2}\s*h|\s*(?:matin|à l'aube|morning)", after))
        if kind in ("night_wd", "night_dm"):
            # after midnight the attack belongs to the second day; without an hour, to the night's first day
            after_midnight = bool(
                re.match(
                    r"[\s,]*(?:vers\s+|à\s+|peu\s+après\s+|shortly\s+after\s+|around\s+|at\s+)?"
                    r"(?:minuit|midnight|0?[0-5]\s*h|0?[0-5]\s*(?::|am|a\.m))",
                    after,
                )
                # "peu avant 2 heures du matin" is after midnight too ("peu avant minuit" is not)
                or re.match(
                    r"[\s,]*(?:peu\s+avant|juste\s+avant|shortly\s+before|just\s+before)\s+"
                    r"0?[1-5]\s*(?:h|:|am|a\.m)",
                    after,
                )
            )
            if kind == "night_wd":
                day = self.weekdays[g[1 if after_midnight else 0].lower()]
                return TimeExpression(**span, weekday=day, night=not after_midnight, early=after_midnight)
            first_day, first_month, second_day, second_month = g
            day = int(second_day if after_midnight else first_day)
            month = second_month if after_midnight else (first_month or second_month)
            return TimeExpression(
                **span,
                day=day,
                month=self.months[month.lower()],
                night=not after_midnight,
                early=after_midnight,
            )
        if kind == "dmy":
            return TimeExpression(**span, day=int(g[0]), month=self.months[g[1].lower()], year=int(g[2]))
        if kind == "mdy":
            return TimeExpression(**span, day=int(g[1]), month=self.months[g[0].lower()], year=int(g[2]))
        if kind == "iso":
            return TimeExpression(**span, year=int(g[0]), month=int(g[1]), day=int(g[2]))
        if kind == "dm":
            return TimeExpression(
                **span, day=int(g[0]), month=self.months[g[1].lower()], night=night, early=early
            )
        if kind == "md":
            if g[0].lower() == "mai" or g[0].lower() == "may":
                return None  # "mai 12" is rare; "may 12" ambiguous with the verb
            return TimeExpression(**span, day=int(g[1]), month=self.months[g[0].lower()])
        if kind == "my":
            return TimeExpression(**span, month=self.months[g[0].lower()], year=int(g[1]))
        if kind == "season_y":
            return TimeExpression(**span, month=self.seasons[g[0].lower()], year=int(g[1]))
        if kind == "m":
            word = g[1].lower()
            if word == "may" and not g[0]:
                return None  # "may" alone is the English verb far more often than the month
            return TimeExpression(**span, month=self.months[word])
        if kind == "wd":
            modifier = (g[1] or "").lower()
            this_week = bool(re.search(r"\b(?:ce|this)\s+$", text[: match.start()][-6:], re.I))
            return TimeExpression(
                **span,
                this_week=this_week,
                weekday=self.weekdays[g[0].lower()],
                night=night or modifier in ("soir", "soirée", "nuit", "night", "evening"),
                early=early or modifier in ("matin", "morning"),
            )
        if kind == "last_year":
            return TimeExpression(**span, relative_years=-1)
        if kind == "y":
            return TimeExpression(**span, year=int(g[0]))
        if kind == "same":
            return TimeExpression(**span, same_as_previous=True)
        if kind in self.days_back:
            ago = _DAYS_BACK[kind]
            modifier = (g[0] or "").lower()
            last_night = kind == "last_night" or modifier in self.night
            after_midnight = bool(
                re.match(
                    r"[\s,]*(?:vers\s+|à\s+|peu\s+après\s+|shortly\s+after\s+|around\s+|at\s+|about\s+)?"
                    r"(?:0?[0-5]\s*(?:h\b|heures?|:|am|a\.m))",
                    after,
                )
            )
            if last_night and after_midnight and ago > 0:
                ago -= 1  # "la nuit dernière, vers 2 h", "last night at 1 a.m.": the publication day
            return TimeExpression(
                **span,
                days_ago=ago,
                night=last_night and not after_midnight,
                early=after_midnight or modifier in self.early,
            )
        return None


def resolve(
    expression: TimeExpression, reference: date | None, reference_precision: str | None
) -> ResolvedDate | None:
    """The date an expression names, read against the publication (reference) date.

    Weekdays and bare months point to the most recent such day or month on or
    before the reference; a reference known only to the month keeps weekday
    results at month precision.

    >>> from datetime import date
    >>> resolve(TimeExpression(0, 5, "jeudi", weekday=3), date(2024, 1, 28), "day").iso
    '2024-01-25'
    >>> resolve(TimeExpression(0, 11, "fin décembre", month=12), date(2020, 2, 1), "month").iso
    '2019-12'
    """
    if expression.same_as_previous:
        return None
    if expression.year and expression.month and expression.day:
        try:
            return ResolvedDate(date(expression.year, expression.month, expression.day).isoformat(), "day")
        except ValueError:
            return None
    if expression.year and expression.month:
        return ResolvedDate(f"{expression.year:04d}-{expression.month:02d}", "month")
    if expression.year:
        return ResolvedDate(f"{expression.year:04d}", "year")
    if reference is None:
        return None
    if expression.relative_years is not None:
        return ResolvedDate(f"{reference.year + expression.relative_years:04d}", "year")
    if expression.days_ago is not None:
        if reference_precision != "day":
            return None  # "hier" in a paper dated only to the month names no day we can tell
        return ResolvedDate((reference - timedelta(days=expression.days_ago)).isoformat(), "day")
    if expression.month and expression.day:
        year = reference.year
        if reference_precision == "year":
            try:
                return ResolvedDate(date(year, expression.month, expression.day).isoformat(), "day")
            except ValueError:
                return None  # "31 novembre"
        if (expression.month, expression.day) > (
            reference.month,
            reference.day if reference_precision == "day" else 31,
        ):
            year -= 1
        try:
            return ResolvedDate(date(year, expression.month, expression.day).isoformat(), "day")
        except ValueError:
            return None
    if expression.month:
        if reference_precision == "year":
            return ResolvedDate(f"{reference.year:04d}-{expression.month:02d}", "month")
        year = reference.year - (1 if expression.month > reference.month else 0)
        return ResolvedDate(f"{year:04d}-{expression.month:02d}", "month")
    if expression.weekday is not None:
        if reference_precision != "day":
            if reference_precision == "month":
                return ResolvedDate(f"{reference.year:04d}-{reference.month:02d}", "month")
            return ResolvedDate(f"{reference.year:04d}", "year")
        # the most recent such weekday before publication: news reports past days
        delta = (reference.weekday() - expression.weekday) % 7
        if delta == 0 and not (expression.early or expression.this_week):
            delta = 7  # "mercredi" in a Wednesday paper is last week; "cette nuit vers 1 h" is today
        return ResolvedDate((reference - timedelta(days=delta)).isoformat(), "day")
    return None


def reference_precision(iso: str | None) -> str | None:
    if not iso:
        return None
    return PRECISIONS[len(iso.split("-")) - 1]


def compatible(a: ResolvedDate | None, b: ResolvedDate | None) -> bool:
    """Two dates can name the same day: equal at the coarser precision (unknown is compatible)."""
    if a is None or b is None:
        return True
    n = min(len(a.parts), len(b.parts))
    return a.parts[:n] == b.parts[:n]


def days_apart(a: ResolvedDate, b: ResolvedDate) -> int | None:
    if a.precision != "day" or b.precision != "day":
        return None
    return abs((date(*a.parts) - date(*b.parts)).days)


def finer(a: ResolvedDate | None, b: ResolvedDate | None) -> ResolvedDate | None:
    """The more precise of two compatible dates."""
    if a is None:
        return b
    if b is None:
        return a
    return a if len(a.parts) >= len(b.parts) else b
