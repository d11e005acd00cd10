"""Where the project's data files live, loaded once per process.

Only this module knows the paths of ``ontology/``, ``shapes/``, ``queries/``
and ``gazetteer/``: in a source checkout they sit next to the package, in an
installed wheel they are copied into ``kg/_data`` (see ``pyproject.toml``).
Parsed graphs are cached because parsing the ontology or gazetteer per
article would dominate build time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib import Graph

from kg.ns import bind_prefixes

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Folder of one kind of project data (``ontology``, ``shapes``, ``queries``, ``gazetteer``)."""
    for candidate in (_PACKAGE_DIR.parent / name, _PACKAGE_DIR / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"kg data folder {name!r} not found next to the package")


def _load_turtle_folder(name: str) -> Graph:
    graph = Graph()
    bind_prefixes(graph)
    for path in sorted(data_dir(name).glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@cache
def ontology() -> Graph:
    """The kg ontology (TBox). Callers must not mutate it."""
    return _load_turtle_folder("ontology")


@cache
def shapes() -> Graph:
    """The SHACL shapes graph. Callers must not mutate it."""
    return _load_turtle_folder("shapes")


@cache
def gazetteer() -> Graph:
    """The gazetteer of real-world entities. Callers must not mutate it."""
    return _load_turtle_folder("gazetteer")


def queries_dir() -> Path:
    return data_dir("queries")


def scope_path() -> Path:
    """The countries whose incidents kg keeps (``kg/scope.toml``)."""
    return _PACKAGE_DIR / "scope.toml"


@cache
def load_scope() -> frozenset[str]:
    """Slugs of the countries whose incidents are kept."""
    with scope_path().open("rb") as handle:
        return frozenset(tomllib.load(handle).get("countries", []))


@dataclass(frozen=True)
class Limits:
    """What kg refuses or cuts, from ``kg/limits.toml`` (see that file for why each value)."""

    article_max_bytes: int
    article_max_chars: int
    first_year: int
    last_year: int
    table_rows: int


def limits_path() -> Path:
    """The limits kg enforces on inputs and printed output (``kg/limits.toml``)."""
    return _PACKAGE_DIR / "limits.toml"


@cache
def limits() -> Limits:
    """The limits of ``kg/limits.toml``, read once."""
    with limits_path().open("rb") as handle:
        data = tomllib.load(handle)
    article, query = data["article"], data["query"]
    return Limits(
        article_max_bytes=int(article["max_bytes"]),
        article_max_chars=int(article["max_chars"]),
        first_year=int(article["first_year"]),
        last_year=int(article["last_year"]),
        table_rows=int(query["table_rows"]),
    )


def lexicon_path(language: str) -> Path:
    """The extraction lexicon (trigger words, number words, months) of one language."""
    return _PACKAGE_DIR / "lexicons" / f"{language}.toml"
