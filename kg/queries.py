"""Stored SPARQL queries: find them, read their contract, bind parameters safely, run them.

Analysts ask the graph the same questions again and again (who attacked which
base, which sources disagree), so those questions live as ``queries/*.rq``
files, each opening with a comment block that states its title, what it
returns and the parameters it takes. This module reads that block, checks the
query is a read-only SPARQL query, and binds parameters as RDF terms through
rdflib's ``initBindings``: a parameter value is never pasted into query text,
so a value such as ``x" } ; DROP ALL ; #`` stays a string that matches
nothing. A query whose name ends in ``-violation`` states a rule of the
model: it must return no rows on a valid graph. By default a query runs over
a copy of the data joined with a few ontology statements (the ``skos:notation``
codes of attack kinds and statuses, the ``kg:exportType`` of classes and the
``rdfs:subClassOf`` tree; see ``with_vocabulary``), because a built graph holds
instance data only and queries should print ``rocket`` rather than
``kg:Rocket``. Results come back as a small ``QueryResult`` that prints as an
aligned table (cut to a row limit, with a note saying so), CSV or JSON.
``call_with_timeout`` gives up on a query that runs past its deadline, so
one careless cross join cannot hold a terminal or a script forever.
"""

from __future__ import annotations

import csv
import ctypes
import io
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache, lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from pyparsing import ParseBaseException
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Identifier, Node

from kg import resources
from kg.errors import QueryError, QueryTimeout, UsageError, choice
from kg.kb import KnowledgeBase
from kg.ns import KG, KGR, PREFIXES, bind_prefixes, entity_iri, slugify

__all__ = [
    "Param",
    "ParamType",
    "QueryResult",
    "ResultFormat",
    "StoredQuery",
    "bind_params",
    "call_with_timeout",
    "format_result",
    "list_queries",
    "load_query",
    "parse_query",
    "run",
    "shorten",
    "vocabulary",
    "with_vocabulary",
]

VIOLATION_SUFFIX = "-violation"
VOCABULARY_GRAPH = KGR["graph/vocabulary"]
# Ontology statements queries may read: codes of kinds and statuses, export types, class tree.
_VOCABULARY_PREDICATES = (SKOS.notation, KG.exportType, RDFS.subClassOf)
DCTERMS = "http://purl.org/dc/terms/"

# Prefixes a user's own .rq file may use without declaring them.
_INIT_NS: dict[str, str] = {
    **{prefix: str(ns) for prefix, ns in PREFIXES.items()},
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": DCTERMS,
}
# Longest namespace first, so kgr:entity/x wins over a shorter match.
_SHORT_FORMS: tuple[tuple[str, str], ...] = tuple(
    sorted(((ns, prefix) for prefix, ns in _INIT_NS.items()), key=lambda item: len(item[0]), reverse=True)
)
_HEADER_LINE = re.compile(r"#\s*(?P<key>[A-Za-z]+)\s*:\s*(?P<value>.*)$")
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|\\^`]')
# A conservative RFC 3987 IRI: what every engine kg talks to (rdflib, Oxigraph, SPARQL servers) accepts.
# RFC 3987 ucschar: planes 1-13 without their last two code points (noncharacters such as U+1FFFE), and
# plane 14 from U+E1000 (U+E0000-E0FFF are tags and variation selectors).
_UCS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef" + "".join(
    f"{chr(0xE1000 if plane == 14 else plane << 16)}-{chr((plane << 16) | 0xFFFD)}" for plane in range(1, 15)
)
_IRI_HOST = rf"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{{2}}|[{_UCS}])+(?::[0-9]{{1,5}})?"
_IRI_CHAR = rf"(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{{2}}|[{_UCS}])"
_HTTP_IRI = re.compile(rf"https?://{_IRI_HOST}(?:[/?]{_IRI_CHAR}*)?(?:#{_IRI_CHAR}*)?")
_LOCAL_NAME = re.compile(rf"{_IRI_CHAR}+(?:#{_IRI_CHAR}*)?")
_DATE_FORMS = (  # ASCII digits only: int() would also take Arabic or Devanagari ones
    (re.compile(r"[0-9]{4}"), XSD.gYear),
    (re.compile(r"[0-9]{4}-[0-9]{2}"), XSD.gYearMonth),
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), XSD.date),
)
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")  # longer is no count, and int() refuses over 4300 digits
_TABLE_CELL_WIDTH = 80


class ParamType(StrEnum):
    """What a query parameter holds, and so how its value becomes an RDF term."""

    ENTITY = "entity"
    STRING = "string"
    DATE = "date"
    INTEGER = "integer"


class ResultFormat(StrEnum):
    """How ``format_result`` prints a result."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class Param:
    """One parameter a stored query declares in its header (``# param: name type required|optional text``)."""

    name: str
    type: ParamType
    required: bool
    description: str


@dataclass(frozen=True)
class StoredQuery:
    """A SPARQL query with the contract stated in its header comment block.

    Attributes:
        name: the file stem (``attacks-by-group``), used on the command line.
        title: one-line title.
        description: what the rows mean.
        params: declared parameters, in header order.
        text: the full query text, header included.
        path: the ``.rq`` file it came from, or None for a query built in memory.
    """

    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    text: str
    path: Path | None = None

    @property
    def is_violation(self) -> bool:
        """True for a rule query, which must return no rows on a valid graph."""
        return self.name.endswith(VIOLATION_SUFFIX)


@dataclass
class QueryResult:
    """Rows of a query: ``variables`` in SELECT order, each row maps a variable to a term or None."""

    variables: list[str]
    rows: list[dict[str, Node | None]] = field(default_factory=list)


# ---------------------------------------------------------------- loading


def list_queries() -> list[StoredQuery]:
    """All stored queries of the project (``queries/*.rq``), sorted by name.

    Raises:
        QueryError: a stored query has a malformed header or does not parse.
    """
    return [_load_file(path) for path in sorted(resources.queries_dir().glob("*.rq"))]


def load_query(name_or_path: str | Path) -> StoredQuery:
    """A stored query by name (``attacks-by-group``), or a ``.rq`` file by path.

    A file given by path may carry the same header as stored queries; without
    one its title is its file name and it takes no parameters.

    Raises:
        QueryError: unknown name (the message lists the stored ones), missing
            file, malformed header, SPARQL syntax error, or an UPDATE request.
    """
    text = str(name_or_path)
    candidate = Path(text)
    if isinstance(name_or_path, Path) or text.endswith(".rq") or "/" in text or candidate.is_file():
        if not candidate.is_file():
            raise QueryError(f"{candidate}: query file not found")
        return _load_file(candidate)
    stored = resources.queries_dir() / f"{text}.rq"
    if stored.is_file():
        return _load_file(stored)
    names = ", ".join(path.stem for path in sorted(resources.queries_dir().glob("*.rq")))
    raise QueryError(f"unknown query {text!r}; stored queries are: {names} (or give a path to a .rq file)")


def parse_query(text: str, name: str = "<query>", path: Path | None = None) -> StoredQuery:
    """Build a ``StoredQuery`` from query text: read the header, check the SPARQL.

    Raises:
        QueryError: malformed header, syntax error (with line and column), an
            UPDATE request, or a declared parameter the query never uses.
    """
    where = str(path) if path is not None else name
    title, description, params = _parse_header(text, where)
    _prepare(text, where)
    for param in params:
        if not re.search(rf"[?$]{re.escape(param.name)}\b", _strip_comments(text)):
            raise QueryError(
                f"{where}: parameter {param.name!r} is declared but ?{param.name} is not in the query"
            )
    return StoredQuery(
        name=name,
        title=title or name,
        description=description,
        params=tuple(params),
        text=text,
        path=path,
    )


def _load_file(path: Path) -> StoredQuery:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise QueryError(f"{path}: not valid UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from exc
    except OSError as exc:
        raise QueryError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return parse_query(text, name=path.stem, path=path)


def _parse_header(text: str, where: str) -> tuple[str, str, list[Param]]:
    """Read the leading comment block: ``# title:``, ``# description:`` (may continue), ``# param:``."""
    fields: dict[str, list[str]] = {"title": [], "description": []}
    params: list[Param] = []
    last: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            last = None
            continue
        if not line.startswith("#"):
            break
        match = _HEADER_LINE.match(line)
        key = match.group("key").lower() if match else None
        if match and key == "param":
            params.append(_parse_param(match.group("value"), where, number))
            last = None
        elif match and key in fields:
            fields[key].append(match.group("value").strip())
            last = key
        elif last is not None:  # continuation of the previous field
            fields[last].append(line.lstrip("#").strip())
    names = [param.name for param in params]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise QueryError(f"{where}: parameter {duplicates[0]!r} is declared twice")
    return " ".join(fields["title"]), " ".join(fields["description"]), params


def _parse_param(spec: str, where: str, line: int) -> Param:
    parts = spec.split(None, 3)
    expected = "expected '# param: NAME TYPE required|optional DESCRIPTION'"
    if len(parts) < 3:
        raise QueryError(f"{where}:{line}: malformed param line; {expected}")
    name, type_name, presence = parts[0], parts[1].lower(), parts[2].lower()
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise QueryError(f"{where}:{line}: parameter name {name!r} is not a SPARQL variable name")
    try:
        param_type = ParamType(type_name)
    except ValueError:
        choices = ", ".join(t.value for t in ParamType)
        raise QueryError(
            f"{where}:{line}: parameter type {type_name!r} unknown; expected one of {choices}"
        ) from None
    if presence not in ("required", "optional"):
        raise QueryError(f"{where}:{line}: expected 'required' or 'optional', found {presence!r}")
    return Param(name, param_type, presence == "required", parts[3].strip() if len(parts) > 3 else "")


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@lru_cache(maxsize=128)
def _prepare_cached(text: str) -> Query:
    return prepareQuery(text, initNs=_INIT_NS)


def _prepare(text: str, where: str) -> Query:
    """Parse and translate the query once; errors become one-line ``QueryError``s."""
    try:
        return _prepare_cached(text)
    except ParseBaseException as exc:
        if _is_update(text):
            raise QueryError(
                f"{where}: is a SPARQL UPDATE; kg queries are read-only (SELECT, ASK, CONSTRUCT, DESCRIBE)"
            ) from exc
        message = " ".join(str(exc.msg).split())
        raise QueryError(f"{where}:{exc.lineno}:{exc.col}: SPARQL syntax error: {message}") from exc
    except Exception as exc:  # rdflib raises plain Exceptions, e.g. for an unknown prefix
        raise QueryError(f"{where}: invalid SPARQL query: {' '.join(str(exc).split())}") from exc


def _is_update(text: str) -> bool:
    try:
        parseUpdate(text)
    except Exception:  # not an update either: report the query syntax error
        return False
    return True


# ---------------------------------------------------------------- parameters


def bind_params(query: StoredQuery, params: dict[str, str] | None) -> dict[str, Identifier]:
    """Turn ``name=value`` strings into RDF terms, checked against the query's declared params.

    Entity values may be a slug (``camp-taji``; other text is slugified, so
    ``Camp Taji`` works too), a ``kgr:`` name or a full ``http(s)`` IRI; dates
    are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (typed like ``kg:date``);
    integers are decimal; strings become plain literals.

    Whatever the text, the only exception is ``QueryError``, and every term
    returned is one rdflib, Oxigraph and SPARQL servers accept, so a value can
    never change the query, only what it matches.

    Raises:
        QueryError: a required parameter is missing, an unknown one is given,
            or a value is not of the declared type. Messages list the accepted
            parameters.
    """
    given = dict(params or {})
    declared = {param.name: param for param in query.params}
    accepted = _describe_params(query)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise QueryError(f"query {query.name!r} has no parameter {unknown[0]!r}; it accepts: {accepted}")
    missing = [p.name for p in query.params if p.required and p.name not in given]
    if missing:
        raise QueryError(f"query {query.name!r} needs parameter {missing[0]!r}; it accepts: {accepted}")
    return {name: _to_term(query, declared[name], value) for name, value in given.items()}


def _describe_params(query: StoredQuery) -> str:
    if not query.params:
        return "no parameters (declare them in the header with '# param: NAME TYPE required|optional TEXT')"
    return ", ".join(
        f"{p.name} ({p.type.value}, {'required' if p.required else 'optional'})" for p in query.params
    )


def _to_term(query: StoredQuery, param: Param, value: str) -> Identifier:
    if re.search(r"[\ud800-\udfff]", value):  # undecodable bytes on the command line (surrogate escapes)
        raise QueryError(
            f"query {query.name!r}: parameter {param.name!r} is not valid text (bytes that are not UTF-8)"
        )
    value = value.strip()
    if param.type is ParamType.ENTITY:
        return _entity_term(query, param, value)
    if param.type is ParamType.DATE:
        return _date_term(query, param, value)
    if param.type is ParamType.INTEGER:
        if not _INTEGER.fullmatch(value):
            raise QueryError(
                f"query {query.name!r}: parameter {param.name!r} expects an integer, got {value!r}"
            )
        return Literal(int(value), datatype=XSD.integer)
    return Literal(value)


def _entity_term(query: StoredQuery, param: Param, value: str) -> URIRef:
    if value.startswith(("http://", "https://")):
        if _IRI_FORBIDDEN.search(value) or not _HTTP_IRI.fullmatch(value):
            raise QueryError(f"query {query.name!r}: parameter {param.name!r} is not a valid IRI: {value!r}")
        return URIRef(value)
    if value.startswith("kgr:"):
        local = value[len("kgr:") :]
        if not local or _IRI_FORBIDDEN.search(local) or not _LOCAL_NAME.fullmatch(local):
            raise QueryError(
                f"query {query.name!r}: parameter {param.name!r} is not a valid kgr: name: {value!r}"
            )
        return KGR[local]
    if not value:
        raise QueryError(
            f"query {query.name!r}: parameter {param.name!r} is empty; give a slug like camp-taji"
        )
    return entity_iri(slugify(value))


def _date_term(query: StoredQuery, param: Param, value: str) -> Literal:
    for pattern, datatype in _DATE_FORMS:
        if pattern.fullmatch(value):
            year, month, day = ([*map(int, value.split("-")), 1, 1])[:3]
            try:
                date(year, month, day)
            except ValueError:
                break
            return Literal(value, datatype=datatype)
    raise QueryError(
        f"query {query.name!r}: parameter {param.name!r} expects a date "
        f"YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}"
    )


# ---------------------------------------------------------------- vocabulary


@cache
def vocabulary() -> Graph:
    """The ontology statements queries may rely on, taken from ``ontology/``.

    Built graphs hold instance data only (``kg:attackKind kg:Rocket``), while
    the export codes (``skos:notation "rocket"``), the export types of classes
    (``kg:exportType``) and the class tree (``rdfs:subClassOf``) live in the
    ontology. Callers must not mutate the returned graph.
    """
    graph = Graph()
    bind_prefixes(graph)
    ontology = resources.ontology()
    for predicate in _VOCABULARY_PREDICATES:
        for triple in ontology.triples((None, predicate, None)):
            graph.add(triple)
    return graph


def with_vocabulary(data: Graph) -> Dataset:
    """A copy of the data, named graphs kept, plus ``kgr:graph/vocabulary`` (see ``vocabulary``).

    The copy's default graph is the union of all graphs. The data itself is
    not modified.
    """
    dataset = Dataset(default_union=True)
    for prefix, namespace in data.namespaces():
        dataset.bind(prefix, namespace, override=False)
    bind_prefixes(dataset)
    graphs = data.graphs() if isinstance(data, Dataset) else [data]
    for graph in graphs:
        named = isinstance(data, Dataset) and graph.identifier != DATASET_DEFAULT_GRAPH_ID
        target = dataset.graph(graph.identifier) if named else dataset.default_graph
        target += graph
    vocabulary_graph = dataset.graph(VOCABULARY_GRAPH)
    vocabulary_graph += vocabulary()
    return dataset


# ---------------------------------------------------------------- running


def run(
    data: Graph,
    query: StoredQuery,
    params: dict[str, str] | None = None,
    *,
    with_ontology: bool = True,
) -> QueryResult:
    """Run a query over a graph or dataset with parameters bound as RDF terms.

    For a ``Dataset`` loaded by ``kg.store.load`` the default graph is the
    union of all named graphs, so the query sees every triple.

    Args:
        data: the graph to query.
        query: a query from ``load_query``, ``list_queries`` or ``parse_query``.
        params: parameter values as strings, by name.
        with_ontology: query a copy of the data joined with the ontology's
            codes, export types and class tree (``with_vocabulary``), so that
            kinds print as ``rocket`` rather than ``kg:Rocket``; False queries
            the data exactly as given.

    Returns:
        The rows; for ASK one row ``{"ask": true|false}``, for CONSTRUCT and
        DESCRIBE one row per triple (``subject``, ``predicate``, ``object``).

    Raises:
        QueryError: bad parameters, or the query fails while running.
    """
    bindings = bind_params(query, params)
    prepared = _prepare(query.text, str(query.path or query.name))
    if with_ontology:
        data = with_vocabulary(data)
    try:
        result = data.query(prepared, initBindings=bindings)
    except Exception as exc:  # evaluation errors inside rdflib's SPARQL engine
        raise QueryError(f"query {query.name!r} failed: {' '.join(str(exc).split())}") from exc
    if result.type == "ASK":
        return QueryResult(["ask"], [{"ask": Literal(bool(result.askAnswer))}])
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        names = ["subject", "predicate", "object"]
        triples = sorted(result.graph, key=lambda triple: tuple(str(term) for term in triple))
        return QueryResult(names, [dict(zip(names, triple, strict=True)) for triple in triples])
    variables = [str(var) for var in (result.vars or [])]
    rows = [{name: row[index] for index, name in enumerate(variables)} for row in result]
    return QueryResult(variables, rows)


def run_on_store(kb: KnowledgeBase, query: StoredQuery, params: dict[str, str] | None = None) -> QueryResult:
    """Run a stored query with Oxigraph over a knowledge base, parameters bound as substitutions.

    The knowledge base holds the query vocabulary (kind codes, export types) in its own named graph,
    so results match ``run(..., with_ontology=True)`` on the same graph.
    """
    bindings = bind_params(query, params)
    prepared = _prepare(query.text, str(query.path or query.name))  # same errors and refusals as run()
    text, order = client_side_order(query.text)
    projected = {str(v) for v in prepared.algebra.get("PV") or ()}
    if prepared.algebra.name != "SelectQuery" or any(name not in projected for name, _ in order):
        text, order = query.text, []  # ordered by a variable the rows do not carry: the store sorts
    names, rows = kb.select(with_values(text, bindings))
    return QueryResult(names, sort_rows(rows, order) if order else rows)


# ``ORDER BY ?a DESC(?b)`` closing a query: plain variables only (no expressions, no LIMIT after it).
_FINAL_ORDER = re.compile(
    r"\bORDER\s+BY((?:\s*(?:(?:ASC|DESC)\s*\(\s*[?$]\w+\s*\)|[?$]\w+))+)\s*$", re.IGNORECASE
)
_ORDER_KEY = re.compile(r"(ASC|DESC)?\s*\(?\s*[?$](\w+)\s*\)?", re.IGNORECASE)


def client_side_order(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """The query without its final ``ORDER BY`` of plain variables, and that order as (variable, descending).

    Oxigraph compares strings and IRIs by reading each one back from RocksDB at every comparison of
    its sort: measured on a 1M-quad store, ``ORDER BY`` took 3.5 s of the 3.8 s of the entities table
    (16k rows) and 2.3 s of the 3.3 s of the events table. The rows reach Python anyway, where sorting
    them costs milliseconds. Orders on expressions or aggregates, and orders a LIMIT or OFFSET depends
    on, stay in the query.

    >>> client_side_order("SELECT ?a ?b WHERE { ?a ?p ?b } ORDER BY ?a DESC(?b)")
    ('SELECT ?a ?b WHERE { ?a ?p ?b } ', [('a', False), ('b', True)])
    >>> client_side_order("SELECT ?a WHERE { ?a ?p ?b } ORDER BY STR(?a)")[1]
    []
    """
    body = _strip_comments(text)
    match = _FINAL_ORDER.search(body)
    if match is None:
        return text, []
    order = [(name, (direction or "").upper() == "DESC") for direction, name in _ORDER_KEY.findall(match[1])]
    return body[: match.start()], order


def sort_rows(
    rows: list[dict[str, Identifier | None]], order: list[tuple[str, bool]]
) -> list[dict[str, Identifier | None]]:
    """Rows sorted as SPARQL orders terms: unbound, blank nodes, IRIs, then literals (numbers by value).

    Literals SPARQL leaves unordered (a string and a date) are ordered as rdflib orders them, so a query
    lists its rows in the same order on a graph file and on the store.
    """
    if not rows or not order:
        return rows
    # a table repeats its terms, often as one shared object (kb.select converts each term once): rank
    # each distinct object once, by identity (rdflib hashes literals in Python), then sort on the ranks
    distinct = {id(term): term for row in rows for term in (row.get(name) for name, _ in order)}
    rank: dict[int, int] = {}
    position, previous = -1, None
    for key, identity in sorted(((_term_order(t), i) for i, t in distinct.items()), key=itemgetter(0)):
        if key != previous:  # terms SPARQL orders alike share a rank, so ties keep the rows' order
            position, previous = position + 1, key
        rank[identity] = position
    signs = [(name, -1 if descending else 1) for name, descending in order]
    return sorted(rows, key=lambda row: tuple(sign * rank[id(row.get(name))] for name, sign in signs))


_NUMERIC = frozenset(
    str(XSD[name])
    for name in (
        "integer", "decimal", "float", "double", "nonNegativeInteger", "positiveInteger", "negativeInteger",
        "nonPositiveInteger", "long", "int", "short", "byte", "unsignedLong", "unsignedInt",
        "unsignedShort", "unsignedByte",
    )
)  # fmt: skip


_XSD_STRING = str(XSD.string)


def _term_order(term: Identifier | None) -> tuple:
    if term is None:
        return (0,)
    if isinstance(term, BNode):
        return (1, str(term))
    if isinstance(term, URIRef):
        return (2, str(term))
    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype) in _NUMERIC:
        try:
            value = Decimal(str(term))
        except ArithmeticError:
            value = None
        if value is not None and not value.is_nan():
            return (3, 0, value, str(term))
    if isinstance(term, Literal):  # as rdflib orders them: by datatype, then language, then text
        return (3, 1, str(term.datatype) if term.datatype else _XSD_STRING, term.language or "", str(term))
    return (4, str(term))


_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def with_values(text: str, bindings: dict[str, Identifier]) -> str:
    """The query with VALUES blocks binding the parameters in its WHERE and in each sub-select using them.

    rdflib's ``initBindings`` (how a graph file is queried) bind a parameter everywhere in the query,
    sub-selects included; a VALUES block binds only the group it sits in, so one goes into every
    sub-select that names a parameter too: the store gives the same answers as a graph file, and
    picks the parameter's triples inside the sub-select instead of evaluating it for every entity.
    Values are written as RDF terms in N-Triples syntax by rdflib (quotes and backslashes escaped),
    so a value can only ever be a term: ``x" } ; DROP ALL ; #`` stays a string literal.
    """
    if not bindings:
        return text
    body = _strip_comments(text)
    groups = _where_groups(body)
    if not groups:
        raise QueryError("a parameterised query needs a WHERE clause to bind its parameters")
    for start in reversed(groups[1:]):  # innermost last in the text: earlier positions stay valid
        named = {
            name: value
            for name, value in bindings.items()
            if re.search(rf"[?$]{name}\b", body[start : _matching_brace(body, start - 1)])
        }
        if named and not re.match(r"\s*SELECT\b", body[start:], re.IGNORECASE):
            body = _bind_in_group(body, start, _values_block(named))
    start = groups[0]
    block = _values_block(bindings)
    if re.match(r"\s*SELECT\b", body[start:], re.IGNORECASE):
        # a sub-select must be alone in its group: wrap it so the VALUES block can sit beside it
        close = _matching_brace(body, start - 1)
        return f"{body[:start]} {block} {{ {body[start:close]} }} {body[close:]}"
    return _bind_in_group(body, start, block)


def _values_block(bindings: dict[str, Identifier]) -> str:
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(term.n3() for term in bindings.values())
    return f"VALUES ({names}) {{ ({values}) }}"


def _where_groups(body: str) -> list[int]:
    """Positions just inside the brace of each ``WHERE {`` of the query (outside string literals)."""
    positions: list[int] = []
    index = 0
    while index < len(body):
        if body[index] == '"':
            index = _string_end(body, index) + 1
            continue
        match = _WHERE.match(body, index)
        if match is not None and (index == 0 or not (body[index - 1].isalnum() or body[index - 1] == "_")):
            positions.append(match.end())
            index = match.end()
            continue
        index += 1
    return positions


def _bind_in_group(body: str, start: int, block: str) -> str:
    """``body`` with ``block`` at ``start`` (just inside a group's brace) and inside each UNION branch there.

    Oxigraph does not carry a VALUES binding into the branches of a UNION beside it: it evaluates every
    branch for all values first (minutes on a large store). Repeating the block in each branch binds
    the same single row, so the answers do not change.
    """
    close = _matching_brace(body, start - 1)
    inserts = [start]
    branches: list[tuple[int, int]] = []
    index = start
    while index < close:
        char = body[index]
        if char == '"':
            index = _string_end(body, index)
        elif char == "{":
            end = _matching_brace(body, index)
            branches.append((index, end))
            index = end
        index += 1
    for (first_open, first_close), (second_open, _) in itertools.pairwise(branches):
        if re.fullmatch(r"\s*UNION\s*", body[first_close + 1 : second_open], re.IGNORECASE):
            inserts.extend([first_open + 1, second_open + 1])
    for position in sorted(set(inserts), reverse=True):
        body = f"{body[:position]} {block} {body[position:]}"
    return body


def _string_end(text: str, opening: int) -> int:
    """Index of the quote closing the string literal that opens at ``opening``."""
    escaped = False
    for index in range(opening + 1, len(text)):
        if text[index] == '"' and not escaped:
            return index
        escaped = text[index] == "\\" and not escaped
    return len(text)


def _matching_brace(text: str, opening: int) -> int:
    """Index of the brace closing the one at ``opening``, skipping string literals."""
    depth, in_string, escaped = 0, False, False
    for index in range(opening, len(text)):
        char = text[index]
        if in_string:
            escaped = char == "\\" and not escaped
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    raise QueryError("unbalanced braces in the query")


# ---------------------------------------------------------------- deadlines

T = TypeVar("T")
_GRACE_SECONDS = 1.0  # time an interrupted evaluator gets to unwind before the caller moves on


class _Abandoned(BaseException):
    """Raised inside a query thread past its deadline; a BaseException so rdflib's handlers let it through."""


def call_with_timeout(func: Callable[[], T], seconds: float | None, what: str = "the query") -> T:
    """Run ``func()`` (a query) and give up on it after ``seconds``.

    The call runs in a daemon thread while the caller waits. At the deadline
    the thread is sent an exception, which stops pure-Python evaluation
    (rdflib) at its next bytecode; an evaluator inside native code
    (Oxigraph, a socket read) cannot be interrupted, so the error carries the
    thread and the ``kg`` command ends the process when it is still running.
    A daemon thread never keeps the process alive.

    Args:
        func: the work, without arguments.
        seconds: the deadline; None waits as long as it takes.
        what: how the message names the work (``query 'timeline'``).

    Raises:
        QueryTimeout: the deadline passed (exit code 3).
        UsageError: ``seconds`` is not positive.
        Whatever ``func`` raises.
    """
    if seconds is None:
        return func()
    if not seconds > 0:
        raise UsageError(f"--timeout {seconds}: expected a positive number of seconds")
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = func()
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="kg-query", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _interrupt(worker)
        worker.join(_GRACE_SECONDS)
        raise QueryTimeout(
            f"{what} did not finish within --timeout {seconds:g}s and was stopped; "
            "narrow it (parameters, a LIMIT) or give it more time",
            worker=worker,
        )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _interrupt(thread: threading.Thread) -> None:
    """Raise ``_Abandoned`` in ``thread`` at its next Python bytecode (CPython; elsewhere a no-op)."""
    api = getattr(ctypes, "pythonapi", None)
    if thread.ident is None or api is None:
        return
    api.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Abandoned))


# ---------------------------------------------------------------- formatting


def format_result(result: QueryResult, fmt: str | ResultFormat, limit: int | None = None) -> str:
    """Print a result as an aligned ``table``, ``csv`` or ``json``.

    The table shortens IRIs with the project prefixes (``kgr:entity/camp-taji``)
    and cuts cells longer than 80 characters; CSV keeps full IRIs and lexical
    forms; JSON is a list of objects with IRIs as strings, literals as Python
    values (numbers, booleans; other literals as their lexical form) and
    unbound variables as null.

    Args:
        result: the rows.
        fmt: ``table``, ``csv`` or ``json``.
        limit: print only the first ``limit`` rows (None or 0: all). A cut
            table ends with ``(N of M rows shown)``; CSV and JSON stay plain
            data, so the caller reports the cut.

    Raises:
        UsageError: unknown format, or a negative limit.
    """
    result_format = choice(ResultFormat, fmt, "result format")
    if limit is not None and limit < 0:
        raise UsageError(f"--limit {limit}: expected 0 (all rows) or a positive number of rows")
    rows = result.rows[:limit] if limit else result.rows
    if result_format is ResultFormat.JSON:
        data = [{name: _json_value(row.get(name)) for name in result.variables} for row in rows]
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if result_format is ResultFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.variables)
        for row in rows:
            writer.writerow([_plain(row.get(name)) for name in result.variables])
        return buffer.getvalue()
    return _table(result.variables, rows, len(result.rows))


def shorten(term: Node | None) -> str:
    """Short display form of a term: ``kgr:entity/x`` for IRIs, lexical form for literals."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        text = str(term)
        for namespace, prefix in _SHORT_FORMS:
            if text.startswith(namespace) and len(text) > len(namespace):
                return f"{prefix}:{text[len(namespace) :]}"
        return text
    return _plain(term)


def _plain(term: Node | None) -> str:
    if term is None:
        return ""
    if isinstance(term, BNode):
        return f"_:{term}"
    return str(term)


def _json_value(term: Node | None) -> object:
    if term is None:
        return None
    if isinstance(term, Literal):
        value = term.toPython()
        if isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, Decimal):
            return float(value)
        return str(term)
    return _plain(term)


def _table(header: list[str], rows: list[dict[str, Node | None]], total: int) -> str:
    cells = [[_cut(shorten(row.get(name))) for name in header] for row in rows]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(header)]
    lines = ["  ".join(name.ljust(widths[i]) for i, name in enumerate(header)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines.extend("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in cells)
    if len(rows) < total:
        lines.append(f"({len(rows)} of {total} rows shown)")
    else:
        lines.append(f"({total} row{'s' if total != 1 else ''})")
    return "\n".join(lines) + "\n"


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TABLE_CELL_WIDTH else text[: _TABLE_CELL_WIDTH - 1] + "…"
