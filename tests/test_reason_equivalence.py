"""The fast engine (``materialise``) against the owlrl reference.

``materialise`` is only worth having if it is a drop-in replacement: on the
seed build both engines must give every stored query the same rows, and on
tiny hand-written ontologies each rule kind must infer what OWL RL infers,
nothing more and nothing already stated.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from kg import queries
from kg.queries import StoredQuery
from kg.reason import Engine, closure, materialise, reason
from kg.store import flatten, load

# A value present in the seed build for every parameter name a stored query
# may declare; a query with a parameter missing here fails loudly below.
SEED_PARAMS: dict[str, str] = {
    "place": "baghdad",
    "entity": "us-embassy-baghdad",
    "accused": "iran-backed-militias",
    "group": "islamic-resistance-in-iraq",
    "kind": "rocket",
    "year": "2020",
    "since": "2020-01",
    "until": "2020-12",
}

STORED_QUERIES: list[StoredQuery] = queries.list_queries()

Rows = list[tuple[str, ...]]


@pytest.fixture(scope="module")
def seed_data(seed_graph_file: Path) -> Dataset:
    return load(seed_graph_file)


@pytest.fixture(scope="module")
def seed_closures(seed_data: Dataset) -> dict[Engine, Graph]:
    return {engine: closure(seed_data, engine=engine) for engine in Engine}


def _rows(data: Graph, query: StoredQuery, params: dict[str, str]) -> Rows:
    result = queries.run(data, query, params)
    return sorted(tuple(str(row.get(name, "")) for name in result.variables) for row in result.rows)


def _param_sets(query: StoredQuery) -> list[dict[str, str]]:
    """The required parameters only, and then every parameter (when the query has optional ones)."""
    missing = [p.name for p in query.params if p.name not in SEED_PARAMS]
    assert not missing, f"{query.name}: add a seed value for parameter(s) {missing} to SEED_PARAMS"
    required = {p.name: SEED_PARAMS[p.name] for p in query.params if p.required}
    every = {p.name: SEED_PARAMS[p.name] for p in query.params}
    return [required, every] if every != required else [required]


def test_reason_equivalence_compares_every_stored_query() -> None:
    assert len(STORED_QUERIES) >= 12
    assert len({query.name for query in STORED_QUERIES}) == len(STORED_QUERIES)


@pytest.mark.parametrize("query", STORED_QUERIES, ids=lambda query: query.name)
def test_reason_equivalence_stored_query_answers_match_owlrl(
    seed_closures: dict[Engine, Graph], query: StoredQuery
) -> None:
    for params in _param_sets(query):
        reference = _rows(seed_closures[Engine.OWLRL], query, params)
        fast = _rows(seed_closures[Engine.FAST], query, params)
        only_reference = sorted(set(reference) - set(fast))[:5]
        only_fast = sorted(set(fast) - set(reference))[:5]
        assert fast == reference, f"{query.name} {params}: owlrl only {only_reference}, fast only {only_fast}"


def test_reason_equivalence_inference_changes_some_answers(
    seed_data: Dataset, seed_closures: dict[Engine, Graph]
) -> None:
    """Without this the comparison above could pass on two closures that inferred nothing."""
    changed = [
        query.name
        for query in STORED_QUERIES
        for params in _param_sets(query)
        if _rows(seed_data, query, params) != _rows(seed_closures[Engine.FAST], query, params)
    ]
    assert "entity-facts" in changed


def test_reason_equivalence_same_triples_on_the_seeds(
    seed_data: Dataset, seed_closures: dict[Engine, Graph]
) -> None:
    fast, reference = set(seed_closures[Engine.FAST]), set(seed_closures[Engine.OWLRL])
    assert len(fast) > len(flatten(seed_data)) + 500
    assert fast == reference, (sorted(reference - fast)[:10], sorted(fast - reference)[:10])


# ---------------------------------------------------------------- one rule kind at a time

PREFIXES = """
@prefix : <http://example.org/onto#> .
@prefix d: <http://example.org/data/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# (ontology, data, triples that must be inferred), all in Turtle.
RULE_CASES: dict[str, tuple[str, str, str]] = {
    "subclass-chain": (
        ":A rdfs:subClassOf :B . :B rdfs:subClassOf :C .",
        "d:x a :A .",
        "d:x a :B, :C .",
    ),
    "equivalent-class": (
        ":A owl:equivalentClass :B . :B rdfs:subClassOf :C .",
        "d:x a :A . d:y a :B .",
        "d:x a :B, :C . d:y a :A, :C .",
    ),
    "subproperty-chain": (
        ":p a owl:ObjectProperty ; rdfs:subPropertyOf :q . :q a owl:ObjectProperty ; rdfs:subPropertyOf :r .",
        'd:x :p d:y . d:x :p "text" .',
        'd:x :q d:y, "text" ; :r d:y, "text" .',
    ),
    "equivalent-property": (
        ":p a owl:ObjectProperty ; owl:equivalentProperty :q . :q a owl:ObjectProperty .",
        "d:x :p d:y . d:z :q d:w .",
        "d:x :q d:y . d:z :p d:w .",
    ),
    "inverse": (
        ":p a owl:ObjectProperty ; owl:inverseOf :q . :q a owl:ObjectProperty .",
        "d:x :p d:y . d:z :q d:w .",
        "d:y :q d:x . d:w :p d:z .",
    ),
    "inverse-of-a-subproperty": (
        ":p rdfs:subPropertyOf :q . :q owl:inverseOf :r .",
        "d:x :p d:y .",
        "d:x :q d:y . d:y :r d:x .",
    ),
    "symmetric": (
        ":s a owl:ObjectProperty, owl:SymmetricProperty . :m rdfs:subPropertyOf :s .",
        "d:a :s d:b . d:c :m d:d .",
        "d:b :s d:a . d:c :s d:d . d:d :s d:c .",
    ),
    "transitive": (
        ":t a owl:ObjectProperty, owl:TransitiveProperty .",
        "d:a :t d:b . d:b :t d:c . d:c :t d:d .",
        "d:a :t d:c, d:d . d:b :t d:d .",
    ),
    "transitive-subproperty": (
        ":part a owl:TransitiveProperty ; rdfs:subPropertyOf :in . :in a owl:TransitiveProperty .",
        "d:a :part d:b . d:b :part d:c . d:c :in d:d .",
        "d:a :part d:c ; :in d:b, d:c, d:d . d:b :in d:c, d:d .",
    ),
    "chain": (
        ":q owl:propertyChainAxiom ( :p1 :p2 ) .",
        "d:x :p1 d:y . d:y :p2 d:z . d:y :p2 d:w . d:u :p1 d:v .",
        "d:x :q d:z, d:w .",
    ),
    "chain-of-three": (
        ":q owl:propertyChainAxiom ( :p1 :p2 :p3 ) .",
        "d:a :p1 d:b . d:b :p2 d:c . d:c :p3 d:d . d:c :p3 d:e . d:b :p3 d:f .",
        "d:a :q d:d, d:e .",
    ),
    "recursive-chain-over-a-transitive-property": (
        ":in a owl:TransitiveProperty . :at rdfs:subPropertyOf :occurred ."
        " :occurred owl:propertyChainAxiom ( :occurred :in ) , ( :aims :in ) .",
        "d:e :at d:zone . d:zone :in d:city . d:city :in d:country ."
        " d:f :aims d:embassy . d:embassy :in d:zone .",
        "d:e :occurred d:zone, d:city, d:country . d:f :occurred d:zone, d:city, d:country .",
    ),
    "domain-and-range": (
        ":p rdfs:domain :D ; rdfs:range :R . :R rdfs:subClassOf :R2 . :sub rdfs:subPropertyOf :p .",
        "d:x :p d:y . d:u :sub d:v .",
        "d:x a :D . d:y a :R, :R2 . d:u :p d:v ; a :D . d:v a :R, :R2 .",
    ),
    "range-never-types-a-literal": (
        ":n a owl:DatatypeProperty ; rdfs:domain :D ; rdfs:range xsd:integer .",
        "d:x :n 4 .",
        "d:x a :D .",
    ),
    "nothing-already-stated": (
        ":A rdfs:subClassOf :B . :B rdfs:subClassOf :C . :t a owl:TransitiveProperty .",
        "d:x a :A, :B . d:a :t d:b . d:b :t d:c . d:a :t d:c .",
        "d:x a :C .",
    ),
}


def _turtle(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_reason_equivalence_rule_kind_matches_owlrl(case: str) -> None:
    ontology_text, data_text, expected_text = RULE_CASES[case]
    ontology, data, expected = _turtle(ontology_text), _turtle(data_text), _turtle(expected_text)
    fast = set(materialise(data, ontology))
    assert set(expected) <= fast, sorted(set(expected) - fast)
    assert not fast & set(data)
    assert fast == set(reason(data, engine=Engine.OWLRL, ontology=ontology))


def test_reason_equivalence_nothing_already_stated_is_exact() -> None:
    ontology_text, data_text, expected_text = RULE_CASES["nothing-already-stated"]
    assert set(materialise(_turtle(data_text), _turtle(ontology_text))) == set(_turtle(expected_text))


def test_reason_equivalence_schema_triples_in_the_data_are_used() -> None:
    ontology = _turtle(":A rdfs:subClassOf :B .")
    data = _turtle(":B rdfs:subClassOf :C . d:x a :A .")
    assert set(materialise(data, ontology)) == set(_turtle("d:x a :B, :C ."))


def test_reason_equivalence_reads_every_graph_of_a_dataset() -> None:
    ontology = _turtle(":q owl:propertyChainAxiom ( :p1 :p2 ) .")
    dataset = Dataset()
    for (s, p, o), name in zip(_turtle("d:x :p1 d:y . d:y :p2 d:z ."), ("one", "two"), strict=True):
        dataset.graph(f"http://example.org/graph/{name}").add((s, p, o))
    assert set(materialise(dataset, ontology)) == set(_turtle("d:x :q d:z ."))


def test_reason_equivalence_compiles_an_ontology_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.reason

    ontology = _turtle(":A rdfs:subClassOf :B .")
    calls: list[Graph] = []
    compile_ontology = kg.reason._compile
    monkeypatch.setattr(kg.reason, "_compile", lambda graph: calls.append(graph) or compile_ontology(graph))
    for _ in range(3):
        materialise(_turtle("d:x a :A ."), ontology)
    assert calls == [ontology]
    ontology.parse(data=PREFIXES + ":B rdfs:subClassOf :C .", format="turtle")  # changed: compiled again
    assert set(materialise(_turtle("d:x a :A ."), ontology)) == set(_turtle("d:x a :B, :C ."))
    assert len(calls) == 2


def test_reason_equivalence_warns_about_axioms_it_ignores(caplog: pytest.LogCaptureFixture) -> None:
    ontology = _turtle(
        ":f a owl:FunctionalProperty . :A rdfs:subClassOf [ owl:onProperty :f ; owl:hasValue 1 ] ."
    )
    with caplog.at_level(logging.WARNING, logger="kg.reason"):
        materialise(_turtle("d:x :f d:y ."), ontology)
    assert "owl:FunctionalProperty (1)" in caplog.text
    assert "rdfs:subClassOf with a class expression (1)" in caplog.text


def test_reason_equivalence_kg_ontology_has_no_ignored_axioms(caplog: pytest.LogCaptureFixture) -> None:
    """Every axiom of ontology/ is one the fast engine applies, or the engines could disagree."""
    from kg import resources
    from kg.reason import _compile

    with caplog.at_level(logging.WARNING, logger="kg.reason"):
        _compile(resources.ontology())
    assert "ignores" not in caplog.text
