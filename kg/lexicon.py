"""The extraction lexicon of one language, loaded from ``kg/lexicons/<lang>.toml``.

Rules in ``kg/extractors`` ask this object which words mean what (weapon
words, trigger verbs, number words, months), so that widening coverage is a
data change reviewed as data, not a code change.
"""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Any

from kg.resources import lexicon_path


class Lexicon:
    """Read-only view of one language's lexicon file, with word sets ready for lookups."""

    def __init__(self, language: str, data: dict[str, Any]) -> None:
        self.language = language
        self.data = data
        self._mappings: dict[tuple[str, str | None], dict[str, Any]] = {}

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def words(self, section: str, key: str) -> frozenset[str]:
        """A list entry as a set of lower-case words (missing entries are empty)."""
        return frozenset(w.lower() for w in self.section(section).get(key, []))

    def mapping(self, section: str, key: str | None = None) -> dict[str, Any]:
        """A table entry with lower-case keys (built once: rules ask for it per token)."""
        if (section, key) not in self._mappings:
            table = self.section(section) if key is None else self.section(section).get(key, {})
            self._mappings[section, key] = {k.lower(): v for k, v in table.items()}
        return self._mappings[section, key]


@cache
def load_lexicon(language: str) -> Lexicon:
    """The lexicon for ``language`` (``fr`` or ``en``), parsed once per process."""
    path = lexicon_path(language)
    with path.open("rb") as handle:
        return Lexicon(language, tomllib.load(handle))
