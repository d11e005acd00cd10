"""A remote triple store as a kg store: push graphs to it and run the stored queries on it.

One machine's embedded store stops being enough when a team shares the graph or
it outgrows a laptop; then the graph lives in a SPARQL server (Oxigraph server,
Fuseki, GraphDB, QLever, ...). This module speaks only the W3C protocols every
such server implements, over the standard library's ``urllib`` (no new
dependency): the SPARQL 1.1 Protocol to query, the SPARQL 1.1 Graph Store
Protocol (or, failing that, SPARQL 1.1 Update) to write. kg keeps its data in
its own named graphs on the server (one per article, ``kgr:graph/events``,
``kgr:graph/gazetteer``, ``kgr:graph/vocabulary``; triples a file holds outside
any named graph go to ``kgr:graph/default``) and never writes the server's
default graph, so it can share a store with other data and a push can replace
exactly what kg owns.

Which graphs a query sees is the one thing servers disagree on: GraphDB and
QLever query the union of all graphs; Oxigraph and Fuseki only their default
graph unless started with a union default graph (``oxigraph serve
--union-default-graph``, Fuseki ``tdb2:unionDefaultGraph true``). The SPARQL
Protocol's portable answer is to name the dataset in the request, one
``default-graph-uri`` and one ``named-graph-uri`` per kg graph
(``GraphScope.PROTOCOL``); it works on any server and keeps other data in a
shared store out of kg's answers, but servers evaluate such a dataset graph by
graph: measured on Oxigraph 0.5, the ``events`` query takes 7 s with 500
article graphs named and does not finish in 30 s with 2,000. So the default,
``GraphScope.AUTO``, asks the server once whether a triple of a kg graph is
visible in its default graph: if so the server already queries the union
(``GraphScope.SERVER``) and the query is sent alone; if not, the graphs are
named in each request, and a timeout says to enable the union default graph.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier

from kg.errors import KGError, QueryError, UsageError
from kg.ns import KGR
from kg.queries import VOCABULARY_GRAPH, QueryResult, StoredQuery, bind_params, vocabulary, with_values

__all__ = [
    "DEFAULT_GRAPH",
    "KG_GRAPH_PREFIX",
    "EndpointError",
    "EndpointTimeout",
    "GraphScope",
    "SparqlEndpoint",
    "run_query",
]

KG_GRAPH_PREFIX = str(KGR["graph/"])
DEFAULT_GRAPH = KGR["graph/default"]
_RESULTS_JSON = "application/sparql-results+json"
# SELECT/ASK answer in JSON; CONSTRUCT/DESCRIBE cannot, so the server falls back to a graph format.
_ACCEPT = f"{_RESULTS_JSON}, application/n-triples;q=0.9, text/turtle;q=0.8"
_GRAPH_FORMATS = {"application/n-triples": "nt", "text/plain": "nt", "text/turtle": "turtle"}
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|\\^`]')
_MAX_SERVER_MESSAGE = 200
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
Rows = tuple[list[str], list[dict[str, Identifier | None]]]
_LIST_GRAPHS = (
    f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ }} FILTER (STRSTARTS(STR(?g), "{KG_GRAPH_PREFIX}")) }}'
)


class EndpointError(KGError):
    """A SPARQL endpoint that cannot be reached, times out, or answers with an HTTP error."""


class EndpointTimeout(EndpointError):
    """A SPARQL endpoint that did not answer in time."""


class GraphScope(StrEnum):
    """How a query is made to see every kg graph on the server (see the module docstring)."""

    AUTO = "auto"  # SERVER if the server's default graph shows kg's named graphs, else PROTOCOL
    PROTOCOL = "protocol"  # name kg's graphs in each request; works on any SPARQL 1.1 server
    SERVER = "server"  # the server's default graph is already the union of all graphs


class SparqlEndpoint:
    """A SPARQL server reached over HTTP: a query URL, and an update or Graph Store URL to write.

    Args:
        query_url: the SPARQL Protocol query service.
        update_url: the SPARQL Update service; used to write only when there is no ``store_url``.
        store_url: the Graph Store Protocol service (``?graph=IRI`` addresses one graph).
        timeout: seconds to wait on each network operation before giving up.
        scope: how queries see kg's graphs; ``GraphScope.AUTO`` finds out from the server.

    Raises:
        UsageError: a URL that is not an ``http(s)`` URL, or one carrying credentials.
    """

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        store_url: str | None = None,
        timeout: float = 30,
        scope: GraphScope = GraphScope.AUTO,
    ) -> None:
        self.query_url = _check_url(query_url)
        self.update_url = _check_url(update_url) if update_url is not None else None
        self.store_url = _check_url(store_url) if store_url is not None else None
        self.timeout = timeout
        self.scope = GraphScope(scope)
        self._resolved_scope: GraphScope | None = None if self.scope is GraphScope.AUTO else self.scope

    @classmethod
    def from_base(
        cls, url: str, *, timeout: float = 30, scope: GraphScope = GraphScope.AUTO
    ) -> SparqlEndpoint:
        """An endpoint from the one URL a user knows, following each server's URL layout.

        - ``http://host:7878`` (or ``.../query``): Oxigraph server, ``/query``, ``/update``, ``/store``;
        - ``http://host:3030/ds/sparql`` (or ``/ds/query``): Fuseki, ``/ds/update``, ``/ds/data``;
        - ``http://host:7200/repositories/x``: GraphDB / RDF4J, ``.../statements``,
          ``.../rdf-graphs/service``;
        - any other URL is taken as a query URL only (queries work; pushing needs an explicit
          ``update_url`` or ``store_url``).

        >>> SparqlEndpoint.from_base("http://localhost:7878").store_url
        'http://localhost:7878/store'
        >>> SparqlEndpoint.from_base("http://h:3030/ds/sparql").store_url
        'http://h:3030/ds/data'
        """
        parts = urlsplit(_check_url(url))
        path = parts.path.rstrip("/")

        def at(new_path: str) -> str:
            return urlunsplit((parts.scheme, parts.netloc, new_path, parts.query, ""))

        if path in ("", "/query"):
            return cls(at("/query"), at("/update"), at("/store"), timeout, scope)
        if re.fullmatch(r".*/repositories/[^/]+", path):
            return cls(at(path), at(f"{path}/statements"), at(f"{path}/rdf-graphs/service"), timeout, scope)
        dataset, _, last = path.rpartition("/")
        if dataset and last in ("sparql", "query"):
            return cls(at(path), at(f"{dataset}/update"), at(f"{dataset}/data"), timeout, scope)
        return cls(url, None, None, timeout, scope)

    def __repr__(self) -> str:
        return f"SparqlEndpoint({self.query_url!r}, scope={self.scope.value!r})"

    # ---------------------------------------------------------------- reading

    def select(self, text: str) -> Rows:
        """Run a query on the server; rows of rdflib terms, like ``KnowledgeBase.select``.

        SELECT gives its variables and one dict per solution (None where unbound), ASK one row
        ``{"ask": true|false}``, CONSTRUCT/DESCRIBE one row per triple sorted (``subject``,
        ``predicate``, ``object``). The query goes as an URL-encoded POST, the form every
        SPARQL server accepts and the only one whose dataset parameters do not lengthen the URL.

        Raises:
            QueryError: the server rejected the query (HTTP 400), with its message.
            EndpointError: unreachable, timed out, another HTTP error, or an unreadable answer;
                unless the scope is ``SERVER``, also a server holding no kg graph at all.
        """
        form = [("query", text)]
        if self.effective_scope() is GraphScope.SERVER:
            return self._query(form)
        graphs = self._require_graphs()
        form += [("default-graph-uri", str(graph)) for graph in graphs]
        form += [("named-graph-uri", str(graph)) for graph in graphs]
        try:
            return self._query(form)
        except EndpointTimeout as exc:
            raise EndpointTimeout(
                f"{exc} (the request named {len(graphs)} graphs, which servers evaluate one by one; "
                "start the server with a union default graph, e.g. `oxigraph serve --union-default-graph`)"
            ) from None

    def effective_scope(self) -> GraphScope:
        """``PROTOCOL`` or ``SERVER``: for ``AUTO``, asked of the server once, then remembered.

        The probe takes one triple of a kg graph and asks whether the server's default graph holds
        it; kg never writes the default graph, so it does only when the server queries the union.

        Raises:
            EndpointError: as ``select``; for ``AUTO``, also a server holding no kg graph at all.
        """
        if self._resolved_scope is None:
            graph = self._require_graphs()[0]
            probe = f"ASK {{ {{ SELECT * WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }} LIMIT 1 }} ?s ?p ?o }}"
            _, rows = self._query([("query", probe)])
            union = bool(rows) and rows[0].get("ask") == Literal(True)
            self._resolved_scope = GraphScope.SERVER if union else GraphScope.PROTOCOL
        return self._resolved_scope

    def _require_graphs(self) -> list[URIRef]:
        graphs = self.graphs()
        if not graphs:
            raise EndpointError(
                f"{self.query_url}: no kg graphs on this endpoint (none named {KG_GRAPH_PREFIX}...); "
                "push the graph first with `kg push --endpoint URL`"
            )
        return graphs

    def graphs(self) -> list[URIRef]:
        """The kg graphs (IRIs under ``kgr:graph/``) the server holds, sorted."""
        _, rows = self._query([("query", _LIST_GRAPHS)])
        names = {row.get("g") for row in rows}
        # a name that could not be written back into a request safely is not one kg wrote
        return sorted(name for name in names if isinstance(name, URIRef) and not _IRI_FORBIDDEN.search(name))

    def _query(self, form: list[tuple[str, str]]) -> Rows:
        content_type, payload = self._send(
            "POST",
            self.query_url,
            urlencode(form).encode("utf-8"),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": _ACCEPT},
            what="query",
        )
        if content_type in (_RESULTS_JSON, "application/json"):
            return _parse_json_results(payload, self.query_url)
        if content_type in _GRAPH_FORMATS:
            return _parse_graph(payload, _GRAPH_FORMATS[content_type], self.query_url)
        raise EndpointError(
            f"{self.query_url}: unexpected answer of type {content_type or '(none)'!r}; "
            f"expected {_RESULTS_JSON} or N-Triples — is this a SPARQL query URL?"
        )

    # ---------------------------------------------------------------- writing

    def push(self, dataset: Graph, replace: bool = True, *, with_vocabulary: bool = True) -> int:
        """Copy a graph or dataset into the server's kg graphs; returns the number of triples sent.

        Each named graph goes to the graph of the same name (they must be kg graphs, under
        ``kgr:graph/``), triples outside any named graph to ``kgr:graph/default``, and the query
        vocabulary (``kg.queries.vocabulary``: kind codes, export types, class tree, which the
        stored queries read) to ``kgr:graph/vocabulary``. Graphs are sent one request each, as
        N-Triples, with the Graph Store Protocol (PUT to replace, POST to add) or, when the server
        has no Graph Store URL, SPARQL Update (``DROP SILENT GRAPH`` + ``INSERT DATA``).

        With ``replace`` the server ends up mirroring the dataset: each graph is replaced, then kg
        graphs the dataset no longer has (an article taken out with ``kg remove``) are dropped;
        graphs outside ``kgr:graph/`` and the server's default graph are never touched. Readers
        may see a mix of old and new graphs while a push runs (one request per graph); stale
        graphs are dropped last, so no graph in the dataset is ever missing.

        Raises:
            UsageError: no way to write (neither ``store_url`` nor ``update_url``), or a named graph
                outside ``kgr:graph/``.
            EndpointError: unreachable, timed out, or an HTTP error, with the server's message.
        """
        if self.store_url is None and self.update_url is None:
            raise UsageError(
                f"{self.query_url}: cannot tell where to write; give the server's base URL "
                "(Oxigraph http://host:port, Fuseki .../ds/sparql, GraphDB .../repositories/ID)"
            )
        graphs = _kg_graphs(dataset)
        if with_vocabulary:
            known = [graphs[VOCABULARY_GRAPH]] if VOCABULARY_GRAPH in graphs else []
            graphs[VOCABULARY_GRAPH] = _merged([*known, vocabulary()]) if known else vocabulary()
        sent = 0
        for name in sorted(graphs):
            self._write_graph(name, graphs[name], replace)
            sent += len(graphs[name])
        if replace:
            for stale in set(self.graphs()) - set(graphs):
                self._drop_graph(stale)
        return sent

    def _write_graph(self, name: URIRef, graph: Graph, replace: bool) -> None:
        ntriples = graph.serialize(format="nt", encoding="utf-8")
        if self.store_url is not None:
            self._send(
                "PUT" if replace else "POST",
                _with_params(self.store_url, {"graph": str(name)}),
                ntriples,
                {"Content-Type": "application/n-triples"},
                what=f"push of graph <{name}>",
            )
            return
        drop = f"DROP SILENT GRAPH <{name}> ;\n" if replace else ""
        update = f"{drop}INSERT DATA {{ GRAPH <{name}> {{\n{ntriples.decode('utf-8')}}} }}"
        self._update(update, what=f"push of graph <{name}>")

    def _drop_graph(self, name: URIRef) -> None:
        if self.store_url is not None:
            self._send(
                "DELETE",
                _with_params(self.store_url, {"graph": str(name)}),
                None,
                {},
                what=f"removal of stale graph <{name}>",
                missing_ok=True,
            )
        else:
            self._update(f"DROP SILENT GRAPH <{name}>", what=f"removal of stale graph <{name}>")

    def _update(self, text: str, what: str) -> None:
        assert self.update_url is not None  # push() checked there is a way to write
        self._send(
            "POST",
            self.update_url,
            text.encode("utf-8"),
            {"Content-Type": "application/sparql-update"},
            what=what,
        )

    # ---------------------------------------------------------------- HTTP

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        *,
        what: str,
        missing_ok: bool = False,
    ) -> tuple[str, bytes]:
        """One HTTP exchange; returns the media type and body, or raises a one-line error."""
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        where = f"{method} {_display(url)}"
        try:
            with _opener(url).open(request, timeout=self.timeout) as response:
                payload = response.read()
                content_type = response.headers.get_content_type() if response.headers else ""
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return "", b""
            message = _server_message(exc)
            if exc.code == 400 and what == "query":
                raise QueryError(f"the endpoint rejected the query (HTTP 400): {message}") from None
            raise EndpointError(f"{what} failed: {where}: HTTP {exc.code} {exc.reason}: {message}") from None
        except TimeoutError:
            raise EndpointTimeout(f"{what} failed: {where}: no answer within {self.timeout:g}s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise EndpointTimeout(f"{what} failed: {where}: no answer within {self.timeout:g}s") from None
            reason = exc.reason.strerror if isinstance(exc.reason, OSError) else exc.reason
            raise EndpointError(
                f"cannot reach the SPARQL endpoint at {_display(url)}: {reason or exc}; "
                "is the server running and the URL right?"
            ) from None
        except http.client.HTTPException as exc:
            raise EndpointError(f"{what} failed: {where}: connection broken ({type(exc).__name__})") from None
        except OSError as exc:
            raise EndpointError(
                f"cannot reach the SPARQL endpoint at {_display(url)}: {exc.strerror or exc}"
            ) from None
        return content_type, payload


# ---------------------------------------------------------------- running stored queries


def run_query(
    endpoint: SparqlEndpoint, query: StoredQuery, params: dict[str, str] | None = None
) -> QueryResult:
    """Run a stored query on a SPARQL endpoint, parameters bound as RDF terms in a VALUES block.

    The endpoint must hold the query vocabulary (``push`` sends it by default), so the rows are
    those of ``kg.queries.run`` on the same graph. The query text itself was checked (syntax,
    read-only) when the ``StoredQuery`` was loaded; parameter values never become query text
    (``with_values`` writes them as escaped RDF terms).

    Raises:
        QueryError: bad parameters, or the server rejected the query.
        EndpointError: see ``SparqlEndpoint.select``.
    """
    bindings = bind_params(query, params)
    names, rows = endpoint.select(with_values(query.text, bindings))
    return QueryResult(names, rows)


# ---------------------------------------------------------------- helpers


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} is not an endpoint URL; expected http(s)://host[:port][/path]")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"{_display(url)}: credentials in the endpoint URL are not supported")
    return url.strip()


def _display(url: str) -> str:
    """The URL without any user:password, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _opener(url: str) -> urllib.request.OpenerDirector:
    """The default opener, but never through a proxy for a loopback host (no proxy can reach it)."""
    if urlsplit(url).hostname in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _with_params(url: str, params: dict[str, str]) -> str:
    """``url`` with query parameters added, keeping any it already has (e.g. an access token)."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read().decode("utf-8", errors="replace")
    except OSError:
        text = ""
    text = " ".join(text.split()) or "(no message)"
    return text if len(text) <= _MAX_SERVER_MESSAGE else text[: _MAX_SERVER_MESSAGE - 1] + "…"


def _kg_graphs(data: Graph) -> dict[URIRef, Graph]:
    """The graphs to push, by server graph name: named graphs as named, the rest in ``DEFAULT_GRAPH``.

    Graphs are the dataset's own (not copies: copying costs eight times the serialisation), except
    when two of them land in one server graph.
    """
    parts: dict[URIRef, list[Graph]] = {}
    sources: Iterable[Graph] = data.graphs() if isinstance(data, Dataset) else [data]
    for graph in sources:
        if len(graph) == 0:
            continue
        named = isinstance(data, Dataset) and graph.identifier != DATASET_DEFAULT_GRAPH_ID
        name = graph.identifier if named else DEFAULT_GRAPH
        if not isinstance(name, URIRef) or not str(name).startswith(KG_GRAPH_PREFIX):
            raise UsageError(
                f"graph {name.n3()} is not a kg graph; kg pushes only graphs named {KG_GRAPH_PREFIX}... "
                "(and triples outside any named graph)"
            )
        if _IRI_FORBIDDEN.search(str(name)):
            raise UsageError(f"graph name {str(name)!r} is not a valid IRI")
        parts.setdefault(URIRef(name), []).append(graph)
    return {name: graphs[0] if len(graphs) == 1 else _merged(graphs) for name, graphs in parts.items()}


def _merged(graphs: Iterable[Graph]) -> Graph:
    merged = Graph()
    for graph in graphs:
        for triple in graph:
            merged.add(triple)
    return merged


def _parse_json_results(payload: bytes, where: str) -> Rows:
    """SPARQL 1.1 Query Results JSON to variables and rows of rdflib terms."""
    try:
        document = json.loads(payload)
        if "boolean" in document:
            return ["ask"], [{"ask": Literal(bool(document["boolean"]))}]
        names = [str(name) for name in document["head"]["vars"]]
        rows = [
            {name: _term(binding[name], where) if name in binding else None for name in names}
            for binding in document["results"]["bindings"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise EndpointError(
            f"{where}: unreadable SPARQL JSON results ({type(exc).__name__}: {exc})"
        ) from None
    return names, rows


def _term(value: dict[str, str], where: str) -> Identifier:
    """One JSON result term as an rdflib term; ``xsd:string`` literals come back plain, as in rdflib."""
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if kind in ("literal", "typed-literal"):  # typed-literal: the pre-standard form some servers still send
        if "xml:lang" in value:
            return Literal(value["value"], lang=value["xml:lang"])
        datatype = value.get("datatype")
        if datatype is None or datatype == _XSD_STRING:
            return Literal(value["value"])
        return Literal(value["value"], datatype=URIRef(datatype))
    raise EndpointError(
        f"{where}: unsupported term type {kind!r} in the results (expected uri, literal, bnode)"
    )


def _parse_graph(payload: bytes, fmt: str, where: str) -> Rows:
    """A CONSTRUCT/DESCRIBE answer as rows of triples, sorted like ``kg.queries.run`` sorts them."""
    graph = Graph()
    try:
        graph.parse(data=payload.decode("utf-8"), format=fmt)
    except Exception as exc:  # any rdflib parser error: the server sent something we cannot read
        raise EndpointError(
            f"{where}: unreadable graph in the answer ({' '.join(str(exc).split())})"
        ) from None
    names = ["subject", "predicate", "object"]
    triples = sorted(graph, key=lambda triple: tuple(str(term) for term in triple))
    return names, [dict(zip(names, triple, strict=True)) for triple in triples]
