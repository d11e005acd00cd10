"""Reasoning: the useful inferences are made, the noise is left out, by either engine.

Every behaviour test runs once per engine (``engine`` fixture): owlrl, the
reference, and ``materialise``, the fast forward chainer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL
from rdflib.plugins.sparql import prepareQuery

from kg import resources
from kg.errors import UsageError
from kg.ns import GEO, KG, KGR, PROV, SEM
from kg.reason import Engine, closure, materialise, reason
from kg.validate import validate

FIXTURES = Path(__file__).parent / "fixtures" / "reason"

GREEN_ZONE_ROCKETS = KGR["event/green-zone-rockets"]
EMBASSY_DRONE = KGR["event/embassy-drone"]
REPORT = KGR["report/green-zone-rockets/000-05fd15ee24b99819"]
MENTION = KGR["mention/000-05fd15ee24b99819/120-167"]
ARTICLE = KGR["article/000-05fd15ee24b99819"]
IRAQ, BAGHDAD, GREEN_ZONE, DORA = (
    KGR[f"entity/{slug}"] for slug in ("iraq", "baghdad", "green-zone", "dora")
)
EMBASSY = KGR["entity/us-embassy-baghdad"]
KATAIB_HEZBOLLAH = KGR["entity/kataib-hezbollah"]
PMF = KGR["entity/popular-mobilization-forces"]
XSD_GYEARMONTH = URIRef("http://www.w3.org/2001/XMLSchema#gYearMonth")


@pytest.fixture(scope="module")
def data() -> Graph:
    return Graph().parse(FIXTURES / "green-zone.ttl", format="turtle")


@pytest.fixture(scope="module", params=list(Engine), ids=str)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.param


@pytest.fixture(scope="module")
def inferred(data: Graph, engine: Engine) -> Graph:
    return reason(data, engine=engine)


@pytest.mark.parametrize("place", [GREEN_ZONE, BAGHDAD, IRAQ])
def test_reason_location_implies_occurred_in_every_containing_place(inferred: Graph, place: URIRef) -> None:
    assert (GREEN_ZONE_ROCKETS, KG.occurredIn, place) in inferred
    assert (GREEN_ZONE_ROCKETS, SEM.hasPlace, place) in inferred


@pytest.mark.parametrize("place", [GREEN_ZONE, BAGHDAD, IRAQ])
def test_reason_target_located_in_a_place_implies_occurred_in(inferred: Graph, place: URIRef) -> None:
    assert (EMBASSY_DRONE, KG.occurredIn, place) in inferred


def test_reason_launch_site_is_not_where_the_attack_occurred(inferred: Graph) -> None:
    assert (GREEN_ZONE_ROCKETS, KG.occurredIn, DORA) not in inferred
    assert (EMBASSY_DRONE, KG.occurredIn, EMBASSY) not in inferred  # a target is not a place it occurred in


def test_reason_attribution_chain_gives_attributed_to(inferred: Graph) -> None:
    assert set(inferred.objects(GREEN_ZONE_ROCKETS, KG.attributedTo)) == {KATAIB_HEZBOLLAH}
    assert not list(inferred.objects(EMBASSY_DRONE, KG.attributedTo))


def test_reason_place_hierarchy_is_transitive(inferred: Graph) -> None:
    assert (GREEN_ZONE, KG.partOf, IRAQ) in inferred
    assert (GREEN_ZONE, KG.locatedIn, BAGHDAD) in inferred
    assert (EMBASSY, KG.locatedIn, IRAQ) in inferred
    assert (EMBASSY, GEO.sfWithin, BAGHDAD) in inferred


def test_reason_affiliation_is_symmetric(inferred: Graph) -> None:
    assert (KATAIB_HEZBOLLAH, KG.affiliatedWith, PMF) in inferred
    assert (PMF, KG.affiliatedWith, KATAIB_HEZBOLLAH) in inferred


def test_reason_adds_superclasses_and_provenance(inferred: Graph) -> None:
    assert (GREEN_ZONE_ROCKETS, RDF.type, KG.Event) in inferred
    assert (GREEN_ZONE_ROCKETS, RDF.type, SEM.Event) in inferred
    assert (EMBASSY, RDF.type, KG.Place) in inferred
    assert (EMBASSY, RDF.type, GEO.Feature) in inferred
    assert (GREEN_ZONE_ROCKETS, PROV.wasDerivedFrom, ARTICLE) in inferred
    assert (MENTION, KG.sourceArticle, ARTICLE) in inferred  # inArticle is a sourceArticle


def test_reason_does_not_mistype_reports_mentions_or_articles(data: Graph, engine: Engine) -> None:
    full = closure(data, engine=engine)
    for node in (REPORT, MENTION, ARTICLE):
        types = set(full.objects(node, RDF.type))
        assert not types & {KG.Event, KG.Attack, KG.Place, KG.Actor}, (node, types)


def test_reason_output_holds_no_input_triple(data: Graph, inferred: Graph) -> None:
    assert len(inferred) > 0
    assert set(inferred) & set(data) == set()


def test_reason_output_holds_no_ontology_or_axiomatic_triple(inferred: Graph) -> None:
    ontology = resources.ontology()
    ontology_subjects = set(ontology.subjects())
    for s, p, o in inferred:
        assert (s, p, o) not in ontology
        assert isinstance(s, URIRef) and not isinstance(o, BNode), (s, p, o)
        assert s not in ontology_subjects and not str(s).startswith(str(KG._NS)), (s, p, o)
        assert str(s).startswith(str(KGR)), (s, p, o)
        if p == RDF.type:
            assert not str(o).startswith((str(OWL), "http://www.w3.org/2000/01/rdf-schema#")), (s, p, o)
        assert not (p == OWL.sameAs and s == o), (s, p, o)


def test_reason_literal_values_are_given_values_under_a_super_property(data: Graph, inferred: Graph) -> None:
    literal_triples = [(s, p, o) for s, p, o in inferred if isinstance(o, Literal)]
    assert (REPORT, SEM.hasTimeStamp, Literal("2022-01", datatype=XSD_GYEARMONTH)) in literal_triples
    for s, _, o in literal_triples:  # no re-typed or re-spelled copies of literals
        assert o in set(data.objects(s, None)), (s, o)


def test_reason_does_not_modify_its_input(data: Graph, engine: Engine) -> None:
    before = set(data)
    reason(data, engine=engine)
    assert set(data) == before


def test_reason_closure_is_input_plus_inferred(data: Graph, inferred: Graph, engine: Engine) -> None:
    full = closure(data, engine=engine)
    assert set(full) == set(data) | set(inferred)


def test_reason_closure_answers_attacks_in_baghdad(data: Graph, engine: Engine) -> None:
    query = prepareQuery((FIXTURES / "attacks-in-place.rq").read_text(encoding="utf-8"))
    before = [row.attack for row in data.query(query, initBindings={"place": BAGHDAD})]
    full = closure(data, engine=engine)
    after = [row.attack for row in full.query(query, initBindings={"place": BAGHDAD})]
    assert before == []
    assert after == [EMBASSY_DRONE, GREEN_ZONE_ROCKETS]


def test_reason_closure_still_conforms(data: Graph, engine: Engine) -> None:
    assert validate(data).conforms
    report = validate(closure(data, engine=engine))
    assert report.conforms, report.text()


def test_reason_reads_the_union_of_a_dataset(data: Graph, inferred: Graph, engine: Engine) -> None:
    dataset = Dataset()
    for s, p, o in data:
        name = "graph/events" if str(s).startswith(str(KGR["event/"])) else "graph/gazetteer"
        dataset.graph(KGR[name]).add((s, p, o))
    assert set(reason(dataset, engine=engine)) == set(inferred)
    assert set(closure(dataset, engine=engine)) == set(data) | set(inferred)


def test_reason_of_an_empty_graph_is_empty(engine: Engine) -> None:
    assert len(reason(Graph(), engine=engine)) == 0


def test_reason_engines_agree_on_the_fixture(data: Graph) -> None:
    assert set(reason(data, engine="fast")) == set(reason(data, engine="owlrl"))


def test_reason_default_engine_is_owlrl(data: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> Graph:
        raise AssertionError("the default engine must not call materialise")

    monkeypatch.setattr("kg.reason.materialise", fail)
    assert len(reason(data)) > 0
    assert len(closure(data)) > len(data)


def test_reason_fast_engine_is_materialise(data: Graph) -> None:
    assert set(reason(data, engine=Engine.FAST)) == set(materialise(data))


@pytest.mark.parametrize("call", [reason, closure], ids=["reason", "closure"])
def test_reason_unknown_engine_lists_the_choices(data: Graph, call) -> None:
    with pytest.raises(UsageError, match="unknown reasoning engine 'pellet'; expected one of: owlrl, fast"):
        call(data, engine="pellet")
