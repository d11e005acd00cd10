"""French and English number words and digit groups to integers.

Counts in news come as words ("quatre missiles", "vingt-deux"), digits with
thin-space thousands ("5 200 soldats") or approximations ("une dizaine");
the rules need one parser for all of them.
"""

from __future__ import annotations

import re

from kg.lexicon import Lexicon

_DIGITS = re.compile(r"^\d{1,3}(?:[ .]\d{3})*$|^\d+$")
_MAX_DIGITS = 15  # no count in the news runs longer; a longer run is an identifier (and int() caps at 4300)


def parse_number(text: str, lexicon: Lexicon) -> int | None:
    """Integer value of a number expression, or None if it is not one.

    >>> from kg.lexicon import load_lexicon
    >>> fr = load_lexicon("fr")
    >>> parse_number("quatre", fr), parse_number("vingt-deux", fr), parse_number("5 200", fr)
    (4, 22, 5200)
    >>> parse_number("soldats", fr) is None
    True
    """
    cleaned = text.strip().lower()
    if not cleaned:
        return None
    if _DIGITS.match(cleaned):
        digits = re.sub(r"[ .]", "", cleaned)
        return int(digits) if len(digits) <= _MAX_DIGITS else None
    units = lexicon.mapping("numbers", "units")
    words = [w for w in re.split(r"[\s-]+", cleaned) if w and w != "et"]
    if not words or any(w not in units for w in words):
        return None
    total, current = 0, 0
    for word in words:
        value = int(units[word])
        if value == 1000:
            total += max(current, 1) * 1000
            current = 0
        elif value == 100 or (current and current < value and value in (20, 10, 12)):
            # multiplicative: "deux cents", "quatre-vingts", "une dizaine"
            current = max(current, 1) * value
        else:
            current += value
    return total + current
