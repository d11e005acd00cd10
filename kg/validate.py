"""SHACL validation of a kg graph, reported in words an analyst can act on.

pySHACL returns a report *graph* that is precise but unreadable to most users
and awkward to test; this module runs the project shapes (``shapes/``) over a
graph and turns that report into a small, frozen ``Report`` of results (focus
node with its label, property, message, severity, value) that the CLI can
print as text or JSON and tests can assert on. It also owns two decisions:
the data is validated as the *union* of its named graphs, because the shapes
describe the merged graph (an attack's evidence lives in an article graph,
the attack in the events graph); and the whole ontology is added to the copy
that is validated, because ``sh:class``/``sh:targetClass`` must follow
``rdfs:subClassOf`` and the entity-type check reads ``kg:exportType``
annotations, which pySHACL's own ``ont_graph`` mixing does not copy (it
copies RDFS/OWL axioms only). Warnings are reported but do not make a graph
non-conforming.

Two engines give the same reports. ``sparql`` (the default) compiles the
shapes into SPARQL queries that Oxigraph evaluates (``kg.shacl_sparql``): an
rdflib graph is loaded with the ontology into an in-memory store, and a
knowledge base (``validate_store``) is queried where it lies, on disk, never
copied into rdflib. ``pyshacl`` runs pySHACL, the reference the first engine
is tested against (``tests/test_shacl_sparql.py``), as reasoning keeps owlrl.
Shapes the compiler does not translate (``sh:sparql``,
``sh:qualifiedValueShape``, ``sh:closed``, custom components, recursive
shapes) are evaluated by pySHACL alone, on the same data, and the two
reports are merged; so is a graph holding text Oxigraph cannot store.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pyshacl import validate as shacl_validate
from pyshacl.entrypoints import meta_validate
from pyshacl.errors import ReportableRuntimeError
from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, SKOS, XSD
from rdflib.term import Node

from kg import resources, shacl_sparql
from kg.errors import ShapesError, choice
from kg.ns import PREFIXES
from kg.store import flatten

if TYPE_CHECKING:
    from kg.kb import KnowledgeBase

__all__ = ["Engine", "Report", "ValidationResult", "check_shapes", "shorten", "validate", "validate_store"]

log = logging.getLogger(__name__)

SH = Namespace("http://www.w3.org/ns/shacl#")

_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
_UNUSABLE = "the shapes cannot be used: "

# Longest namespace first, so that kgr:entity/x wins over a shorter match.
_SHORT_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [(prefix, str(ns)) for prefix, ns in PREFIXES.items()]
        + [
            ("rdf", str(RDF)),
            ("rdfs", str(RDFS)),
            ("owl", str(OWL)),
            ("xsd", str(XSD)),
            ("skos", str(SKOS)),
            ("sh", str(SH)),
            ("dcterms", "http://purl.org/dc/terms/"),
            ("kgs", "https://kg.example.org/shapes#"),
        ],
        key=lambda item: len(item[1]),
        reverse=True,
    )
)


class Engine(StrEnum):
    """How shapes are evaluated: compiled to SPARQL for Oxigraph, or by pySHACL (the reference)."""

    SPARQL = "sparql"
    PYSHACL = "pyshacl"


@dataclass(frozen=True)
class ValidationResult:
    """One problem found by the shapes.

    Attributes:
        focus: IRI (or blank node id) of the node that has the problem.
        focus_label: its ``rdfs:label`` (English preferred), if it has one.
        path: IRI of the property at fault, or None for a node-level problem.
        message: what is wrong, in words (the shape's ``sh:message``).
        severity: ``Violation``, ``Warning`` or ``Info``.
        value: the offending value (IRI or lexical form), if any.
    """

    focus: str
    focus_label: str | None
    path: str | None
    message: str
    severity: str
    value: str | None

    def text(self) -> str:
        """One human line: ``Violation: "Label" (kgr:...) kg:prop: message (value: x)``."""
        who = shorten(self.focus)
        if self.focus_label:
            who = f'"{self.focus_label}" ({who})'
        where = f" {shorten(self.path)}" if self.path else ""
        line = f"{self.severity}: {who}{where}: {self.message}"
        if self.value is not None:
            line += f" (value: {shorten(self.value)})"
        return line


@dataclass(frozen=True)
class Report:
    """The outcome of validating one graph.

    Attributes:
        conforms: True when no result has severity Violation.
        results: every result, violations first, in a stable order.
        graph: the ``sh:ValidationReport`` graph, as pySHACL writes it (for ``--format turtle``).
    """

    conforms: bool
    results: tuple[ValidationResult, ...]
    graph: Graph

    def text(self) -> str:
        """Human-readable report: one line per result, then a summary line."""
        lines = [result.text() for result in self.results]
        lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        """One line, e.g. ``Does not conform: 2 violations, 1 warning on 2 nodes.``"""
        if not self.results:
            return "Conforms: no problems found."
        counts = Counter(result.severity for result in self.results)
        parts = [
            f"{counts[severity]} {severity.lower()}{'s' if counts[severity] > 1 else ''}"
            for severity in sorted(counts, key=lambda s: _SEVERITY_ORDER.get(s, 9))
        ]
        nodes = len({result.focus for result in self.results})
        verdict = "Conforms" if self.conforms else "Does not conform"
        return f"{verdict}: {', '.join(parts)} on {nodes} node{'s' if nodes > 1 else ''}."

    def to_json(self) -> str:
        """The report as a JSON object: ``{"conforms": ..., "results": [...]}``."""
        payload = {
            "conforms": self.conforms,
            "summary": self.summary(),
            "results": [asdict(result) for result in self.results],
        }
        return json.dumps(payload, ensure_ascii=False, indent=2)


def validate(data: Graph, shapes: Graph | None = None, engine: Engine | str = Engine.SPARQL) -> Report:
    """Validate a graph against the kg shapes.

    Args:
        data: the graph to check; a ``Dataset``/``ConjunctiveGraph`` is
            validated as the union of its graphs. It is not modified.
        shapes: a SHACL shapes graph; defaults to the project's ``shapes/``.
        engine: ``sparql`` (shapes compiled to SPARQL, run by Oxigraph) or
            ``pyshacl`` (the reference); both give the same report.

    Returns:
        A ``Report``; ``report.conforms`` is False when any violation is found.

    Raises:
        ShapesError: the shapes graph cannot be used by pySHACL.
        UsageError: unknown engine.

    >>> validate(Graph()).conforms
    True
    """
    engine = choice(Engine, engine, "validation engine")
    shapes_graph = resources.shapes() if shapes is None else shapes
    if engine is Engine.PYSHACL:
        return _validate_pyshacl(data, shapes_graph)
    plan = shacl_sparql.compile_shapes(shapes_graph)
    if plan.error is not None:
        return _validate_pyshacl(data, shapes_graph)  # pySHACL says what is wrong with the shapes
    try:
        outcome = _guarded(lambda: shacl_sparql.validate_graph(data, plan, resources.ontology()))
    except shacl_sparql.UnencodableData as why:
        log.info("validation: %s; pySHACL validates this graph", why)
        return _validate_pyshacl(data, shapes_graph)
    report = _sparql_report(outcome)
    return _with_unsupported(report, plan, shapes_graph, lambda: data)


def validate_store(
    kb: KnowledgeBase, shapes: Graph | None = None, engine: Engine | str = Engine.SPARQL
) -> Report:
    """Validate a knowledge base where it lies: the union of its graphs, plus the ontology.

    The ``sparql`` engine queries the on-disk Oxigraph store directly (the
    store's default graph holds every triple once), so a base of millions of
    triples is never copied into rdflib; ``pyshacl`` validates its export.
    The report equals that of ``validate`` on the base's export
    (``kg export --store``).

    Args:
        kb: the knowledge base.
        shapes: a SHACL shapes graph; defaults to the project's ``shapes/``.
        engine: as for ``validate``.
    """
    from kg.kb import VOCABULARY_GRAPH

    engine = choice(Engine, engine, "validation engine")
    shapes_graph = resources.shapes() if shapes is None else shapes
    if engine is Engine.PYSHACL:
        return _validate_pyshacl(kb.to_dataset(), shapes_graph)
    plan = shacl_sparql.compile_shapes(shapes_graph)
    if plan.error is not None:
        return _validate_pyshacl(kb.to_dataset(), shapes_graph)
    store = kb.oxigraph
    outcome = _guarded(
        lambda: shacl_sparql.validate_store(
            store, plan, resources.ontology(), vocabulary=str(VOCABULARY_GRAPH)
        )
    )
    report = _sparql_report(outcome)
    return _with_unsupported(report, plan, shapes_graph, kb.to_dataset)


def _guarded(run: Callable[[], shacl_sparql.SparqlOutcome]) -> shacl_sparql.SparqlOutcome:
    """pySHACL's component code can refuse data as it would in pySHACL (a blank node to sh:lessThan)."""
    try:
        return run()
    except (ReportableRuntimeError, re.error) as error:
        raise ShapesError(f"{_UNUSABLE}{_first_line(str(error))}") from error


def _sparql_report(outcome: shacl_sparql.SparqlOutcome) -> Report:
    def label(node: Node) -> str | None:
        return _pick_label(outcome.labels(node))

    results = _results(outcome.graph, label)
    return Report(conforms=outcome.conforms, results=results, graph=outcome.graph)


def _with_unsupported(
    report: Report, plan: shacl_sparql.CompiledShapes, shapes: Graph, data: Callable[[], Graph]
) -> Report:
    """Have pySHACL evaluate the shapes the compiler left out, and merge its report into ``report``."""
    if not plan.unsupported:
        return report
    unsupported = sorted(plan.unsupported.items(), key=lambda item: str(item[0]))
    listed = "; ".join(f"{shorten(str(shape))}: {why}" for shape, why in unsupported)
    log.info("validation: pySHACL evaluates the shapes not compiled to SPARQL (%s)", listed)
    other = _validate_pyshacl(data(), plan.pruned_shapes(shapes))
    graph = Graph()
    for prefix, namespace in report.graph.namespaces():
        graph.bind(prefix, namespace)
    conforms = report.conforms and other.conforms
    node = BNode()
    graph.add((node, RDF.type, SH.ValidationReport))
    graph.add((node, SH.conforms, Literal(conforms)))
    for part in (report.graph, other.graph):
        heads = set(part.subjects(RDF.type, SH.ValidationReport))
        for s, p, o in part:
            if s in heads:
                if p == SH.result:
                    graph.add((node, p, o))
            else:
                graph.add((s, p, o))
    return Report(conforms=conforms, results=_ordered({*report.results, *other.results}), graph=graph)


def _validate_pyshacl(data: Graph, shapes_graph: Graph) -> Report:
    work = flatten(data)
    work += resources.ontology()
    try:
        conforms, report_graph, _ = shacl_validate(
            work,
            shacl_graph=shapes_graph,
            inference="none",
            inplace=True,  # `work` is our own copy
            allow_warnings=True,
        )
    except (ReportableRuntimeError, re.error) as error:
        raise ShapesError(f"{_UNUSABLE}{_first_line(str(error))}") from error
    if not isinstance(report_graph, Graph):  # pySHACL returns, not raises, a ValidationFailure
        raise ShapesError(f"{_UNUSABLE}{_first_line(str(report_graph))}")
    results = _results(report_graph, lambda node: _label(work, node))
    return Report(conforms=bool(conforms), results=results, graph=report_graph)


def check_shapes(shapes: Graph, source: str | Path | None = None) -> None:
    """Check that a shapes graph is itself valid SHACL, before any data is validated with it.

    A broken shapes file must not pass for a data problem (or for a clean
    bill of health), so it is checked on its own: it must declare at least one
    shape (a data file given as ``--shapes`` by mistake would otherwise
    validate everything), pass pySHACL's meta-SHACL (the SHACL-for-SHACL
    shapes), have ``sh:pattern`` values that compile (pySHACL only compiles
    them when a value reaches them), and load in pySHACL, which is tried once
    on an empty graph.

    Args:
        shapes: the shapes graph to check.
        source: the file it came from, named in the message.

    Raises:
        ShapesError: ``shapes file X is not valid SHACL: <first problem>``, one line.
    """
    prefix = (
        f"shapes file {source} is not valid SHACL" if source is not None else "the shapes are not valid SHACL"
    )
    if not _declares_shapes(shapes):
        raise ShapesError(
            f"{prefix}: it declares no shape (no sh:NodeShape, sh:PropertyShape, sh:property or sh:target...)"
        )
    conforms, report_graph, _ = meta_validate(shapes, inference="rdfs")
    if not conforms:
        results = _results(report_graph, lambda node: _label(shapes, node))
        first = results[0]
        focus = next(n for n in report_graph.objects(None, SH.focusNode) if str(n) == first.focus)
        where = _describe_shape(shapes, focus)
        path = f" {shorten(first.path)}" if first.path else ""
        value = f" (value: {first.value})" if first.value is not None else ""
        more = f" (and {len(results) - 1} more problems)" if len(results) > 1 else ""
        raise ShapesError(f"{prefix}: {where}{path}: {first.message}{value}{more}")
    for shape, pattern in shapes.subject_objects(SH.pattern):
        try:
            re.compile(str(pattern))
        except re.error as error:
            where = _describe_shape(shapes, shape)
            raise ShapesError(f'{prefix}: {where} sh:pattern "{pattern}": {error}') from error
    try:
        validate(Graph(), shapes, engine=Engine.PYSHACL)
    except ShapesError as error:
        raise ShapesError(f"{prefix}: {str(error).removeprefix(_UNUSABLE)}") from error


_SHAPE_MARKERS = (
    SH.property,
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.path,
)


def _declares_shapes(shapes: Graph) -> bool:
    typed = ((None, RDF.type, kind) for kind in (SH.NodeShape, SH.PropertyShape))
    marked = ((None, marker, None) for marker in _SHAPE_MARKERS)
    return any(next(iter(shapes.triples(pattern)), None) is not None for pattern in (*typed, *marked))


def shorten(iri: str) -> str:
    """Shorten an IRI with the project prefixes (``kg:``, ``kgr:``, ...).

    >>> shorten("https://kg.example.org/id/entity/green-zone")
    'kgr:entity/green-zone'
    >>> shorten("urn:x")
    'urn:x'
    """
    for prefix, namespace in _SHORT_PREFIXES:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def _describe_shape(shapes: Graph, node: Node) -> str:
    """Name a shape node; a blank node is named by its path and parent shape."""
    if not isinstance(node, BNode):
        return shorten(str(node))
    path = shapes.value(node, SH.path)
    parent = shapes.value(None, SH.property, node)
    described = f"the property shape on {shorten(str(path))}" if isinstance(path, URIRef) else "a shape"
    if isinstance(parent, URIRef):
        described += f" of {shorten(str(parent))}"
    return described


def _results(report: Graph, label: Callable[[Node], str | None]) -> tuple[ValidationResult, ...]:
    """The results of a report graph, each once; ``label`` names a focus node (``_pick_label``)."""
    results = set()
    for node in report.objects(None, SH.result):
        focus = report.value(node, SH.focusNode)
        path = report.value(node, SH.resultPath)
        severity = report.value(node, SH.resultSeverity)
        value = report.value(node, SH.value)
        messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
        results.add(
            ValidationResult(
                focus=str(focus),
                focus_label=label(focus) if focus is not None else None,
                path=str(path) if isinstance(path, URIRef) else None,
                message=" ".join(messages) or "(no message)",
                severity=_local_name(severity) if severity is not None else "Violation",
                value=None if value == focus else _value(value),
            )
        )
    return _ordered(results)


def _ordered(results: set[ValidationResult]) -> tuple[ValidationResult, ...]:
    return tuple(
        sorted(
            results,
            key=lambda r: (
                _SEVERITY_ORDER.get(r.severity, 9),
                r.focus,
                r.path or "",
                r.message,
                r.value or "",
            ),
        )
    )


def _label(graph: Graph, node: Node) -> str | None:
    return _pick_label(list(graph.objects(node, RDFS.label)))


def _pick_label(labels: list[Node]) -> str | None:
    """The English label, else one without language, else the French one, else the first."""
    found = [label for label in labels if isinstance(label, Literal)]
    if not found:
        return None
    for lang in ("en", None, "fr"):
        for label in sorted(found):
            if label.language == lang:
                return str(label)
    return str(sorted(found)[0])


def _value(value: Node | None) -> str | None:
    if value is None or isinstance(value, BNode):
        return None
    return str(value)


def _local_name(iri: Node) -> str:
    text = str(iri)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else "unknown error"
