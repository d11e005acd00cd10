"""SHACL Core shapes compiled to SPARQL and evaluated by Oxigraph, giving pySHACL's results.

pySHACL walks every focus node and every value in Python: 86 s for a knowledge base of one
million triples, about 50 ms for one arriving article. Most of that work is joins (find the
focus nodes, follow the paths, count values, look up types), which a SPARQL engine does in
native code. So this module keeps pySHACL as the *reference and the parser* and moves the
joins to Oxigraph:

- pySHACL's ``ShapesGraph`` finds the shapes and builds their constraint components, so the
  shapes are read and checked exactly as pySHACL reads them; the components also write the
  results (``make_v_result``: messages, generic messages, report triples) and the report graph
  (``Validator.create_validation_report``), so reports are pySHACL's, term for term.
- Targets, paths, counts (``sh:minCount``/``sh:maxCount``), ``sh:class``, ``sh:hasValue``,
  ``sh:equals``/``sh:disjoint`` and the pairing of values with their focus nodes are SPARQL
  queries (one or two per constraint) over the whole graph at once.
- Checks on a literal's *content* (``sh:datatype`` with pySHACL's ill-typed-literal rule,
  ``sh:in``, ranges, lengths, ``sh:pattern`` with Python's ``re``, ``sh:languageIn``,
  ``sh:nodeKind``) run pySHACL's own component code on the *distinct* values a query returns
  (a few thousand at a million triples), and only the values that fail are joined back to
  their focus nodes. ``sh:lessThan``/``sh:lessThanOrEquals`` are decided by SPARQL where SPARQL
  and pySHACL provably agree (two integers, two strings) and by pySHACL's comparison otherwise;
  ``sh:uniqueLang`` by pySHACL on the nodes that have two literal values or more.
- Logical constraints (``sh:not``/``sh:and``/``sh:or``/``sh:xone``/``sh:node``) are set algebra
  over the nodes that fail each member shape, each member being evaluated once for all value
  nodes (its focus nodes are a sub-query), following pySHACL's conformance rules (a member
  with severity Warning or Info conforms under ``allow_warnings``; ``sh:node`` fails on any
  result of the node shape).

Shapes using anything else (``sh:sparql``, ``sh:qualifiedValueShape``, ``sh:closed``, custom
constraint components, recursive shapes, malformed shapes pySHACL would reject while
validating) are recorded per top-level shape as unsupported; ``kg.validate`` has pySHACL
evaluate those shapes (``CompiledShapes.pruned_shapes``) and merges the two reports.

Terms. Oxigraph rewrites some literals when it stores them (``"3"^^xsd:nonNegativeInteger``
becomes ``"3"^^xsd:integer``; ``"x"^^xsd:string`` and ``"x"`` become one term) where rdflib,
and so pySHACL, keeps them apart. An rdflib graph is therefore loaded with such literals
replaced by *surrogates* (a literal with a private datatype that names the original one), and
blank nodes by private IRIs (SPARQL cannot name a stored blank node in a query); both are
decoded back (literals to the very objects of the graph, whose values depend on the converters
registered when they were made) before any check or report, so pySHACL's code sees what it would see.
A knowledge-base store holds what it holds: its own export is what pySHACL would validate.
The ontology is added to an rdflib graph's in-memory store; on a knowledge-base store, the
ontology triples the store lacks are joined into the queries as ``VALUES`` (or, when a
property path would have to follow them, the store is copied into memory with the ontology).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import logging
import urllib.parse
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from textwrap import indent
from typing import Any

import pyoxigraph as ox
from pyshacl.constraints import CONSTRAINT_PARAMETERS_MAP
from pyshacl.constraints.constraint_component import ConstraintComponent
from pyshacl.constraints.core.cardinality_constraints import (
    MaxCountConstraintComponent,
    MinCountConstraintComponent,
)
from pyshacl.constraints.core.logical_constraints import (
    AndConstraintComponent,
    NotConstraintComponent,
    OrConstraintComponent,
    XoneConstraintComponent,
)
from pyshacl.constraints.core.other_constraints import HasValueConstraintComponent, InConstraintComponent
from pyshacl.constraints.core.property_pair_constraints import (
    DisjointConstraintComponent,
    EqualsConstraintComponent,
    LessThanConstraintComponent,
    LessThanOrEqualsConstraintComponent,
)
from pyshacl.constraints.core.shape_based_constraints import (
    NodeConstraintComponent,
    PropertyConstraintComponent,
)
from pyshacl.constraints.core.string_based_constraints import (
    LanguageInConstraintComponent,
    MaxLengthConstraintComponent,
    MinLengthConstraintComponent,
    PatternConstraintComponent,
    UniqueLangConstraintComponent,
)
from pyshacl.constraints.core.value_constraints import (
    ClassConstraintComponent,
    DatatypeConstraintComponent,
    NodeKindConstraintComponent,
)
from pyshacl.constraints.core.value_range_constraints import (
    MaxExclusiveConstraintComponent,
    MaxInclusiveConstraintComponent,
    MinExclusiveConstraintComponent,
    MinInclusiveConstraintComponent,
)
from pyshacl.consts import SH_detail, SH_Info, SH_Warning
from pyshacl.errors import ConstraintLoadError, ConstraintLoadWarning, ReportableRuntimeError
from pyshacl.pytypes import SHACLExecutor
from pyshacl.shape import Shape as PyShape
from pyshacl.shapes_graph import ShapesGraph
from pyshacl.validator import Validator
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from kg.ns import bind_prefixes
from kg.store import all_triples, flatten

__all__ = [
    "CompiledShapes",
    "SparqlOutcome",
    "UnsupportedShapes",
    "compile_shapes",
    "validate_graph",
    "validate_store",
]

log = logging.getLogger(__name__)

SH = Namespace("http://www.w3.org/ns/shacl#")
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
Triple = tuple[Node, Node, Node]
_PyReport = tuple[str, BNode, list[Any]]  # pySHACL's (text, result node, result triples)

_PRIVATE = "urn:x-kg-shacl-sparql:"
_BNODE = _PRIVATE + "bnode:"  # + the blank node id
_IRI = _PRIVATE + "iri:"  # + an IRI Oxigraph refuses, percent-encoded
_TYPED = _PRIVATE + "typed:"  # datatype of a surrogate literal: + the original datatype, percent-encoded
_LANG = _PRIVATE + "lang:"  # datatype of a surrogate literal: + a language tag Oxigraph refuses
_ILL = _PRIVATE + "ill-typed:"  # datatype of a surrogate literal: + the datatype of an ill-typed literal
_DUMMY_FOCUS = URIRef(_PRIVATE + "focus")
_NO_GRAPH = Graph()  # value components only read the data graph to write results, which a probe does not
_XSD_STRING = str(XSD.string)
_XSD_INTEGER = str(XSD.integer)
_RDF_TYPE = f"<{RDF.type}>"
_ALLOWED_SEVERITIES = frozenset({SH_Warning, SH_Info})  # conform under pySHACL's allow_warnings
_MATERIALISE = 1500  # focus sets up to this size are passed to queries as VALUES, not recomputed
_VALUES_LIMIT = 5000  # bad values joined back with VALUES; beyond this, filtered in Python

# Components whose check looks only at one value node at a time: evaluated by pySHACL on distinct values.
_VALUE_COMPONENTS: tuple[type[ConstraintComponent], ...] = (
    DatatypeConstraintComponent,
    NodeKindConstraintComponent,
    InConstraintComponent,
    MinExclusiveConstraintComponent,
    MinInclusiveConstraintComponent,
    MaxExclusiveConstraintComponent,
    MaxInclusiveConstraintComponent,
    MinLengthConstraintComponent,
    MaxLengthConstraintComponent,
    PatternConstraintComponent,
    LanguageInConstraintComponent,
)
_SUPPORTED: tuple[type[ConstraintComponent], ...] = (
    *_VALUE_COMPONENTS,
    MinCountConstraintComponent,
    MaxCountConstraintComponent,
    ClassConstraintComponent,
    HasValueConstraintComponent,
    EqualsConstraintComponent,
    DisjointConstraintComponent,
    LessThanConstraintComponent,
    LessThanOrEqualsConstraintComponent,
    UniqueLangConstraintComponent,
    PropertyConstraintComponent,
    NodeConstraintComponent,
    NotConstraintComponent,
    AndConstraintComponent,
    OrConstraintComponent,
    XoneConstraintComponent,
)


class UnsupportedShapes(Exception):
    """Shapes that use SHACL features this compiler does not translate (pySHACL must evaluate them).

    Attributes:
        reasons: top-level shape -> what it uses that is not compiled (e.g. ``sh:sparql``).
    """

    def __init__(self, reasons: dict[Node, str]) -> None:
        self.reasons = dict(reasons)
        listed = "; ".join(f"{shape}: {why}" for shape, why in sorted(self.reasons.items(), key=str))
        super().__init__(f"shapes not compiled to SPARQL: {listed}")


class UnencodableData(ValueError):
    """The data holds a term Oxigraph cannot store (text that is not Unicode); pySHACL must judge it."""


class _Unsupported(Exception):
    """Raised while compiling one shape; becomes an entry of ``CompiledShapes.unsupported``."""


# ---------------------------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class _Path:
    """A SHACL property path, as pySHACL follows it.

    ``kind`` is ``iri``, ``seq``, ``alt``, ``inv``, ``*``, ``+`` or ``?``. pySHACL inverts a
    sequence step by step without reversing it (``[sh:inversePath (a b)]`` is ``^a/^b``); the
    patterns below do the same, so that value nodes are the ones pySHACL finds.
    """

    kind: str
    iri: URIRef | None = None
    items: tuple[_Path, ...] = ()

    def predicates(self) -> set[URIRef]:
        if self.iri is not None:
            return {self.iri}
        return {p for item in self.items for p in item.predicates()}

    def zero_length(self) -> bool:
        return self.kind in ("*", "?") or any(item.zero_length() for item in self.items)

    def closure_predicates(self) -> set[URIRef]:
        """Predicates followed inside ``*``, ``+`` or ``?`` (written as SPARQL property paths)."""
        if self.kind in ("*", "+", "?"):
            return self.predicates()
        return {p for item in self.items for p in item.closure_predicates()}


def _parse_path(graph: Graph, node: Node, depth: int = 0) -> _Path:
    """Read a path the way pySHACL's ``value_nodes_from_path`` reads it (same precedence, same errors)."""
    if depth >= 10:
        raise _Unsupported("a property path nested too deep")
    if isinstance(node, URIRef):
        return _Path("iri", iri=node)
    if not isinstance(node, BNode):
        raise _Unsupported(f"a property path that is not an IRI or blank node ({node!r})")
    if next(iter(graph.objects(node, RDF.first)), None) is not None:
        items = tuple(_parse_path(graph, item, depth + 1) for item in graph.items(node))
        if len(items) < 2:
            if depth == 0 or not items:
                raise _Unsupported("a sequence path with fewer than two steps")
            return items[0]
        return _Path("seq", items=items)
    inverse = next(iter(graph.objects(node, SH.inversePath)), None)
    if inverse is not None:
        return _Path("inv", items=(_parse_path(graph, inverse, depth + 1),))
    alternatives = next(iter(graph.objects(node, SH.alternativePath)), None)
    if alternatives is not None:
        items = tuple(_parse_path(graph, item, depth + 1) for item in graph.items(alternatives))
        if len(items) < 2:
            raise _Unsupported("an alternative path with fewer than two paths")
        return _Path("alt", items=items)
    for predicate, kind in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = next(iter(graph.objects(node, predicate)), None)
        if inner is not None:
            return _Path(kind, items=(_parse_path(graph, inner, depth + 1),))
    raise _Unsupported("a blank-node property path of an unknown kind")


# ---------------------------------------------------------------------------------------------- shapes


@dataclass(eq=False)
class _Shape:
    """One pySHACL shape with its constraint components and its parsed path."""

    py: PyShape
    path: _Path | None
    components: list[ConstraintComponent]

    @property
    def node(self) -> Node:
        return self.py.node

    @property
    def allowed(self) -> bool:
        """Whether its failures leave it conforming (severity Warning or Info, as pySHACL allows them)."""
        return self.py.severity in _ALLOWED_SEVERITIES

    def of(self, kind: type[ConstraintComponent]) -> list[Any]:
        return [c for c in self.components if isinstance(c, kind)]


@dataclass(eq=False)
class CompiledShapes:
    """A shapes graph compiled once (see ``compile_shapes``).

    Attributes:
        shapes_graph: pySHACL's view of the shapes (it adds two system triples to the graph,
            as every pySHACL validation does).
        top_level: the supported shapes that have targets, in a stable order.
        unsupported: top-level shape -> what it uses that is not compiled.
        error: set when pySHACL cannot even read the shapes; everything then goes to pySHACL.
    """

    shapes_graph: ShapesGraph | None
    top_level: list[_Shape] = field(default_factory=list)
    unsupported: dict[Node, str] = field(default_factory=dict)
    error: str | None = None
    _shapes: dict[Node, _Shape] = field(default_factory=dict)

    def shape(self, node: Node) -> _Shape:
        return self._shapes[node]

    def predicates(self) -> set[URIRef]:
        found: set[URIRef] = set()
        for shape in self._shapes.values():
            if shape.path is not None:
                found |= shape.path.predicates()
            for component in shape.of(EqualsConstraintComponent) + shape.of(DisjointConstraintComponent):
                found |= {p for p in component.property_compare_set if isinstance(p, URIRef)}
            for component in shape.of(LessThanConstraintComponent) + shape.of(
                LessThanOrEqualsConstraintComponent
            ):
                found |= {p for p in component.property_compare_set if isinstance(p, URIRef)}
            found |= {p for p in shape.py.target_subjects_of() if isinstance(p, URIRef)}
            found |= {p for p in shape.py.target_objects_of() if isinstance(p, URIRef)}
        return found

    def closure_predicates(self) -> set[URIRef]:
        return {p for s in self._shapes.values() if s.path is not None for p in s.path.closure_predicates()}

    def zero_length(self) -> bool:
        """Whether a path can stay on its focus node (``*``, ``?``); Oxigraph does so for stored nodes."""
        return any(s.path is not None and s.path.zero_length() for s in self._shapes.values())

    def target_nodes(self) -> set[Node]:
        return {node for shape in self.top_level for node in shape.py.target_nodes()}

    def require_supported(self) -> None:
        """Raise ``UnsupportedShapes`` unless every shape is compiled."""
        if self.error is not None:
            raise UnsupportedShapes({URIRef(_PRIVATE + "shapes"): self.error})
        if self.unsupported:
            raise UnsupportedShapes(self.unsupported)

    def pruned_shapes(self, shapes: Graph) -> Graph:
        """A copy of the shapes in which only the unsupported top-level shapes keep their targets.

        pySHACL validates with it to evaluate exactly the shapes this compiler does not; shapes
        nested in them are evaluated whatever their targets, so nothing else is removed.
        """
        pruned = Graph()
        for prefix, namespace in shapes.namespaces():
            pruned.bind(prefix, namespace, override=True, replace=True)
        classes = {RDFS.Class, *shapes.subjects(RDFS.subClassOf, RDFS.Class)}
        targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        supported = {shape.node for shape in self.top_level}
        for s, p, o in shapes.triples((None, None, None)):  # a dataset: the union of its graphs
            if s in supported and (p in targets or (p == RDF.type and o in classes)):
                continue
            pruned.add((s, p, o))
        return pruned


# id(shapes graph) -> (weak reference to it, its size when compiled, compiled shapes).
_COMPILED: dict[int, tuple[weakref.ref[Graph], int, CompiledShapes]] = {}


def compile_shapes(shapes: Graph, *, strict: bool = False) -> CompiledShapes:
    """Compile a shapes graph (once per graph object: do not mutate it afterwards).

    Args:
        shapes: any SHACL shapes graph.
        strict: raise ``UnsupportedShapes`` instead of recording shapes that are not compiled.

    Returns:
        The compiled shapes; ``unsupported`` lists the top-level shapes pySHACL must evaluate.

    Raises:
        UnsupportedShapes: with ``strict``, naming each shape and the feature it uses.
    """
    key = id(shapes)
    entry = _COMPILED.get(key)
    if entry is not None and entry[0]() is shapes and entry[1] == len(shapes):
        compiled = entry[2]
    else:
        compiled = _compile(shapes)
        ref = weakref.ref(shapes, lambda _ref, key=key: _COMPILED.pop(key, None))
        _COMPILED[key] = (ref, len(shapes), compiled)
    if strict:
        compiled.require_supported()
    return compiled


def _compile(shapes: Graph) -> CompiledShapes:
    try:
        shapes_graph = ShapesGraph(shapes)
        found = list(shapes_graph.shapes)
    except ReportableRuntimeError as error:
        return CompiledShapes(shapes_graph=None, error=f"pySHACL cannot read the shapes ({error})")
    compiled = CompiledShapes(shapes_graph=shapes_graph)
    if any(shape.find_custom_constraints() for shape in found):
        # a custom (SPARQL-based) component may apply to any shape: leave them all to pySHACL
        custom = "a custom constraint component (sh:ConstraintComponent)"
        compiled.unsupported = {shape.node: custom for shape in found if _has_targets(shape)}
        return compiled
    for shape in sorted(found, key=lambda s: (str(s.node), s.is_property_shape)):
        if shape.deactivated or not _has_targets(shape):
            continue  # pySHACL evaluates shapes with targets, unless deactivated
        try:
            compiled.top_level.append(_compile_shape(shapes_graph, shape, compiled._shapes, ()))
        except _Unsupported as why:
            compiled.unsupported[shape.node] = str(why)
    return compiled


def _has_targets(shape: PyShape) -> bool:
    return any(next(iter(found), None) is not None for found in shape.target())


def _compile_shape(
    shapes_graph: ShapesGraph, shape: PyShape, done: dict[Node, _Shape], stack: tuple[Node, ...]
) -> _Shape:
    """A shape and, recursively, the shapes it refers to (``done`` caches them by node)."""
    if shape.node in done:
        return done[shape.node]
    if shape.node in stack:
        raise _Unsupported("a recursive shape")
    if shape.deactivated:  # pySHACL neither reads nor evaluates its constraints: it always conforms
        done[shape.node] = _Shape(shape, None, [])
        return done[shape.node]
    graph = shapes_graph.graph
    for getter in (shape.target_subjects_of, shape.target_objects_of):
        if not all(isinstance(p, URIRef) for p in getter()):
            raise _Unsupported("sh:targetSubjectsOf/sh:targetObjectsOf with a property that is not an IRI")
    path = _parse_path(graph, shape.path()) if shape.is_property_shape else None
    kinds: list[type[ConstraintComponent]] = []
    for predicate, _ in shapes_graph.predicate_objects(shape.node):
        kind = CONSTRAINT_PARAMETERS_MAP.get(predicate)
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    components: list[ConstraintComponent] = []
    for kind in kinds:
        if kind not in _SUPPORTED:
            names = ", ".join(
                _short(p) for p in kind.constraint_parameters() if (shape.node, p, None) in graph
            )
            raise _Unsupported(f"{names} ({kind.__name__})")
        try:
            components.append(kind(shape))
        except ConstraintLoadWarning:
            continue  # pySHACL logs these and skips the component
        except ConstraintLoadError as error:
            raise _Unsupported(f"a malformed {kind.__name__} ({error})") from None
    compiled = _Shape(shape, path, components)
    inner = (*stack, shape.node)
    for component in components:
        for node, wanted in _referenced(shapes_graph, component):
            try:
                referenced = shapes_graph.lookup_shape_from_node(node)
            except KeyError:
                raise _Unsupported(f"a reference to {node}, which is not a shape") from None
            if wanted is not None and referenced.is_property_shape != wanted:
                raise _Unsupported(
                    f"a reference to {node}, which is not a {'property' if wanted else 'node'} shape"
                )
            _compile_shape(shapes_graph, referenced, done, inner)
        _check_parameters(component)
    done[shape.node] = compiled
    return compiled


def _referenced(
    shapes_graph: ShapesGraph, component: ConstraintComponent
) -> Iterator[tuple[Node, bool | None]]:
    """Shapes a component refers to, and whether each must be a property shape (None: either)."""
    graph = shapes_graph.graph
    if isinstance(component, PropertyConstraintComponent):
        yield from ((node, True) for node in component.property_shapes)
    elif isinstance(component, NodeConstraintComponent):
        yield from ((node, False) for node in component.node_shapes)
    elif isinstance(component, NotConstraintComponent):
        yield from ((node, None) for node in component.not_list)
    elif isinstance(component, AndConstraintComponent | OrConstraintComponent | XoneConstraintComponent):
        for head in _lists(component):
            members = list(graph.items(head))
            if not members:
                raise _Unsupported("an empty list of shapes")
            yield from ((node, None) for node in members)


def _lists(component: ConstraintComponent) -> list[Node]:
    if isinstance(component, AndConstraintComponent):
        return list(component.and_list)
    if isinstance(component, OrConstraintComponent):
        return list(component.or_list)
    return list(component.xone_nodes)


def _check_parameters(component: ConstraintComponent) -> None:
    """Refuse parameters pySHACL would only reject (or read oddly) while validating."""
    if isinstance(
        component,
        EqualsConstraintComponent
        | DisjointConstraintComponent
        | LessThanConstraintComponent
        | LessThanOrEqualsConstraintComponent,
    ):
        if not all(isinstance(p, URIRef) for p in component.property_compare_set):
            raise _Unsupported("a property-pair constraint whose property is not an IRI")
        if not component.shape.is_property_shape and not isinstance(
            component, EqualsConstraintComponent | DisjointConstraintComponent
        ):
            raise _Unsupported("sh:lessThan on a node shape")


def _short(term: Node) -> str:
    text = str(term)
    return "sh:" + text[len(str(SH)) :] if text.startswith(str(SH)) else text


# ---------------------------------------------------------------------------------------------- terms

# (lexical form, datatype) -> whether Oxigraph stores the literal exactly as rdflib holds it.
_NATIVE: dict[tuple[str, str], bool] = {}
# (lexical form, datatype) -> an ill-typed rdflib literal whose lexical form alone reads as well-typed.
_ILL_TYPED: dict[tuple[str, str], Literal] = {}
# rdflib term (a literal: with whether it is ill-typed) -> its Oxigraph encoding; cleared when full.
_TERMS: dict[Any, OxTerm] = {}
_TERMS_LIMIT = 500_000


def _learn_native(keys: Iterable[tuple[str, str]]) -> None:
    """Find out, in one scratch store, which typed literals Oxigraph keeps as they are.

    Oxigraph normalises valid literals of the XSD types it knows (``"01"^^xsd:integer`` is
    stored ``"1"``, ``xsd:int`` becomes ``xsd:integer``); rdflib normalises some of them too,
    differently. Asking Oxigraph is the only exact test.
    """
    pending = [key for key in dict.fromkeys(keys) if key not in _NATIVE]
    if not pending:
        return
    if len(_NATIVE) > _TERMS_LIMIT:
        _NATIVE.clear()
    scratch = ox.Store()
    predicate = ox.NamedNode(_PRIVATE + "p")
    quads = []
    for index, (lexical, datatype) in enumerate(pending):
        try:
            literal = ox.Literal(lexical, datatype=ox.NamedNode(datatype))
        except ValueError:
            _NATIVE[lexical, datatype] = False
            continue
        quads.append(ox.Quad(ox.NamedNode(f"{_PRIVATE}{index}"), predicate, literal))
    scratch.extend(quads)
    for quad in scratch:
        key = pending[int(quad.subject.value[len(_PRIVATE) :])]
        stored = quad.object
        _NATIVE[key] = isinstance(stored, ox.Literal) and (stored.value, stored.datatype.value) == key


def _typed_key(literal: Literal) -> tuple[str, str] | None:
    """The key of a literal whose nativeness must be learnt (typed, not a string)."""
    if literal.language or literal.datatype is None or literal.datatype == XSD.string:
        return None
    return str(literal), str(literal.datatype)


def _encode(term: Node) -> OxTerm:
    """An rdflib term as the Oxigraph term that keeps rdflib's identity (see the module doc)."""
    try:
        return _encoded(term)
    except ValueError as error:
        raise UnencodableData(f"cannot validate RDF term {term!r}: {error}") from None


def _encoded(term: Node) -> OxTerm:
    if isinstance(term, URIRef):
        try:
            return ox.NamedNode(str(term))
        except ValueError:
            return ox.NamedNode(_IRI + urllib.parse.quote(str(term), safe=""))
    if isinstance(term, BNode):
        return ox.NamedNode(_BNODE + urllib.parse.quote(str(term), safe=""))
    if isinstance(term, Literal):
        lexical = str(term)
        if term.language:
            try:
                return ox.Literal(lexical, language=term.language)
            except ValueError:
                return ox.Literal(
                    lexical, datatype=ox.NamedNode(_LANG + urllib.parse.quote(term.language, safe=""))
                )
        if term.datatype is None:
            return ox.Literal(lexical)
        datatype = str(term.datatype)
        key = (lexical, datatype)
        if term.ill_typed and not Literal(lexical, datatype=term.datatype).ill_typed:
            # rdflib normalised an ill-typed lexical form into a valid one ("maybe"^^xsd:boolean is
            # written "false"): only the object itself remembers that it is ill-typed
            _ILL_TYPED.setdefault(key, term)
            return ox.Literal(lexical, datatype=ox.NamedNode(_ILL + urllib.parse.quote(datatype, safe="")))
        if datatype != _XSD_STRING:
            if key not in _NATIVE:
                _learn_native([key])
            if _NATIVE[key]:
                return ox.Literal(lexical, datatype=ox.NamedNode(datatype))
        return ox.Literal(lexical, datatype=ox.NamedNode(_TYPED + urllib.parse.quote(datatype, safe="")))
    raise UnencodableData(f"cannot validate RDF term {term!r}")


def _decode(term: OxTerm) -> Node:
    """The rdflib term an Oxigraph term stands for (inverse of ``_encode``; native terms as exported)."""
    if isinstance(term, ox.NamedNode):
        value = term.value
        if value.startswith(_PRIVATE):
            if value.startswith(_BNODE):
                return BNode(urllib.parse.unquote(value[len(_BNODE) :]))
            if value.startswith(_IRI):
                return URIRef(urllib.parse.unquote(value[len(_IRI) :]))
        return URIRef(value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    if datatype == _XSD_STRING:
        return Literal(term.value)
    if datatype.startswith(_PRIVATE):
        if datatype.startswith(_TYPED):
            return Literal(term.value, datatype=URIRef(urllib.parse.unquote(datatype[len(_TYPED) :])))
        if datatype.startswith(_LANG):
            return Literal(term.value, lang=urllib.parse.unquote(datatype[len(_LANG) :]))
        if datatype.startswith(_ILL):
            original = urllib.parse.unquote(datatype[len(_ILL) :])
            remembered = _ILL_TYPED.get((term.value, original))  # not `or`: Literal("false") is falsy
            return remembered if remembered is not None else Literal(term.value, datatype=URIRef(original))
    return Literal(term.value, datatype=URIRef(datatype))


def _text(term: OxTerm) -> str | None:
    """A term as SPARQL text; None for a stored blank node, which a query cannot name."""
    return None if isinstance(term, ox.BlankNode) else str(term)


def _encode_triples(triples: Iterable[Triple], originals: dict[OxTerm, Node]) -> Iterator[ox.Quad]:
    """Triples as default-graph quads, learning in one batch which typed literals Oxigraph keeps.

    Encodings are cached across calls (articles validated one after another share most terms).
    ``originals`` receives the literal objects themselves: an rdflib literal's value depends on the
    converters registered when it was made (owlrl registers its own, process-wide), and pySHACL
    judges the objects of the graph, so decoding must give back those objects.
    """
    cache = _TERMS
    if len(cache) > _TERMS_LIMIT:
        cache.clear()
    deferred: list[tuple[OxTerm, OxTerm, Literal]] = []
    keys: list[tuple[str, str]] = []
    for s, p, o in triples:
        subject = cache.get(s)
        if subject is None:
            subject = cache[s] = _encode(s)
        predicate = cache.get(p)
        if predicate is None:
            predicate = cache[p] = _encode(p)
        if isinstance(o, Literal):
            key = (o, bool(o.ill_typed))  # equal literals may differ in that ("maybe", "false" as booleans)
            value = cache.get(key)
            if value is None:
                typed = _typed_key(o)
                if typed is not None and typed not in _NATIVE:
                    keys.append(typed)
                    deferred.append((subject, predicate, o))
                    continue
                value = cache[key] = _encode(o)
            originals.setdefault(value, o)
        else:
            value = cache.get(o)
            if value is None:
                value = cache[o] = _encode(o)
        yield ox.Quad(subject, predicate, value)
    _learn_native(keys)
    for subject, predicate, literal in deferred:
        key = (literal, bool(literal.ill_typed))
        value = cache.get(key)
        if value is None:
            value = cache[key] = _encode(literal)
        originals.setdefault(value, literal)
        yield ox.Quad(subject, predicate, value)


# id(ontology) -> (weak reference, size, its quads, its literal objects by encoding).
_ONTOLOGY_QUADS: dict[int, tuple[weakref.ref[Graph], int, list[ox.Quad], dict[OxTerm, Node]]] = {}


def _ontology_quads(ontology: Graph) -> tuple[list[ox.Quad], dict[OxTerm, Node]]:
    """The ontology's quads and literal objects, encoded once per ontology graph."""
    key = id(ontology)
    entry = _ONTOLOGY_QUADS.get(key)
    if entry is not None and entry[0]() is ontology and entry[1] == len(ontology):
        return entry[2], entry[3]
    originals: dict[OxTerm, Node] = {}
    quads = list(_encode_triples(all_triples(ontology), originals))
    ref = weakref.ref(ontology, lambda _ref, key=key: _ONTOLOGY_QUADS.pop(key, None))
    _ONTOLOGY_QUADS[key] = (ref, len(ontology), quads, originals)
    return quads, originals


# ---------------------------------------------------------------------------------------------- backends


class _Backend:
    """An Oxigraph store to query, the ontology triples it lacks, and the rdflib side of results.

    Attributes:
        store: the store whose default graph is the data (plus what ``overlay`` adds).
        overlay: predicate IRI -> (subject, object) pairs of ontology triples the store does not hold.
    """

    def __init__(self, store: ox.Store, ontology: Graph, overlay: dict[str, list[tuple[OxTerm, OxTerm]]]):
        self.store = store
        self.ontology = ontology
        self.overlay = overlay
        self._decoded: dict[OxTerm, Node] = {}
        self._datagraph: Graph | None = None
        self._closed: set[Node] = set()

    def query(self, text: str) -> Iterator[ox.QuerySolution]:
        result = self.store.query(text)
        assert isinstance(result, ox.QuerySolutions)
        return iter(result)

    def decode(self, term: OxTerm) -> Node:
        found = self._decoded.get(term)
        if found is None:
            found = self._decoded[term] = _decode(term)
        return found

    def labels(self, node: Node) -> list[Literal]:
        """Every ``rdfs:label`` of a node in the data and the ontology (the report names focus nodes)."""
        found = [o for o in self.ontology.objects(node, RDFS.label) if isinstance(o, Literal)]
        label = ox.NamedNode(str(RDFS.label))
        for term in _stored_forms(node):
            for quad in self.store.quads_for_pattern(term, label, None, ox.DefaultGraph()):
                value = self.decode(quad.object)
                if isinstance(value, Literal) and value not in found:
                    found.append(value)
        return found

    def _namespaces(self) -> Graph:
        """A graph whose prefixes are those of the data pySHACL would be given."""
        holder = Dataset()
        bind_prefixes(holder)
        return holder

    def datagraph(self, nodes: Iterable[Node] = ()) -> Graph:
        """The graph pySHACL's result writers read: the data's prefixes and the blank nodes reported.

        pySHACL writes focus nodes and values with the data graph's prefixes and copies a blank
        node's description into the report, so the graph holds exactly that.
        """
        if self._datagraph is None:
            self._datagraph = flatten(self._namespaces())
        pending = [n for n in nodes if isinstance(n, BNode) and n not in self._closed]
        while pending:
            node = pending.pop()
            if node in self._closed:
                continue
            self._closed.add(node)
            for triple in self._about(node):
                self._datagraph.add(triple)
                if isinstance(triple[2], BNode) and triple[2] not in self._closed:
                    pending.append(triple[2])
        return self._datagraph

    def _about(self, node: BNode) -> list[Triple]:
        found = list(self.ontology.triples((node, None, None)))
        for term in _stored_forms(node):
            for quad in self.store.quads_for_pattern(term, None, None, ox.DefaultGraph()):
                found.append((node, self.decode(quad.predicate), self.decode(quad.object)))
        return found


def _stored_forms(node: Node) -> list[ox.NamedNode | ox.BlankNode]:
    """The terms a subject may be stored as: its encoding, or (in a knowledge base) a real blank node."""
    if isinstance(node, Literal):
        return []
    forms: list[ox.NamedNode | ox.BlankNode] = [_encode(node)]  # type: ignore[list-item]
    if isinstance(node, BNode):
        with contextlib.suppress(ValueError):
            forms.append(ox.BlankNode(str(node)))
    return forms


def _add_presence(store: ox.Store, plan: CompiledShapes) -> None:
    """Make target nodes absent from the data known to Oxigraph, whose ``*`` and ``?`` paths skip them.

    pySHACL starts a zero-length path at any focus node; Oxigraph only at nodes of the graph.
    The added triple uses a private predicate that no shape can read.
    """
    if not plan.zero_length():
        return
    marker = ox.NamedNode(_PRIVATE + "present")
    default = ox.DefaultGraph()
    for node in plan.target_nodes():
        term = _encode(node)
        subject = (
            next(iter(store.quads_for_pattern(term, None, None, default)), None)
            if not isinstance(term, ox.Literal)
            else None
        )
        if subject is None and next(iter(store.quads_for_pattern(None, None, term, default)), None) is None:
            store.add(ox.Quad(marker, marker, term))


def _absent_targets(store: ox.Store, plan: CompiledShapes) -> bool:
    default = ox.DefaultGraph()
    for node in plan.target_nodes():
        term = _encode(node)
        if not isinstance(term, ox.Literal) and next(
            iter(store.quads_for_pattern(term, None, None, default)), None
        ):
            continue
        if next(iter(store.quads_for_pattern(None, None, term, default)), None) is None:
            return True
    return False


class _GraphBackend(_Backend):
    """An rdflib graph and the ontology, loaded into an in-memory Oxigraph store."""

    def __init__(self, data: Graph, ontology: Graph, plan: CompiledShapes) -> None:
        store = ox.Store()
        quads, originals = _ontology_quads(ontology)
        store.extend(quads)
        self.originals = dict(originals)
        store.extend(list(_encode_triples(all_triples(data), self.originals)))
        _add_presence(store, plan)
        super().__init__(store, ontology, {})
        self.data = data

    def decode(self, term: OxTerm) -> Node:
        found = self.originals.get(term)
        return found if found is not None else super().decode(term)

    def labels(self, node: Node) -> list[Literal]:
        if isinstance(self.data, Dataset):
            found = [o for _, _, o, _ in self.data.quads((node, RDFS.label, None, None))]
        else:
            found = list(self.data.objects(node, RDFS.label))
        found += [o for o in self.ontology.objects(node, RDFS.label) if o not in found]
        return [label for label in found if isinstance(label, Literal)]

    def _namespaces(self) -> Graph:
        return Graph(namespace_manager=self.data.namespace_manager)

    def _about(self, node: BNode) -> list[Triple]:
        found = list(self.ontology.triples((node, None, None)))
        found += list(_triples_of_subject(self.data, node))
        return found


def _triples_of_subject(data: Graph, node: Node) -> Iterator[Triple]:
    if isinstance(data, Dataset):
        for s, p, o, _ in data.quads((node, None, None, None)):
            yield s, p, o
    else:
        yield from data.triples((node, None, None))


def _store_backend(
    store: ox.Store, ontology: Graph, plan: CompiledShapes, vocabulary: str | None
) -> _Backend:
    """A knowledge-base store queried in place, or (rarely) copied into memory with the ontology.

    The default graph holds the union of the named graphs, the vocabulary graph included. It
    is queried directly when that vocabulary is part of the ontology (so data plus ontology
    is what pySHACL would validate) and no property path of ``*``, ``+`` or ``?`` has to follow an
    ontology triple the store lacks; otherwise the named graphs (the vocabulary graph left out,
    as in the store's export) are copied into memory with the ontology.
    """
    quads, _ = _ontology_quads(ontology)
    overlay: dict[str, list[tuple[OxTerm, OxTerm]]] = defaultdict(list)
    default = ox.DefaultGraph()
    for quad in quads:
        if ox.Quad(quad.subject, quad.predicate, quad.object, default) not in store:
            overlay[quad.predicate.value].append((quad.subject, quad.object))
    stale = False
    if vocabulary is not None:
        for quad in store.quads_for_pattern(None, None, None, ox.NamedNode(vocabulary)):
            triple = (_decode(quad.subject), _decode(quad.predicate), _decode(quad.object))
            if triple not in ontology:
                stale = True
                break
    read = {str(p) for p in plan.predicates()} | {str(RDF.type), str(RDFS.subClassOf)}
    relevant = {p: pairs for p, pairs in overlay.items() if p in read}
    followed = {str(p) for p in plan.closure_predicates()}
    zero_length = plan.zero_length() and (bool(relevant) or _absent_targets(store, plan))
    if stale or followed & set(overlay) or zero_length:
        log.info("validation: the store is copied into memory (see kg.shacl_sparql._store_backend)")
        return _copied_backend(store, ontology, vocabulary, plan)
    return _Backend(store, ontology, relevant)


def _copied_backend(
    store: ox.Store, ontology: Graph, vocabulary: str | None, plan: CompiledShapes
) -> _Backend:
    memory = ox.Store()
    memory.extend(_ontology_quads(ontology)[0])

    def copied() -> Iterator[ox.Quad]:
        for quad in store.quads_for_pattern(None, None, None, None):
            graph = quad.graph_name
            if not isinstance(graph, ox.NamedNode) or graph.value == vocabulary:
                continue
            yield ox.Quad(_stored(quad.subject), quad.predicate, _stored(quad.object))

    batch: list[ox.Quad] = []
    for quad in copied():
        batch.append(quad)
        if len(batch) >= 50_000:
            memory.extend(batch)
            batch = []
    memory.extend(batch)
    _add_presence(memory, plan)
    return _Backend(memory, ontology, {})


def _stored(term: Any) -> OxTerm:
    """A stored term in a copy: blank nodes become private IRIs, which queries can name."""
    if isinstance(term, ox.BlankNode):
        return ox.NamedNode(_BNODE + urllib.parse.quote(term.value, safe=""))
    return term  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class _Targets:
    """The focus nodes of a top-level shape: its targets."""

    shape: _Shape

    @property
    def key(self) -> str:
        return f"targets {self.shape.node!r}"


@dataclass(frozen=True)
class _Values:
    """The value nodes of a property path from the nodes of another source."""

    parent: _Source
    path: _Path

    @property
    def key(self) -> str:
        return f"values {self.path!r} of ({self.parent.key})"


@dataclass(frozen=True)
class _Nodes:
    """A small set of nodes, written into the queries as VALUES."""

    nodes: frozenset[OxTerm]
    origin: str

    @property
    def key(self) -> str:
        return self.origin


_Source = _Targets | _Values | _Nodes


@dataclass
class _Row:
    """One validation result, written (by pySHACL's component) only if it reaches the report."""

    focus: OxTerm
    write: Callable[[], _PyReport]


@dataclass
class _Outcome:
    """What a shape gives on a source: its results, the nodes that fail it, the nodes it reports on."""

    rows: list[_Row] = field(default_factory=list)
    failing: set[OxTerm] = field(default_factory=set)
    reported: set[OxTerm] = field(default_factory=set)


class _Evaluator:
    """Evaluates compiled shapes over one backend, memoising each (shape, source) outcome."""

    def __init__(self, plan: CompiledShapes, backend: _Backend) -> None:
        self.plan = plan
        self.backend = backend
        self.executor = SHACLExecutor(allow_warnings=True)
        self._names = itertools.count()
        self._outcomes: dict[tuple[int, str], _Outcome] = {}
        self._nodes: dict[str, set[OxTerm]] = {}
        self._subclasses: dict[OxTerm, set[OxTerm]] | None = None
        self._instances: dict[frozenset[OxTerm], set[OxTerm]] = {}

    # -- SPARQL text ---------------------------------------------------------------------------------------
    def fresh(self) -> str:
        return f"?v{next(self._names)}"

    def query(self, text: str) -> Iterator[ox.QuerySolution]:
        return self.backend.query(text)

    def triple(self, s: str, predicate: URIRef, o: str) -> str:
        text = f"{s} {_encode(predicate)} {o} ."
        pairs = self.backend.overlay.get(str(predicate))
        if not pairs:
            return text
        rows = " ".join(f"({a} {b})" for a, b in pairs)
        return f"{{ {{ {text} }} UNION {{ VALUES ({s} {o}) {{ {rows} }} }} }}"

    def typed(self, var: str, classes: set[OxTerm]) -> str:
        """``var`` has a type in ``classes`` (the ontology's missing type triples included)."""
        if len(classes) == 1:
            text = f"{{ {var} {_RDF_TYPE} {next(iter(classes))} . }}"
        else:
            t = self.fresh()
            values = " ".join(sorted(str(c) for c in classes))
            text = f"{{ {var} {_RDF_TYPE} {t} . VALUES {t} {{ {values} }} }}"
        extra = sorted({str(s) for s, o in self.backend.overlay.get(str(RDF.type), ()) if o in classes})
        if not extra:
            return text
        return f"{{ {text} UNION {{ VALUES {var} {{ {' '.join(extra)} }} }} }}"

    def path(self, path: _Path, s: str, o: str, inverse: bool = False) -> str:
        """A pattern binding ``o`` to the values of ``path`` from ``s`` (pySHACL's reading of paths)."""
        if path.kind == "iri":
            assert path.iri is not None
            return self.triple(o, path.iri, s) if inverse else self.triple(s, path.iri, o)
        if path.kind == "inv":
            return self.path(path.items[0], s, o, not inverse)
        if path.kind == "seq":
            parts, current = [], s
            for index, item in enumerate(path.items):
                following = o if index == len(path.items) - 1 else self.fresh()
                parts.append(self.path(item, current, following, inverse))
                current = following
            return "{ " + " ".join(parts) + " }"
        if path.kind == "alt":
            return "{ { " + " } UNION { ".join(self.path(item, s, o, inverse) for item in path.items) + " } }"
        return f"{s} {self.sparql_path(path, inverse)} {o} ."

    def sparql_path(self, path: _Path, inverse: bool) -> str:
        if path.kind == "iri":
            return f"{'^' if inverse else ''}{_encode(path.iri)}"  # type: ignore[arg-type]
        if path.kind == "inv":
            return self.sparql_path(path.items[0], not inverse)
        if path.kind in ("seq", "alt"):
            joiner = "/" if path.kind == "seq" else "|"
            return "(" + joiner.join(self.sparql_path(item, inverse) for item in path.items) + ")"
        return f"({self.sparql_path(path.items[0], inverse)}){path.kind}"

    def constant(self, term: Node) -> OxTerm:
        return _encode(term)

    def pattern(self, source: _Source, var: str) -> str:
        """A group pattern binding ``var`` to the nodes of a source."""
        if isinstance(source, _Nodes):
            return f"{{ VALUES {var} {{ {' '.join(sorted(str(n) for n in source.nodes))} }} }}"
        if isinstance(source, _Values):
            inner = self.fresh()
            parent = self.pattern(source.parent, inner)
            return f"{{ SELECT DISTINCT {var} WHERE {{ {parent} {self.path(source.path, inner, var)} }} }}"
        return self.target_pattern(source.shape, var)

    def target_pattern(self, shape: _Shape, var: str) -> str:
        py = shape.py
        parts = []
        nodes = sorted({str(self.constant(n)) for n in py.target_nodes()})
        if nodes:
            parts.append(f"{{ VALUES {var} {{ {' '.join(nodes)} }} }}")
        classes: set[OxTerm] = set()
        for cls in {*py.target_classes(), *py.implicit_class_targets()}:
            classes |= self.subclasses(self.constant(cls))
        if classes:
            parts.append(self.typed(var, classes))
        for predicate in sorted(py.target_subjects_of(), key=str):
            parts.append("{ " + self.triple(var, predicate, self.fresh()) + " }")
        for predicate in sorted(py.target_objects_of(), key=str):
            parts.append("{ " + self.triple(self.fresh(), predicate, var) + " }")
        if len(parts) == 1 and (nodes or len(classes) == 1):
            return parts[0]
        return f"{{ SELECT DISTINCT {var} WHERE {{ {' UNION '.join(parts)} }} }}"

    def pairs(self, shape: _Shape, source: _Source, this: str = "?this", value: str = "?value") -> str:
        """A pattern binding ``this`` to the focus nodes and ``value`` to their value nodes."""
        if shape.path is None:
            return f"{self.pattern(source, this)} BIND({this} AS {value})"
        return f"{self.pattern(source, this)} {self.path(shape.path, this, value)}"

    # -- data lookups --------------------------------------------------------------------------------------
    def subclasses(self, cls: OxTerm) -> set[OxTerm]:
        """``cls`` and every class below it by ``rdfs:subClassOf`` in the data and the ontology."""
        if self._subclasses is None:
            below: dict[OxTerm, set[OxTerm]] = defaultdict(set)
            for solution in self.query(
                f"SELECT ?s ?o WHERE {{ {self.triple('?s', RDFS.subClassOf, '?o')} }}"
            ):
                below[solution[1]].add(solution[0])  # type: ignore[index]
            self._subclasses = below
        found, stack = {cls}, [cls]
        while stack:
            for sub in self._subclasses.get(stack.pop(), ()):
                if sub not in found:
                    found.add(sub)
                    stack.append(sub)
        return found

    def nodes(self, source: _Source) -> set[OxTerm]:
        if isinstance(source, _Nodes):
            return set(source.nodes)
        found = self._nodes.get(source.key)
        if found is None:
            text = f"SELECT DISTINCT ?n WHERE {{ {self.pattern(source, '?n')} }}"
            found = self._nodes[source.key] = {solution[0] for solution in self.query(text)}  # type: ignore[misc]
        return found

    def pairs_with_values(
        self, shape: _Shape, source: _Source, values: set[OxTerm]
    ) -> list[tuple[OxTerm, OxTerm]]:
        """(focus, value) pairs of a shape whose value is one of ``values``."""
        if not values:
            return []
        if shape.path is None:
            return [(v, v) for v in values]
        texts = [_text(v) for v in values]
        if len(values) <= _VALUES_LIMIT and None not in texts:
            text = (
                f"SELECT DISTINCT ?this ?value WHERE {{ VALUES ?value {{ {' '.join(sorted(texts))} }} "  # type: ignore[arg-type]
                f"{self.pairs(shape, source)} }}"
            )
            return [(s[0], s[1]) for s in self.query(text)]  # type: ignore[misc]
        text = f"SELECT DISTINCT ?this ?value WHERE {{ {self.pairs(shape, source)} }}"
        return [(s[0], s[1]) for s in self.query(text) if s[1] in values]  # type: ignore[misc]

    def focus_of(self, shape: _Shape, source: _Source, values: set[OxTerm]) -> set[OxTerm]:
        return {focus for focus, _ in self.pairs_with_values(shape, source, values)}

    # -- results -------------------------------------------------------------------------------------------
    def row(
        self,
        component: ConstraintComponent,
        focus: OxTerm,
        value: OxTerm | None = None,
        details: tuple[_Row, ...] | list[_Row] = (),
    ) -> _Row:
        backend = self.backend

        def write() -> _PyReport:
            focus_node = backend.decode(focus)
            value_node = backend.decode(value) if value is not None else None
            graph = backend.datagraph([focus_node, value_node])  # type: ignore[list-item]
            text, node, triples = component.make_v_result(graph, focus_node, value_node=value_node)
            if details:  # sh:node: pySHACL attaches the node shape's own results
                text = f"{text}\tDetails:\n"
                for sub_text, sub_node, sub_triples in (row.write() for row in details):
                    text += indent(sub_text, "\t\t")
                    triples.append((node, SH_detail, sub_node))
                    triples.extend(sub_triples)
            return text, node, triples

        return _Row(focus, write)

    # -- shapes --------------------------------------------------------------------------------------------
    def top_level(self, shape: _Shape) -> _Outcome:
        """A shape evaluated on its targets (small focus sets are handed to queries as VALUES)."""
        targets = _Targets(shape)
        text = f"SELECT DISTINCT ?n WHERE {{ {self.pattern(targets, '?n')} }} LIMIT {_MATERIALISE + 1}"
        found = {solution[0] for solution in self.query(text)}
        if not found:
            return _Outcome()
        source: _Source = targets
        if len(found) <= _MATERIALISE and all(_text(n) is not None for n in found):  # type: ignore[arg-type]
            source = _Nodes(frozenset(found), targets.key)  # type: ignore[arg-type]
        return self.outcome(shape, source)

    def outcome(self, shape: _Shape, source: _Source) -> _Outcome:
        key = (id(shape), source.key)
        found = self._outcomes.get(key)
        if found is None:
            found = self._outcomes[key] = self._evaluate(shape, source)
        return found

    def _evaluate(self, shape: _Shape, source: _Source) -> _Outcome:
        if shape.py.deactivated:
            return _Outcome()
        own: list[_Row] = []
        own += self._counts(shape, source)
        own += self._value_checks(shape, source)
        own += self._has_values(shape, source)
        own += self._property_pairs(shape, source)
        own += self._unique_lang(shape, source)
        own += self._logical(shape, source)
        passed_up: list[_Row] = []
        failing_below: set[OxTerm] = set()
        reported_below: set[OxTerm] = set()
        values = source if shape.path is None else _Values(source, shape.path)
        for component in shape.of(PropertyConstraintComponent):
            for node in component.property_shapes:
                below = self.outcome(self.plan.shape(node), values)
                passed_up += below.rows
                failing_below |= below.failing
                reported_below |= below.reported
        if shape.path is not None:  # nested property shapes report on the values: map back to focus nodes
            failing_below = self.focus_of(shape, source, failing_below)
            reported_below = self.focus_of(shape, source, reported_below)
        own_focus = {row.focus for row in own}
        failing = set() if shape.allowed else own_focus | failing_below
        return _Outcome(own + passed_up, failing, own_focus | reported_below)

    def _counts(self, shape: _Shape, source: _Source) -> list[_Row]:
        if shape.path is None:
            return []
        low = next(iter(shape.of(MinCountConstraintComponent)), None)
        high = next(iter(shape.of(MaxCountConstraintComponent)), None)
        least = int(low.min_count.value) if low is not None else 0
        most = int(high.max_count.value) if high is not None else None
        conditions = []
        if least > 0:
            conditions.append(f"COUNT(DISTINCT ?value) < {least}")
        if most is not None:
            conditions.append(f"COUNT(DISTINCT ?value) > {most}")
        if not conditions:
            return []
        text = (
            f"SELECT ?this (COUNT(DISTINCT ?value) AS ?n) WHERE {{ {self.pattern(source, '?this')} "
            f"OPTIONAL {{ {self.path(shape.path, '?this', '?value')} }} }} "
            f"GROUP BY ?this HAVING ({' || '.join(conditions)})"
        )
        rows = []
        for solution in self.query(text):
            count = int(solution[1].value)  # type: ignore[union-attr]
            component = low if count < least else high
            rows.append(self.row(component, solution[0]))  # type: ignore[arg-type]
        return rows

    def _value_checks(self, shape: _Shape, source: _Source) -> list[_Row]:
        """Checks on each value alone, made on the distinct values and joined back to the focus nodes.

        Literal checks are pySHACL's own code; ``sh:class`` is membership in the set of the
        class's instances (one query per class, shared by every shape that names it).
        """
        components = shape.of(_VALUE_COMPONENTS)  # type: ignore[arg-type]
        classes = shape.of(ClassConstraintComponent)
        if not components and not classes:
            return []
        values = self.values(shape, source)
        if not values:
            return []
        failing: dict[OxTerm, list[tuple[ConstraintComponent, int]]] = defaultdict(list)
        for component in classes:
            for index, rule in enumerate(component.class_rules):
                members = self.instances(frozenset(self.subclasses(self.constant(rule))))
                for term in values - members:
                    failing[term].append((component, index))
        if components:
            # one stand-in focus node per value: rdflib merges equal literals that differ in being ill-typed
            stand_ins = {URIRef(f"{_DUMMY_FOCUS}/{index}"): term for index, term in enumerate(values)}
            checked = {node: {self.backend.decode(term)} for node, term in stand_ins.items()}
            for component in components:
                for node in dict.fromkeys(_failing_focus_nodes(component, self.executor, checked)):
                    failing[stand_ins[node]].append((component, 0))
        rows = []
        for focus, value in self.pairs_with_values(shape, source, set(failing)):
            for component, _ in failing[value]:
                # a node shape's own failure is reported with the node as its value, as pySHACL does
                rows.append(self.row(component, focus, value))
        return rows

    def values(self, shape: _Shape, source: _Source) -> set[OxTerm]:
        """The distinct value nodes of a shape, or a superset of them when that is cheaper.

        A one-step path is read for every subject (one scan of the predicate); the values
        that fail are joined back to the focus nodes of the source anyway.
        """
        if shape.path is None:
            return self.nodes(source)
        path = shape.path
        if path.kind == "iri" or (path.kind == "inv" and path.items[0].kind == "iri"):
            text = f"SELECT DISTINCT ?value WHERE {{ {self.path(path, self.fresh(), '?value')} }}"
        else:
            text = f"SELECT DISTINCT ?value WHERE {{ {self.pairs(shape, source)} }}"
        return {solution[0] for solution in self.query(text)}  # type: ignore[misc]

    def instances(self, classes: frozenset[OxTerm]) -> set[OxTerm]:
        found = self._instances.get(classes)
        if found is None:
            text = f"SELECT DISTINCT ?x WHERE {{ {self.typed('?x', set(classes))} }}"
            found = self._instances[classes] = {solution[0] for solution in self.query(text)}  # type: ignore[misc]
        return found

    def _has_values(self, shape: _Shape, source: _Source) -> list[_Row]:
        rows = []
        for component in shape.of(HasValueConstraintComponent):
            for wanted in component.has_value_set:
                constant = str(self.constant(wanted))
                if shape.path is None:
                    condition = f"FILTER(!sameTerm(?this, {constant}))"
                else:
                    found = self.fresh()
                    inner = self.path(shape.path, "?this", found)
                    condition = f"FILTER NOT EXISTS {{ {inner} FILTER(sameTerm({found}, {constant})) }}"
                text = f"SELECT DISTINCT ?this WHERE {{ {self.pattern(source, '?this')} {condition} }}"
                rows += [self.row(component, s[0]) for s in self.query(text)]  # type: ignore[arg-type]
        return rows

    def _property_pairs(self, shape: _Shape, source: _Source) -> list[_Row]:
        rows = []
        for component in shape.of(EqualsConstraintComponent):
            for predicate in component.property_compare_set:
                missing = (
                    f"SELECT DISTINCT ?this ?value WHERE {{ {self.pairs(shape, source)} "
                    f"FILTER NOT EXISTS {{ {self.triple('?this', predicate, '?value')} }} }}"
                )
                if shape.path is None:
                    extra_condition = "FILTER(!sameTerm(?value, ?this))"
                else:
                    extra_condition = f"FILTER NOT EXISTS {{ {self.path(shape.path, '?this', '?value')} }}"
                extra = (
                    f"SELECT DISTINCT ?this ?value WHERE {{ {self.pattern(source, '?this')} "
                    f"{self.triple('?this', predicate, '?value')} {extra_condition} }}"
                )
                for text in (missing, extra):
                    rows += [self.row(component, s[0], s[1]) for s in self.query(text)]  # type: ignore[arg-type]
        for component in shape.of(DisjointConstraintComponent):
            for predicate in component.property_compare_set:
                text = (
                    f"SELECT DISTINCT ?this ?value WHERE {{ {self.pairs(shape, source)} "
                    f"{self.triple('?this', predicate, '?value')} }}"
                )
                rows += [self.row(component, s[0], s[1]) for s in self.query(text)]  # type: ignore[arg-type]
        comparisons = [(c, "<", c._compare_lt) for c in shape.of(LessThanConstraintComponent)]
        comparisons += [(c, "<=", c._compare_ltoe) for c in shape.of(LessThanOrEqualsConstraintComponent)]
        for component, operator, compare in comparisons:
            for predicate in component.property_compare_set:
                rows += self._compared(shape, source, component, predicate, operator, compare)
        return rows

    def _compared(
        self,
        shape: _Shape,
        source: _Source,
        component: ConstraintComponent,
        predicate: URIRef,
        operator: str,
        compare: Callable[..., tuple[bool, list[_PyReport]]],
    ) -> list[_Row]:
        """sh:lessThan(OrEquals): pairs SPARQL cannot prove in order are compared by pySHACL."""
        integers = f"DATATYPE(?value) = <{_XSD_INTEGER}> && DATATYPE(?other) = <{_XSD_INTEGER}>"
        strings = f"DATATYPE(?value) = <{_XSD_STRING}> && DATATYPE(?other) = <{_XSD_STRING}>"
        # pySHACL refuses a blank-node value even when there is nothing to compare it with
        blank = f'isBlank(?value) || STRSTARTS(STR(?value), "{_BNODE}")'
        text = (
            f"SELECT DISTINCT ?this ?value ?other WHERE {{ {self.pairs(shape, source)} "
            f"OPTIONAL {{ {self.triple('?this', predicate, '?other')} }} "
            f"FILTER(({blank}) || (BOUND(?other) && "
            f"!COALESCE((({integers}) || ({strings})) && ?value {operator} ?other, false))) }}"
        )
        grouped: dict[OxTerm, tuple[set[Node], set[Node]]] = {}
        for solution in self.query(text):
            values, others = grouped.setdefault(solution[0], (set(), set()))  # type: ignore[arg-type]
            values.add(self.backend.decode(solution[1]))  # type: ignore[arg-type]
            if solution[2] is not None:
                others.add(self.backend.decode(solution[2]))  # type: ignore[arg-type]
        rows = []
        for focus, (values, others) in grouped.items():
            focus_node = self.backend.decode(focus)
            graph = self.backend.datagraph([focus_node, *values])
            _, reports = compare(values, others, graph, focus_node)
            rows += [_Row(focus, _written(report)) for report in reports]
        return rows

    def _unique_lang(self, shape: _Shape, source: _Source) -> list[_Row]:
        rows = []
        for component in shape.of(UniqueLangConstraintComponent):
            text = (
                f"SELECT ?this ?value WHERE {{ {{ SELECT ?this WHERE {{ {self.pairs(shape, source)} "
                f"FILTER(isLiteral(?value)) }} GROUP BY ?this HAVING (COUNT(DISTINCT ?value) > 1) }} "
                f"{self.pairs(shape, source)} FILTER(isLiteral(?value)) }}"
            )
            grouped: dict[OxTerm, set[Node]] = defaultdict(set)
            for solution in self.query(text):
                grouped[solution[0]].add(self.backend.decode(solution[1]))  # type: ignore[index,arg-type]
            for focus, values in grouped.items():
                focus_node = self.backend.decode(focus)
                graph = self.backend.datagraph([focus_node])
                _, reports = component.evaluate(self.executor, graph, {focus_node: values}, [])
                rows += [_Row(focus, _written(report)) for report in reports]
        return rows

    def _logical(self, shape: _Shape, source: _Source) -> list[_Row]:
        """sh:not/and/or/xone/node: which value nodes fail, from the member shapes' outcomes."""
        values = source if shape.path is None else _Values(source, shape.path)
        graph = self.plan.shapes_graph.graph  # type: ignore[union-attr]
        rows = []
        for component in shape.of(NotConstraintComponent):
            for node in component.not_list:
                below = self.outcome(self.plan.shape(node), values)
                rows += self._value_rows(shape, source, component, self.nodes(values) - below.failing)
        for component in shape.of(AndConstraintComponent | OrConstraintComponent | XoneConstraintComponent):
            for head in _lists(component):
                members = [self.plan.shape(n) for n in dict.fromkeys(graph.items(head))]
                failing = [self.outcome(member, values).failing for member in members]
                if isinstance(component, AndConstraintComponent):
                    bad = set().union(*failing)
                elif isinstance(component, OrConstraintComponent):
                    bad = set.intersection(*failing)
                else:
                    bad = {v for v in self.nodes(values) if sum(v not in f for f in failing) != 1}
                rows += self._value_rows(shape, source, component, bad)
        for component in shape.of(NodeConstraintComponent):
            for node in component.node_shapes:
                below = self.outcome(self.plan.shape(node), values)
                details: dict[OxTerm, list[_Row]] = defaultdict(list)
                for row in below.rows:
                    details[row.focus].append(row)
                for focus, value in self.pairs_with_values(shape, source, below.reported):
                    rows.append(self.row(component, focus, value, details[value]))
        return rows

    def _value_rows(
        self, shape: _Shape, source: _Source, component: ConstraintComponent, bad: set[OxTerm]
    ) -> list[_Row]:
        return [
            self.row(component, focus, value) for focus, value in self.pairs_with_values(shape, source, bad)
        ]


def _failing_focus_nodes(
    component: ConstraintComponent, executor: SHACLExecutor, checked: dict[URIRef, set[Node]]
) -> list[Node]:
    """The focus nodes a value component fails on, from pySHACL's own ``evaluate``.

    The results themselves are not needed (they are written later for the real focus nodes), so a
    copy of the component records the focus node instead of writing a full result for each.
    """
    failed: list[Node] = []

    def record(_graph: Graph, focus: Node, *_args: Any, **_kwargs: Any) -> _PyReport:
        failed.append(focus)
        return "", BNode(), []

    probe = copy.copy(component)
    try:
        probe.make_v_result = record  # type: ignore[method-assign]
    except AttributeError:  # a component without an instance dict: let it write its results
        _, reports = component.evaluate(executor, _NO_GRAPH, checked, [])
        return [o[1] for _, node, triples in reports for s, p, o in triples if p == SH.focusNode]
    probe.evaluate(executor, _NO_GRAPH, checked, [])
    return failed


def _written(report: _PyReport) -> Callable[[], _PyReport]:
    return lambda: report


# ---------------------------------------------------------------------------------------------- entry points


@dataclass(frozen=True)
class SparqlOutcome:
    """The compiled shapes' verdict on a graph.

    Attributes:
        conforms: pySHACL's verdict for the compiled shapes (with ``allow_warnings``).
        graph: the ``sh:ValidationReport``, written by pySHACL's own report writer.
        labels: ``rdfs:label`` values of a node in the data and the ontology.
    """

    conforms: bool
    graph: Graph
    labels: Callable[[Node], list[Literal]]


def validate_graph(
    data: Graph, plan: CompiledShapes, ontology: Graph, *, partial: bool = True
) -> SparqlOutcome:
    """Validate an rdflib graph (a dataset: the union of its graphs) plus the ontology.

    Args:
        data: the graph; it is not modified.
        plan: compiled shapes (``compile_shapes``).
        ontology: added to the data, as ``kg.validate`` adds it for pySHACL.
        partial: evaluate the compiled shapes even if some are unsupported (the caller has
            pySHACL evaluate those); when False, raise ``UnsupportedShapes`` instead.

    Raises:
        UnsupportedShapes: ``partial`` is False and some shapes are not compiled.
        ValueError: the data holds a term Oxigraph cannot store (the caller falls back to pySHACL).
    """
    if not partial:
        plan.require_supported()
    return _run(plan, _GraphBackend(data, ontology, plan))


def validate_store(
    store: ox.Store,
    plan: CompiledShapes,
    ontology: Graph,
    *,
    vocabulary: str | None = None,
    partial: bool = True,
) -> SparqlOutcome:
    """Validate a knowledge-base store in place: its default graph (every graph's triples) plus the ontology.

    Args:
        store: an Oxigraph store whose default graph holds every triple once.
        plan: compiled shapes.
        ontology: what pySHACL would be given with the data.
        vocabulary: the named graph holding ontology statements for queries, which the store's
            export leaves out.
        partial: as for ``validate_graph``.
    """
    if not partial:
        plan.require_supported()
    return _run(plan, _store_backend(store, ontology, plan, vocabulary))


def _run(plan: CompiledShapes, backend: _Backend) -> SparqlOutcome:
    evaluator = _Evaluator(plan, backend)
    rows: list[_Row] = []
    conforms = True
    for shape in plan.top_level:
        outcome = evaluator.top_level(shape)
        rows += outcome.rows
        conforms = conforms and not outcome.failing
    reports = [row.write() for row in rows]
    graph, _ = Validator.create_validation_report(plan.shapes_graph, conforms, reports)
    return SparqlOutcome(conforms, graph, backend.labels)
