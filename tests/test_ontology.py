"""The ontology file declares exactly the terms of kg/ns.py, as MODEL.md describes them."""

from __future__ import annotations

import re

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SKOS

from kg import resources
from kg.ns import GEO, KG, PROV, SEM, TIME

ONTOLOGY_FILE = resources.data_dir("ontology") / "kg.ttl"
MODEL_FILE = resources.data_dir("ontology") / "MODEL.md"

PREFIXES = {
    "kg": str(KG._NS),
    "sem": str(SEM),
    "prov": str(PROV),
    "time": str(TIME),
    "geo": str(GEO),
    "skos": str(SKOS),
}

XSD_NS = "http://www.w3.org/2001/XMLSchema#"  # not imported: pytest probes module globals

KG_TERMS: dict[str, URIRef] = {name: KG[name] for name in KG.__annotations__}

INDIVIDUALS = {"Rocket", "Drone", "Airstrike", "IED", "GroundAttack", "UnknownWeapon", "CarriedOut", "Foiled"}
ANNOTATION_PROPERTIES = {"acledSubEventType", "exportType"}
DATATYPE_PROPERTIES = {
    "date", "projectileCount", "killedCount", "injuredCount", "intercepted", "isMain", "holdsRole",
    "fileName", "published", "url", "contentHash", "surfaceForm", "startChar", "endChar",
    "evidenceText", "sentenceStart", "sentenceEnd",
}  # fmt: skip


def expected_kind(name: str) -> URIRef:
    """The OWL kind a KG term must be declared with (upper case: class unless an individual)."""
    if name in INDIVIDUALS:
        return OWL.NamedIndividual
    if name in ANNOTATION_PROPERTIES:
        return OWL.AnnotationProperty
    if name in DATATYPE_PROPERTIES:
        return OWL.DatatypeProperty
    return OWL.Class if name[0].isupper() else OWL.ObjectProperty


def expand(curie: str) -> URIRef:
    prefix, local = curie.split(":", 1)
    return URIRef(PREFIXES[prefix] + local)


def model_section(title: str) -> str:
    text = MODEL_FILE.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def model_class_rows() -> list[tuple[list[str], list[str], str]]:
    """(classes, superclasses, export type) for each row of MODEL.md's class table."""
    rows = []
    for line in model_section("Classes").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("kg:") or ":" not in cells[1]:
            continue
        classes = re.findall(r"kg:\w+", cells[0])
        supers = re.findall(r"\w+:\w+", cells[1])
        rows.append((classes, supers, cells[2]))
    return rows


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def test_ontology_parses_as_a_self_contained_owl_ontology(ontology: Graph) -> None:
    assert (URIRef("https://kg.example.org/ontology"), RDF.type, OWL.Ontology) in ontology
    assert not list(ontology.triples((None, OWL.imports, None)))


@pytest.mark.parametrize("name", sorted(KG_TERMS))
def test_ontology_declares_kg_term_with_its_kind(ontology: Graph, name: str) -> None:
    term = KG_TERMS[name]
    kinds = {
        kind
        for kind in (
            OWL.Class,
            OWL.ObjectProperty,
            OWL.DatatypeProperty,
            OWL.AnnotationProperty,
            OWL.NamedIndividual,
        )
        if (term, RDF.type, kind) in ontology
    }
    assert kinds == {expected_kind(name)}


@pytest.mark.parametrize("name", sorted(KG_TERMS))
def test_ontology_labels_and_defines_kg_term_in_english_and_french(ontology: Graph, name: str) -> None:
    term = KG_TERMS[name]
    for predicate in (RDFS.label, SKOS.definition):
        languages = sorted(o.language for o in ontology.objects(term, predicate) if isinstance(o, Literal))
        assert languages == ["en", "fr"], f"{name} {predicate}: {languages}"


def test_ontology_uses_only_kg_terms_of_the_namespace(ontology: Graph) -> None:
    used = {
        node
        for triple in ontology
        for node in triple
        if isinstance(node, URIRef) and str(node).startswith(str(KG._NS))
    }
    assert used, "no kg term found: wrong namespace?"
    assert {str(node) for node in used} - {str(term) for term in KG_TERMS.values()} == set()


def test_ontology_reads_the_class_table_of_the_model() -> None:
    classes = [c for row in model_class_rows() for c in row[0]]
    # The table must not be silently mis-parsed: it lists 23 classes.
    assert len(classes) == 23
    assert {expand(c) for c in classes} == {t for n, t in KG_TERMS.items() if expected_kind(n) == OWL.Class}


@pytest.mark.parametrize(("classes", "supers", "export_type"), model_class_rows())
def test_ontology_class_hierarchy_and_export_type_follow_the_model(
    ontology: Graph, classes: list[str], supers: list[str], export_type: str
) -> None:
    for curie in classes:
        cls = expand(curie)
        assert set(ontology.objects(cls, RDFS.subClassOf)) == {expand(s) for s in supers}
        declared = [str(o) for o in ontology.objects(cls, KG.exportType)]
        assert declared == ([export_type] if export_type else [])


def test_ontology_attack_kinds_and_statuses_follow_the_model(ontology: Graph) -> None:
    kinds = re.findall(r"^\| kg:(\w+) \| (\w+) \| (.+?) \|$", model_section("Classes"), flags=re.MULTILINE)
    assert len(kinds) == 6
    for name, notation, acled in kinds:
        term = KG[name]
        assert (term, RDF.type, KG.AttackKind) in ontology
        assert [str(o) for o in ontology.objects(term, SKOS.notation)] == [notation]
        expected_acled = [] if acled == "(none)" else [acled]
        assert [str(o) for o in ontology.objects(term, KG.acledSubEventType)] == expected_acled
    statuses = re.findall(r"`kg:(\w+)` \((?:notation )?`(\w+)`\)", model_section("Classes"))
    assert len(statuses) == 2
    for name, notation in statuses:
        assert (KG[name], RDF.type, KG.AttackStatus) in ontology
        assert [str(o) for o in ontology.objects(KG[name], SKOS.notation)] == [notation]


@pytest.mark.parametrize(
    ("sub", "sup"),
    [
        (KG.sourceArticle, PROV.wasDerivedFrom),
        (KG.inArticle, KG.sourceArticle),
        (KG.partOf, KG.locatedIn),
        (KG.locatedIn, GEO.sfWithin),
        (KG.memberOf, KG.affiliatedWith),
        (KG.location, KG.occurredIn),
        (KG.occurredIn, SEM.hasPlace),
        (KG.perpetrator, SEM.hasActor),
        (KG.date, SEM.hasTimeStamp),
    ],
)
def test_ontology_aligns_properties(ontology: Graph, sub: URIRef, sup: URIRef) -> None:
    assert (sub, RDFS.subPropertyOf, sup) in ontology


def test_ontology_launch_site_is_not_a_place_of_occurrence(ontology: Graph) -> None:
    assert not list(ontology.objects(KG.launchSite, RDFS.subPropertyOf))


def test_ontology_property_characteristics(ontology: Graph) -> None:
    assert (KG.partOf, RDF.type, OWL.TransitiveProperty) in ontology
    assert (KG.locatedIn, RDF.type, OWL.TransitiveProperty) in ontology
    assert (KG.affiliatedWith, RDF.type, OWL.SymmetricProperty) in ontology
    assert (KG.hasMention, OWL.inverseOf, KG.refersTo) in ontology
    assert (KG.hasReport, OWL.inverseOf, KG.reportOf) in ontology
    assert (KG.datePrecision, RDFS.range, TIME.TemporalUnit) in ontology
    functional = set(ontology.subjects(RDF.type, OWL.FunctionalProperty))
    assert not functional, "functional properties make OWL RL merge nodes (owl:sameAs); use shapes"


def test_ontology_property_chains(ontology: Graph) -> None:
    chains = {
        (prop, tuple(Collection(ontology, head)))
        for prop, head in ontology.subject_objects(OWL.propertyChainAxiom)
    }
    assert chains == {
        (KG.occurredIn, (KG.occurredIn, KG.locatedIn)),
        (KG.occurredIn, (KG.target, KG.locatedIn)),
        (KG.attributedTo, (KG.hasAttribution, KG.accused)),
    }


def test_ontology_target_has_no_range(ontology: Graph) -> None:
    # A target is a place or an actor: any range would mistype one of them.
    assert not list(ontology.objects(KG.target, RDFS.range))


def test_ontology_declares_the_external_terms_it_uses(ontology: Graph) -> None:
    referenced = {
        o
        for p in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range)
        for o in ontology.objects(None, p)
        if isinstance(o, URIRef) and not str(o).startswith((str(KG._NS), XSD_NS))
    }
    assert referenced, "no external term referenced: alignment missing?"
    undeclared = {term for term in referenced if not list(ontology.objects(term, RDF.type))}
    assert undeclared == set()
