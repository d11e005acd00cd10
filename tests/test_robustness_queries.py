"""Issue 5, points 3 and 7: hostile or careless queries through ``kg query``, and its limits.

Unknown names, syntax errors, wrong parameters, injection attempts and
updates are one-line errors (exit 2) that change nothing; ``--timeout``
really stops the work (exit 3) on rdflib and on Oxigraph; table output is
cut at a row limit and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app
from kg.errors import QueryError, QueryTimeout, UsageError
from kg.kb import KnowledgeBase
from kg.queries import call_with_timeout, vocabulary
from kg.resources import limits
from kg.store import load

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "graphs"
MINI_TRIG = FIXTURES / "mini.trig"
INJECTION = 'x" } ; DROP ALL ; #'
CROSS_JOIN = (
    "# title: Slow\n# description: A triple cross join.\n"
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }\n"
)
runner = CliRunner()


def kg(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kg: error: ") and "Traceback" not in err, err
    return lines[0]


def ntriples(count: int) -> str:
    return "".join(f"<http://e.org/s{i:05d}> <http://e.org/p> <http://e.org/o{i}> .\n" for i in range(count))


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture graph: tests check that queries leave it byte-identical."""
    path = tmp_path_factory.mktemp("graph") / "mini.trig"
    path.write_bytes(MINI_TRIG.read_bytes())
    return path


@pytest.fixture(scope="module")
def kb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base holding the fixture graph (no NLP: the graph is loaded directly)."""
    folder = tmp_path_factory.mktemp("kb") / "kb"
    KnowledgeBase(folder).replace_graph(load(MINI_TRIG), vocabulary())
    return folder


def store_size(folder: Path) -> int:
    return len(KnowledgeBase.open_existing(folder))


# ---------------------------------------------------------------- point 3: bad queries


def test_robustness_queries_unknown_name_lists_the_stored_queries(graph_file: Path) -> None:
    code, _, err = kg("query", "atacks-by-grup", graph_file)
    assert code == 2
    line = one_line(err)
    assert "unknown query 'atacks-by-grup'" in line
    for name in ("attacks-by-group", "timeline", "disputed-events"):
        assert name in line


@pytest.mark.parametrize("backend", ["file", "store"])
def test_robustness_queries_syntax_error_shows_line_and_column(
    tmp_path: Path, graph_file: Path, kb_folder: Path, backend: str
) -> None:
    query = tmp_path / "typo.rq"
    query.write_text(
        "# title: Typo\n\nSELECT ?e WHERE {\n  ?e a kg:Attack\n  FILTER (?e = )\n}\n", encoding="utf-8"
    )
    source = (graph_file,) if backend == "file" else ("--store", kb_folder)
    code, _, err = kg("query", query, *source)
    assert code == 2
    assert one_line(err).startswith(f"kg: error: {query}:5:")
    assert "SPARQL syntax error" in err


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ((), "needs parameter 'place'; it accepts: place (entity, required)"),
        (("place=baghdad", "placee=iraq"), "has no parameter 'placee'; it accepts: place"),
        (("place=baghdad", "place=iraq"), "--param place is given twice"),
        (("baghdad",), "expected name=value"),
        (("=baghdad",), "expected name=value"),
        (("place=http://e.org/a b",), "not a valid IRI"),
        (("place=  ",), "is empty"),
    ],
)
def test_robustness_queries_missing_extra_or_bad_params_are_errors(
    graph_file: Path, params: tuple[str, ...], words: str
) -> None:
    args = [arg for param in params for arg in ("--param", param)]
    code, out, err = kg("query", "attacks-in-place", graph_file, *args)
    assert code == 2 and out == ""
    assert words in one_line(err)


@pytest.mark.parametrize("name", ["timeline", "casualties-by-target-and-year"])
def test_robustness_queries_typed_params_refuse_injection(graph_file: Path, name: str) -> None:
    param = "since" if name == "timeline" else "year"
    code, _, err = kg("query", name, graph_file, "--param", f"{param}={INJECTION}")
    assert code == 2 and "expects" in one_line(err)


@pytest.mark.parametrize(
    ("name", "param"),
    [("attacks-by-target", "kind"), ("accusations", "accused"), ("attacks-in-place", "place")],
)
@pytest.mark.parametrize("backend", ["file", "store"])
def test_robustness_queries_injection_value_is_a_string_that_matches_nothing(
    graph_file: Path, kb_folder: Path, backend: str, name: str, param: str
) -> None:
    before, size = graph_file.read_bytes(), store_size(kb_folder)
    source = (graph_file,) if backend == "file" else ("--store", kb_folder)
    code, out, err = kg("query", name, *source, "--param", f"{param}={INJECTION}", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == []
    assert graph_file.read_bytes() == before and store_size(kb_folder) == size
    code, out, _ = kg("query", "timeline", *source, "--format", "json")  # everything still there
    assert code == 0 and len(json.loads(out)) == 6


UPDATES = {
    "drop.rq": "DROP ALL",
    "insert.rq": "PREFIX e: <http://e.org/>\nINSERT DATA { e:a e:b e:c }",
    "delete.rq": "# title: Tidy up\nDELETE WHERE { ?s ?p ?o }",
    "clear.rq": "CLEAR DEFAULT",
    "load.rq": "LOAD <http://e.org/data.ttl>",
    "select-then-drop.rq": "SELECT * WHERE { ?s ?p ?o } ; DROP ALL",
}


@pytest.mark.parametrize("name", sorted(UPDATES))
@pytest.mark.parametrize("backend", ["file", "store"])
def test_robustness_queries_updates_are_refused(
    tmp_path: Path, graph_file: Path, kb_folder: Path, backend: str, name: str
) -> None:
    query = tmp_path / name
    query.write_text(UPDATES[name], encoding="utf-8")
    before, size = graph_file.read_bytes(), store_size(kb_folder)
    source = (graph_file,) if backend == "file" else ("--store", kb_folder)
    code, _, err = kg("query", query, *source)
    assert code == 2
    line = one_line(err)
    assert "read-only" in line or "SPARQL syntax error" in line
    assert graph_file.read_bytes() == before and store_size(kb_folder) == size


def test_robustness_queries_failed_query_leaves_output_file(tmp_path: Path, graph_file: Path) -> None:
    output = tmp_path / "rows.csv"
    output.write_text("previous", encoding="utf-8")
    code, _, _ = kg("query", "attacks-in-place", graph_file, "-o", output, "--format", "csv")
    assert code == 2
    assert output.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv"]


# ---------------------------------------------------------------- point 7: --timeout


def test_robustness_queries_call_with_timeout_passes_results_and_errors() -> None:
    assert call_with_timeout(lambda: 42, 5) == 42
    assert call_with_timeout(lambda: 42, None) == 42

    def broken() -> None:
        raise QueryError("no such thing")

    with pytest.raises(QueryError, match="no such thing"):
        call_with_timeout(broken, 5)
    for seconds in (0, -1):
        with pytest.raises(UsageError, match="positive number of seconds"):
            call_with_timeout(lambda: 42, seconds)


def test_robustness_queries_call_with_timeout_stops_python_work() -> None:
    progress: list[int] = []

    def endless() -> None:
        while True:
            progress.append(1)
            time.sleep(0.001)

    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match=r"did not finish within --timeout 0\.3s") as caught:
        call_with_timeout(endless, 0.3, "query 'endless'")
    assert time.perf_counter() - started < 3
    assert caught.value.exit_code == 3
    assert not caught.value.worker.is_alive()  # really stopped, not just abandoned
    count = len(progress)
    time.sleep(0.1)
    assert len(progress) == count


def test_robustness_queries_timeout_stops_an_rdflib_query(tmp_path: Path) -> None:
    graph = tmp_path / "g.nt"
    graph.write_text(ntriples(300), encoding="utf-8")  # 27 million joined rows: minutes in rdflib
    query = tmp_path / "slow.rq"
    query.write_text(CROSS_JOIN, encoding="utf-8")
    output = tmp_path / "rows.json"
    output.write_text("previous", encoding="utf-8")
    started = time.perf_counter()
    code, _, err = kg("query", query, graph, "--timeout", "1", "-o", output)
    assert code == 3
    assert "query 'slow' did not finish within --timeout 1s" in one_line(err)
    assert time.perf_counter() - started < 10
    assert output.read_text(encoding="utf-8") == "previous"
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name == "kg-query"]


def test_robustness_queries_timeout_stops_an_oxigraph_query(tmp_path: Path) -> None:
    """Oxigraph cannot be interrupted from Python: kg ends its own process after the message."""
    graph = tmp_path / "g.nt"
    graph.write_text(ntriples(3000), encoding="utf-8")  # 27 billion joined rows: hours in Oxigraph
    folder = tmp_path / "kb"
    KnowledgeBase(folder).replace_graph(load(graph))
    query = tmp_path / "slow.rq"
    query.write_text(CROSS_JOIN, encoding="utf-8")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "kg.cli", "query", str(query), "--store", str(folder), "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "did not finish within --timeout 1s" in one_line(result.stderr)
    assert time.perf_counter() - started < 30
    assert store_size(folder) == 3000  # the store is intact and opens again


@pytest.mark.parametrize("backend", ["file", "store"])
def test_robustness_queries_fast_query_is_unaffected_by_timeout(
    graph_file: Path, kb_folder: Path, backend: str
) -> None:
    source = (graph_file,) if backend == "file" else ("--store", kb_folder)
    code, out, err = kg("query", "timeline", *source, "--timeout", "60", "--format", "json")
    assert code == 0, err
    assert len(json.loads(out)) == 6
    code, _, err = kg("query", "timeline", *source, "--timeout", "0")
    assert code == 2 and "Traceback" not in err


# ---------------------------------------------------------------- point 7: row limit


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("rows")
    graph = folder / "g.nt"
    graph.write_text(ntriples(1500), encoding="utf-8")
    query = folder / "all.rq"
    query.write_text(
        "# title: All\nSELECT ?s WHERE { ?s <http://e.org/p> ?o } ORDER BY ?s\n", encoding="utf-8"
    )
    return query, graph


def test_robustness_queries_table_output_is_cut_at_the_default_limit(many_rows: tuple[Path, Path]) -> None:
    default = limits().table_rows
    code, out, err = kg("query", *many_rows)
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == f"({default} of 1500 rows shown)"
    assert len(lines) == default + 3  # header, rule, rows, note
    assert "s00000" in lines[2]
    assert f"{default} of 1500 row(s) shown; --limit 0 shows all" in err


@pytest.mark.parametrize(
    ("limit", "shown", "note"), [("5", 5, "(5 of 1500 rows shown)"), ("0", 1500, "(1500 rows)")]
)
def test_robustness_queries_limit_option(
    many_rows: tuple[Path, Path], limit: str, shown: int, note: str
) -> None:
    code, out, _ = kg("query", *many_rows, "--limit", limit)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == shown + 3 and lines[-1] == note


def test_robustness_queries_csv_and_json_are_complete_unless_limited(many_rows: tuple[Path, Path]) -> None:
    code, out, _ = kg("query", *many_rows, "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1501
    code, out, _ = kg("query", *many_rows, "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1500
    code, out, err = kg("query", *many_rows, "--format", "csv", "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 4
    assert "3 of 1500 row(s) shown" in err


def test_robustness_queries_negative_limit_is_a_usage_error(many_rows: tuple[Path, Path]) -> None:
    code, _, err = kg("query", *many_rows, "--limit", "-1")
    assert code == 2 and "Traceback" not in err
