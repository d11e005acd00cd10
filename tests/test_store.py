"""Tests for kg.store: reading graph files, clear errors, atomic and deterministic writing."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import graph_diff, isomorphic

from kg import store
from kg.errors import GraphParseError, InputError, UsageError
from kg.ns import EVENTS_GRAPH, GAZETTEER_GRAPH, KG, KGR

# rdflib 7 warns about its own internal use of deprecated names while parsing and serialising
pytestmark = pytest.mark.filterwarnings(
    r"ignore:(ConjunctiveGraph|Dataset\.\w+) is deprecated:DeprecationWarning"
)

GRAPHS = Path(__file__).parent / "fixtures" / "graphs"
MINI_TRIG = GRAPHS / "mini.trig"
MINI_TTL = GRAPHS / "mini.ttl"
ARTICLE_GRAPHS = {
    KGR["graph/article/100-5a1f0c2e9b7d4e31"],
    KGR["graph/article/101-c3d8e6f41a2b9077"],
    KGR["graph/article/102-7e4b2d90f6a1c385"],
}
EXTENSIONS = {
    store.RDFFormat.TURTLE: ".ttl",
    store.RDFFormat.NT: ".nt",
    store.RDFFormat.NQUADS: ".nq",
    store.RDFFormat.TRIG: ".trig",
    store.RDFFormat.JSONLD: ".jsonld",
    store.RDFFormat.XML: ".rdf",
}


def assert_isomorphic(left: Graph, right: Graph) -> None:
    if not isomorphic(left, right):
        _, only_left, only_right = graph_diff(left, right)
        pytest.fail(
            f"graphs differ: {len(only_left)} triples only left, {len(only_right)} only right; "
            f"e.g. {sorted(only_left)[:3]} / {sorted(only_right)[:3]}"
        )


def named_graphs(dataset: Dataset) -> set[URIRef]:
    return {graph.identifier for graph in dataset.graphs() if len(graph)}


def reordered(dataset: Dataset) -> Dataset:
    """The same quads inserted in reverse order, to show output does not depend on insertion order."""
    copy = Dataset(default_union=True)
    for s, p, o, g in reversed(list(dataset.quads((None, None, None, None)))):
        copy.graph(g).add((s, p, o))
    return copy


def test_store_load_trig_keeps_one_graph_per_article(mini: Dataset) -> None:
    assert named_graphs(mini) == ARTICLE_GRAPHS | {EVENTS_GRAPH, GAZETTEER_GRAPH}


def test_store_load_trig_queries_see_the_union_of_graphs(mini: Dataset) -> None:
    # the event lives in the events graph, its report's figures in an article graph
    rows = list(
        mini.query(
            "PREFIX kg: <https://kg.example.org/ontology#> "
            "SELECT ?n WHERE { ?e a kg:Attack ; kg:hasReport ?r . ?r kg:projectileCount ?n }"
        )
    )
    assert sorted(int(row[0]) for row in rows) == [3, 4, 18]


def test_store_turtle_fixture_is_the_union_of_the_trig_fixture(mini: Dataset) -> None:
    assert_isomorphic(store.union(store.load(MINI_TTL)), store.union(mini))


def test_store_load_turtle_goes_to_the_default_graph() -> None:
    dataset = store.load(MINI_TTL)
    assert named_graphs(dataset) == {URIRef("urn:x-rdflib:default")}
    assert len(dataset) == len(store.union(dataset))


@pytest.mark.parametrize("rdf_format", list(store.RDFFormat))
def test_store_save_then_load_round_trips_every_format(
    mini: Dataset, tmp_path: Path, rdf_format: store.RDFFormat
) -> None:
    path = tmp_path / f"kg{EXTENSIONS[rdf_format]}"
    store.save(mini, path, rdf_format)
    loaded = store.load(path)
    assert_isomorphic(store.union(loaded), store.union(mini))
    if rdf_format in store.QUAD_FORMATS:
        assert named_graphs(loaded) == named_graphs(mini)
    else:
        assert len(named_graphs(loaded)) == 1


@pytest.mark.parametrize("rdf_format", list(store.RDFFormat))
def test_store_serialize_does_not_depend_on_insertion_order(
    mini: Dataset, rdf_format: store.RDFFormat
) -> None:
    assert store.serialize(mini, rdf_format) == store.serialize(reordered(mini), rdf_format)


def test_store_save_nt_writes_sorted_lines(mini: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "kg.nt"
    store.save(mini, path, "nt")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)
    assert len(lines) == len(store.union(mini))


def test_store_save_twice_gives_identical_bytes(mini: Dataset, tmp_path: Path) -> None:
    first, second = tmp_path / "a.ttl", tmp_path / "b.ttl"
    store.save(mini, first, "turtle")
    store.save(store.load(first), second, "turtle")
    assert first.read_bytes() == second.read_bytes()


def test_store_save_uses_project_prefixes(mini: Dataset) -> None:
    text = store.serialize(mini, "turtle")
    assert "@prefix kg: <https://kg.example.org/ontology#> ." in text
    assert "ns1:" not in text


def test_store_save_replaces_file_and_leaves_no_temporary_files(mini: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "kg.ttl"
    path.write_text("old content", encoding="utf-8")
    store.save(mini, path, "turtle")
    assert path.read_text(encoding="utf-8").startswith("@prefix")
    assert [p.name for p in tmp_path.iterdir()] == ["kg.ttl"]


def test_store_save_keeps_previous_file_when_serialisation_fails(tmp_path: Path) -> None:
    path = tmp_path / "kg.rdf"
    path.write_text("previous", encoding="utf-8")
    graph = Graph()
    # RDF/XML cannot write a predicate that does not split into namespace + XML name
    graph.add((URIRef("http://example.org/a"), URIRef("http://example.org/p/"), Literal("x")))
    with pytest.raises(InputError, match="RDF/XML"):
        store.save(graph, path, "xml")
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["kg.rdf"]


def test_store_write_text_atomic_removes_temporary_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("previous", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        store.write_text_atomic(path, "ok until here \ud800")  # a lone surrogate cannot be encoded
    assert path.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_store_save_creates_missing_parent_folders(mini: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "build" / "deep" / "kg.trig"
    store.save(mini, path, "trig")
    assert named_graphs(store.load(path)) == named_graphs(mini)


def test_store_save_into_a_directory_is_refused(mini: Dataset, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        store.save(mini, tmp_path, "turtle")


def test_store_save_plain_graph_as_trig_uses_default_graph(tmp_path: Path) -> None:
    graph = Graph()
    graph.add((KGR["entity/dora"], KG.partOf, KGR["entity/baghdad"]))
    path = tmp_path / "one.trig"
    store.save(graph, path, "trig")
    assert_isomorphic(store.union(store.load(path)), graph)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("turtle", store.RDFFormat.TURTLE),
        ("TTL", store.RDFFormat.TURTLE),
        ("json-ld", store.RDFFormat.JSONLD),
        ("n-triples", store.RDFFormat.NT),
        ("nq", store.RDFFormat.NQUADS),
        ("trig", store.RDFFormat.TRIG),
        ("rdf/xml", store.RDFFormat.XML),
    ],
)
def test_store_parse_format_accepts_names_and_aliases(name: str, expected: store.RDFFormat) -> None:
    assert store.parse_format(name) is expected


def test_store_parse_format_lists_choices_on_unknown_name() -> None:
    with pytest.raises(UsageError, match="turtle, nt, nquads, trig, jsonld, xml"):
        store.parse_format("yaml")


def test_store_load_explicit_format_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "graph.data"
    path.write_text(MINI_TTL.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InputError, match=r"extension '\.data'"):
        store.load(path)
    assert len(store.load(path, fmt="turtle")) == len(store.load(MINI_TTL))


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.ttl", "", "file is empty"),
        ("blank.ttl", "\n  \n", "file is empty"),
        ("prefixes-only.ttl", "@prefix kg: <https://kg.example.org/ontology#> .\n", "contains no triples"),
        ("image.ttl", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("latin1.ttl", '<http://e.org/a> <http://e.org/p> "café" .\n'.encode("latin-1"), "not valid UTF-8"),
        ("notes.txt", "hello", "cannot tell the RDF format"),
    ],
)
def test_store_load_bad_files_give_one_line_input_errors(
    tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError, match=message) as caught:
        store.load(path)
    text = str(caught.value)
    assert str(path) in text
    assert "\n" not in text


def test_store_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        store.load(tmp_path / "nope.ttl")


def test_store_load_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        store.load(tmp_path)


def test_store_load_wrong_encoding_names_line_and_column(tmp_path: Path) -> None:
    content = '@prefix e: <http://e.org/> .\ne:a e:p "café" .\n'.encode("latin-1")
    path = write(tmp_path, "latin1.ttl", content)
    with pytest.raises(InputError, match=rf"{path.name}:2:13: not valid UTF-8 \(byte 0xe9\)"):
        store.load(path)


@pytest.mark.parametrize(
    ("name", "content", "position", "why"),
    [
        (
            "bad.ttl",
            "@prefix e: <http://e.org/> .\ne:a e:p e:b .\n  e:c e:p e:d e:x .\n",
            ":3:15:",
            "Turtle syntax error: expected '.'",
        ),
        (
            "string.ttl",
            '@prefix e: <http://e.org/> .\ne:a e:p "open .\n',
            ":2:16:",
            "newline found in string literal",
        ),
        ("prefix.ttl", "@prefix e: <http://e.org/> .\nfoo:a e:p e:b .\n", ":2:1:", 'Prefix "foo:" not bound'),
        (
            "bad.trig",
            "@prefix e: <http://e.org/> .\ne:g { e:a e:p e:b .\ne:c e:p }\n",
            ":3:8:",
            "TriG syntax error",
        ),
        (
            "bad.nt",
            "<http://e.org/a> <http://e.org/p> <http://e.org/b> .\n<http://e.org/a> oops .\n",
            ":2:",
            "N-Triples",
        ),
        (
            "bad.nq",
            '<http://e.org/a> <http://e.org/p> "b" .\n\n<http://e.org/a> <http://e.org/p> "b .\n',
            ":3:",
            "N-Quads",
        ),
        (
            "bad.jsonld",
            '{"@id": "http://e.org/a",\n "http://e.org/p": [1,\n }',
            ":3:2:",
            "JSON-LD syntax error",
        ),
        (
            "bad.rdf",
            '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<a>\n</rdf:RDF>\n',
            ":4:",
            "RDF/XML",
        ),
    ],
)
def test_store_load_syntax_errors_name_file_line_and_column(
    tmp_path: Path, name: str, content: str, position: str, why: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(GraphParseError) as caught:
        store.load(path)
    text = str(caught.value)
    assert text.startswith(f"{path}{position}"), text
    assert why in text
    assert "\n" not in text


def test_store_union_of_dataset_has_every_triple_once(mini: Dataset) -> None:
    graph = store.union(mini)
    assert type(graph) is Graph
    assert len(graph) == len({(s, p, o) for s, p, o, _ in mini.quads((None, None, None, None))})
