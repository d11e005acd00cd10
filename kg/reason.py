"""OWL RL reasoning over a kg graph, keeping only what is new and worth storing.

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
and ``closure`` returns input plus those.
"""

from __future__ import annotations

import logging

import owlrl
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS, XSD
from rdflib.term import Node

from kg import resources
from kg.ns import PREFIXES, bind_prefixes
from kg.store import flatten

__all__ = ["closure", "reason"]

log = logging.getLogger(__name__)

Triple = tuple[Node, Node, Node]

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


def reason(data: Graph) -> Graph:
    """Run the OWL RL closure of data + ontology and return only the useful new triples.

    Args:
        data: the graph to reason over (a ``Dataset``/``ConjunctiveGraph``
            counts as the union of its graphs). It is not modified.

    Returns:
        A new graph with the inferred triples that are not in ``data``, are
        about data nodes (IRIs outside the vocabularies) and are not
        axiomatic noise (see ``_is_useful``).

    >>> len(reason(Graph()))
    0
    """
    given = flatten(data)
    ontology = resources.ontology()
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


def closure(data: Graph) -> Graph:
    """The input triples plus the useful inferred ones (``reason``), in one new graph.

    Args:
        data: the graph to reason over (a ``Dataset`` counts as the union of
            its graphs: the result is a plain graph). It is not modified.

    Returns:
        A new graph: every triple of ``data`` and every triple of ``reason(data)``.
    """
    result = flatten(data)
    bind_prefixes(result)
    result += reason(data)
    return result


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
    if not isinstance(s, URIRef) or isinstance(o, BNode):
        return False
    if s in ontology_subjects or str(s).startswith(_VOCABULARY_NAMESPACES):
        return False
    if p == RDF.type and str(o).startswith(_META_TYPE_NAMESPACES):
        return False
    if p == OWL.sameAs and s == o:
        return False
    if isinstance(o, Literal):
        return not any(o.eq(existing) for existing in given.objects(s, p) if isinstance(existing, Literal))
    return True


def _log_inconsistencies(graph: Graph) -> None:
    for error in graph.subjects(RDF.type, _OWLRL_ERROR):
        for message in graph.objects(error, _OWLRL_ERROR_TEXT):
            log.warning("OWL RL inconsistency: %s", message)
