"""Issue 5, points 1 and 7: a build over many articles, some of them bad, and streaming.

A build of 100 articles where 3 are bad builds the 97 and names the 3;
``--strict`` fails instead (exit 2) and leaves the previous output alone.
Extraction consumes spaCy Docs lazily and drops them, so memory does not grow
with every Doc of a 10,000-article build.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from rdflib import Dataset, Graph
from typer.testing import CliRunner

from kg import pipeline, resources
from kg.articles import Article
from kg.cli import app
from kg.ns import KG

ROOT = Path(__file__).resolve().parent.parent
GOOD = 97
runner = CliRunner()


def kg(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def paragraphs() -> list[str]:
    """Distinct paragraphs of the seed and dev-set articles: short, varied, real French and English news."""
    found: list[str] = []
    for path in sorted((ROOT / "seeds").glob("*.txt")) + sorted((ROOT / "devset" / "articles").glob("*.txt")):
        for paragraph in path.read_text(encoding="utf-8").split("\n\n"):
            paragraph = " ".join(paragraph.split())
            if len(paragraph) >= 120 and paragraph not in found:
                found.append(paragraph)
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str], set[str]]:
    """100 article files: 95 UTF-8, one Windows-1252, one HTML page saved as .txt, and 3 bad ones."""
    folder = tmp_path_factory.mktemp("corpus")
    texts = paragraphs()
    assert len(texts) >= GOOD
    good: set[str] = set()
    for index, text in enumerate(texts[:GOOD]):
        name = f"article-{index:03d}.txt"
        header = f"published: 2024-01-{index % 28 + 1:02d}\n\n"
        if index == 0:
            data = (header + text).encode("cp1252", errors="replace")
        elif index == 1:
            data = f"<html><head><title>Article</title></head><body><p>{text}</p></body></html>".encode()
        else:
            data = (header + text).encode("utf-8")
        (folder / name).write_bytes(data)
        good.add(name)
    bad = {
        "bad-empty.txt": b"",
        "bad-image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "bad-dump.txt": b"roquette " * (resources.limits().article_max_chars // 9 + 1),
    }
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    assert len(list(folder.iterdir())) == 100
    return folder, good, set(bad)


@pytest.fixture(scope="module")
def lenient_build(corpus: tuple[Path, set[str], set[str]], tmp_path_factory: pytest.TempPathFactory):
    folder, _, _ = corpus
    output = tmp_path_factory.mktemp("out") / "kg.ttl"
    code, _, err = kg("build", folder, "-o", output)
    return code, err, output


def test_robustness_build_100_articles_with_3_bad_builds_97_and_names_the_3(
    corpus: tuple[Path, set[str], set[str]], lenient_build: tuple[int, str, Path]
) -> None:
    _, good, bad = corpus
    code, err, output = lenient_build
    assert code == 0, err
    skipped = [line for line in err.splitlines() if line.startswith("kg: skipped ")]
    assert len(skipped) == 3
    for name in bad:
        assert sum(name in line for line in skipped) == 1, (name, skipped)
    assert any("empty" in line for line in skipped)
    assert any("binary" in line for line in skipped)
    assert any("characters, above kg's limit" in line for line in skipped)
    warnings = [line for line in err.splitlines() if line.startswith("kg: warning: ")]
    assert len(warnings) == 1 and "article-000.txt" in warnings[0] and "Windows-1252" in warnings[0]
    assert f"articles {GOOD} (skipped 3" in err
    assert "Traceback" not in err
    graph = Graph().parse(output)
    assert {str(name) for name in graph.objects(None, KG.fileName)} == good


def test_robustness_build_strict_fails_on_a_bad_article_and_keeps_the_output(
    corpus: tuple[Path, set[str], set[str]], lenient_build: tuple[int, str, Path]
) -> None:
    folder, _, bad = corpus
    _, _, output = lenient_build
    before = output.read_bytes()
    code, _, err = kg("build", folder, "-o", output, "--strict")
    assert code == 2
    lines = [line for line in err.strip().splitlines() if not line.startswith("kg: warning: ")]
    assert len(lines) == 1 and lines[0].startswith("kg: error: ")
    assert any(name in lines[0] for name in bad)  # a legacy encoding is read, not bad: only a warning
    assert output.read_bytes() == before
    assert [p.name for p in output.parent.iterdir()] == [output.name]


def test_robustness_build_with_only_bad_articles_fails_and_keeps_the_output(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "image.txt").write_bytes(b"\x00\x01\x02")
    output = tmp_path / "kg.ttl"
    output.write_text("previous", encoding="utf-8")
    code, _, err = kg("build", folder, "-o", output)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no readable article" in err
    assert output.read_text(encoding="utf-8") == "previous"


def test_robustness_build_folder_without_articles_exits_2(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    code, _, err = kg("build", tmp_path, "-o", tmp_path / "kg.ttl")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no article files found" in err
    assert not (tmp_path / "kg.ttl").exists()


def test_robustness_build_options_reach_the_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers and --dask were accepted and then ignored by the command: each value must arrive."""
    calls: list[dict[str, object]] = []

    def fake_build(paths: Iterable[Path], **options: object) -> SimpleNamespace:
        calls.append(options)
        return SimpleNamespace(dataset=Dataset(), skipped=["x.txt: file is empty"], nonconforming={})

    monkeypatch.setattr(pipeline, "build", fake_build)
    code, _, err = kg("build", tmp_path, "-o", tmp_path / "kg.ttl", "-q", "--workers", "3", "--strict")
    assert code == 0, err
    assert "kg: skipped x.txt: file is empty" in err  # named even with --quiet
    code, _, err = kg("build", tmp_path, "-o", tmp_path / "kg.ttl", "-q", "--dask", "tcp://scheduler:8786")
    assert code == 0, err
    assert [(c["workers"], c["dask"], c["strict"]) for c in calls] == [
        (3, None, True),
        (1, "tcp://scheduler:8786", False),
    ]


class _Doc:
    """Stands in for a spaCy Doc (which takes no weak references) to count how many are alive."""


def test_robustness_build_extraction_streams_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Docs are produced lazily and dropped once extracted: at most a batch is alive, never every Doc."""
    alive: weakref.WeakSet[_Doc] = weakref.WeakSet()
    consumed: list[int] = []
    peak = [0]

    class LazyPipeline:
        def pipe(self, texts: Iterable[str], batch_size: int = 1) -> Iterator[_Doc]:
            for _ in texts:
                consumed.append(1)
                doc = _Doc()
                alive.add(doc)
                peak[0] = max(peak[0], len(alive))
                yield doc
                del doc

    monkeypatch.setattr(pipeline, "load_pipeline", lambda language="fr": LazyPipeline())
    monkeypatch.setattr(pipeline, "extract", lambda doc, article: article.id)
    articles = [Article(id=f"a{i:05d}", path=Path(f"a{i:05d}.txt"), text=f"texte {i}") for i in range(2000)]
    stream = pipeline.extract_all(articles)
    assert next(stream) == "a00000"
    assert len(consumed) < 2 * pipeline.BATCH_SIZE  # extraction started before the corpus was parsed
    assert sum(1 for _ in stream) == 1999
    assert peak[0] <= 2  # one Doc in extraction at a time: none is kept
