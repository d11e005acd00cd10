"""Reasoning over a kg graph, keeping only what is new and worth storing.

The ontology is written so that a few inferences answer real questions: a
transitive ``kg:partOf``/``kg:locatedIn`` and the property chains on
``kg:occurredIn`` let a query for "attacks in Baghdad" find rockets that hit
the Green Zone or targeted the embassy in it; the chain through
``kg:hasAttribution`` gives ``kg:attributedTo``; sub-properties and
sub-classes give the SEM, PROV-O and GeoSPARQL views of the same facts. But a
raw OWL RL closure (owlrl) is mostly noise: it repeats the ontology, adds
axiomatic triples about RDF/OWL itself, types every node ``owl:Thing``, makes
every node ``owl:sameAs`` itself and types literals with their datatypes.
Written next to the data that would triple the file and bury the useful
inferences, so ``reason`` returns only the new triples about data nodes,
and ``closure`` returns input plus those. owlrl is also superlinear (tens of
seconds at 100k triples) because it computes all of that noise first, so
``materialise`` is a second engine: the ontology is compiled once into plain
lookup tables holding exactly the entailments it declares (sub-class,
sub-property, inverse, symmetric, transitive, property chains, domain, range,
equivalences), and a semi-naive forward chainer applies them to a fixpoint.
owlrl stays the reference implementation: both engines must give every
stored query the same answers (``tests/test_reason_equivalence.py``).
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import owlrl
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, SKOS, XSD
from rdflib.term import Node

from kg import resources
from kg.errors import choice
from kg.ns import PREFIXES, bind_prefixes
from kg.store import all_triples, flatten

__all__ = ["Engine", "closure", "materialise", "reason"]

log = logging.getLogger(__name__)

Triple = tuple[Node, Node, Node]


class Engine(StrEnum):
    """How inferences are computed: owlrl's full OWL RL closure (the reference) or ``materialise``."""

    OWLRL = "owlrl"
    FAST = "fast"


# Subjects in these namespaces are vocabulary terms, not data: whatever the
# closure says about them is ontology echo. (kgr:, the data namespace, is the
# one project namespace that is not listed.)
_VOCABULARY_NAMESPACES: tuple[str, ...] = (
    *(str(ns) for prefix, ns in PREFIXES.items() if prefix != "kgr"),
    str(RDF),
    str(RDFS),
    str(OWL),
    str(XSD),
    str(SKOS),
    str(DCTERMS),
    "http://www.w3.org/ns/shacl#",
)

# rdf:type objects that say nothing about the domain (owl:Thing, rdfs:Resource,
# owl:NamedIndividual, owl:Class, ...): every type from these namespaces.
_META_TYPE_NAMESPACES: tuple[str, ...] = (str(RDF), str(RDFS), str(OWL))

# owlrl records inconsistencies as blank nodes typed with this class.
_OWLRL_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#ErrorMessage")
_OWLRL_ERROR_TEXT = URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")

# The RDFS/OWL terms ``materialise`` understands. They are the engine's own
# rule vocabulary, not ontology content: which classes and properties the
# rules apply to is read from the ontology graph.
_AXIOM_PREDICATES: frozenset[Node] = frozenset(
    {
        RDFS.subClassOf,
        RDFS.subPropertyOf,
        RDFS.domain,
        RDFS.range,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        OWL.inverseOf,
        OWL.propertyChainAxiom,
    }
)
_PROPERTY_CHARACTERISTICS: frozenset[Node] = frozenset({OWL.SymmetricProperty, OWL.TransitiveProperty})
_RDF_TYPE = RDF.type
_OWL_SAME_AS = OWL.sameAs
_SCHEMA_PREDICATES: frozenset[Node] = _AXIOM_PREDICATES | {_RDF_TYPE}
# OWL terms that declare or annotate without licensing any triple about data
# nodes that ``reason`` would keep; every other OWL term in an ontology is
# reported as ignored by ``materialise``.
_INERT_OWL_TERMS: frozenset[Node] = frozenset(
    {
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.NamedIndividual,
        OWL.Ontology,
        OWL.Thing,
        OWL.versionInfo,
        OWL.versionIRI,
        OWL.priorVersion,
        OWL.imports,
        OWL.deprecated,
    }
)


def reason(data: Graph, *, engine: Engine | str = Engine.OWLRL, ontology: Graph | None = None) -> Graph:
    """Reason over data + ontology and return only the useful new triples.

    Args:
        data: the graph to reason over (a ``Dataset``/``ConjunctiveGraph``
            counts as the union of its graphs). It is not modified.
        engine: ``owlrl`` runs owlrl's OWL RL closure, the reference;
            ``fast`` runs ``materialise``, which gives the same useful triples
            for the kg ontology in a fraction of the time.
        ontology: the TBox; the kg ontology when None.

    Returns:
        A new graph with the inferred triples that are not in ``data``, are
        about data nodes (IRIs outside the vocabularies) and are not
        axiomatic noise (see ``_is_useful``).

    Raises:
        UsageError: unknown engine.

    >>> len(reason(Graph()))
    0
    """
    if _engine(engine) is Engine.FAST:
        return materialise(data, ontology)
    given = flatten(data)
    ontology = resources.ontology() if ontology is None else ontology
    work = Graph()
    work += given
    work += ontology
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(work)
    _log_inconsistencies(work)

    ontology_subjects = set(ontology.subjects())
    inferred = Graph()
    bind_prefixes(inferred)
    for triple in work:
        if triple not in given and _is_useful(triple, given, ontology_subjects):
            inferred.add(triple)
    return inferred


def closure(data: Graph, *, engine: Engine | str = Engine.OWLRL, ontology: Graph | None = None) -> Graph:
    """The input triples plus the useful inferred ones (``reason``), in one new graph.

    Args:
        data: the graph to reason over (a ``Dataset`` counts as the union of
            its graphs: the result is a plain graph). It is not modified.
        engine: ``owlrl`` (reference) or ``fast`` (``materialise``), as for ``reason``.
        ontology: the TBox; the kg ontology when None.

    Returns:
        A new graph: every triple of ``data`` and every triple of ``reason(data)``.

    Raises:
        UsageError: unknown engine.
    """
    engine = _engine(engine)
    result = flatten(data)
    bind_prefixes(result)
    result += reason(data, engine=engine, ontology=ontology)
    return result


def _engine(engine: Engine | str) -> Engine:
    return choice(Engine, engine, "reasoning engine")


def _is_useful(triple: Triple, given: Graph, ontology_subjects: set[Node]) -> bool:
    """Whether an inferred triple is worth keeping.

    Dropped: triples whose subject is a literal or blank node (owlrl's
    literal proxies and restriction nodes), whose object is a blank node (the
    model has none), whose subject is an ontology or vocabulary term,
    ``rdf:type`` to RDF/RDFS/OWL meta classes, ``x owl:sameAs x``, and a
    literal value equal to one already given for the same subject and
    property (a datatype re-spelling).
    """
    s, p, o = triple
    if not _is_about_data(triple, ontology_subjects):
        return False
    if isinstance(o, Literal):
        return not any(o.eq(existing) for existing in given.objects(s, p) if isinstance(existing, Literal))
    return True


def _is_about_data(triple: Triple, ontology_subjects: set[Node] | frozenset[Node]) -> bool:
    """``_is_useful`` without the literal re-spelling check, which needs the input graph."""
    s, p, o = triple
    if not isinstance(s, URIRef) or isinstance(o, BNode):
        return False
    if s in ontology_subjects or str(s).startswith(_VOCABULARY_NAMESPACES):
        return False
    if p == _RDF_TYPE and str(o).startswith(_META_TYPE_NAMESPACES):  # rdflib's startswith takes no tuple
        return False
    return not (p == _OWL_SAME_AS and s == o)


def _log_inconsistencies(graph: Graph) -> None:
    for error in graph.subjects(RDF.type, _OWLRL_ERROR):
        for message in graph.objects(error, _OWLRL_ERROR_TEXT):
            log.warning("OWL RL inconsistency: %s", message)


# ---------------------------------------------------------------- fast engine


_Chain = tuple[int, tuple[Node, ...], Node]


@dataclass(frozen=True, slots=True)
class _PropertyRules:
    """What one triple with this predicate entails; looked up once per triple.

    Attributes:
        supers: every strict super-property (``rdfs:subPropertyOf``, ``owl:equivalentProperty``).
        inverses: its inverses (``owl:inverseOf``, read both ways).
        symmetric: an ``owl:SymmetricProperty``.
        transitive: an ``owl:TransitiveProperty``.
        domains: classes of its subjects, with their super-classes.
        ranges: classes of its non-literal objects, with their super-classes.
        chains: ``(position, chain, implied)`` for every property chain it occurs in.
        joined: transitive or in a chain: its triples are indexed for joins.
        types: the predicate is ``rdf:type``: the object's super-classes apply.
    """

    supers: tuple[Node, ...] = ()
    inverses: tuple[Node, ...] = ()
    symmetric: bool = False
    transitive: bool = False
    domains: tuple[Node, ...] = ()
    ranges: tuple[Node, ...] = ()
    chains: tuple[_Chain, ...] = ()
    joined: bool = False
    types: bool = False


@dataclass(frozen=True)
class _Rules:
    """An ontology compiled into lookup tables.

    The tables are closed where that saves fixpoint rounds: super-classes and
    super-properties hold all strict ancestors, and domain and range classes
    come with their super-classes.

    Attributes:
        properties: predicate -> its rules; predicates with no rule are absent.
        super_classes: class -> every strict super-class (``rdfs:subClassOf``, ``owl:equivalentClass``).
        ontology_subjects: subjects of the ontology, whose inferred triples are echo.
        facts: ontology triples that rules apply to (typed individuals), seeded with the data.
    """

    properties: dict[Node, _PropertyRules]
    super_classes: dict[Node, tuple[Node, ...]]
    ontology_subjects: frozenset[Node]
    facts: tuple[Triple, ...]


# id(ontology) -> (weak reference to it, its size when compiled, rules).
_COMPILED: dict[int, tuple[weakref.ref[Graph], int, _Rules]] = {}


def materialise(data: Graph, ontology: Graph | None = None) -> Graph:
    """The useful triples the ontology entails from the data, computed by forward chaining.

    Same contract as ``reason``, for the entailments the ontology declares:
    ``rdfs:subClassOf`` (on ``rdf:type``), ``rdfs:subPropertyOf``,
    ``owl:equivalentClass``/``owl:equivalentProperty``, ``owl:inverseOf``,
    ``owl:SymmetricProperty``, ``owl:TransitiveProperty``,
    ``owl:propertyChainAxiom`` (any length), ``rdfs:domain`` and
    ``rdfs:range`` (named classes; literals are never typed). Other OWL
    constructs are reported once with a warning and ignored; use
    ``reason(engine="owlrl")`` for them. Schema triples found in the data
    are honoured too, as owlrl would.

    The ontology is compiled once per graph (cached; do not mutate a graph
    after passing it). Each round joins only the triples the previous round
    derived with everything known (semi-naive evaluation), so the cost grows
    with the size of the input plus the inferences, not with rounds times
    graph size.

    Args:
        data: the graph to reason over (a ``Dataset`` counts as the union of
            its graphs). It is not modified.
        ontology: the TBox; the kg ontology when None.

    Returns:
        A new graph with the inferred triples that are not in ``data``, are
        about data nodes and are not noise (the filter of ``reason``).

    >>> len(materialise(Graph()))
    0
    """
    ontology = resources.ontology() if ontology is None else ontology
    given = set(all_triples(data))
    rules = _compile_cached(ontology)
    schema = [t for t in given if t[1] in _SCHEMA_PREDICATES and _is_schema(t)]
    if schema:
        log.info("materialise: compiling the %d schema triples of the data with the ontology", len(schema))
        extended = Graph()
        extended += ontology
        for triple in schema:
            extended.add(triple)
        rules = _compile(extended)

    derived = _saturate(given, rules)
    useful = [t for t in derived if _is_about_data(t, rules.ontology_subjects)]
    useful = _drop_literal_respellings(useful, given)

    inferred = Graph()
    bind_prefixes(inferred)
    for triple in useful:
        inferred.add(triple)
    return inferred


def _is_schema(triple: Triple) -> bool:
    """An axiom ``materialise`` compiles: an axiom predicate or a property characteristic."""
    return triple[1] != _RDF_TYPE or triple[2] in _PROPERTY_CHARACTERISTICS


def _drop_literal_respellings(triples: list[Triple], given: set[Triple]) -> list[Triple]:
    """Drop ``(s, p, literal)`` if the input has an equal literal under ``(s, p)`` (as ``_is_useful``)."""
    wanted = {(s, p) for s, p, o in triples if isinstance(o, Literal)}
    if not wanted:
        return triples
    existing: dict[tuple[Node, Node], list[Literal]] = defaultdict(list)
    for s, p, o in given:
        if isinstance(o, Literal) and (s, p) in wanted:
            existing[s, p].append(o)
    return [
        (s, p, o)
        for s, p, o in triples
        if not (isinstance(o, Literal) and any(o.eq(known) for known in existing.get((s, p), ())))
    ]


def _saturate(given: set[Triple], rules: _Rules) -> list[Triple]:
    """Apply the rules to a fixpoint; return the derived triples that are not in ``given``.

    Semi-naive: each round only the triples that are new since the last round
    are matched against the rule bodies; joins (transitivity, chains) look up
    their other premises in indexes of everything known so far, including
    the current round's new triples, so no derivation is missed.
    """
    known: set[Triple] = set(given)
    known.update(rules.facts)
    properties = rules.properties
    # property -> subject -> objects, and property -> object -> subjects, for joined properties only.
    forward: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    backward: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    for s, p, o in known:
        rule = properties.get(p)
        if rule is not None and rule.joined:
            forward[p][s].add(o)
            backward[p][o].add(s)

    derived: list[Triple] = []
    delta: list[Triple] = list(known)
    while delta:
        fresh: list[Triple] = []
        for triple in _consequences(delta, rules, forward, backward):
            if triple not in known:
                known.add(triple)
                fresh.append(triple)
                s, p, o = triple
                rule = properties.get(p)
                if rule is not None and rule.joined:
                    forward[p][s].add(o)
                    backward[p][o].add(s)
        derived.extend(fresh)
        delta = fresh
    return derived


def _consequences(
    delta: list[Triple],
    rules: _Rules,
    forward: dict[Node, dict[Node, set[Node]]],
    backward: dict[Node, dict[Node, set[Node]]],
) -> Iterator[Triple]:
    """Every one-step consequence of the ``delta`` triples, with repeats."""
    properties, super_classes = rules.properties, rules.super_classes
    for s, p, o in delta:
        rule = properties.get(p)
        if rule is None:
            continue
        if rule.types:
            for cls in super_classes.get(o, ()):
                yield s, p, cls
        for sup in rule.supers:
            yield s, sup, o
        for inverse in rule.inverses:
            yield o, inverse, s
        if rule.symmetric:
            yield o, p, s
        for cls in rule.domains:
            yield s, _RDF_TYPE, cls
        if rule.ranges and not isinstance(o, Literal):
            for cls in rule.ranges:
                yield o, _RDF_TYPE, cls
        if rule.transitive:
            for after in tuple(forward[p].get(o, ())):
                yield s, p, after
            for before in tuple(backward[p].get(s, ())):
                yield before, p, o
        for position, chain, implied in rule.chains:
            for first, last in _chain_ends(s, o, position, chain, forward, backward):
                yield first, implied, last


def _chain_ends(
    s: Node,
    o: Node,
    position: int,
    chain: tuple[Node, ...],
    forward: dict[Node, dict[Node, set[Node]]],
    backward: dict[Node, dict[Node, set[Node]]],
) -> Iterator[tuple[Node, Node]]:
    """Ends of every path ``x0 chain[0] x1 ... chain[-1] xn`` whose link ``position`` is ``(s, o)``."""
    starts: set[Node] = {s}
    for prop in reversed(chain[:position]):
        index = backward[prop]
        starts = {before for node in starts for before in index.get(node, ())}
        if not starts:
            return
    ends: set[Node] = {o}
    for prop in chain[position + 1 :]:
        index = forward[prop]
        ends = {after for node in ends for after in index.get(node, ())}
        if not ends:
            return
    for first in starts:
        for last in ends:
            yield first, last


def _compile_cached(ontology: Graph) -> _Rules:
    """``_compile`` once per ontology graph object (recompiled if its size changed)."""
    key = id(ontology)
    entry = _COMPILED.get(key)
    if entry is not None:
        ref, size, rules = entry
        if ref() is ontology and size == len(ontology):
            return rules
    rules = _compile(ontology)
    ref = weakref.ref(ontology, lambda _ref, key=key: _COMPILED.pop(key, None))
    _COMPILED[key] = (ref, len(ontology), rules)
    return rules


def _compile(ontology: Graph) -> _Rules:
    """Read the rule tables off the ontology's axioms (see ``_Rules``)."""
    _warn_unsupported(ontology)
    sub_class: dict[Node, set[Node]] = defaultdict(set)
    sub_property: dict[Node, set[Node]] = defaultdict(set)
    for sub, sup in _named_pairs(ontology, RDFS.subClassOf):
        sub_class[sub].add(sup)
    for one, other in _named_pairs(ontology, OWL.equivalentClass):
        sub_class[one].add(other)
        sub_class[other].add(one)
    for sub, sup in _named_pairs(ontology, RDFS.subPropertyOf):
        sub_property[sub].add(sup)
    for one, other in _named_pairs(ontology, OWL.equivalentProperty):
        sub_property[one].add(other)
        sub_property[other].add(one)
    super_classes = _ancestors(sub_class)
    super_properties = _ancestors(sub_property)

    inverses: dict[Node, set[Node]] = defaultdict(set)
    for one, other in _named_pairs(ontology, OWL.inverseOf):
        inverses[one].add(other)
        inverses[other].add(one)

    def with_supers(pairs: Iterable[tuple[Node, Node]]) -> dict[Node, set[Node]]:
        table: dict[Node, set[Node]] = defaultdict(set)
        for prop, cls in pairs:
            table[prop].add(cls)
            table[prop].update(super_classes.get(cls, ()))
        return table

    chains: dict[Node, list[_Chain]] = defaultdict(list)
    for implied, head in ontology.subject_objects(OWL.propertyChainAxiom):
        chain = tuple(Collection(ontology, head))
        if not isinstance(implied, URIRef) or not chain or not all(isinstance(p, URIRef) for p in chain):
            log.warning("materialise: ignoring malformed owl:propertyChainAxiom on %s", implied)
            continue
        for position, prop in enumerate(chain):
            chains[prop].append((position, chain, implied))

    transitive = set(ontology.subjects(RDF.type, OWL.TransitiveProperty))
    symmetric = set(ontology.subjects(RDF.type, OWL.SymmetricProperty))
    domains = with_supers(_named_pairs(ontology, RDFS.domain))
    ranges = with_supers(_named_pairs(ontology, RDFS.range))
    joined = transitive | {prop for uses in chains.values() for _, chain, _ in uses for prop in chain}
    predicates = {*super_properties, *inverses, *chains, *transitive, *symmetric, *domains, *ranges}
    properties = {
        prop: _PropertyRules(
            supers=tuple(super_properties.get(prop, ())),
            inverses=tuple(inverses.get(prop, ())),
            symmetric=prop in symmetric,
            transitive=prop in transitive,
            domains=tuple(domains.get(prop, ())),
            ranges=tuple(ranges.get(prop, ())),
            chains=tuple(chains.get(prop, ())),
            joined=prop in joined,
            types=prop == _RDF_TYPE,
        )
        for prop in predicates | {_RDF_TYPE}
    }
    return _Rules(
        properties=properties,
        super_classes={cls: tuple(supers) for cls, supers in super_classes.items()},
        ontology_subjects=frozenset(ontology.subjects()),
        facts=tuple(
            (s, p, o) for s, p, o in ontology if p in predicates or (p == _RDF_TYPE and o in super_classes)
        ),
    )


def _named_pairs(ontology: Graph, predicate: URIRef) -> Iterator[tuple[Node, Node]]:
    """Subject-object pairs of an axiom predicate between named terms (class expressions are skipped)."""
    for subject, obj in ontology.subject_objects(predicate):
        if isinstance(subject, URIRef) and isinstance(obj, URIRef):
            yield subject, obj


def _ancestors(parents: dict[Node, set[Node]]) -> dict[Node, frozenset[Node]]:
    """Every strict ancestor of each node of a (possibly cyclic) parent relation."""
    result: dict[Node, frozenset[Node]] = {}
    for node in parents:
        seen: set[Node] = set()
        stack = list(parents[node])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(parents.get(current, ()))
        seen.discard(node)
        if seen:
            result[node] = frozenset(seen)
    return result


def _warn_unsupported(ontology: Graph) -> None:
    """Say which OWL axioms of the ontology ``materialise`` does not apply (owlrl would)."""
    ignored: Counter[str] = Counter()
    for s, p, o in ontology:
        if p in _AXIOM_PREDICATES and (isinstance(s, BNode) or isinstance(o, BNode)):
            if p != OWL.propertyChainAxiom:
                ignored[f"{_short(p)} with a class expression"] += 1
        elif str(p).startswith(str(OWL)) and p not in _AXIOM_PREDICATES and p not in _INERT_OWL_TERMS:
            ignored[_short(p)] += 1
        elif (
            p == RDF.type
            and str(o).startswith(str(OWL))
            and o not in _PROPERTY_CHARACTERISTICS
            and o not in _INERT_OWL_TERMS
        ):
            ignored[_short(o)] += 1
    if ignored:
        listed = ", ".join(f"{term} ({count})" for term, count in sorted(ignored.items()))
        log.warning("materialise ignores these ontology axioms: %s; use the owlrl engine for them", listed)


def _short(term: Node) -> str:
    return str(term).replace(str(OWL), "owl:").replace(str(RDFS), "rdfs:")
