"""The ``kg`` command line: thin commands over the library.

Each command parses its options, calls one library function and prints a
short summary; all logic lives in the library so it is testable without a
shell. ``KGError`` subclasses become one-line messages on stderr and their
exit code (1 validation failure, 2 bad input or usage, 3 query timeout),
never a traceback; warnings the library logs (an article read as
Windows-1252) become ``kg: warning: ...`` lines on stderr.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from kg.errors import KGError, QueryTimeout, UsageError
from kg.queries import ResultFormat
from kg.reason import Engine as ReasoningEngine
from kg.resources import limits

if TYPE_CHECKING:
    from rdflib import Graph

    from kg.endpoint import SparqlEndpoint
    from kg.kb import KnowledgeBase

app = typer.Typer(
    name="kg",
    help="Build, validate, reason over, query and export a knowledge graph of attacks from news articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


class GraphFormat(StrEnum):
    turtle = "turtle"
    nt = "nt"
    jsonld = "jsonld"
    trig = "trig"


class ExportFormat(StrEnum):
    turtle = "turtle"
    nt = "nt"
    jsonld = "jsonld"
    trig = "trig"
    json = "json"
    csv = "csv"


class ReportFormat(StrEnum):
    text = "text"
    turtle = "turtle"
    json = "json"


def _fail(message: str, code: int) -> None:
    typer.echo(f"kg: error: {message}", err=True)
    raise typer.Exit(code)


class _StderrHandler(logging.Handler):
    """Log records as one ``kg: warning: ...`` line each, on the current stderr (test runners swap it).

    kg's own warnings (an article read as Windows-1252) are shown; other
    libraries' only from ERROR up, and never with a traceback: rdflib logs a
    traceback at WARNING for every ill-typed literal it meets, which
    validation reports in words anyway.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] == "kg" or record.levelno >= logging.ERROR

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        typer.echo(f"kg: {record.levelname.lower()}: {message}", err=True)


def _show_library_warnings() -> None:
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        root.addHandler(_StderrHandler(logging.WARNING))


def _stop_abandoned_query(exc: QueryTimeout) -> None:
    """A query past its deadline that is still running in native code cannot be stopped but by exiting.

    Oxigraph and socket reads ignore the exception ``call_with_timeout`` sends,
    so the process ends here (after the message) rather than letting the
    abandoned work run on; ``os._exit`` because interpreter shutdown would
    wait on the native call.
    """
    if exc.worker is not None and exc.worker.is_alive():
        typer.echo(f"kg: error: {exc}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exc.exit_code)


def handles_errors(func: F) -> F:
    """Turn kg's own errors into one line on stderr and the error's exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _show_library_warnings()
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except QueryTimeout as exc:
            _stop_abandoned_query(exc)
            _fail(str(exc), exc.exit_code)
        except KGError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:  # a bug, not bad input: one line unless KG_DEBUG asks for the traceback
            if os.environ.get("KG_DEBUG"):
                raise
            _fail(f"internal error: {type(exc).__name__}: {exc} (set KG_DEBUG=1 for the traceback)", 2)

    return wrapper  # type: ignore[return-value]


def _emit(text: str, output: Path | None) -> None:
    from kg.store import write_text_atomic

    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_text_atomic(output, text if text.endswith("\n") else text + "\n")


def _graph_format_for(output: Path, fmt: GraphFormat | None) -> str:
    from kg.store import format_for_path

    return fmt.value if fmt is not None else format_for_path(output).value


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")
]
GraphArgument = Annotated[Path, typer.Argument(help="A graph file (Turtle, TriG, N-Triples, JSON-LD).")]
OptionalGraphArgument = Annotated[
    Path | None, typer.Argument(help="A graph file (Turtle, TriG, N-Triples, JSON-LD); or use --store.")
]


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        "-s",
        envvar="KG_STORE",
        help="A knowledge-base folder (on-disk Oxigraph store); also read from $KG_STORE.",
    ),
]

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        "-e",
        help="A SPARQL server: Oxigraph http://host:port, Fuseki http://host:3030/DATASET/sparql, "
        "GraphDB http://host:7200/repositories/ID, or any SPARQL query URL.",
    ),
]


def _report_skipped(result: Any) -> None:
    """Every article left out and why, even with --quiet: a skipped article is lost information."""
    for reason in result.skipped:
        typer.echo(f"kg: skipped {reason}", err=True)


def _summary(result: Any, destination: str) -> None:
    entities = ", ".join(f"{kind} {n}" for kind, n in sorted(result.entity_counts().items()))
    unchanged = f", {result.unchanged} already there" if result.unchanged else ""
    typer.echo(
        f"articles {result.articles} (skipped {len(result.skipped)}{unchanged}); entities: {entities}; "
        f"events {result.events}; triples {result.triples}; {result.seconds:.1f}s -> {destination}",
        err=True,
    )


@app.command()
@handles_errors
def build(
    articles: Annotated[list[Path], typer.Argument(help="Article files or folders of .txt articles.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Graph file to write (default build/kg.ttl).")
    ] = None,
    fmt: Annotated[
        GraphFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="Output format (default: from the file extension; trig keeps one named graph per article).",
        ),
    ] = None,
    store: StoreOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="Extract on this many processes (one model each); ignored, with a note, when the --store "
            "is served by `kg serve` (the server parses).",
        ),
    ] = 1,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Extract on a Dask distributed cluster at this scheduler address; ignored, with a note, "
            "when the --store is served by `kg serve`.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="Fail (exit 2, output untouched) on any bad article (empty, binary, too large, unreadable) "
            "instead of skipping it."
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar or summary (skipped articles are still named)."),
    ] = False,
) -> None:
    """Read articles and build the knowledge graph (into a file, or incrementally into a --store).

    When the --store is served by `kg serve` (its serve.json names a running server), each article is
    sent to the server, which adds it as a local build would: same summary, same exit codes, and no
    model to load here.
    """
    from kg.store import save

    if store is None and output is None:
        output = Path("build/kg.ttl")
    rdf_format = _graph_format_for(output, fmt) if output is not None else None
    bar: Any = None

    def start(total: int) -> None:
        nonlocal bar
        if not quiet and total:
            bar = typer.progressbar(length=total, label="extracting", file=sys.stderr)
            bar.__enter__()

    def advance(n: int) -> None:
        if bar is not None:
            bar.update(n)

    server = _served(store)
    if server is not None:
        for option, given in (("--workers", workers != 1), ("--dask", dask is not None)):
            if given:
                typer.echo(
                    f"kg: note: {option} is ignored: {store} is served by `kg serve` at {server.url}, "
                    "which parses the articles",
                    err=True,
                )
    try:
        if server is not None:
            from kg.serve import build_through

            result = build_through(server, articles, strict=strict, progress=advance, on_start=start)
        elif store is not None:
            from kg.kb import KnowledgeBase
            from kg.pipeline import build_into

            result = build_into(
                KnowledgeBase(store),
                articles,
                strict=strict,
                progress=advance,
                on_start=start,
                workers=workers,
                dask=dask,
            )
        else:
            from kg.pipeline import build as run_build

            result = run_build(
                articles, strict=strict, progress=advance, on_start=start, workers=workers, dask=dask
            )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if output is not None and rdf_format is not None:
        save(result.dataset, output, rdf_format)
    _report_skipped(result)
    if not quiet:
        _summary(result, " and ".join(str(p) for p in (store, output) if p is not None))
    for article_id, report in sorted(result.nonconforming.items()):
        # the article stays in the store (its facts are still worth querying); the exit code tells scripts
        typer.echo(f"kg: {article_id} on arrival: {report.summary()}", err=True)
        for problem in report.results[:3]:
            typer.echo(
                f"kg:   {problem.severity}: {problem.focus} {problem.path or ''}: {problem.message}", err=True
            )
    if result.nonconforming:
        raise typer.Exit(1)


@app.command()
@handles_errors
def remove(
    article: Annotated[str, typer.Argument(help="The article to take out (file name or id).")],
    store: StoreOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Take an article's contribution out of a knowledge base; events other sources report stay.

    A store served by `kg serve` is changed by the server.
    """
    if store is None:
        raise UsageError("kg remove needs --store DIR (or $KG_STORE): the knowledge base to remove from")
    server = _served(store)
    result: Any
    if server is not None:
        from kg.serve import RemoteBuild, ServerClient

        client = ServerClient(server)
        answer = client.remove(article)
        result = RemoteBuild(client, seconds=float(answer.get("seconds", 0.0)))
    else:
        from kg.kb import KnowledgeBase
        from kg.pipeline import remove_from

        result = remove_from(KnowledgeBase.open_existing(store), article)
    _report_skipped(result)
    if not quiet:
        _summary(result, str(store))


def _served(store: Path | None) -> Any:
    """The `kg serve` holding ``store`` (a ``kg.serve.Served``), or None: then kg opens the store itself."""
    if store is None:
        return None
    from kg.serve import served_store

    return served_store(store)


def _data(graph: Path | None, store: Path | None):
    """The graph to work on: a file, or a knowledge base read into memory (through `kg serve` if served)."""
    if (graph is None) == (store is None):
        raise UsageError("give either a graph file or --store DIR, not both or neither")
    if store is not None:
        from kg.kb import KnowledgeBase

        server = _served(store)
        if server is not None:
            from kg.serve import ServerClient

            return ServerClient(server).dataset()

        return KnowledgeBase.open_existing(store).to_dataset()
    return load_graph(graph)


class ValidationEngine(StrEnum):
    """``kg validate --engine``: the values of ``kg.validate.Engine`` (loads pySHACL: not at startup)."""

    sparql = "sparql"
    pyshacl = "pyshacl"


@app.command()
@handles_errors
def validate(
    graph: OptionalGraphArgument = None,
    store: StoreOption = None,
    shapes: Annotated[
        Path | None,
        typer.Option(
            help="A SHACL shapes file instead of the project's shapes (checked first: invalid SHACL exits 2)."
        ),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.text,
    output: OutputOption = None,
    engine: Annotated[
        ValidationEngine,
        typer.Option(
            "--engine",
            help="sparql: the shapes compiled to SPARQL and run by Oxigraph (on a --store, where it lies); "
            "pyshacl: the reference SHACL engine (much slower, same report).",
        ),
    ] = ValidationEngine.sparql,
) -> None:
    """Check a graph against the SHACL shapes: exit 0 conforms, 1 violations, 2 bad input."""
    from kg.store import load
    from kg.validate import check_shapes, validate_store
    from kg.validate import validate as run_validate

    shapes_graph = None
    if shapes is not None:
        shapes_graph = load(shapes)
        check_shapes(shapes_graph, shapes)
    started = time.perf_counter()
    server = _served(store) if store is not None and graph is None else None
    if server is not None:  # the server validates the store it holds, where it lies
        from kg.serve import ServerClient

        report = ServerClient(server).validate(shapes_graph, engine.value)
    elif store is not None and graph is None:
        from kg.kb import KnowledgeBase

        kb = KnowledgeBase.open_existing(store)  # validated in place, not read into memory
        report = validate_store(kb, shapes_graph, engine=engine.value)
    else:
        report = run_validate(_data(graph, store), shapes_graph, engine=engine.value)
    if fmt is ReportFormat.text:
        _emit(report.text(), output)
    elif fmt is ReportFormat.json:
        _emit(report.to_json(), output)
    else:
        from kg.store import serialize

        _emit(serialize(report.graph, "turtle"), output)
    typer.echo(
        f"{'conforms' if report.conforms else 'does not conform'}: {len(report.results)} result(s) "
        f"in {time.perf_counter() - started:.1f}s",
        err=True,
    )
    if not report.conforms:
        raise typer.Exit(1)


@app.command()
@handles_errors
def reason(
    graph: OptionalGraphArgument = None,
    store: StoreOption = None,
    output: OutputOption = None,
    fmt: Annotated[GraphFormat, typer.Option("--format", "-f", help="Output format.")] = GraphFormat.turtle,
    only_new: Annotated[
        bool,
        typer.Option("--only-new/--closure", help="Write only inferred triples, or the graph plus them."),
    ] = False,
    engine: Annotated[
        ReasoningEngine,
        typer.Option(
            "--engine",
            help="fast: the rules the ontology declares, materialised directly; owlrl: the reference "
            "OWL RL closure (much slower, same answers).",
        ),
    ] = ReasoningEngine.FAST,
) -> None:
    """Add what OWL RL reasoning entails (ontology triples are not repeated)."""
    from kg.reason import closure
    from kg.reason import reason as run_reason
    from kg.store import serialize

    data = _data(graph, store)
    started = time.perf_counter()
    result = run_reason(data, engine=engine) if only_new else closure(data, engine=engine)
    _emit(serialize(result, fmt.value), output)
    typer.echo(
        f"{len(result)} triples ({'inferred only' if only_new else 'graph + inferred'}) "
        f"in {time.perf_counter() - started:.1f}s",
        err=True,
    )


def load_graph(path: Path):
    from kg.store import load

    return load(path)


@app.command()
@handles_errors
def query(
    name: Annotated[str | None, typer.Argument(help="Stored query name (see --list) or a .rq file.")] = None,
    graph: Annotated[Path | None, typer.Argument(help="The graph file to query.")] = None,
    store: StoreOption = None,
    list_: Annotated[
        bool, typer.Option("--list", "-l", help="List the stored queries and their parameters.")
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter as name=value (repeatable).")
    ] = None,
    fmt: Annotated[ResultFormat, typer.Option("--format", "-f", help="Result format.")] = ResultFormat.TABLE,
    output: OutputOption = None,
    endpoint: EndpointOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            "-t",
            min=0.001,
            help="Stop the query after this many seconds (exit 3); default: no limit.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help=f"Print at most this many rows; 0 prints all. Default: {limits().table_rows} for table "
            "(kg/limits.toml), all for csv and json.",
        ),
    ] = None,
) -> None:
    """Run a stored (or given) SPARQL query over a graph, a knowledge base or a SPARQL server."""
    from kg.queries import call_with_timeout, format_result, list_queries, load_query, run

    if list_:
        lines = []
        for stored in list_queries():
            params = ", ".join(f"{p.name}{'' if p.required else '?'}:{p.type}" for p in stored.params)
            lines.append(f"{stored.name:32} {stored.title}" + (f"  [{params}]" if params else ""))
            lines.append(f"{'':32} {stored.description}")
        _emit("\n".join(lines), output)
        return
    if name is None or (graph is None and store is None and endpoint is None):
        raise UsageError("give a query name and a graph file (or --store DIR, or --endpoint URL), or --list")
    if endpoint is not None and graph is not None:
        raise UsageError("give a graph file or --endpoint URL, not both")
    values: dict[str, str] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param {item!r}: expected name=value")
        if key in values:
            raise UsageError(f"--param {key} is given twice; a parameter takes one value")
        values[key] = value
    stored = load_query(name)
    what = f"query {stored.name!r}"
    if endpoint is not None:  # before --store, which may come from $KG_STORE
        from kg.endpoint import SparqlEndpoint, run_query

        sparql = SparqlEndpoint.from_base(endpoint)
        result = call_with_timeout(lambda: run_query(sparql, stored, values), timeout, what)  # by the server
    elif store is not None and graph is None and (server := _served(store)) is not None:
        from kg.endpoint import run_query
        from kg.serve import ServerClient

        served = ServerClient(server).endpoint()
        result = call_with_timeout(lambda: run_query(served, stored, values), timeout, what)  # by kg serve
    elif store is not None and graph is None:
        from kg.answers import run_on_store
        from kg.kb import KnowledgeBase

        kb = KnowledgeBase.open_existing(store)
        # by Oxigraph, or from the answers kept for lookups (kg.answers)
        result = call_with_timeout(lambda: run_on_store(kb, stored, values), timeout, what)
    else:
        data = _data(graph, None)
        result = call_with_timeout(lambda: run(data, stored, values), timeout, what)
    if limit is None and fmt is ResultFormat.TABLE:
        limit = limits().table_rows
    _emit(format_result(result, fmt.value, limit=limit), output)
    total = len(result.rows)
    if limit and limit < total:
        typer.echo(f"{limit} of {total} row(s) shown; --limit 0 shows all", err=True)
    else:
        typer.echo(f"{total} row(s)", err=True)


@app.command()
@handles_errors
def push(
    graph: OptionalGraphArgument = None,
    store: StoreOption = None,
    endpoint: EndpointOption = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help="Add to kg's graphs on the server instead of replacing them (graphs the data no longer "
            "has are kept).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Copy a graph file or knowledge base to a SPARQL server, one named graph per article."""
    from kg.endpoint import SparqlEndpoint

    if endpoint is None:
        raise UsageError("kg push needs --endpoint URL: the SPARQL server to copy the graph to")
    data = _data(graph, store)
    started = time.perf_counter()
    sent = SparqlEndpoint.from_base(endpoint).push(data, replace=not add)
    if not quiet:
        typer.echo(
            f"{'added' if add else 'pushed'} {sent} triples to {endpoint} "
            f"in {time.perf_counter() - started:.1f}s",
            err=True,
        )


def _table_source(graph: Path | None, store: Path | None) -> Graph | KnowledgeBase | SparqlEndpoint:
    """Where the export tables are queried: a store is queried in place by Oxigraph, or by its server.

    Copying a store of a million triples into rdflib to query it took minutes (the events table alone
    950 s at 1M quads); Oxigraph answers the same query in about a second.
    """
    if store is None or graph is not None:
        return _data(graph, store)
    server = _served(store)
    if server is not None:
        from kg.serve import ServerClient

        return ServerClient(server).endpoint()
    from kg.kb import KnowledgeBase

    return KnowledgeBase.open_existing(store)


@app.command()
@handles_errors
def export(
    graph: OptionalGraphArgument = None,
    store: StoreOption = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format", "-f", help="turtle, nt, jsonld, trig; json or csv with --events/--entities."
        ),
    ] = None,
    events: Annotated[bool, typer.Option("--events", help="Export the events table.")] = False,
    entities: Annotated[bool, typer.Option("--entities", help="Export the entities table.")] = False,
    output: OutputOption = None,
) -> None:
    """Serialise a graph, or export its events or entities as JSON/CSV tables."""
    from kg.export import ENTITY_COLUMNS, EVENT_COLUMNS, entities_table, events_table, write_table
    from kg.store import serialize

    if events and entities:
        raise UsageError("--events and --entities are exclusive: export one table at a time")
    if events or entities:
        table_format = (fmt.value if fmt else None) or (
            "csv" if output is not None and output.suffix == ".csv" else "json"
        )
        if table_format not in ("json", "csv"):
            raise UsageError(f"--format {table_format}: tables are exported as json or csv")
        source = _table_source(graph, store)
        rows = events_table(source) if events else entities_table(source)
        write_table(rows, output, table_format, columns=EVENT_COLUMNS if events else ENTITY_COLUMNS)
        typer.echo(f"{len(rows)} {'events' if events else 'entities'}", err=True)
        return
    if fmt in (ExportFormat.json, ExportFormat.csv):
        raise UsageError(f"--format {fmt.value} needs --events or --entities")
    data = _data(graph, store)
    rdf_format = fmt.value if fmt else (_graph_format_for(output, None) if output else "turtle")
    _emit(serialize(data, rdf_format), output)


@app.command()
@handles_errors
def serve(
    store: StoreOption = None,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)."
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    watch: Annotated[
        Path | None,
        typer.Option(
            "--watch",
            help="Add article files that appear or change in this folder (one line on stderr per article).",
        ),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between two looks at the --watch folder.")
    ] = 1.0,
) -> None:
    """Keep the model loaded and the knowledge base open, and serve it over HTTP until Ctrl-C or SIGTERM.

    SPARQL queries at /sparql (read only), articles added with POST /articles?name=FILE; the other kg
    commands given --store find the server through KB/serve.json and go through it.
    """
    from kg.serve import serve as run_serve

    if store is None:
        raise UsageError("kg serve needs --store DIR (or $KG_STORE): the knowledge base to serve")
    run_serve(store, host=host, port=port, watch=watch, poll=poll)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
