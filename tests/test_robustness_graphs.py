"""Issue 5, point 2: malformed graph and shapes files, through every command that reads them.

Each must give one line ``kg: error: FILE:LINE:COL: ...`` and exit 2; a shapes
file that is not valid SHACL is reported as such, never as a data violation.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.cli import app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI_TTL = FIXTURES / "graphs" / "mini.ttl"
BROKEN_SHAPES = FIXTURES / "shapes" / "broken"
runner = CliRunner()

# file name -> (content, expected "FILE<position>: <format> syntax error" start)
MALFORMED: dict[str, tuple[str, str]] = {
    "statement.ttl": ("@prefix e: <http://e.org/> .\ne:a e:p e:b .\n  e:c e:p e:d e:x .\n", ":3:15: Turtle"),
    "half-written.ttl": ('@prefix e: <http://e.org/> .\ne:a e:p e:b .\ne:a e:q "unfinished', ":3:10: Turtle"),
    "unbound-prefix.ttl": ("@prefix e: <http://e.org/> .\nfoo:a e:p e:b .\n", ":2:1: Turtle"),
    "syntax.jsonld": ('{"@id": "http://e.org/a",\n "http://e.org/p": [1,\n }', ":3:2: JSON-LD"),
    "truncated.jsonld": ('{"@context": {"e": "http://e.org/"},\n "@id": "e:a",\n "e:p": "x', ":3:9: JSON-LD"),
    "bad-context.jsonld": ('{\n  "@context": 5,\n  "@id": "http://e.org/a"\n}', ":2:3: JSON-LD"),
    "graph.trig": ("@prefix e: <http://e.org/> .\ne:g { e:a e:p e:b .\ne:c e:p }\n", ":3:8: TriG"),
    "line.nt": (
        "<http://e.org/a> <http://e.org/p> <http://e.org/b> .\n<http://e.org/a> oops .\n",
        ":2: N-Triples",
    ),
}
COMMANDS: dict[str, tuple[str, ...]] = {
    "validate": ("validate",),
    "query": ("query", "timeline"),
    "export": ("export", "--format", "nt"),
    "export-events": ("export", "--events"),
    "reason": ("reason",),
}


def kg(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(err: str, start: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"kg: error: {start}"), err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_robustness_graphs_malformed_file_is_one_line_with_position(
    tmp_path: Path, name: str, command: str
) -> None:
    content, position = MALFORMED[name]
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    output = tmp_path / "out.txt"
    output.write_text("previous", encoding="utf-8")
    code, out, err = kg(*COMMANDS[command], path, "-o", output)
    assert code == 2, err
    assert_one_line_error(err, f"{path}{position}")
    assert "syntax error" in err
    assert output.read_text(encoding="utf-8") == "previous" and out == ""


def test_robustness_graphs_case_count() -> None:
    assert (len(MALFORMED), len(COMMANDS)) == (8, 5)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.ttl", b"", "file is empty"),
        ("binary.jsonld", b"\x89PNG\r\n\x1a\n\x00\x00", "binary content"),
        (
            "latin1.ttl",
            '<http://e.org/a> <http://e.org/p> "café" .\n'.encode("latin-1"),
            ":1:39: not valid UTF-8",
        ),
        ("nothing.jsonld", b"[]", "contains no triples"),
        ("graph.csv", b"a,b\n", "cannot tell the RDF format"),
    ],
)
def test_robustness_graphs_unusable_files_exit_2(
    tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = kg("validate", path)
    assert code == 2
    assert_one_line_error(err, str(path))
    assert words in err


def test_robustness_graphs_missing_graph_file_exit_2(tmp_path: Path) -> None:
    code, _, err = kg("query", "timeline", tmp_path / "nope.ttl")
    assert code == 2
    assert_one_line_error(err, f"{tmp_path / 'nope.ttl'}: file not found")


@pytest.mark.parametrize(
    ("shapes", "words"),
    [
        (BROKEN_SHAPES / "min-count-not-an-integer.ttl", "kgs:BrokenShape sh:minCount"),
        (BROKEN_SHAPES / "pattern-not-a-regex.ttl", 'sh:pattern "[0-9"'),
        (MINI_TTL, "declares no shape"),  # a data file given as --shapes by mistake
    ],
)
def test_robustness_graphs_invalid_shapes_are_reported_as_shapes_not_violations(
    shapes: Path, words: str
) -> None:
    code, out, err = kg("validate", MINI_TTL, "--shapes", shapes)
    assert code == 2, (out, err)  # not 1: the data is not at fault
    assert_one_line_error(err, f"shapes file {shapes} is not valid SHACL: ")
    assert words in err
    assert "conform" not in out + err


def test_robustness_graphs_malformed_shapes_file_names_line_and_column(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n<urn:s> a sh:NodeShape ;\n  sh:targetClass\n",
        encoding="utf-8",
    )
    code, _, err = kg("validate", MINI_TTL, "--shapes", shapes)
    assert code == 2
    assert_one_line_error(err, f"{shapes}:")
    assert "Turtle syntax error" in err


def test_robustness_graphs_valid_custom_shapes_still_validate(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "@prefix kg: <https://kg.example.org/ontology#> .\n"
        "<urn:s> a sh:NodeShape ; sh:targetClass kg:Attack ;\n"
        '  sh:property [ sh:path kg:nothing ; sh:minCount 1 ; sh:message "Every attack needs nothing." ] .\n',
        encoding="utf-8",
    )
    code, out, _ = kg("validate", MINI_TTL, "--shapes", shapes)
    assert code == 1 and "Every attack needs nothing." in out


@pytest.mark.parametrize(
    "document",
    [
        {"@context": "https://schema.org/", "@id": "https://example.org/a", "name": "x"},
        {"@context": ["https://example.org/ctx.jsonld", {"ex": "https://example.org/"}], "@id": "ex:a"},
        {"@graph": [{"@context": {"@import": "/etc/passwd"}, "@id": "https://example.org/a"}]},
    ],
)
def test_robustness_graphs_jsonld_remote_context_is_refused_not_fetched(
    tmp_path: Path, document: dict
) -> None:
    import json

    from kg.errors import InputError
    from kg.store import load

    path = tmp_path / "remote.jsonld"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match="refers to another document"):
        load(path)
