"""The persistent knowledge base: Oxigraph on disk, incremental builds, removal, queries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import write_dated_articles
from rdflib import RDF

from kg.kb import KnowledgeBase
from kg.ns import KG
from kg.pipeline import build_into, remove_from
from kg.queries import list_queries, run, run_on_store
from kg.records import extraction_from_json, extraction_to_json
from kg.store import load
from kg.validate import validate

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PARAMS = {"entity": "us-embassy-baghdad", "place": "baghdad", "group": "iran-backed-militias"}


@pytest.fixture(scope="module")
def seed_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path_factory.mktemp("kb") / "store")
    build_into(kb, [SEEDS])
    return kb


def _rows(result) -> list[tuple[str, ...]]:
    return sorted(
        tuple("" if row[v] is None else str(row[v]) for v in result.variables) for row in result.rows
    )


def test_kb_second_build_parses_nothing(seed_kb: KnowledgeBase) -> None:
    parsed: list[int] = []
    result = build_into(seed_kb, [SEEDS], progress=parsed.append)
    assert parsed == [] and result.unchanged == 5 and result.articles == 5


def test_kb_every_stored_query_answers_as_on_the_graph_file(
    seed_kb: KnowledgeBase, seed_graph_file: Path
) -> None:
    graph = load(seed_graph_file)
    compared, differ = 0, []
    for query in list_queries():
        params = {p.name: PARAMS[p.name] for p in query.params if p.required}
        on_store = run_on_store(seed_kb, query, params)
        on_file = run(graph, query, params)
        if on_store.variables != on_file.variables or _rows(on_store) != _rows(on_file):
            differ.append(query.name)
        compared += 1
    assert compared >= 12
    assert differ == []


def test_kb_parameters_are_terms_not_text(seed_kb: KnowledgeBase) -> None:
    query = next(q for q in list_queries() if q.name == "accusations")
    result = run_on_store(seed_kb, query, {"accused": 'x" } ; DROP ALL ; #'})
    assert result.rows == []
    assert len(seed_kb) > 1000  # nothing was dropped


def test_kb_graph_conforms(seed_kb: KnowledgeBase) -> None:
    assert validate(seed_kb.to_dataset()).conforms


def test_kb_remove_takes_out_one_article_only(tmp_path: Path) -> None:
    folder = write_dated_articles(
        tmp_path / "articles",
        {
            "a.txt": "Dimanche, trois roquettes ont visé la base d'Aïn al-Assad.",
            "b.txt": "Dimanche, quatre roquettes ont frappé Ain al-Asad. Une autre attaque a visé Harir.",
        },
    )
    kb = KnowledgeBase(tmp_path / "kb")
    build_into(kb, [folder])
    before = {s for s, _, _, _ in kb.to_dataset().quads((None, RDF.type, KG.Attack, None))}
    assert len(before) == 2  # Ain al-Asad reported twice, Harir once
    result = remove_from(kb, "b.txt")
    after = kb.to_dataset()
    attacks = {s for s, _, _, _ in after.quads((None, RDF.type, KG.Attack, None))}
    assert len(attacks) == 1 and result.articles == 1
    files = {str(o) for _, _, o, _ in after.quads((None, KG.fileName, None, None))}
    assert files == {"a.txt"}


def test_kb_records_round_trip(seed_kb: KnowledgeBase) -> None:
    for record in seed_kb.records():
        data = extraction_to_json(record)
        assert extraction_to_json(extraction_from_json(json.loads(json.dumps(data)))) == data


def test_kb_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    from kg.errors import InputError

    with pytest.raises(InputError, match="no knowledge base"):
        KnowledgeBase.open_existing(tmp_path / "nothing")


def test_kb_cli_build_query_remove(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kg.cli import app

    articles = tmp_path / "seeds"
    shutil.copytree(SEEDS, articles)
    store = tmp_path / "kb"
    runner = CliRunner()
    result = runner.invoke(app, ["build", str(articles), "--store", str(store), "-q"])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["query", "timeline", "--store", str(store), "-f", "json"])
    assert result.exit_code == 0 and len(json.loads(result.stdout)) >= 10
    result = runner.invoke(app, ["remove", "000_05fd15ee24b99819.txt", "--store", str(store), "-q"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["validate", "--store", str(store)])
    assert result.exit_code == 0
    result = runner.invoke(app, ["remove", "no-such-article", "--store", str(store)])
    assert result.exit_code == 2 and "not in the knowledge base" in result.stderr


def test_kb_export_tables_are_queried_in_the_store_and_match_the_graph_file(
    seed_kb: KnowledgeBase, seed_graph_file: Path
) -> None:
    from kg import export

    graph = load(seed_graph_file)
    events = export.events_table(seed_kb)
    entities = export.entities_table(seed_kb)
    assert len(events) >= 5 and len(entities) >= 20
    assert events == export.events_table(graph)
    assert entities == export.entities_table(graph)
