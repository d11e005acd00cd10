"""The synthetic benchmark corpus: deterministic, the size asked for, readable, and rich enough to build.

Benchmark figures are only comparable between runs and machines if the corpus
is the same for the same seed, and only meaningful if kg reads its articles
like real ones and finds the attacks they report.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import benchmark_script

from kg.articles import read_article


def corpus() -> ModuleType:
    """``benchmarks/corpus.py``."""
    return benchmark_script("corpus")


def _write(folder: Path, count: int, seed: int) -> list[Path]:
    return list(corpus().write_corpus(folder, count, seed))


@pytest.mark.parametrize("seed", [7, 11])
def test_benchmarks_corpus_same_seed_gives_identical_files(tmp_path: Path, seed: int) -> None:
    first = _write(tmp_path / "a", 6, seed)
    second = _write(tmp_path / "b", 6, seed)
    assert [p.name for p in first] == [p.name for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second, strict=True))


def test_benchmarks_corpus_other_seed_gives_other_articles(tmp_path: Path) -> None:
    seven = _write(tmp_path / "a", 3, 7)
    eight = _write(tmp_path / "b", 3, 8)
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(seven, eight, strict=True))


def test_benchmarks_corpus_article_depends_only_on_seed_and_index(tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole", 5, 7)
    tail = list(corpus().write_corpus(tmp_path / "tail", 2, 7, start=3))
    assert [p.read_bytes() for p in whole[3:]] == [p.read_bytes() for p in tail]


@pytest.mark.parametrize("count", [0, 1, 13])
def test_benchmarks_corpus_writes_the_requested_count(tmp_path: Path, count: int) -> None:
    written = _write(tmp_path, count, 7)
    assert len(written) == count
    assert sorted(tmp_path.glob("*.txt")) == sorted(written)


def test_benchmarks_corpus_articles_are_readable_french_with_a_date(tmp_path: Path) -> None:
    paths = _write(tmp_path, 40, 7)
    articles = [read_article(path) for path in paths]
    assert len(articles) == 40
    assert all(a.language == "fr" and a.published and len(a.published) == 10 for a in articles)
    assert len({a.content_hash for a in articles}) == 40
    layout = corpus().Templates().layout
    for article in articles:
        assert layout["min_words"] <= len(article.text.split()) <= layout["max_words"], article.id


def test_benchmarks_corpus_names_come_from_the_gazetteer() -> None:
    cast = corpus().Cast(corpus().Templates())
    assert len(cast.sites) >= 20
    assert {site.country.slug for site in cast.sites} == {"iraq", "syria", "jordan"}
    assert cast.claimants and cast.blamed and cast.sources and cast.authorities and cast.speakers


def test_benchmarks_corpus_build_finds_the_attacks(tmp_path: Path) -> None:
    from kg.pipeline import build

    _write(tmp_path, 5, 7)
    result = build([tmp_path])
    assert result.articles == 5
    assert result.events >= 5
