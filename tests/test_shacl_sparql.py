"""The SPARQL validation engine gives pySHACL's reports: seeds, mutations, hand-written shapes, stores.

pySHACL is the reference (as owlrl is for reasoning): every test validates the same data with both
engines and asserts that ``Report.results`` and ``Report.conforms`` are equal, and that the mutated
graphs do produce results, so that agreement is never agreement on nothing.
"""

from __future__ import annotations

import gc
import json
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from typer.testing import CliRunner

from kg import resources
from kg.cli import app
from kg.kb import KnowledgeBase
from kg.ns import KG, KGR, TIME, article_graph_iri
from kg.pipeline import build_into
from kg.shacl_sparql import UnsupportedShapes, compile_shapes
from kg.store import flatten, load
from kg.validate import SH, Engine, Report, validate, validate_store

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EX = Namespace("http://example.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # not rdflib's: pytest probes module globals
NOT_LISTED = URIRef("https://kg.example.org/ontology#NotInTheList")
PREFIXES = """
@prefix ex: <http://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix kg: <https://kg.example.org/ontology#> .
"""


@pytest.fixture(autouse=True, scope="module")
def _quiet_rdflib() -> Iterator[None]:
    """rdflib logs each ill-typed literal with a traceback; pytest keeps the records, and their frames
    would keep knowledge-base stores open (locked) for the rest of the module."""
    logger = logging.getLogger("rdflib.term")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def both(data: Graph, shapes: Graph | None = None) -> Report:
    """Validate with both engines, assert the reports agree, and return the reference one."""
    fast = validate(data, shapes, engine=Engine.SPARQL)
    reference = validate(data, shapes, engine=Engine.PYSHACL)
    assert fast.results == reference.results, _difference(fast, reference)
    assert fast.conforms == reference.conforms
    return reference


def _difference(fast: Report, reference: Report) -> str:
    only_fast = sorted(set(fast.results) - set(reference.results), key=str)
    only_reference = sorted(set(reference.results) - set(fast.results), key=str)
    return f"only sparql: {only_fast}\nonly pyshacl: {only_reference}"


def turtle(text: str) -> Graph:
    graph = Graph()
    graph.parse(data=PREFIXES + text, format="turtle")
    return graph


def source_shapes(report: Report) -> set[URIRef]:
    return {s for s in report.graph.objects(None, SH.sourceShape) if isinstance(s, URIRef)}


# ---------------------------------------------------------------------------------------------- seeds


@pytest.fixture(scope="module")
def seed(seed_graph_file: Path) -> Graph:
    """The seed build as one plain graph (mutations copy it)."""
    return flatten(load(seed_graph_file))


def test_shacl_sparql_seed_build_gives_the_pyshacl_report(seed_graph_file: Path) -> None:
    report = both(load(seed_graph_file))
    assert report.conforms


def _subclasses() -> dict[URIRef, set[URIRef]]:
    ontology = resources.ontology()
    return {
        cls: set(ontology.transitive_subjects(RDFS.subClassOf, cls))
        for cls in set(ontology.subjects(RDF.type, None)) | set(ontology.objects(None, RDFS.subClassOf))
        if isinstance(cls, URIRef)
    }


def _instances(graph: Graph, classes: list[URIRef]) -> list[URIRef]:
    below = _subclasses()
    wanted = set().union(*(below.get(cls, {cls}) for cls in classes)) if classes else set()
    return sorted({s for s, o in graph.subject_objects(RDF.type) if o in wanted and isinstance(s, URIRef)})


def _set(graph: Graph, focus: URIRef, path: URIRef, *values: Literal | URIRef) -> None:
    graph.remove((focus, path, None))
    for value in values:
        graph.add((focus, path, value))


Mutation = Callable[[Graph], None]


def _property_mutations(seed: Graph) -> list[tuple[str, Mutation]]:
    """One mutation per constraint of every property shape of shapes/kg-shapes.ttl, read off the shapes."""
    shapes = resources.shapes()
    found: list[tuple[str, Mutation]] = []
    for node_shape in sorted(set(shapes.subjects(SH.property, None)), key=str):
        classes = sorted(shapes.objects(node_shape, SH.targetClass), key=str)
        candidates = _instances(seed, classes)
        for prop in sorted(shapes.objects(node_shape, SH.property), key=str):
            path = shapes.value(prop, SH.path)
            if not isinstance(path, URIRef) or not candidates:
                continue
            with_values = [c for c in candidates if (c, path, None) in seed]
            focus = (with_values or candidates)[0]
            name = str(prop).rsplit("#", 1)[-1]
            for parameter in sorted(set(shapes.predicates(prop, None)), key=str):
                mutation = _mutation_for(seed, shapes, prop, parameter, focus, path)
                if mutation is not None:
                    found.append((f"{name}-{str(parameter).rsplit('#', 1)[-1]}", mutation))
    return found


def _mutation_for(
    seed: Graph, shapes: Graph, prop: URIRef, parameter: URIRef, focus: URIRef, path: URIRef
) -> Mutation | None:
    value = shapes.value(prop, parameter)
    stranger = KGR["entity/nobody-knows"]  # untyped: no class, no datatype
    if parameter == SH.minCount and int(value) > 0:
        return lambda g: g.remove((focus, path, None))
    if parameter == SH.maxCount:
        others = sorted({o for o in seed.objects(None, path)} - set(seed.objects(focus, path)), key=str)

        def add_values(g: Graph) -> None:
            extra = others or [Literal(f"extra {i}") for i in range(int(value) + 1)]
            for item in extra[: int(value) + 1]:
                g.add((focus, path, item))

        return add_values
    if parameter == SH.datatype:
        wrong = Literal(42) if value == XSD.string else Literal("not a value")
        return lambda g: _set(g, focus, path, wrong)
    if parameter == SH["in"]:
        return lambda g: _set(g, focus, path, NOT_LISTED)
    if parameter in (SH["class"], SH["or"]):
        return lambda g: _set(g, focus, path, stranger)
    if parameter == SH.minInclusive:
        return lambda g: _set(g, focus, path, Literal(-1))
    if parameter == SH.lessThanOrEquals:

        def reorder(g: Graph) -> None:
            bound = g.value(focus, value)
            limit = int(bound) if bound is not None else 0
            _set(g, focus, value, Literal(limit))
            _set(g, focus, path, Literal(limit + 5))

        return reorder
    if parameter == SH.uniqueLang:

        def second_label(g: Graph) -> None:
            labels = [label for label in g.objects(focus, path) if isinstance(label, Literal)]
            language = next((label.language for label in labels if label.language), "en")
            g.add((focus, path, Literal("another name", lang=language)))
            g.add((focus, path, Literal("a third name", lang=language)))

        return second_label
    return None


def _node_mutations(seed: Graph) -> list[tuple[str, Mutation]]:
    """Mutations for the node-level shapes (sh:or over the node itself) and for ill-typed values."""
    entity = sorted(o for o in seed.objects(None, KG.refersTo) if isinstance(o, URIRef))[0]
    dated = sorted(s for s, o in seed.subject_objects(KG.date) if o.datatype == XSD.date)[0]
    article = sorted(s for s in seed.subjects(KG.published, None) if (s, KG.datePrecision, None) in seed)[0]
    mention = sorted(s for s in seed.subjects(KG.surfaceForm, None))[0]
    attack = _instances(seed, [KG.Attack])[0]

    def untyped(g: Graph) -> None:
        g.remove((entity, RDF.type, None))

    def bare_actor(g: Graph) -> None:
        _set(g, entity, RDF.type, KG.Actor)

    def no_precision(g: Graph) -> None:
        g.remove((dated, KG.datePrecision, None))

    def wrong_precision(g: Graph) -> None:
        _set(g, dated, KG.datePrecision, TIME.unitYear)

    def precision_without_date(g: Graph) -> None:
        g.remove((article, KG.published, None))

    def no_words(g: Graph) -> None:
        g.remove((mention, KG.surfaceForm, None))
        g.remove((mention, KG.evidenceText, None))

    def ill_typed_date(g: Graph) -> None:
        _set(g, dated, KG.date, Literal("2022-02-30", datatype=XSD.date))

    def ill_typed_month(g: Graph) -> None:
        _set(g, dated, KG.date, Literal("2022-13", datatype=XSD.gYearMonth))
        _set(g, dated, KG.datePrecision, TIME.unitMonth)

    def ill_typed_count(g: Graph) -> None:
        _set(g, attack, KG.killedCount, Literal("twelve", datatype=XSD.nonNegativeInteger))
        _set(g, attack, KG.projectileCount, Literal("-3", datatype=XSD.integer))

    def ill_typed_boolean(g: Graph) -> None:
        _set(g, attack, KG.isMain, Literal("maybe", datatype=XSD.boolean))

    return [
        ("entity-untyped", untyped),
        ("entity-bare-actor", bare_actor),
        ("date-without-precision", no_precision),
        ("date-with-wrong-precision", wrong_precision),
        ("precision-without-date", precision_without_date),
        ("mention-without-words", no_words),
        ("ill-typed-date", ill_typed_date),
        ("ill-typed-month", ill_typed_month),
        ("ill-typed-count", ill_typed_count),
        ("ill-typed-boolean", ill_typed_boolean),
    ]


@pytest.mark.filterwarnings("ignore:Parsing weird boolean")
def test_shacl_sparql_mutations_violate_every_shape_and_agree(seed: Graph) -> None:
    mutations = _property_mutations(seed) + _node_mutations(seed)
    assert len(mutations) >= 60
    reported: set[URIRef] = set()
    silent = []
    for name, mutate in mutations:
        graph = Graph()
        graph += seed
        mutate(graph)
        report = both(graph)
        if not report.results:
            silent.append(name)
        reported |= source_shapes(report)
    assert silent == []
    message_shapes = {s for s in resources.shapes().subjects(SH.message, None) if isinstance(s, URIRef)}
    assert message_shapes - reported == set()


@pytest.mark.parametrize("case", range(30))
def test_shacl_sparql_random_mutations_agree(seed: Graph, case: int) -> None:
    """Random deletions and replacements of seed triples (seeded, so a failure can be replayed)."""
    rng = random.Random(case)
    triples = sorted(seed, key=lambda t: tuple(str(x) for x in t))
    objects = sorted({o for _, _, o in triples}, key=lambda o: (type(o).__name__, str(o)))
    predicates = sorted({p for _, p, _ in triples}, key=str)
    graph = Graph()
    graph += seed
    for _ in range(rng.randint(1, 8)):
        s, p, o = rng.choice(triples)
        graph.remove((s, p, o))
        move = rng.random()
        if move < 0.4:
            graph.add((s, p, rng.choice(objects)))
        elif move < 0.6:
            graph.add((s, rng.choice(predicates), o))
    both(graph)


# ------------------------------------------------------------------------------------ hand-written shapes

ZOO: dict[str, tuple[str, str]] = {
    "inverse-path": (
        """
        ex:ChildShape a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:property [ sh:path [ sh:inversePath ex:parent ] ; sh:minCount 1 ; sh:class ex:Person ] .
        """,
        """
        ex:ann a ex:Person . ex:bob a ex:Person ; ex:parent ex:ann . ex:cat ex:parent ex:bob .
        """,
    ),
    "sequence-path-generic-messages": (
        """
        ex:FriendNames a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:property [ sh:path ( ex:knows ex:name ) ; sh:minLength 4 ; sh:maxCount 2 ;
                          sh:datatype xsd:string ] ;
            sh:property [ sh:path ( [ sh:inversePath ex:knows ] ex:name ) ; sh:minCount 1 ] .
        """,
        """
        ex:ann a ex:Person ; ex:knows ex:bob , ex:cy , ex:dee .
        ex:bob a ex:Person ; ex:name "Bob" ; ex:knows ex:ann .
        ex:cy ex:name "Cyrano" . ex:dee ex:name "Dee"@en , 7 .
        ex:ann ex:name "Ann" .
        """,
    ),
    "not-xone-and": (
        """
        ex:NotBanned a sh:NodeShape ; sh:targetNode ex:a , ex:b , ex:c ;
            sh:not [ sh:class ex:Banned ] .
        ex:OneContact a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:xone ( [ sh:path ex:email ; sh:minCount 1 ] [ sh:path ex:phone ; sh:minCount 1 ] ) ;
            sh:message "exactly one way to reach a person"@en , "une seule façon de joindre"@fr .
        ex:Both a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:and ( [ sh:path ex:name ; sh:minCount 1 ] [ sh:path ex:status ; sh:hasValue ex:Active ] ) .
        """,
        """
        ex:a a ex:Banned . ex:b a ex:Allowed .
        ex:p1 a ex:Person ; ex:email "a@x" ; ex:name "P1" ; ex:status ex:Active .
        ex:p2 a ex:Person ; ex:email "b@x" ; ex:phone "123" ; ex:status ex:Gone .
        ex:p3 a ex:Person .
        """,
    ),
    "node-with-warnings-inside": (
        """
        ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:property [ sh:path ex:address ; sh:node ex:AddressShape ] ;
            sh:or ( ex:Quiet [ sh:path ex:age ; sh:minInclusive 18 ] ) .
        ex:AddressShape a sh:NodeShape ;
            sh:property [ sh:path ex:city ; sh:minCount 1 ] ;
            sh:property [ sh:path ex:zip ; sh:minCount 1 ; sh:severity sh:Warning ] .
        ex:Quiet a sh:NodeShape ; sh:severity sh:Warning ; sh:class ex:Nobody .
        """,
        """
        ex:p1 a ex:Person ; ex:address ex:a1 ; ex:age 12 . ex:a1 ex:city "Erbil" .
        ex:p2 a ex:Person ; ex:address ex:a2 , [ ex:zip "1" ] . ex:a2 ex:zip "2" .
        ex:p3 a ex:Person ; ex:address ex:a3 . ex:a3 ex:city "Baghdad" ; ex:zip "3" .
        """,
    ),
    "node-kinds-lengths": (
        """
        ex:Kinds a sh:NodeShape ; sh:targetSubjectsOf ex:link ;
            sh:property [ sh:path ex:link ; sh:nodeKind sh:IRI ] ;
            sh:property [ sh:path ex:note ; sh:nodeKind sh:BlankNodeOrLiteral ; sh:maxLength 5 ] ;
            sh:property [ sh:path ex:link ; sh:minLength 20 ] .
        ex:Objects a sh:NodeShape ; sh:targetObjectsOf ex:link ; sh:nodeKind sh:IRI ; sh:minLength 19 .
        """,
        """
        ex:x ex:link ex:y , "lit" , [ ex:note "inner" ] ; ex:note "short" , "far too long" , ex:iri .
        ex:z ex:link ex:averyveryverylongname .
        """,
    ),
    "target-nodes-absent-and-literal": (
        """
        ex:Present a sh:NodeShape ; sh:targetNode ex:ghost , "a literal" , ex:real , 42 ;
            sh:property [ sh:path ex:p ; sh:minCount 1 ] ;
            sh:datatype xsd:string .
        """,
        """
        ex:real ex:p ex:thing .
        """,
    ),
    "closure-paths": (
        """
        ex:Ancestry a sh:NodeShape ; sh:targetNode ex:ann , ex:ghost ;
            sh:property [ sh:path [ sh:zeroOrMorePath ex:parent ] ; sh:class ex:Person ] ;
            sh:property [ sh:path [ sh:oneOrMorePath ex:parent ] ; sh:maxCount 2 ] ;
            sh:property [ sh:path [ sh:zeroOrOnePath ex:parent ] ; sh:minCount 2 ] ;
            sh:property [ sh:path ( ex:parent [ sh:zeroOrMorePath [ sh:inversePath ex:child ] ] ) ;
                          sh:minCount 9 ] .
        """,
        """
        ex:ann a ex:Person ; ex:parent ex:bob . ex:bob a ex:Person ; ex:parent ex:cy .
        ex:cy ex:parent ex:ann . ex:dee ex:child ex:bob .
        """,
    ),
    "alternative-paths": (
        """
        ex:Alt a sh:NodeShape ; sh:targetClass ex:Thing ;
            sh:property [ sh:path [ sh:alternativePath ( ex:a [ sh:inversePath ex:b ] ( ex:c ex:d ) ) ] ;
                          sh:maxCount 2 ; sh:nodeKind sh:IRI ] .
        """,
        """
        ex:t1 a ex:Thing ; ex:a ex:x . ex:y ex:b ex:t1 . ex:t1 ex:c ex:m . ex:m ex:d "lit" .
        ex:t2 a ex:Thing ; ex:a ex:x .
        """,
    ),
    "property-pairs": (
        """
        ex:Pairs a sh:NodeShape ; sh:targetClass ex:Span ;
            sh:property [ sh:path ex:start ; sh:lessThan ex:end ] ;
            sh:property [ sh:path ex:start ; sh:lessThanOrEquals ex:limit ] ;
            sh:property [ sh:path ex:alias ; sh:equals ex:name ] ;
            sh:property [ sh:path ex:alias ; sh:disjoint ex:banned ] ;
            sh:equals ex:self ; sh:disjoint ex:other .
        """,
        """
        ex:s1 a ex:Span ; ex:start 1 ; ex:end 2 ; ex:limit 1 ; ex:alias "a" ; ex:name "a" ; ex:self ex:s1 .
        ex:s2 a ex:Span ; ex:start 5 ; ex:end 2 , 9 , 2.5 , "x" ; ex:limit 4.5 ; ex:alias "a" , "b" ;
            ex:name "b" , "c" ; ex:banned "b" ; ex:other ex:s2 .
        ex:s3 a ex:Span ; ex:start "2022-01-01"^^xsd:date ;
            ex:end "2022-01-02"^^xsd:date , "2021-12-31"^^xsd:date ;
            ex:limit "abc" .
        ex:s4 a ex:Span ; ex:start "b" ; ex:end "a" , "c" ; ex:limit ex:iri .
        """,
    ),
    "strings-and-languages": (
        """
        ex:Strings a sh:NodeShape ; sh:targetClass ex:Doc ;
            sh:property [ sh:path ex:title ; sh:languageIn ( "en" "fr" ) ; sh:uniqueLang true ] ;
            sh:property [ sh:path ex:code ; sh:pattern "^ab" ; sh:flags "i" ] ;
            sh:property [ sh:path ex:code ; sh:pattern "[0-9]$" ] ;
            sh:property [ sh:path ex:kind ; sh:in ( "a" 1 ex:k "x"@en ) ] ;
            sh:property [ sh:path ex:kind ; sh:hasValue "a" ] .
        """,
        """
        ex:d1 a ex:Doc ; ex:title "One"@en , "Un"@fr , "Uno"@it ; ex:code "ABc1" ; ex:kind "a" , 1 , ex:k .
        ex:d2 a ex:Doc ; ex:title "Two"@en-GB , "Deux"@FR , "Zwei"@fr , "plain" ; ex:code "xy1" , "abz" ;
            ex:kind "b" , "x"@EN , "1"^^xsd:nonNegativeInteger , "a"^^xsd:string .
        """,
    ),
    "datatypes": (
        """
        ex:Types a sh:NodeShape ; sh:targetClass ex:Row ;
            sh:property [ sh:path ex:int ; sh:datatype xsd:integer ] ;
            sh:property [ sh:path ex:count ; sh:datatype xsd:nonNegativeInteger ] ;
            sh:property [ sh:path ex:text ; sh:datatype xsd:string ] ;
            sh:property [ sh:path ex:label ; sh:datatype rdf:langString ] ;
            sh:property [ sh:path ex:any ; sh:datatype rdfs:Literal ] ;
            sh:property [ sh:path ex:typed ; sh:datatype rdfs:Datatype ] ;
            sh:property [ sh:path ex:when ; sh:datatype xsd:date ; sh:maxInclusive "2023-01-01"^^xsd:date ] ;
            sh:property [ sh:path ex:int ; sh:minExclusive 0 ; sh:maxExclusive 10.5 ] .
        """,
        """
        ex:r1 a ex:Row ; ex:int 3 , "abc"^^xsd:integer , "3"^^xsd:int , 11 , -2 ;
            ex:count "4"^^xsd:nonNegativeInteger , 4 ;
            ex:text "plain" , "typed"^^xsd:string , "fr"@fr , 5 ; ex:label "x"@en , "y" ;
            ex:any "a" , ex:iri , [ ex:p 1 ] ; ex:typed "a" , "a"^^xsd:string , "b"@en , 1 ;
            ex:when "2022-02-30"^^xsd:date , "2022-02-28"^^xsd:date , "2024-01-01"^^xsd:date ,
                "2022-01"^^xsd:gYearMonth .
        """,
    ),
    "severities-and-deactivation": (
        """
        ex:Info a sh:NodeShape ; sh:targetClass ex:Thing ; sh:severity sh:Info ;
            sh:property [ sh:path ex:name ; sh:minCount 1 ] .
        ex:Off a sh:NodeShape ; sh:targetClass ex:Thing ; sh:deactivated true ;
            sh:property [ sh:path ex:name ; sh:minCount 5 ] .
        ex:WarnNode a sh:NodeShape ; sh:targetClass ex:Thing ; sh:severity sh:Warning ;
            sh:property [ sh:path ex:size ; sh:minCount 1 ] ;
            sh:property [ sh:path ex:name ; sh:deactivated true ; sh:minCount 9 ] .
        ex:Custom a sh:NodeShape ; sh:targetClass ex:Thing ; sh:severity ex:Critical ;
            sh:property [ sh:path ex:colour ; sh:minCount 1 ; sh:severity sh:Warning ] .
        """,
        """
        ex:t a ex:Thing .
        """,
    ),
    "implicit-targets-and-subclasses": (
        """
        ex:Person a rdfs:Class , sh:NodeShape ;
            sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:class ex:Name , ex:Text ] .
        ex:Animal a owl:Class , sh:NodeShape ; sh:property [ sh:path ex:legs ; sh:minCount 1 ] .
        """,
        """
        ex:Student rdfs:subClassOf ex:Person . ex:Short rdfs:subClassOf ex:Name .
        ex:s a ex:Student ; ex:name ex:n1 . ex:n1 a ex:Short .
        ex:p a ex:Person ; ex:name ex:n2 . ex:n2 a ex:Text .
        ex:dog a ex:Animal .
        """,
    ),
    "blank-nodes": (
        """
        ex:Blank a sh:NodeShape ; sh:targetClass ex:Item ;
            sh:property [ sh:path ex:part ; sh:minCount 1 ; sh:class ex:Part ; sh:nodeKind sh:IRI ] ;
            sh:property [ sh:path ex:tag ; sh:in ( "a" ) ] .
        """,
        """
        [ a ex:Item ; ex:tag "b" ] .
        [ a ex:Item ; ex:part [ ex:name "wheel" ] ; ex:tag "a" ] .
        ex:i a ex:Item ; ex:part ex:p1 . ex:p1 a ex:Part .
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(ZOO))
def test_shacl_sparql_hand_written_shapes_agree(case: str) -> None:
    shapes_text, data_text = ZOO[case]
    shapes, data = turtle(shapes_text), turtle(data_text)
    assert not compile_shapes(shapes).unsupported, compile_shapes(shapes).unsupported
    report = both(data, shapes)
    assert report.results, f"{case}: no result, the comparison would prove nothing"


def test_shacl_sparql_blank_node_to_less_than_is_refused_like_pyshacl() -> None:
    shapes = turtle("ex:Less sh:targetClass ex:Item ; sh:property [ sh:path ex:part ; sh:lessThan ex:max ] .")
    data = turtle("ex:i a ex:Item ; ex:part 1 ; ex:max 3 . [ a ex:Item ; ex:part [ a ex:Part ] ] .")
    messages = []
    for engine in Engine:
        with pytest.raises(Exception) as caught:
            validate(data, shapes, engine=engine)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "BlankNode" in messages[0]


def test_shacl_sparql_a_warning_property_shape_under_a_violation_node_shape_conforms() -> None:
    """pySHACL's conformance: a node shape conforms unless one of its own failures is not allowed."""
    shapes = turtle(
        """
        ex:Loose a sh:NodeShape ; sh:targetClass ex:Thing ; sh:severity sh:Warning ;
            sh:property [ sh:path ex:name ; sh:minCount 1 ] .
        """
    )
    report = both(turtle("ex:t a ex:Thing ."), shapes)
    assert report.conforms and [r.severity for r in report.results] == ["Violation"]


# ------------------------------------------------------------------------------------ unsupported shapes

UNSUPPORTED = {
    "sh:sparql": """
        ex:Sparql a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:sparql [ sh:select '''SELECT $this WHERE { $this <http://example.org/age> ?age
                                     FILTER(?age < 0) }''' ] .
        """,
    "sh:qualifiedValueShape": """
        ex:Qualified a sh:NodeShape ; sh:targetClass ex:Person ;
            sh:property ex:QualifiedKnows .
        ex:QualifiedKnows sh:path ex:knows ; sh:qualifiedValueShape [ sh:class ex:Person ] ;
            sh:qualifiedMinCount 2 .
        """,
    "sh:closed": """
        ex:Closed a sh:NodeShape ; sh:targetClass ex:Person ; sh:closed true ;
            sh:ignoredProperties ( rdf:type ) ; sh:property [ sh:path ex:age ] .
        """,
}
SUPPORTED_TOO = """
    ex:Named a sh:NodeShape ; sh:targetClass ex:Person ; sh:property ex:NamedName .
    ex:NamedName sh:path ex:name ; sh:minCount 1 .
"""
PEOPLE = """
    ex:ann a ex:Person ; ex:age -3 ; ex:knows ex:bob ; ex:email "x" .
    ex:bob a ex:Person ; ex:name "Bob" ; ex:age 40 .
"""


@pytest.mark.parametrize("component", sorted(UNSUPPORTED))
def test_shacl_sparql_unsupported_component_falls_back_to_pyshacl(component: str) -> None:
    shapes = turtle(UNSUPPORTED[component] + SUPPORTED_TOO)
    with pytest.raises(UnsupportedShapes, match=component):
        compile_shapes(shapes, strict=True)
    plan = compile_shapes(shapes)
    assert [str(shape.node) for shape in plan.top_level] == [str(EX.Named)]
    report = both(turtle(PEOPLE), shapes)
    reported = {str(s) for s in source_shapes(report)}
    assert str(EX.NamedName) in reported and len(reported) >= 2, reported  # both engines' results merged
    assert not report.conforms


def test_shacl_sparql_cli_shapes_file_with_unsupported_shapes(tmp_path: Path) -> None:
    shapes, data = tmp_path / "shapes.ttl", tmp_path / "people.ttl"
    shapes.write_text(PREFIXES + UNSUPPORTED["sh:closed"] + SUPPORTED_TOO, encoding="utf-8")
    data.write_text(PREFIXES + PEOPLE, encoding="utf-8")
    outputs = []
    for engine in ("sparql", "pyshacl"):
        result = CliRunner().invoke(
            app, ["validate", str(data), "--shapes", str(shapes), "--engine", engine, "--format", "json"]
        )
        assert result.exit_code == 1, result.stderr
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1]
    assert {r["message"].split()[0] for r in outputs[0]["results"]} >= {"Less", "Node"}


# ------------------------------------------------------------------------------------ knowledge bases


@pytest.fixture(scope="module")
def broken_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds in a knowledge base, then broken in a few ways the shapes catch (closed again: a path)."""
    path = tmp_path_factory.mktemp("validate-kb") / "store"
    kb = KnowledgeBase(path)
    build_into(kb, [SEEDS])
    article = sorted(kb.content_hashes())[0]
    graph_name = article_graph_iri(article)
    mention = sorted(s for s, p, _ in kb.triples_in(graph_name) if p == KG.surfaceForm)[0]
    entity = sorted(o for s, p, o in kb.triples_in(graph_name) if p == KG.refersTo)[0]
    broken = Dataset()
    named = broken.graph(graph_name)
    named.add((mention, KG.startChar, Literal(10_000)))
    named.add((entity, RDFS.label, Literal("second", lang="en")))
    named.add((entity, RDFS.label, Literal("third", lang="en")))
    named.add((KGR["event/x"], RDF.type, KG.Attack))
    named.add((KGR["event/x"], KG.date, Literal("2022-02-30", datatype=XSD.date)))
    doomed = [q for q in kb.quads_about([mention], graph_name) if q.predicate.value == str(KG.inArticle)]
    kb.apply(doomed, broken)
    del kb
    gc.collect()  # release the store's lock: other handles (the CLI's) open it in this process
    return path


def test_shacl_sparql_store_gives_the_report_of_its_export(broken_kb: Path, tmp_path: Path) -> None:
    exported = tmp_path / "kb.trig"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--store", str(broken_kb), "-o", str(exported)])
    assert result.exit_code == 0, result.stderr
    del result
    gc.collect()
    kb = KnowledgeBase.open_existing(broken_kb)
    on_store = validate_store(kb)
    del kb
    gc.collect()
    on_file = validate(load(exported), engine=Engine.PYSHACL)
    assert on_store.results == on_file.results and on_store.conforms == on_file.conforms
    assert len(on_store.results) >= 4 and not on_store.conforms


def test_shacl_sparql_store_with_shapes_reading_the_ontology(broken_kb: Path) -> None:
    """Ontology triples the store lacks (labels of classes) are joined in; a closure path copies the store."""
    shapes = turtle(
        """
        ex:ClassLabels a sh:NodeShape ; sh:targetNode kg:Attack , kg:Place , ex:ghost ;
            sh:property [ sh:path rdfs:label ; sh:minCount 3 ; sh:uniqueLang true ] ;
            sh:property [ sh:path [ sh:inversePath rdf:type ] ; sh:maxCount 1 ] .
        ex:Tree a sh:NodeShape ; sh:targetNode kg:MilitaryBase ;
            sh:property [ sh:path [ sh:zeroOrMorePath rdfs:subClassOf ] ; sh:maxCount 2 ] .
        """
    )
    kb = KnowledgeBase.open_existing(broken_kb)
    on_store = validate_store(kb, shapes)
    reference = validate(kb.to_dataset(), shapes, engine=Engine.PYSHACL)
    del kb
    gc.collect()
    assert on_store.results == reference.results and on_store.conforms == reference.conforms
    assert len(on_store.results) >= 3


def test_shacl_sparql_cli_store_engines_and_turtle_report(broken_kb: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    exported = tmp_path / "kb.nq"
    result = runner.invoke(app, ["export", "--store", str(broken_kb), "-o", str(exported)])
    assert result.exit_code == 0, result.stderr
    result = runner.invoke(app, ["validate", str(exported), "--format", "json"])
    assert result.exit_code == 1, result.stderr
    outputs = {"file": json.loads(result.stdout)}
    del result
    gc.collect()
    for engine in ("sparql", "pyshacl"):
        result = runner.invoke(
            app, ["validate", "--store", str(broken_kb), "--engine", engine, "--format", "json"]
        )
        assert result.exit_code == 1, result.stderr
        outputs[engine] = json.loads(result.stdout)
        del result
        gc.collect()
    assert outputs["sparql"] == outputs["pyshacl"] == outputs["file"]
    result = runner.invoke(app, ["validate", "--store", str(broken_kb), "--format", "turtle"])
    report = Graph().parse(data=result.stdout, format="turtle")
    del result
    gc.collect()
    [head] = report.subjects(RDF.type, SH.ValidationReport)
    assert report.value(head, SH.conforms) == Literal(False)
    results = list(report.objects(head, SH.result))
    assert len(results) >= len(outputs["sparql"]["results"])
    for node in results:
        for predicate in (SH.focusNode, SH.resultSeverity, SH.sourceShape, SH.sourceConstraintComponent):
            assert report.value(node, predicate) is not None
    result = runner.invoke(app, ["validate", "--store", str(broken_kb), "--engine", "fast"])
    assert result.exit_code == 2 and "fast" in result.stderr


def test_shacl_sparql_report_graph_is_a_validation_report() -> None:
    shapes_text, data_text = ZOO["property-pairs"]
    report = validate(turtle(data_text), turtle(shapes_text), engine=Engine.SPARQL)
    graph = report.graph
    [head] = graph.subjects(RDF.type, SH.ValidationReport)
    assert graph.value(head, SH.conforms) == Literal(report.conforms)
    nodes = list(graph.objects(head, SH.result))
    assert nodes and all((node, RDF.type, SH.ValidationResult) in graph for node in nodes)
    assert all(graph.value(node, SH.resultMessage) is not None for node in nodes)
    assert any(graph.value(node, SH.resultPath) is not None for node in nodes)
    assert any(isinstance(graph.value(node, SH.value), Literal | URIRef | BNode) for node in nodes)
    assert graph.serialize(format="turtle")


def test_shacl_sparql_compiles_once_per_shapes_graph() -> None:
    shapes = resources.shapes()
    assert compile_shapes(shapes) is compile_shapes(shapes)
    assert not compile_shapes(shapes).unsupported and compile_shapes(shapes).error is None
