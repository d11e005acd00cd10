"""kg.endpoint against a real Oxigraph server on a loopback port: push, stored queries, replace, errors."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef, namespace  # namespace.XSD: pytest probes globals

from kg import store
from kg.endpoint import (
    DEFAULT_GRAPH,
    EndpointError,
    GraphScope,
    SparqlEndpoint,
    _parse_json_results,
    run_query,
)
from kg.errors import KGError, QueryError, UsageError
from kg.ns import EVENTS_GRAPH, KGR
from kg.queries import VOCABULARY_GRAPH, QueryResult, StoredQuery, load_query, parse_query, run

OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
pytestmark = pytest.mark.skipif(
    OXIGRAPH is None,
    reason="the `oxigraph` server binary is missing; install the test extra: pip install -e '.[test]'",
)

MINI_TRIG = Path(__file__).parent / "fixtures" / "graphs" / "mini.trig"
SEED_PARAMS = {"place": "baghdad", "entity": "us-embassy-baghdad"}
MINI_PARAMS = {"place": "baghdad", "entity": "camp-taji"}
INJECTION = 'x" } ; DROP ALL ; #'
FOREIGN_GRAPH = URIRef("http://example.org/not-kg")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_START_SECONDS = 20.0
_STOP_SECONDS = 10.0


# ---------------------------------------------------------------- a real server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(process: subprocess.Popen[bytes], url: str) -> bool:
    """Poll until the server answers a query, it dies, or the start deadline passes."""
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with _NO_PROXY.open(f"{url}/query?query=ASK%7B%7D", timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_SECONDS)


@contextmanager
def oxigraph_server(folder: Path, *, union_default_graph: bool = False) -> Iterator[str]:
    """``oxigraph serve`` on a free loopback port (retried if the port was taken); yields its base URL."""
    assert OXIGRAPH is not None
    log = folder / "oxigraph.log"
    for _ in range(3):
        port = _free_port()
        args = [OXIGRAPH, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"]
        if union_default_graph:
            args.append("--union-default-graph")
        with log.open("wb") as output:
            process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            if _answers(process, url):
                yield url
                return
        finally:
            _stop(process)
    pytest.fail(f"oxigraph serve did not start: {log.read_text(errors='replace')[-500:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain server: queries see only its default graph unless the request names the graphs."""
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as url:
        yield url


@pytest.fixture(scope="module")
def union_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph-union"), union_default_graph=True) as url:
        yield url


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[str]:
    """A server of its own, for a test that replaces or removes graphs."""
    with oxigraph_server(tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def seed(seed_graph_file: Path) -> Dataset:
    return store.load(seed_graph_file)


@pytest.fixture(scope="module")
def seed_endpoint(server: str, seed: Dataset) -> SparqlEndpoint:
    """The plain server holding the seed graph, queried the portable way (graphs named per request)."""
    endpoint = SparqlEndpoint.from_base(server)
    assert endpoint.push(seed) > 1000
    return endpoint


# ---------------------------------------------------------------- helpers


def _run_on(local: Dataset) -> Callable[[StoredQuery, dict[str, str]], QueryResult]:
    """Stored queries answered by rdflib on ``local``, as the endpoint's answers are compared with."""
    return lambda query, params: run(local, query, params)


def _graph_sizes(url: str) -> dict[str, int]:
    """Triples per named graph on the server, every graph (kg's or not), read without kg's scoping."""
    inspector = SparqlEndpoint.from_base(url, scope=GraphScope.SERVER)
    _, rows = inspector.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {str(row["g"]): int(str(row["n"])) for row in rows}


def _put(url: str, body: str) -> None:
    request = urllib.request.Request(
        url, data=body.encode(), method="PUT", headers={"Content-Type": "application/n-triples"}
    )
    with _NO_PROXY.open(request, timeout=10):
        pass


def _without_graph(data: Dataset, name: URIRef) -> Dataset:
    copy = Dataset(default_union=True)
    for s, p, o, g in data.quads((None, None, None, None)):
        if g != name:
            copy.graph(g).add((s, p, o))
    return copy


def _one_line(error: pytest.ExceptionInfo[KGError]) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


# ---------------------------------------------------------------- same answers as the local graph


def test_endpoint_every_stored_query_answers_as_the_local_graph(
    seed_endpoint: SparqlEndpoint, seed: Dataset, compare_stored_queries: Callable
) -> None:
    compared, with_rows, differ = compare_stored_queries(seed_endpoint, _run_on(seed), SEED_PARAMS)
    assert compared >= 12
    assert with_rows >= 8  # the comparison is not between empty answers
    assert differ == []
    assert seed_endpoint.effective_scope() is GraphScope.PROTOCOL  # a plain server: graphs named


@pytest.fixture(scope="module")
def union_url(union_server: str, seed: Dataset) -> str:
    SparqlEndpoint.from_base(union_server).push(seed)
    return union_server


@pytest.mark.parametrize("scope", list(GraphScope))
def test_endpoint_every_scope_answers_on_a_union_default_graph_server(
    union_url: str, seed: Dataset, scope: GraphScope, compare_stored_queries: Callable
) -> None:
    endpoint = SparqlEndpoint.from_base(union_url, scope=scope)
    compared, _, differ = compare_stored_queries(endpoint, _run_on(seed), SEED_PARAMS)
    assert compared >= 12
    assert differ == []
    expected = GraphScope.SERVER if scope is GraphScope.AUTO else scope
    assert endpoint.effective_scope() is expected


def test_endpoint_scope_decides_which_graphs_a_query_sees(seed_endpoint: SparqlEndpoint) -> None:
    events = load_query("events")
    assert run_query(seed_endpoint, events).rows
    # the plain server's own default graph is empty: kg's graphs are seen only when named
    server_default = SparqlEndpoint(seed_endpoint.query_url, scope=GraphScope.SERVER)
    assert run_query(server_default, events).rows == []


def test_endpoint_named_graphs_answer_as_the_local_dataset(
    fresh_server: str, compare_stored_queries: Callable
) -> None:
    mini = store.load(MINI_TRIG)
    endpoint = SparqlEndpoint.from_base(fresh_server)
    sent = endpoint.push(mini)
    local_sizes = {str(g.identifier): len(g) for g in mini.graphs() if len(g)}
    server_sizes = _graph_sizes(fresh_server)
    assert {name: server_sizes.get(name) for name in local_sizes} == local_sizes
    assert str(DEFAULT_GRAPH) not in _graph_sizes(fresh_server)  # nothing outside named graphs
    assert sum(_graph_sizes(fresh_server).values()) == sent
    compared, with_rows, differ = compare_stored_queries(endpoint, _run_on(mini), MINI_PARAMS)
    assert compared >= 12 and with_rows >= 8
    assert differ == []


def test_endpoint_construct_query(
    seed_endpoint: SparqlEndpoint, seed: Dataset, answer_rows: Callable
) -> None:
    query = parse_query(
        "PREFIX kg: <https://kg.example.org/ontology#>\n"
        "CONSTRUCT { ?e kg:target ?t } WHERE { ?e a kg:Attack ; kg:target ?t }",
        name="targets",
    )
    remote, here = run_query(seed_endpoint, query), run(seed, query)
    assert remote.variables == ["subject", "predicate", "object"]
    assert remote.rows and answer_rows(remote) == answer_rows(here)


# ---------------------------------------------------------------- pushing


def test_endpoint_push_twice_does_not_duplicate(fresh_server: str, seed: Dataset) -> None:
    endpoint = SparqlEndpoint.from_base(fresh_server)
    first = endpoint.push(seed)
    sizes = _graph_sizes(fresh_server)
    assert endpoint.push(seed, replace=True) == first
    assert _graph_sizes(fresh_server) == sizes
    assert sum(sizes.values()) == first
    assert set(sizes) == {str(DEFAULT_GRAPH), str(VOCABULARY_GRAPH)}  # a Turtle file has no graph names


def test_endpoint_replace_mirrors_the_dataset_and_spares_other_data(fresh_server: str) -> None:
    mini = store.load(MINI_TRIG)
    endpoint = SparqlEndpoint.from_base(fresh_server)
    endpoint.push(mini)
    triple = "<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n"
    _put(f"{fresh_server}/store?graph={FOREIGN_GRAPH}", triple)
    _put(f"{fresh_server}/store?default", triple)
    article = next(g.identifier for g in mini.graphs() if "/graph/article/" in str(g.identifier))
    assert article in endpoint.graphs()

    endpoint.push(_without_graph(mini, article), replace=True)
    assert article not in endpoint.graphs()  # an article taken out is taken out on the server too
    assert EVENTS_GRAPH in endpoint.graphs()
    assert _graph_sizes(fresh_server)[str(FOREIGN_GRAPH)] == 1  # not kg's: untouched
    default = SparqlEndpoint.from_base(fresh_server, scope=GraphScope.SERVER)
    assert default.select("ASK { <http://example.org/a> ?p ?o }")[1] == [{"ask": Literal(True)}]


def test_endpoint_add_keeps_what_is_there(fresh_server: str) -> None:
    mini = store.load(MINI_TRIG)
    article = next(g.identifier for g in mini.graphs() if "/graph/article/" in str(g.identifier))
    endpoint = SparqlEndpoint.from_base(fresh_server)
    endpoint.push(mini)
    sizes = _graph_sizes(fresh_server)
    extra = Dataset()
    extra.graph(EVENTS_GRAPH).add((KGR["event/x"], KGR["p"], Literal("added")))
    assert endpoint.push(extra, replace=False, with_vocabulary=False) == 1
    after = _graph_sizes(fresh_server)
    assert after[str(article)] == sizes[str(article)]
    assert after[str(EVENTS_GRAPH)] == sizes[str(EVENTS_GRAPH)] + 1


def test_endpoint_push_with_sparql_update_when_there_is_no_graph_store(
    fresh_server: str, compare_stored_queries: Callable
) -> None:
    mini = store.load(MINI_TRIG)
    article = next(g.identifier for g in mini.graphs() if "/graph/article/" in str(g.identifier))
    endpoint = SparqlEndpoint(f"{fresh_server}/query", update_url=f"{fresh_server}/update")
    sent = endpoint.push(mini)
    assert endpoint.push(mini) == sent
    assert sum(_graph_sizes(fresh_server).values()) == sent
    endpoint.push(_without_graph(mini, article))
    assert article not in endpoint.graphs()
    local = _without_graph(mini, article)
    compared, _, differ = compare_stored_queries(endpoint, _run_on(local), MINI_PARAMS)
    assert compared >= 12 and differ == []


def test_endpoint_push_refuses_graphs_kg_does_not_own(server: str) -> None:
    data = Dataset()
    data.graph(FOREIGN_GRAPH).add((KGR["a"], KGR["b"], KGR["c"]))
    with pytest.raises(UsageError) as error:
        SparqlEndpoint.from_base(server).push(data)
    assert str(FOREIGN_GRAPH) in _one_line(error)


def test_endpoint_push_needs_somewhere_to_write(server: str, seed: Dataset) -> None:
    with pytest.raises(UsageError) as error:
        SparqlEndpoint(f"{server}/query").push(seed)
    assert "base URL" in _one_line(error)


# ---------------------------------------------------------------- safety


def test_endpoint_parameters_are_terms_not_text(seed_endpoint: SparqlEndpoint, seed: Dataset) -> None:
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = seed_endpoint.select(count)[1]
    assert run_query(seed_endpoint, load_query("attacks-by-target"), {"kind": INJECTION}).rows == []
    assert run_query(seed_endpoint, load_query("accusations"), {"accused": INJECTION}).rows == []
    assert seed_endpoint.select(count)[1] == before
    assert int(str(before[0]["n"])) >= len(seed)


def test_endpoint_query_needs_kg_graphs(fresh_server: str) -> None:
    with pytest.raises(EndpointError) as error:
        run_query(SparqlEndpoint.from_base(fresh_server), load_query("events"))
    assert "kg push" in _one_line(error)


# ---------------------------------------------------------------- errors


def test_endpoint_unreachable_is_a_one_line_error(seed: Dataset) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    endpoint = SparqlEndpoint.from_base(url, timeout=5)
    for action in (lambda: endpoint.select("ASK {}"), lambda: endpoint.push(seed)):
        with pytest.raises(EndpointError) as error:
            action()
        message = _one_line(error)
        assert "cannot reach" in message and url in message


def test_endpoint_timeout_is_a_one_line_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        endpoint = SparqlEndpoint.from_base(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(EndpointError) as error:
            endpoint.select("ASK {}")
        assert time.monotonic() - started < 5
    assert "no answer within 0.3s" in _one_line(error)


def test_endpoint_rejected_query_carries_the_server_message(seed_endpoint: SparqlEndpoint) -> None:
    with pytest.raises(QueryError) as error:
        seed_endpoint.select("SELECT WHERE nonsense")
    message = _one_line(error)
    assert "HTTP 400" in message and "error" in message.lower()


def test_endpoint_http_error_carries_status_and_server_message(server: str, seed: Dataset) -> None:
    endpoint = SparqlEndpoint(f"{server}/query", store_url=f"{server}/no-such-service")
    with pytest.raises(EndpointError) as error:
        endpoint.push(seed)
    message = _one_line(error)
    assert "HTTP 404" in message and "not supported" in message  # Oxigraph's own words


# ---------------------------------------------------------------- URLs and results


@pytest.mark.parametrize(
    ("url", "query", "update", "graph_store"),
    [
        ("http://h:7878", "http://h:7878/query", "http://h:7878/update", "http://h:7878/store"),
        ("http://h:7878/", "http://h:7878/query", "http://h:7878/update", "http://h:7878/store"),
        ("http://h:7878/query", "http://h:7878/query", "http://h:7878/update", "http://h:7878/store"),
        (
            "http://h:3030/ds/sparql",
            "http://h:3030/ds/sparql",
            "http://h:3030/ds/update",
            "http://h:3030/ds/data",
        ),
        (
            "http://h:3030/ds/query",
            "http://h:3030/ds/query",
            "http://h:3030/ds/update",
            "http://h:3030/ds/data",
        ),
        (
            "http://h:7200/repositories/kg",
            "http://h:7200/repositories/kg",
            "http://h:7200/repositories/kg/statements",
            "http://h:7200/repositories/kg/rdf-graphs/service",
        ),
        ("https://q.example/api/wikidata", "https://q.example/api/wikidata", None, None),
    ],
)
def test_endpoint_from_base_follows_each_server_layout(
    url: str, query: str, update: str | None, graph_store: str | None
) -> None:
    endpoint = SparqlEndpoint.from_base(url)
    assert (endpoint.query_url, endpoint.update_url, endpoint.store_url) == (query, update, graph_store)


@pytest.mark.parametrize("url", ["localhost:7878", "ftp://h/sparql", "http://", "http://user:s3cret@h:7878"])
def test_endpoint_bad_url_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError) as error:
        SparqlEndpoint.from_base(url)
    assert "s3cret" not in _one_line(error)


def test_endpoint_json_results_become_rdflib_terms() -> None:
    payload = b"""{"head": {"vars": ["a", "b", "c", "d", "e", "f"]}, "results": {"bindings": [{
        "a": {"type": "uri", "value": "http://x/a"},
        "b": {"type": "literal", "value": "Bagdad", "xml:lang": "fr"},
        "c": {"type": "literal", "value": "3", "datatype": "http://www.w3.org/2001/XMLSchema#integer"},
        "d": {"type": "typed-literal", "value": "s", "datatype": "http://www.w3.org/2001/XMLSchema#string"},
        "e": {"type": "bnode", "value": "b0"}}]}}"""
    names, rows = _parse_json_results(payload, "test")
    assert names == ["a", "b", "c", "d", "e", "f"]
    assert rows == [
        {
            "a": URIRef("http://x/a"),
            "b": Literal("Bagdad", lang="fr"),
            "c": Literal("3", datatype=namespace.XSD.integer),
            "d": Literal("s"),
            "e": BNode("b0"),
            "f": None,
        }
    ]
    assert _parse_json_results(b'{"head": {}, "boolean": false}', "test") == (
        ["ask"],
        [{"ask": Literal(False)}],
    )
    with pytest.raises(EndpointError):
        _parse_json_results(b"<html>not json</html>", "test")


def test_endpoint_plain_graph_goes_to_the_default_kg_graph(fresh_server: str) -> None:
    graph = Graph()
    graph.add((KGR["entity/x"], KGR["p"], Literal("v")))
    endpoint = SparqlEndpoint.from_base(fresh_server)
    assert endpoint.push(graph, with_vocabulary=False) == 1
    assert endpoint.graphs() == [DEFAULT_GRAPH]


# ---------------------------------------------------------------- command line


def _kg(*args: object) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from kg.cli import app

    result = CliRunner().invoke(app, [str(arg) for arg in args])
    return result.exit_code, result.stdout, result.stderr


def test_endpoint_cli_push_then_query(fresh_server: str, seed_graph_file: Path) -> None:
    code, _, err = _kg("push", seed_graph_file, "--endpoint", fresh_server)
    assert code == 0 and "pushed" in err and fresh_server in err
    code, out, _ = _kg(
        "query", "attacks-in-place", "-p", "place=baghdad", "--endpoint", fresh_server, "-f", "csv"
    )
    assert code == 0
    assert out == _kg("query", "attacks-in-place", seed_graph_file, "-p", "place=baghdad", "-f", "csv")[1]


def test_endpoint_cli_push_knowledge_base_and_add(fresh_server: str, tmp_path: Path, seed: Dataset) -> None:
    from kg.kb import KnowledgeBase
    from kg.queries import vocabulary

    KnowledgeBase(tmp_path / "kb").replace_graph(seed, vocabulary())
    assert _kg("push", "--store", tmp_path / "kb", "--endpoint", fresh_server)[0] == 0
    sizes = _graph_sizes(fresh_server)
    extra = tmp_path / "extra.ttl"
    extra.write_text("<https://kg.example.org/id/entity/x> <https://kg.example.org/id/p> 'v' .\n")
    code, _, err = _kg("push", extra, "--endpoint", fresh_server, "--add")
    assert code == 0 and "added" in err
    after = _graph_sizes(fresh_server)
    assert after[str(DEFAULT_GRAPH)] == sizes[str(DEFAULT_GRAPH)] + 1  # --add keeps what was there
    assert _kg("push", extra, "--endpoint", fresh_server)[0] == 0
    assert _graph_sizes(fresh_server)[str(DEFAULT_GRAPH)] == 1  # replace: the server mirrors the file


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("push", MINI_TRIG), "needs --endpoint"),
        (("query", "events", MINI_TRIG, "--endpoint", "http://127.0.0.1:9"), "not both"),
        (("query", "events", "--endpoint", "localhost:7878"), "not an endpoint URL"),
        (("query", "events", "--endpoint", "http://127.0.0.1:{port}"), "cannot reach"),
        (("push", MINI_TRIG, "--endpoint", "http://127.0.0.1:{port}"), "cannot reach"),
    ],
)
def test_endpoint_cli_errors_are_one_line(args: tuple[object, ...], expected: str) -> None:
    port = _free_port()
    code, _, err = _kg(*(str(arg).format(port=port) for arg in args))
    assert code == 2
    assert err.startswith("kg: error: ") and err.count("\n") == 1 and expected in err
