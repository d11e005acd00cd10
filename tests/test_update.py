"""Adding articles to a knowledge base one at a time gives the graph of a build of all of them at once."""

from __future__ import annotations

import gc
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import write_dated_articles

from kg.kb import KnowledgeBase
from kg.pipeline import build, build_into, remove_from
from kg.store import serialize

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DEVSET = ROOT / "devset" / "articles"


def _store_text(kb: KnowledgeBase) -> str:
    return serialize(kb.to_dataset(), "trig")


def _built_at_once(files: list[Path], folder: Path) -> str:
    kb = KnowledgeBase(folder)
    result = build_into(kb, files)
    assert result.parsed == len(files)
    return _store_text(kb)


@pytest.mark.parametrize(("corpus", "orders"), [(SEEDS, 2), (DEVSET, 1)])
def test_update_one_by_one_equals_a_build_at_once(corpus: Path, orders: int, tmp_path: Path) -> None:
    files = sorted(corpus.glob("*.txt"))
    expected = _built_at_once(files, tmp_path / "at-once")
    for seed in range(orders):
        order = files[:]
        random.Random(seed).shuffle(order)
        kb = KnowledgeBase(tmp_path / f"one-by-one-{seed}")
        for file in order:
            result = build_into(kb, [file])
            assert result.parsed == 1
            assert result.nonconforming == {}, f"{file.name} does not conform on arrival"
        assert _store_text(kb) == expected, f"order {[f.name for f in order]}"


def test_update_store_holds_the_file_build(tmp_path: Path) -> None:
    """The store differs from the file build only in how Oxigraph writes integers (xsd:integer)."""
    files = sorted(SEEDS.glob("*.txt"))
    in_store = _built_at_once(files, tmp_path / "kb")
    in_file = re.sub(r'"(\d+)"\^\^xsd:nonNegativeInteger', r"\1", serialize(build(files).dataset, "trig"))
    assert in_store == in_file


def test_update_cross_article_merge_happens_on_arrival(tmp_path: Path) -> None:
    folder = write_dated_articles(
        tmp_path / "articles",
        {
            "a.txt": "Dimanche, trois roquettes ont visé la base d'Aïn al-Assad.",
            "b.txt": "Dimanche, quatre roquettes ont frappé Ain al-Asad, selon la coalition.",
            "c.txt": "Lundi, un drone a visé la base de Harir.",
        },
    )
    kb = KnowledgeBase(tmp_path / "kb")
    assert build_into(kb, [folder / "a.txt"]).events == 1
    assert build_into(kb, [folder / "c.txt"]).events == 2
    result = build_into(kb, [folder / "b.txt"])  # merges with a.txt's event: still two events
    assert (result.events, result.articles, result.parsed) == (2, 3, 1)
    _, rows = kb.select(
        "SELECT ?event (COUNT(?report) AS ?n) WHERE { ?event <https://kg.example.org/ontology#hasReport> "
        "?report } GROUP BY ?event ORDER BY DESC(?n)"
    )
    assert [int(row["n"]) for row in rows] == [2, 1]
    remove_from(kb, "a.txt")  # the event b.txt also reports stays
    assert _store_text(kb) == _built_at_once([folder / "b.txt", folder / "c.txt"], tmp_path / "bc")


def test_update_interrupted_build_reuses_its_records(tmp_path: Path) -> None:
    """A record written before a crash is merged on the next build without parsing the article again."""
    files = sorted(SEEDS.glob("*.txt"))
    kb = KnowledgeBase(tmp_path / "kb")
    build_into(kb, files[:3])
    list(kb.save_records(build(files[3:4]).extractions))  # as if killed after the record, before the store
    assert len(kb.content_hashes()) == 3
    result = build_into(kb, files[:4])
    assert (result.parsed, result.articles, result.unchanged) == (0, 4, 3)


def _kg(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-c", "from kg.cli import main; main()", *args]


def _run_and_kill(args: list[str], when: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Start kg, SIGKILL it as soon as ``when()`` holds; True if it was killed (not finished first)."""
    import signal
    import subprocess
    import time

    process = subprocess.Popen(_kg(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while process.poll() is None and not when() and time.monotonic() < deadline:
        time.sleep(0.005)
    killed = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return killed


@pytest.mark.parametrize("moment", ["model loading", "extracting", "records written"])
def test_update_store_survives_kill_9_mid_update(moment: str, tmp_path: Path) -> None:
    """SIGKILL while new articles are merged in place: the store has the previous articles, or all."""
    import time

    store = tmp_path / "kb"
    kb = KnowledgeBase(store)
    build_into(kb, [SEEDS])
    before = kb.content_hashes()
    del kb
    started = time.monotonic()
    new_files = sorted(DEVSET.glob("*.txt"))

    def records() -> int:
        return len(list((store / "records").glob("*.json")))

    when = {
        "model loading": lambda: time.monotonic() > started + 1.0,
        "extracting": lambda: records() > len(before),
        "records written": lambda: records() == len(before) + len(new_files),
    }[moment]
    assert _run_and_kill(["build", str(DEVSET), "--store", str(store), "-q"], when)
    kb = KnowledgeBase.open_existing(store)
    after = kb.content_hashes()
    everything = {*before, *(f.stem for f in new_files)}
    assert after == before or after.keys() == everything
    _, rows = kb.select("SELECT (COUNT(*) AS ?n) WHERE { ?event a <https://kg.example.org/ontology#Attack> }")
    assert int(rows[0]["n"]) >= 10  # the seeds' events are still queryable
    result = build_into(kb, [SEEDS, DEVSET])  # and the next build completes the job
    assert kb.content_hashes().keys() == everything
    if moment == "records written" and after == before:
        assert result.parsed == 0  # the records the killed build wrote are merged without parsing again


def test_update_store_survives_kill_9_mid_rewrite(tmp_path: Path) -> None:
    """SIGKILL while a full rewrite loads the new store: the previous store is whole and queryable."""
    import shutil

    articles = tmp_path / "articles"
    shutil.copytree(SEEDS, articles)
    store = tmp_path / "kb"
    kb = KnowledgeBase(store)
    build_into(kb, [articles])
    previous = _store_text(kb)
    del kb
    changed = sorted(articles.glob("*.txt"))[0]  # a changed article makes the build rewrite the store
    changed.write_text(changed.read_text(encoding="utf-8") + "\nUne autre roquette est tombée.\n", "utf-8")
    killed = _run_and_kill(
        ["build", str(articles), "--store", str(store), "-q"], (store / "oxigraph.new").exists
    )
    assert killed, "the build finished before the rewrite began"
    kb = KnowledgeBase.open_existing(store)
    assert _store_text(kb) == previous
    assert not [p for p in store.iterdir() if p.name.startswith("oxigraph.")]  # the half-loaded store is gone


def test_update_store_recovers_a_swap_cut_between_its_renames(tmp_path: Path) -> None:
    """Killed after the current store was renamed away and before the new one took its place."""
    kb = KnowledgeBase(tmp_path / "kb")
    build_into(kb, [SEEDS / sorted(p.name for p in SEEDS.glob("*.txt"))[0]])
    previous = _store_text(kb)
    del kb
    (tmp_path / "kb" / "oxigraph").rename(tmp_path / "kb" / "oxigraph.old")
    (tmp_path / "kb" / "oxigraph.new").mkdir()  # the new store, half loaded
    assert _store_text(KnowledgeBase.open_existing(tmp_path / "kb")) == previous


def test_update_arrival_validation_sees_the_article_own_triples(tmp_path: Path) -> None:
    from rdflib import Dataset, Literal

    from kg.ns import KG, article_graph_iri, article_iri
    from kg.update import arrival_graph
    from kg.validate import validate

    files = sorted(SEEDS.glob("*.txt"))
    kb = KnowledgeBase(tmp_path / "kb")
    build_into(kb, files[:2])
    result = build_into(kb, files[2:3])  # merged in place, validated on arrival
    assert result.nonconforming == {}
    article = files[2].stem
    assert validate(arrival_graph(kb, article)).conforms
    broken = Dataset()
    broken.graph(article_graph_iri(article)).add((article_iri(article), KG.date, Literal("yesterday")))
    kb.apply([], broken)  # not a calendar date: the dated-thing shape objects
    assert not validate(arrival_graph(kb, article)).conforms


def test_update_cli_build_exits_1_when_an_arrival_does_not_conform(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from kg import pipeline
    from kg.cli import app
    from kg.validate import Report, ValidationResult

    failing = Report(
        conforms=False,
        results=(ValidationResult("kgr:x", None, None, "The evidence is missing.", "Violation", None),),
        graph=None,  # type: ignore[arg-type]
    )
    monkeypatch.setattr(pipeline, "_validate_arrivals", lambda kb, ids: dict.fromkeys(ids, failing))
    files = sorted(SEEDS.glob("*.txt"))
    store = tmp_path / "kb"
    runner = CliRunner()
    assert runner.invoke(app, ["build", str(files[0]), "--store", str(store), "-q"]).exit_code == 0  # rewrite
    result = runner.invoke(app, ["build", str(files[1]), "--store", str(store), "-q"])
    assert result.exit_code == 1
    assert f"{files[1].stem} on arrival: Does not conform" in result.stderr
    del result
    gc.collect()  # the in-process CLI run's traceback kept its store open
    assert KnowledgeBase.open_existing(store).stored_hash(files[1].stem) is not None  # kept in the store
