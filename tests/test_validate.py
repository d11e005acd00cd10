"""SHACL validation: every shape has a conforming and a violating fixture, reports read well."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SKOS

from kg import resources
from kg.errors import ShapesError
from kg.ns import KG, KGR, TIME
from kg.validate import SH, Report, check_shapes, validate

FIXTURES = Path(__file__).parent / "fixtures" / "shapes"
BASE = FIXTURES / "base.ttl"
KGS = "https://kg.example.org/shapes#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"  # not imported: pytest probes module globals

# One pair of fixtures per shape that carries a message; update when adding a shape.
EXPECTED_CASES = 43
CASES = sorted(path.name.removesuffix(".conforms.ttl") for path in FIXTURES.glob("*.conforms.ttl"))


def load(*paths: Path) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def fixture(case: str, kind: str) -> Graph:
    return load(BASE, FIXTURES / f"{case}.{kind}.ttl")


def source_shapes(report: Report) -> set[str]:
    return {str(shape) for shape in report.graph.objects(None, SH.sourceShape) if isinstance(shape, URIRef)}


def message_shapes() -> set[URIRef]:
    """The shapes that carry a constraint and a message of their own."""
    return {s for s in resources.shapes().subjects(SH.message, None) if isinstance(s, URIRef)}


def test_validate_collects_one_fixture_pair_per_shape() -> None:
    assert len(CASES) == EXPECTED_CASES
    for case in CASES:
        assert (FIXTURES / f"{case}.violates.ttl").is_file(), f"{case} has no violating fixture"
    assert {KGS + case for case in CASES} == {str(shape) for shape in message_shapes()}


@pytest.mark.parametrize("case", CASES)
def test_validate_conforming_fixture_has_no_results(case: str) -> None:
    report = validate(fixture(case, "conforms"))
    assert report.results == (), report.text()
    assert report.conforms


@pytest.mark.parametrize("case", CASES)
def test_validate_violating_fixture_is_reported_by_its_shape(case: str) -> None:
    shape = URIRef(KGS + case)
    severity = resources.shapes().value(shape, SH.severity, default=SH.Violation)
    report = validate(fixture(case, "violates"))
    assert str(shape) in source_shapes(report), report.text()
    assert report.conforms is (severity != SH.Violation)
    message = str(resources.shapes().value(shape, SH.message))
    assert any(result.message == message for result in report.results), report.text()


@pytest.mark.parametrize("shape", sorted(message_shapes()))
def test_validate_messages_are_written_for_analysts(shape: URIRef) -> None:
    shapes = resources.shapes()
    message = str(shapes.value(shape, SH.message))
    assert message[0].isupper() and message.endswith("."), message
    assert "http" not in message and "kgr:" not in message, message
    assert len(message.split()) >= 6, message
    if shapes.value(shape, SH.path) is not None:
        assert shapes.value(shape, SH.name) is not None, f"{shape} has no sh:name"


def test_validate_entity_type_alternatives_are_the_exported_classes() -> None:
    """EntityShape's sh:or lists the most general classes that carry kg:exportType."""
    shapes, ontology = resources.shapes(), resources.ontology()
    alternatives = Collection(shapes, shapes.value(URIRef(KGS + "EntityShape"), SH["or"]))
    listed = {shapes.value(alternative, SH["class"]) for alternative in alternatives}
    exported = set(ontology.subjects(KG.exportType, None))
    most_general = {
        cls
        for cls in exported
        if not (set(ontology.transitive_objects(cls, RDFS.subClassOf)) - {cls}) & exported
    }
    assert listed == most_general


def test_validate_report_text_names_the_focus_by_its_label() -> None:
    report = validate(fixture("EntityShape", "violates"))
    text = report.text()
    assert '"Ain al-Asad" (kgr:entity/ain-al-asad)' in text
    assert text.splitlines()[0].startswith("Violation: ")
    assert text.splitlines()[-1] == "Does not conform: 1 violation on 1 node."


def test_validate_report_text_shows_property_and_value() -> None:
    report = validate(fixture("AttackLocation", "violates"))
    [line] = report.text().splitlines()[:-1]
    assert line == (
        "Violation: kgr:event/1 kg:location: The location of an attack must be a place "
        "(a city, a district, a base). (value: kgr:entity/kataib-hezbollah)"
    )


def test_validate_catches_an_ill_typed_date() -> None:
    report = validate(fixture("EventDate", "violates"))
    dates = [r for r in report.results if r.path == str(KG.date)]
    assert [(r.focus, r.value, r.severity) for r in dates] == [
        (str(KGR["event/1"]), "2022-13-45", "Violation")
    ]


@pytest.mark.parametrize(
    ("lexical", "datatype", "precision", "valid"),
    [
        ("2022-02-28", "date", TIME.unitDay, True),
        ("2022-12", "gYearMonth", TIME.unitMonth, True),
        ("2022", "gYear", TIME.unitYear, True),
        ("2022-02-30", "date", TIME.unitDay, False),
        ("2022-13", "gYearMonth", TIME.unitMonth, False),
        ("2022-1", "gYearMonth", TIME.unitMonth, False),
        ("22", "gYear", TIME.unitYear, False),
        ("2022", "string", TIME.unitYear, False),
    ],
)
def test_validate_checks_date_values(lexical: str, datatype: str, precision: URIRef, valid: bool) -> None:
    graph = fixture("EventDate", "conforms")
    event = KGR["event/1"]
    graph.remove((event, KG.date, None))
    graph.set((event, KG.datePrecision, precision))
    graph.add((event, KG.date, Literal(lexical, datatype=URIRef(XSD_NS + datatype))))
    report = validate(graph)
    assert report.conforms is valid, report.text()


def test_validate_validates_the_union_of_a_dataset() -> None:
    graph = fixture("AttackSource", "conforms")
    dataset = Dataset()
    events = dataset.graph(KGR["graph/events"])
    article = dataset.graph(KGR["graph/article/000-05fd15ee24b99819"])
    for s, p, o in graph:
        (events if str(s).startswith(str(KGR["event/"])) else article).add((s, p, o))
    assert validate(dataset).conforms  # the attack's article is in another graph

    dataset.remove((KGR["event/1"], KG.sourceArticle, None, None))
    report = validate(dataset)
    assert [(r.focus, r.path) for r in report.results] == [(str(KGR["event/1"]), str(KG.sourceArticle))]


def test_validate_does_not_modify_its_input() -> None:
    graph = fixture("AttackKindRequired", "violates")
    before = set(graph)
    validate(graph)
    assert set(graph) == before


def test_validate_report_json_round_trips() -> None:
    report = validate(fixture("AttackKindRequired", "violates"))
    payload = json.loads(report.to_json())
    assert payload["conforms"] is False
    assert payload["results"] == [
        {
            "focus": str(KGR["event/1"]),
            "focus_label": None,
            "path": str(KG.attackKind),
            "message": str(resources.shapes().value(URIRef(KGS + "AttackKindRequired"), SH.message)),
            "severity": "Violation",
            "value": None,
        }
    ]


def test_validate_warning_does_not_break_conformance() -> None:
    report = validate(fixture("EntityLabelOnePerLanguage", "violates"))
    assert report.conforms
    assert [r.severity for r in report.results] == ["Warning"]
    assert report.summary() == "Conforms: 1 warning on 1 node."


def test_validate_handles_a_few_thousand_triples_quickly() -> None:
    graph = load(BASE)
    template = load(FIXTURES / "AttackReport.conforms.ttl")
    for i in range(150):
        rename = {KGR["event/1"]: KGR[f"event/{i}"], KGR["report/1"]: KGR[f"report/{i}"]}
        for s, p, o in template:
            graph.add((rename.get(s, s), p, rename.get(o, o)))
        mention = KGR[f"mention/000-05fd15ee24b99819/{i}-{i + 4}"]
        graph.add((mention, RDF.type, KG.Mention))
        graph.add((mention, KG.inArticle, KGR["article/000-05fd15ee24b99819"]))
        graph.add((mention, KG.surfaceForm, Literal("Dora")))
        graph.add((mention, KG.startChar, Literal(i)))
        graph.add((mention, KG.endChar, Literal(i + 4)))
        graph.add((mention, KG.refersTo, KGR["entity/dora"]))
        graph.add((KGR["entity/dora"], SKOS.altLabel, Literal(f"Dora {i}")))
    assert len(graph) > 4000
    start = time.perf_counter()
    report = validate(graph)
    elapsed = time.perf_counter() - start
    assert report.conforms, report.text()
    assert elapsed < 5, f"validation took {elapsed:.1f}s"


def test_validate_check_shapes_accepts_the_project_shapes() -> None:
    check_shapes(resources.shapes())


@pytest.mark.parametrize(
    ("name", "problem"),
    [("min-count-not-an-integer", "sh:minCount"), ("pattern-not-a-regex", 'sh:pattern "[0-9"')],
)
def test_validate_check_shapes_rejects_a_broken_shapes_file(name: str, problem: str) -> None:
    broken = load(FIXTURES / "broken" / f"{name}.ttl")
    with pytest.raises(ShapesError) as caught:
        check_shapes(broken)
    message = str(caught.value)
    assert "\n" not in message
    assert problem in message and "kgs:BrokenShape" in message, message


def test_validate_check_shapes_names_the_file_and_refuses_a_graph_without_shapes() -> None:
    data = load(FIXTURES / "AttackReport.conforms.ttl")  # data, not shapes: would validate anything
    with pytest.raises(ShapesError, match=r"^shapes file data\.ttl is not valid SHACL: it declares no shape"):
        check_shapes(data, "data.ttl")
    broken = load(FIXTURES / "broken" / "min-count-not-an-integer.ttl")
    with pytest.raises(ShapesError, match=r"^shapes file broken\.ttl is not valid SHACL: .*sh:minCount"):
        check_shapes(broken, Path("broken.ttl"))
