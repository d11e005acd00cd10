"""Shared fixtures: the real French pipeline and one build of the seed articles per test session."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from kg.lexicon import Lexicon, load_lexicon

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
MINI_TRIG = Path(__file__).resolve().parent / "fixtures" / "graphs" / "mini.trig"


@pytest.fixture(scope="module")
def mini():
    """The hand-made fixture graph (tests/fixtures/graphs/mini.trig), shared by tests that only read it."""
    from kg import store

    return store.load(MINI_TRIG)


@pytest.fixture
def fresh():
    """A private copy of the fixture graph that a test may break."""
    from kg import store

    return store.load(MINI_TRIG)


@pytest.fixture(scope="session")
def fr_lexicon() -> Lexicon:
    return load_lexicon("fr")


@pytest.fixture(scope="session")
def fr_nlp():
    from kg.nlp import load_pipeline

    return load_pipeline("fr")


@pytest.fixture(scope="session")
def seed_graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed articles built once into Turtle through the library (the CLI tests build their own)."""
    from kg.pipeline import build
    from kg.store import save

    out = tmp_path_factory.mktemp("seed-build") / "kg.ttl"
    result = build([SEEDS])
    save(result.dataset, out, "turtle")
    return out


@pytest.fixture(scope="session")
def seed_extractions():
    """Per-article extraction records of the seeds."""
    from kg.articles import read_all
    from kg.pipeline import extract_all

    articles, _ = read_all([SEEDS])
    return {x.article.id: x for x in extract_all(articles)}


@cache
def benchmark_script(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` (a script folder, not a package), imported once."""
    spec = importlib.util.spec_from_file_location(f"kg_benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def write_article(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_dated_articles(folder: Path, texts: dict[str, str], published: str = "2024-01-29") -> Path:
    """A folder of articles (file name -> body) published on the same day."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_article(folder, name, f"published: {published}\n\n{text}")
    return folder


def _answer_rows(result) -> list[tuple[str, ...]]:
    """A query's rows as sorted tuples of strings (unbound as ""), to compare answers across engines."""
    return sorted(
        tuple("" if row[v] is None else str(row[v]) for v in result.variables) for row in result.rows
    )


@pytest.fixture(scope="session")
def compare_stored_queries() -> Callable:
    """Run every stored query on a SPARQL endpoint and with ``run_here``; count and name the differences.

    The function returns (queries compared, queries with rows, names of those whose answers differ).
    """
    from kg.endpoint import run_query
    from kg.queries import list_queries

    def compare(endpoint, run_here: Callable, params: dict[str, str]) -> tuple[int, int, list[str]]:
        compared, with_rows, differ = 0, 0, []
        for query in list_queries():
            given = {p.name: params[p.name] for p in query.params if p.required}
            remote, here = run_query(endpoint, query, given), run_here(query, given)
            if remote.variables != here.variables or _answer_rows(remote) != _answer_rows(here):
                differ.append(query.name)
            compared += 1
            with_rows += bool(here.rows)
        return compared, with_rows, differ

    return compare


@pytest.fixture(scope="session")
def answer_rows() -> Callable:
    """A query's rows as sorted tuples of strings, to compare one answer across engines."""
    return _answer_rows
