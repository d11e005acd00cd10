"""Shared fixtures: the real French pipeline and one build of the seed articles per test session."""

from __future__ import annotations

from pathlib import Path

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
