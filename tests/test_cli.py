"""The ``kg`` command end to end on the seeds: in process (typer runner), and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def kg(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "kg.ttl"
    code, _, err = kg("build", ROOT / "seeds", "-o", out)
    assert code == 0, err
    assert "articles 5" in err and "events" in err and "triples" in err
    return out


def test_cli_every_command_has_help() -> None:
    for command in ("build", "validate", "reason", "query", "export", "push", "remove"):
        code, out, _ = kg(command, "--help")
        assert code == 0 and "Usage" in out


def test_cli_seed_build_conforms(built: Path) -> None:
    code, out, _ = kg("validate", built)
    assert code == 0, out
    assert "Conforms" in out


def test_cli_validate_broken_graph_exits_1_with_readable_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text(
        "@prefix kg: <https://kg.example.org/ontology#> .\n"
        "<https://kg.example.org/id/event/x> a kg:Attack ; kg:projectileCount -3 .\n",
        encoding="utf-8",
    )
    code, out, _ = kg("validate", broken)
    assert code == 1
    assert "kind of weapon" in out or "weapon" in out
    assert "event/x" in out


@pytest.mark.parametrize("query", ["attacks-by-target", "timeline", "bases-attacked-more-than-once"])
def test_cli_query_formats(built: Path, query: str) -> None:
    code, out, err = kg("query", query, built, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows, f"{query} returned no rows on the seed build"
    code, out, _ = kg("query", query, built, "--format", "csv")
    assert code == 0 and out.count("\n") == len(rows) + 1


def test_cli_query_answers_on_seeds(built: Path) -> None:
    _, out, _ = kg("query", "bases-attacked-more-than-once", built, "--format", "json")
    rows = {row["baseLabel"]: row["attacks"] for row in json.loads(out)}
    assert rows.get("Ain al-Asad Air Base") == 2  # two articles, two different nights: not merged
    _, out, _ = kg("query", "attacks-in-place", built, "--param", "place=baghdad", "--format", "json")
    located = json.loads(out)
    assert (
        len({row.get("attack") or row.get("event") for row in located}) >= 4
    )  # Green Zone and airport attacks
    _, out, _ = kg("query", "attacks-by-group", built, "--format", "json")
    assert "islamic resistance in iraq" in out.lower()


def test_cli_query_list_and_unknown_name(built: Path) -> None:
    code, out, _ = kg("query", "--list")
    assert code == 0 and "attacks-by-target" in out
    code, _, err = kg("query", "no-such-query", built)
    assert code == 2 and "attacks-by-target" in err and "Traceback" not in err


def test_cli_export_tables_follow_contract(built: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    code, _, err = kg("export", built, "--events", "-o", events)
    assert code == 0, err
    rows = json.loads(events.read_text(encoding="utf-8"))
    keys = {
        "id",
        "kind",
        "status",
        "date",
        "targets",
        "location",
        "launch_site",
        "projectiles",
        "killed",
        "injured",
        "intercepted",
        "perpetrators",
        "claimed_by",
        "attributed_to",
        "sources",
    }
    assert rows and all(keys <= set(row) for row in rows)
    assert all(row["sources"] and row["evidence"] for row in rows)
    entities = tmp_path / "entities.csv"
    code, _, _ = kg("export", built, "--entities", "-o", entities)
    assert code == 0 and entities.read_text(encoding="utf-8").startswith("id,")


@pytest.mark.parametrize("fmt", ["turtle", "nt", "jsonld", "trig"])
def test_cli_export_graph_formats(built: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out.{fmt}"
    code, _, err = kg("export", built, "--format", fmt, "-o", out)
    assert code == 0, err
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("engine", ["fast", "owlrl"])
def test_cli_reason_finds_attacks_in_baghdad(built: Path, tmp_path: Path, engine: str) -> None:
    out = tmp_path / "inferred.ttl"
    code, _, err = kg("reason", built, "-o", out, "--engine", engine)
    assert code == 0, err
    from rdflib import Graph

    from kg.ns import KG, entity_iri

    graph = Graph().parse(out)
    in_baghdad = set(graph.subjects(KG.occurredIn, entity_iri("baghdad")))
    located_in_green_zone = set(graph.subjects(KG.location, entity_iri("green-zone")))
    assert located_in_green_zone and located_in_green_zone <= in_baghdad


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix kg: <https://kg.example.org/ontology#> .\nkg:a kg:b \n", encoding="utf-8")
    for args in (
        ("validate", tmp_path / "missing.ttl"),
        ("validate", bad),
        ("build", tmp_path / "nothing"),
        ("export", bad, "--events"),
    ):
        code, _, err = kg(*args)
        assert code == 2, args
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_cli_build_trig_keeps_one_graph_per_article(tmp_path: Path) -> None:
    out = tmp_path / "kg.trig"
    code, _, err = kg("build", ROOT / "seeds", "-o", out, "-q")
    assert code == 0, err
    from rdflib import Dataset

    dataset = Dataset().parse(out, format="trig")
    names = {str(g.identifier) for g in dataset.graphs()}
    assert sum("/graph/article/" in n for n in names) == 5


def test_cli_console_script_runs_as_a_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kg.cli", "query", "--list"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "timeline" in result.stdout
