"""The scale benchmarks of issue 4: build, store, stored queries, validation, reasoning, memory.

Analysts will feed kg thousands of articles and query graphs of millions of
triples; whether it keeps up is a matter of measurement, not of tests (timings
depend on the machine). This runner generates a synthetic French corpus
(``benchmarks/corpus.py``), builds it, grows the built graph to the requested
sizes the way ``benchmarks/reasoning.py`` does (copies with renamed article,
mention, event, report and attribution IRIs; entities shared; cut between
whole articles so the graph stays valid), and measures:

- build throughput of ``kg.pipeline.build`` against bare ``nlp.pipe`` of
  ``fr_core_news_sm`` over the same texts with the same number of processes
  (the physical limit for this model), both after the model is loaded;
- the peak memory of the build (in a child process, so the figure is the
  build's own) and the time to add one article to a knowledge base holding
  the corpus;
- store load rate (``KnowledgeBase.replace_graph``) and p50/p95 latency of
  every stored query, Oxigraph store and rdflib in memory side by side;
- full SHACL validation at the largest size, and per-article validation (an
  article's named graph plus the event and gazetteer descriptions it links to);
- reasoning, with ``benchmarks/reasoning.py``'s own measure.

It prints Markdown tables and writes them into ``benchmarks/RESULTS.md``
between the ``run.py`` markers (the rest of the file is kept).

    .venv/bin/python benchmarks/run.py                                  # quick: minutes
    .venv/bin/python benchmarks/run.py --articles 1000 10000 --triples 100000 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
for _path in (str(ROOT), str(BENCHMARKS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import reasoning  # noqa: E402  (benchmarks/reasoning.py: replicate, measure, format_table)
from corpus import write_corpus  # noqa: E402
from rdflib import Dataset, Graph, URIRef  # noqa: E402
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID  # noqa: E402
from rdflib.plugins.sparql import prepareQuery  # noqa: E402
from rdflib.plugins.sparql.parserutils import CompValue  # noqa: E402
from rdflib.term import Node  # noqa: E402

from kg.kb import KnowledgeBase  # noqa: E402
from kg.ns import EVENTS_GRAPH, GAZETTEER_GRAPH, KGR  # noqa: E402
from kg.queries import ParamType, StoredQuery  # noqa: E402

RESULTS = BENCHMARKS / "RESULTS.md"
BEGIN_MARKER = "<!-- benchmarks/run.py: begin -->"
END_MARKER = "<!-- benchmarks/run.py: end -->"
RDFLIB_CAP = 120.0  # seconds an rdflib query may run before the table says "> 120,000" ms
# Values for required query parameters; the entity ones name sites and places the corpus attacks often.
QUERY_PARAMS: dict[str, dict[str, str]] = {
    "attacks-in-place": {"place": "baghdad"},
    "entity-facts": {"entity": "ain-al-asad-air-base"},
}
_DEFAULT_BY_TYPE = {"entity": "baghdad", "string": "rocket", "date": "2021", "integer": "2021"}
_SHARED_GRAPHS = (EVENTS_GRAPH, GAZETTEER_GRAPH)

Quad = tuple[Node, Node, Node, URIRef | None]


# ---------------------------------------------------------------------------------------------- results


@dataclass
class BuildFigures:
    """One build of ``articles`` generated articles and the bare pipe over the same texts."""

    articles: int
    workers: int
    build_seconds: float
    bare_seconds: float
    kg_nlp_seconds: float
    events: int
    quads: int
    model_rss_mib: float  # after the model and gazetteer are loaded, before the build
    peak_rss_mib: float
    worker_peak_rss_mib: float
    add_one_seconds: float
    add_one_cli_seconds: float
    add_one_served_seconds: float  # `kg build` sending the article to a running `kg serve`
    words: int

    @property
    def ratio(self) -> float:
        return self.bare_seconds / self.build_seconds


@dataclass
class QueryTiming:
    """Latencies of one stored query on both backends (seconds per run)."""

    name: str
    kind: str  # lookup, aggregation, listing or check: see query_kind
    oxigraph: list[float]
    rdflib: list[float]
    oxigraph_rows: int
    rdflib_rows: int
    # a lookup run once for each entity the articles mention: (seconds, entity), slowest first; as
    # `kg query --store` answers it (from the answers kept at write time, kg.answers), and run live
    across_entities: list[tuple[float, str]] = field(default_factory=list)
    live_across_entities: list[tuple[float, str]] = field(default_factory=list)

    @property
    def lookup(self) -> bool:
        return self.kind == "lookup"


@dataclass
class StoreFigures:
    quads: int
    load_seconds: float  # the lookups' answers worked out included (answers_seconds)
    answers_seconds: float = 0.0
    queries: list[QueryTiming] = field(default_factory=list)


@dataclass
class Replica:
    """A grown graph: ``copies`` renamed copies of the build (the last one possibly partial)."""

    dataset: Dataset
    quads: int
    copies: int


@dataclass
class ValidationFigures:
    quads: int
    full_seconds: float | None
    full_conforms: bool | None
    violations: int
    article_seconds: list[float]
    article_triples: int
    articles_conforming: int
    article_seconds_pyshacl: list[float]  # the reference engine on the same article graphs


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (honest for the few runs a benchmark affords).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.95)
    (2.0, 4.0)
    """
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# ---------------------------------------------------------------------------------------------- corpus


def generate(out: Path, count: int, seed: int) -> list[Path]:
    """Write ``count`` synthetic articles into ``out`` (already written ones are rewritten identically)."""
    return list(write_corpus(out, count, seed))


# ---------------------------------------------------------------------------------------------- build


def _run_child(*args: str) -> dict:
    """Run this script's ``child`` mode in a fresh interpreter and return its JSON answer."""
    command = [sys.executable, str(Path(__file__).resolve()), "child", *args]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child {args[0]} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_build(corpus: Path, extra: Path, workers: int, graph_out: Path, store: Path) -> dict:
    """Build the corpus in a child process: seconds, events, quads, peak memory, adding one article.

    The child loads the model and gazetteer and builds one article first, so that the timed build
    is the steady state a long-running desk sees; the built graph is written as N-Quads for the
    store, validation and reasoning measures. The knowledge base the article is added to is left
    in ``store``.
    """
    return _run_child("build", str(corpus), str(extra), str(workers), str(graph_out), str(store))


def measure_bare_pipe(corpus: Path, workers: int) -> dict:
    """Bare ``nlp.pipe`` of ``fr_core_news_sm`` (and of kg's own pipeline) over the corpus texts."""
    return _run_child("pipe", str(corpus), str(workers))


def _rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _child_build(corpus: Path, extra: Path, workers: int, graph_out: Path, store: Path) -> dict:
    from kg.kb import remove_knowledge_base
    from kg.pipeline import build, build_into
    from kg.update import rewrite

    files = sorted(corpus.glob("*.txt"))
    with tempfile.TemporaryDirectory() as warm:
        (Path(warm) / files[0].name).write_bytes(files[0].read_bytes())
        build([Path(warm)])  # loads the model, gazetteer, lexicon and ontology once
    gc.collect()
    model_rss = _rss_mib()
    started = time.perf_counter()
    result = build([corpus], workers=workers) if workers > 1 else build([corpus])
    seconds = time.perf_counter() - started
    peak, worker_peak = _rss_mib(), _rss_mib(resource.RUSAGE_CHILDREN)
    result.dataset.serialize(graph_out, format="nquads")
    remove_knowledge_base(store)
    kb = KnowledgeBase(store)  # the corpus as a knowledge base, without parsing it again
    for _ in kb.save_records(result.extractions):
        pass
    rewrite(kb, [extraction.article.id for extraction in result.extractions])
    del kb
    gc.collect()  # close the store before copying its folder
    snapshot = store.with_name(store.name + "-before-add")
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(store, snapshot)
    kb = KnowledgeBase(store)
    started = time.perf_counter()
    build_into(kb, [extra])  # in this process: the model is loaded
    add_one = time.perf_counter() - started
    del kb
    gc.collect()
    _restore(snapshot, store)
    add_one_cli = _timed_kg_build(extra, store)  # a new `kg build` process, model load included
    _restore(snapshot, store)
    with _served(store):  # `kg serve` holds the store and the model; `kg build` sends the article to it
        add_one_served = _timed_kg_build(extra, store)
    shutil.rmtree(snapshot)
    return {
        "articles": result.articles,
        "seconds": seconds,
        "events": result.events,
        "quads": result.triples,
        "model_rss_mib": model_rss,
        "peak_rss_mib": peak,
        "worker_peak_rss_mib": worker_peak,
        "add_one_seconds": add_one,
        "add_one_cli_seconds": add_one_cli,
        "add_one_served_seconds": add_one_served,
    }


def _kg(*args: str) -> list[str]:
    return [sys.executable, "-c", "from kg.cli import main; main()", *args]


def _restore(snapshot: Path, store: Path) -> None:
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(snapshot, store)


def _timed_kg_build(article: Path, store: Path) -> float:
    """Wall time of `kg build ARTICLE --store STORE` as a user runs it: a new process, end to end."""
    started = time.perf_counter()
    subprocess.run(_kg("build", str(article), "--store", str(store), "-q"), check=True)
    return time.perf_counter() - started


@contextlib.contextmanager
def _served(store: Path, timeout: float = 120.0) -> Iterator[None]:
    """A `kg serve` process holding ``store`` for the duration of the block (started, then stopped)."""
    from kg.serve import served_store

    server = subprocess.Popen(
        _kg("serve", "--store", str(store)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout
        while served_store(store) is None:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kg serve did not come up on {store}")
            time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(timeout=60)


def _child_pipe(corpus: Path, workers: int) -> dict:
    import spacy

    from kg.articles import read_all
    from kg.nlp import MODELS, load_pipeline
    from kg.pipeline import BATCH_SIZE

    articles, _ = read_all([corpus])
    texts = [article.text for article in articles]

    def timed(nlp: spacy.Language) -> float:
        list(nlp.pipe(texts[:1]))  # warm up
        started = time.perf_counter()
        for _doc in nlp.pipe(texts, batch_size=BATCH_SIZE, n_process=workers):
            pass
        return time.perf_counter() - started

    bare = timed(spacy.load(MODELS["fr"]))
    kg_nlp = timed(load_pipeline("fr"))
    return {"articles": len(texts), "bare_seconds": bare, "kg_nlp_seconds": kg_nlp}


def child_main(argv: Sequence[str]) -> int:
    """Entry of the child processes (``run.py child build|pipe ...``): prints one JSON line."""
    mode, *args = argv
    if mode == "build":
        corpus, extra, workers, graph_out, store = args
        answer = _child_build(Path(corpus), Path(extra), int(workers), Path(graph_out), Path(store))
    elif mode == "pipe":
        corpus, workers = args
        answer = _child_pipe(Path(corpus), int(workers))
    else:
        raise SystemExit(f"unknown child mode {mode!r}; expected build or pipe")
    print(json.dumps(answer))
    return 0


def measure_articles(
    work: Path, count: int, seed: int, workers: Sequence[int]
) -> tuple[list[BuildFigures], Path]:
    """Generate ``count`` articles, build and bare-pipe them with each process count.

    Returns the figures and the built graph file (the same graph whatever the process count).
    """
    corpus, extra_dir = work / f"corpus-{count}", work / f"extra-{count}"
    paths = generate(corpus, count, seed)
    extra = next(write_corpus(extra_dir, 1, seed, start=count))  # the next article of the same corpus
    words = sum(len(path.read_text(encoding="utf-8").split()) for path in paths)
    graph_out = work / f"built-{count}.nq"
    figures = []
    for processes in workers:
        print(f"{count} articles, {processes} worker(s): build, then bare nlp.pipe ...", file=sys.stderr)
        built = measure_build(corpus, extra, processes, graph_out, work / f"kb-{count}-{processes}")
        piped = measure_bare_pipe(corpus, processes)
        figures.append(_build_figures(built, piped, processes, words))
    return figures, graph_out


def _build_figures(built: dict, piped: dict, workers: int, words: int) -> BuildFigures:
    return BuildFigures(
        articles=built["articles"],
        workers=workers,
        build_seconds=built["seconds"],
        bare_seconds=piped["bare_seconds"],
        kg_nlp_seconds=piped["kg_nlp_seconds"],
        events=built["events"],
        quads=built["quads"],
        model_rss_mib=built["model_rss_mib"],
        peak_rss_mib=built["peak_rss_mib"],
        worker_peak_rss_mib=built["worker_peak_rss_mib"],
        add_one_seconds=built["add_one_seconds"],
        add_one_cli_seconds=built["add_one_cli_seconds"],
        add_one_served_seconds=built["add_one_served_seconds"],
        words=words,
    )


# ---------------------------------------------------------------------------------------------- graphs


def load_graph(path: Path) -> Dataset:
    """A built graph: the N-Quads a build child wrote, or any graph file kg reads (``--graph``)."""
    if path.suffix == ".nq":
        dataset = Dataset(default_union=True)
        dataset.parse(path, format="nquads")
        return dataset
    from kg.store import load

    return load(path)


def _quads(dataset: Dataset) -> list[Quad]:
    quads = []
    for s, p, o, g in dataset.quads((None, None, None, None)):
        name = g.identifier if isinstance(g, Graph) else g
        quads.append((s, p, o, None if name in (None, DATASET_DEFAULT_GRAPH_ID) else name))
    return quads


def article_units(seed: list[Quad]) -> tuple[list[Quad], list[list[Quad]]]:
    """The shared quads, then the quads grouped into units that can be cut apart without breaking anything.

    A unit is a set of article graphs that report the same events (usually one article) with
    those events' descriptions from the events graph, so a graph cut between units holds whole
    articles and whole events, and validates like the build it comes from. Shared quads
    (entity descriptions, events no article reports) come first.
    """
    article_prefix = str(KGR["graph/article/"])
    events = {s for s, _, _, g in seed if g == EVENTS_GRAPH}
    parent: dict[URIRef, URIRef] = {}

    def root(name: URIRef) -> URIRef:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    owner: dict[Node, URIRef] = {}
    for s, _, o, g in seed:
        if g is not None and str(g).startswith(article_prefix):
            root(g)
            for term in (s, o):
                if term in events:
                    first = owner.setdefault(term, g)
                    parent[root(g)] = root(first)
    units: dict[URIRef, list[Quad]] = {}
    shared: list[Quad] = []
    for quad in seed:
        s, _, _, g = quad
        if g is not None and str(g).startswith(article_prefix):
            units.setdefault(root(g), []).append(quad)
        elif g == EVENTS_GRAPH and s in owner:
            units.setdefault(root(owner[s]), []).append(quad)
        else:
            shared.append(quad)
    return shared, [units[name] for name in sorted(units)]


def replicate_dataset(source: Dataset, size: int) -> Replica:
    """A dataset of about ``size`` quads: copies of ``source`` renamed like ``reasoning.replicate`` does.

    Article graphs are renamed with their content; the events and gazetteer graphs keep their
    names, so entity descriptions (shared by every copy) are stored once, as in a real corpus.
    The last copy stops at the first article unit (see ``article_units``) that reaches the size,
    so the graph may exceed it by one article's quads and holds no half-written article.
    """
    shared, units = article_units(_quads(source))
    if not units:
        raise ValueError("the built graph has no article graphs to replicate")
    dataset = Dataset(default_union=True)
    graphs: dict[URIRef | None, Graph] = {}

    def graph(name: URIRef | None) -> Graph:
        if name not in graphs:
            graphs[name] = dataset.default_graph if name is None else dataset.graph(name)
        return graphs[name]

    dataset.addN((s, p, o, graph(g)) for s, p, o, g in shared)
    count, copy = len(shared), 0
    while count < size:
        rename = reasoning._renamer(copy)
        for unit in units:
            dataset.addN(
                (rename(s), p, rename(o), graph(g if g in _SHARED_GRAPHS else rename(g)))
                for s, p, o, g in unit
            )
            count += len(unit)
            if count >= size:
                break
        copy += 1
    return Replica(dataset, count, copy)


# ---------------------------------------------------------------------------------------------- store


def _capped(function: Callable[[], int]) -> int:
    """An rdflib query stopped after ``RDFLIB_CAP`` seconds (the events table took 16 min at 1M quads)."""
    from kg.errors import QueryTimeout
    from kg.queries import call_with_timeout

    try:
        return call_with_timeout(function, RDFLIB_CAP)
    except QueryTimeout:
        return -1


def _time_runs(function: Callable[[], int], repeat: int, budget: float) -> tuple[list[float], int]:
    """Run once to warm up, then up to ``repeat`` timed runs while within ``budget`` seconds.

    A run that gave up (``_capped``: -1 rows) counts as infinitely long.
    """
    started = time.perf_counter()
    rows = function()
    warm = time.perf_counter() - started
    if rows < 0:
        return [math.inf], rows
    if warm > budget:
        return [warm], rows
    samples: list[float] = []
    deadline = time.perf_counter() + budget
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
        if time.perf_counter() > deadline:
            break
    return samples, rows


def query_params() -> list[tuple[StoredQuery, dict[str, str]]]:
    """Every stored query with values for its required parameters."""
    from kg.queries import list_queries

    chosen = []
    for query in list_queries():
        params = dict(QUERY_PARAMS.get(query.name, {}))
        for param in query.params:
            if param.required and param.name not in params:
                params[param.name] = _DEFAULT_BY_TYPE[param.type.value]
        chosen.append((query, params))
    return chosen


def query_kind(query: StoredQuery) -> str:
    """Which of the issue's targets a stored query answers to, from its shape.

    The issue sets a latency for lookups of one entity (a required entity parameter) and one for
    aggregations (a GROUP BY or an aggregate). The export's long tables (every field of every event
    or entity: tens of thousands of rows at 1M triples) are listings, and the ``-violation`` queries
    are integrity checks that read every mention; both are timed and reported, under no target.
    """
    if any(p.required and p.type is ParamType.ENTITY for p in query.params):
        return "lookup"
    if query.is_violation:
        return "check"
    return "aggregation" if _aggregates(prepareQuery(query.text).algebra) else "listing"


def _aggregates(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name in ("AggregateJoin", "Group") or any(_aggregates(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_aggregates(v) for v in node)
    return False


def mentioned_entities(kb: KnowledgeBase) -> list[str]:
    """Every entity the articles mention (what an analyst looks up), most mentioned first."""
    _, rows = kb.select(
        "PREFIX kg: <https://kg.example.org/ontology#> "
        "SELECT ?entity (COUNT(?mention) AS ?mentions) WHERE { ?mention kg:refersTo ?entity } "
        "GROUP BY ?entity ORDER BY DESC(?mentions) ?entity"
    )
    return [str(row["entity"]) for row in rows]


def time_across_entities(
    kb: KnowledgeBase,
    query: StoredQuery,
    params: dict[str, str],
    entities: list[str],
    run: Callable[..., object],
    warm_up: bool,
) -> list[tuple[float, str]]:
    """One timed run of a lookup per entity (after an untimed one if ``warm_up``), slowest first.

    Latencies over one much-attacked base repeated say how that entity is served; the p95 of an
    analyst's lookups is over the entities looked up, hubs and rarely mentioned ones alike. Answers
    kept at write time are timed on their first run, so no warm-up run can have put them there.
    """
    name = next(p.name for p in query.params if p.required and p.type is ParamType.ENTITY)
    timings = []
    for entity in entities:
        bound = {**params, name: entity}
        if warm_up:
            run(kb, query, bound)
        started = time.perf_counter()
        run(kb, query, bound)
        timings.append((time.perf_counter() - started, entity.rsplit("/", 1)[-1]))
    return sorted(timings, reverse=True)


def measure_store(dataset: Dataset, store_dir: Path, repeat: int, budget: float) -> StoreFigures:
    """Load the dataset into a fresh Oxigraph store, then time every stored query there and in rdflib.

    The Oxigraph column is what ``kg query --store`` runs (``kg.answers.run_on_store``): lookups come
    from the answers the load worked out, the rest run on the store. Lookups are also timed live.
    """
    from kg.answers import run_on_store
    from kg.queries import run, vocabulary
    from kg.queries import run_on_store as run_live

    kb = KnowledgeBase(store_dir)
    gc.collect()
    started = time.perf_counter()
    quads = kb.replace_graph(dataset, vocabulary())
    figures = StoreFigures(quads, time.perf_counter() - started, kb.answer_view.last_refresh_seconds)
    # rdflib side: the same data and vocabulary in memory, queried as run(..., with_ontology=True) would
    vocabulary_graph = dataset.graph(KGR["graph/vocabulary"])
    vocabulary_graph += vocabulary()
    entities = mentioned_entities(kb)
    # The rdflib side keeps millions of Python objects alive, which a `kg query` process never holds; each
    # full collection the query timings set off walks them all. Frozen, they are left out: timeline's
    # slowest of nine runs beside a 359k-quad rdflib dataset went from 925 ms to 261 ms (253 ms without it).
    gc.freeze()
    try:
        for query, params in query_params():
            kind = query_kind(query)
            print(f"  {query.name} ...", file=sys.stderr)
            ox_runs, ox_rows = _time_runs(
                lambda q=query, p=params: len(run_on_store(kb, q, p).rows), repeat, budget
            )
            rdf_runs, rdf_rows = _time_runs(
                lambda q=query, p=params: _capped(lambda: len(run(dataset, q, p, with_ontology=False).rows)),
                repeat,
                budget,
            )
            timing = QueryTiming(query.name, kind, ox_runs, rdf_runs, ox_rows, rdf_rows)
            if timing.lookup:
                kept = time_across_entities(kb, query, params, entities, run_on_store, warm_up=False)
                timing.across_entities = kept
                timing.live_across_entities = time_across_entities(
                    kb, query, params, entities, run_live, warm_up=True
                )
            figures.queries.append(timing)
    finally:
        gc.unfreeze()
        dataset.remove_graph(vocabulary_graph)
    return figures


# ---------------------------------------------------------------------------------------------- validation


def article_subgraph(dataset: Dataset, article_graph: URIRef) -> Graph:
    """An article's named graph plus the events and gazetteer descriptions it links to (transitively).

    This is what validating one article as it arrives has to look at: its mentions, reports and
    attributions, the merged events they report, and the entities (with their containing places).
    """
    shared = [dataset.graph(name) for name in _SHARED_GRAPHS]
    graph = Graph()
    own = dataset.graph(article_graph)
    frontier: set[Node] = set()
    for s, p, o in own:
        graph.add((s, p, o))
        frontier.update(term for term in (s, o) if isinstance(term, URIRef))
    seen: set[Node] = set()
    while frontier:
        node = frontier.pop()
        seen.add(node)
        for source in shared:
            for p, o in source.predicate_objects(node):
                graph.add((node, p, o))
                if isinstance(o, URIRef) and o not in seen:
                    frontier.add(o)
    return graph


def _open_again(store_dir: Path) -> KnowledgeBase:
    """The knowledge base the query timings used, opened anew (on a copy if this process still holds it).

    RocksDB refuses a second open of a folder within one process; a handle the query timings left to the
    garbage collector is dropped first, and should one still be alive, a copy of the folder is opened.
    """
    from kg.errors import InputError

    gc.collect()
    try:
        return KnowledgeBase(store_dir)
    except InputError as exc:
        copy = store_dir.with_name(store_dir.name + "-validation")
        print(f"  {exc}; validating a copy at {copy}", file=sys.stderr)
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(store_dir, copy, ignore=shutil.ignore_patterns("LOCK"))
        return KnowledgeBase(copy)


def measure_validation(store_dir: Path | None, quads: int, built: Dataset, samples: int) -> ValidationFigures:
    """Full SHACL validation of the knowledge base in ``store_dir`` (skipped when None), where it lies,
    with the default (sparql) engine; and up to ``samples`` single articles with both engines."""
    from kg import resources
    from kg.validate import Engine, validate, validate_store

    resources.shapes(), resources.ontology()  # parsed once, outside the timings
    full_seconds = full_conforms = None
    violations = 0
    if store_dir is None:
        quads = 0
    else:
        print(f"validating {quads:,} quads ...", file=sys.stderr)
        kb = _open_again(store_dir)
        started = time.perf_counter()
        report = validate_store(kb)
        full_seconds = time.perf_counter() - started
        del kb
        full_conforms = report.conforms
        violations = sum(1 for result in report.results if result.severity == "Violation")
    prefix = str(KGR["graph/article/"])
    names = sorted(g.identifier for g in built.graphs() if str(g.identifier).startswith(prefix))[:samples]
    seconds, reference, triples, conforming = [], [], 0, 0
    for name in names:
        subgraph = article_subgraph(built, name)
        started = time.perf_counter()
        report = validate(subgraph)
        seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        validate(subgraph, engine=Engine.PYSHACL)
        reference.append(time.perf_counter() - started)
        triples += len(subgraph)
        conforming += report.conforms
    return ValidationFigures(
        quads,
        full_seconds,
        full_conforms,
        violations,
        seconds,
        triples // max(1, len(names)),
        conforming,
        reference,
    )


# ---------------------------------------------------------------------------------------------- reasoning


def measure_reasoning(
    built: Dataset, sizes: Sequence[int], skip_owlrl_above: int | None, repeat: int
) -> list[reasoning.Row]:
    """``benchmarks/reasoning.py`` on the corpus build grown to each size (fast engine vs owlrl)."""
    from kg import resources
    from kg.store import flatten

    seed = list(flatten(built))
    resources.ontology()
    rows = []
    for size in sizes:
        data = reasoning.replicate(seed, size)
        with_owlrl = skip_owlrl_above is None or len(data) <= skip_owlrl_above
        print(f"reasoning on {len(data):,} triples ...", file=sys.stderr)
        rows.append(reasoning.measure(data, with_owlrl=with_owlrl, repeat=max(1, repeat)))
    return rows


# ---------------------------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    if math.isinf(seconds):
        return f"> {RDFLIB_CAP * 1000:,.0f}"
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f}" if milliseconds < 100 else f"{milliseconds:,.0f}"


def machine() -> str:
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("spacy", "fr-core-news-sm", "rdflib", "pyoxigraph", "pyshacl", "owlrl")
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({platform.machine()}), {memory:.0f} GiB, "
        f"Python {platform.python_version()}; {versions}"
    )


def format_build(rows: list[BuildFigures]) -> str:
    lines = [
        "| articles | words/article | workers | bare `nlp.pipe` (art./s) | kg `nlp.pipe` only (art./s) "
        "| `build` (art./s) | build / bare | events | quads | RSS after model load (MiB) "
        "| peak RSS of the build (MiB) | add 1 article to the store, in process (s) "
        "| add 1 article, `kg build` end to end (s) | add 1 article, `kg build` to a `kg serve` (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        peak = f"{row.peak_rss_mib:,.0f}"
        if row.worker_peak_rss_mib:
            peak += f" (+ {row.worker_peak_rss_mib:,.0f} per worker)"
        lines.append(
            f"| {row.articles:,} | {row.words // max(1, row.articles)} | {row.workers} "
            f"| {row.articles / row.bare_seconds:.1f} | {row.articles / row.kg_nlp_seconds:.1f} "
            f"| {row.articles / row.build_seconds:.1f} | {row.ratio:.0%} | {row.events:,} | {row.quads:,} "
            f"| {row.model_rss_mib:,.0f} | {peak} | {row.add_one_seconds:.2f} "
            f"| {row.add_one_cli_seconds:.2f} | {row.add_one_served_seconds:.2f} |"
        )
    return "\n".join(lines)


def format_store(stores: list[StoreFigures]) -> str:
    lines = [
        "| quads | store load (s) | store load (quads/s) |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {s.quads:,} | {s.load_seconds:.2f} | {s.quads / s.load_seconds:,.0f} |" for s in stores]
    for store in stores:
        lines += [
            "",
            f"Stored queries on {store.quads:,} quads (ms; p50/p95 of the timed runs after a warm-up run):",
            "",
            "| query | kind | rows | Oxigraph p50 | Oxigraph p95 | rdflib p50 | rdflib p95 | runs |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for q in store.queries:
            rows = (
                str(q.oxigraph_rows)
                if q.oxigraph_rows == q.rdflib_rows or q.rdflib_rows < 0
                else f"{q.oxigraph_rows} / {q.rdflib_rows}"
            )
            lines.append(
                f"| {q.name} | {q.kind} | {rows} "
                f"| {_ms(percentile(q.oxigraph, 0.5))} | {_ms(percentile(q.oxigraph, 0.95))} "
                f"| {_ms(percentile(q.rdflib, 0.5))} | {_ms(percentile(q.rdflib, 0.95))} "
                f"| {len(q.oxigraph)}/{len(q.rdflib)} |"
            )
        lookups = [q for q in store.queries if q.across_entities]
        if lookups:
            lines += [
                "",
                f"Lookups of every entity the articles mention ({len(lookups[0].across_entities)} entities; "
                "one timed run each; ms). *Kept*: as `kg query --store` answers them, from the answers "
                f"worked out when the store was loaded ({store.answers_seconds:.1f} s of its load), "
                "first run, no warm-up. *Live*: the query run by Oxigraph, after an untimed run:",
                "",
                "| query | entities | kept p50 | kept p95 | live p50 | live p95 | slowest live (hubs) |",
                "|---|---:|---:|---:|---:|---:|---|",
            ]
            for q in lookups:
                kept = [t for t, _ in q.across_entities]
                live = [t for t, _ in q.live_across_entities]
                slowest = ", ".join(f"{entity} {_ms(t)}" for t, entity in q.live_across_entities[:3])
                kept_figures = f"{_ms(percentile(kept, 0.5))} | {_ms(percentile(kept, 0.95))}"
                live_figures = f"{_ms(percentile(live, 0.5))} | {_ms(percentile(live, 0.95))}"
                lines.append(f"| {q.name} | {len(kept)} | {kept_figures} | {live_figures} | {slowest} |")
    return "\n".join(lines)


def format_validation(figures: ValidationFigures) -> str:
    full = "skipped" if figures.full_seconds is None else f"{figures.full_seconds:.1f}"
    if figures.full_conforms is None:
        conforms = ""
    else:
        conforms = "yes" if figures.full_conforms else f"no: {figures.violations} violations"
    count = len(figures.article_seconds)
    return "\n".join(
        [
            "| quads | full SHACL validation of the store (s) | conforms | articles validated alone "
            "| mean triples each | per-article p50 (ms) | per-article p95 (ms) | conforming alone "
            "| pySHACL per-article p50 (ms) | pySHACL per-article p95 (ms) |",
            "|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {figures.quads:,} | {full} | {conforms} | {count} | {figures.article_triples:,} "
            f"| {_ms(percentile(figures.article_seconds, 0.5))} "
            f"| {_ms(percentile(figures.article_seconds, 0.95))} "
            f"| {figures.articles_conforming}/{count} "
            f"| {_ms(percentile(figures.article_seconds_pyshacl, 0.5))} "
            f"| {_ms(percentile(figures.article_seconds_pyshacl, 0.95))} |",
            "",
            "Full validation and the first two per-article columns use the default `sparql` engine "
            "(shapes compiled to SPARQL, run by Oxigraph on the store itself); pySHACL is the reference "
            "engine, with the same reports (`tests/test_shacl_sparql.py`).",
        ]
    )


def _judge(value: float, limit: float, size: int, target_size: int) -> bool | None:
    """Met, not met, or None (not measured) for a cost that must stay under ``limit`` at ``target_size``.

    A figure under the limit at a smaller size proves nothing; one already over it does, since
    these costs only grow with the size.
    """
    if value > limit:
        return False
    return True if size >= target_size else None


def format_targets(
    builds: list[BuildFigures],
    stores: list[StoreFigures],
    validation: ValidationFigures,
    reasoning_rows: list[reasoning.Row],
) -> str:
    """The issue's targets against what this run measured, with the size each figure was measured at."""

    def verdict(ok: bool | None, at_target_size: bool) -> str:
        if ok is None:
            return "not measured at that size"
        if ok:
            return "met"
        return "**not met**" if at_target_size else "**not met** (already at the smaller size)"

    rows: list[tuple[str, str, bool | None, bool]] = []
    largest = max((b.articles for b in builds), default=0)
    for build in (b for b in builds if b.articles == largest):
        rows.append(
            (
                "build throughput >= 75% of bare `nlp.pipe` (same model, same processes)",
                f"{build.ratio:.0%} at {build.articles:,} articles, {build.workers} worker(s)",
                build.ratio >= 0.75,
                True,
            )
        )
    if stores:
        store = max(stores, key=lambda s: s.quads)
        lookups = [q for q in store.queries if q.across_entities]
        if lookups:
            # the p95 of an analyst's lookups: over the entities looked up, each one timed
            worst = max(lookups, key=lambda q: percentile([t for t, _ in q.across_entities], 0.95))
            p95 = percentile([t for t, _ in worst.across_entities], 0.95)
            over = sum(1 for q in lookups if percentile([t for t, _ in q.across_entities], 0.95) > 0.005)
            hubs = "; ".join(
                f"{q.name} on {', '.join(QUERY_PARAMS.get(q.name, {}).values()) or 'its default'} "
                f"p95 {_ms(percentile(q.oxigraph, 0.95))} ms"
                for q in lookups
            )
            live = "; ".join(
                f"{q.name} p95 {_ms(percentile([t for t, _ in q.live_across_entities], 0.95))} ms"
                for q in lookups
            )
            rows.append(
                (
                    "stored lookups of one entity on a 1M-triple store: p95 <= 5 ms",
                    f"{over} of {len(lookups)} over; worst {worst.name} p95 {_ms(p95)} ms over the "
                    f"{len(worst.across_entities)} entities the articles mention, at {store.quads:,} quads, "
                    f"answered from the answers kept at write time (one hub entity repeated: {hubs}; "
                    f"run live: {live})",
                    _judge(p95, 0.005, store.quads, 1_000_000),
                    store.quads >= 1_000_000,
                )
            )
        for kind, label, limit in (
            ("aggregation", "aggregations", 0.3),
            ("lookup", "lookups of one entity", 0.005),
        ):
            timings = [q for q in store.queries if q.kind == kind]
            if not timings or (kind == "lookup" and lookups):
                continue
            worst = max(timings, key=lambda q: percentile(q.oxigraph, 0.95))
            p95 = percentile(worst.oxigraph, 0.95)
            over = sum(1 for q in timings if percentile(q.oxigraph, 0.95) > limit)
            rows.append(
                (
                    f"stored {label} on a 1M-triple store: p95 <= {limit * 1000:.0f} ms",
                    f"{over} of {len(timings)} over; worst {worst.name} p95 {_ms(p95)} ms "
                    f"at {store.quads:,} quads",
                    _judge(p95, limit, store.quads, 1_000_000),
                    store.quads >= 1_000_000,
                )
            )
    if validation.full_seconds is not None:
        rows.append(
            (
                "full SHACL validation of 1M triples < 30 s",
                f"{validation.full_seconds:.1f} s at {validation.quads:,} quads",
                _judge(validation.full_seconds, 30, validation.quads, 1_000_000),
                validation.quads >= 1_000_000,
            )
        )
    if validation.article_seconds:
        p95 = percentile(validation.article_seconds, 0.95)
        rows.append(("per-article validation < 50 ms", f"p95 {_ms(p95)} ms", p95 < 0.05, True))
    compared = [row for row in reasoning_rows if row.speedup is not None]
    if compared:
        row = max(compared, key=lambda r: r.triples)
        big = row.triples >= 100_000
        rows.append(
            (
                "reasoning at 100k triples >= 20x faster than owlrl, same answers",
                f"{row.speedup:.0f}x at {row.triples:,} triples, same triples: {'yes' if row.same else 'NO'}",
                (row.speedup >= 20 and bool(row.same)) if big else None,
                big,
            )
        )
    if builds:
        best = next(b for b in builds if b.articles == largest)
        rows.append(
            (
                "adding one article to a store of 10k articles < 2 s",
                f"{best.add_one_served_seconds:.2f} s end to end with `kg serve` holding the store "
                f"({best.add_one_cli_seconds:.2f} s without it, model load included; "
                f"{best.add_one_seconds:.2f} s in process) to a store of {best.articles:,} articles",
                _judge(best.add_one_served_seconds, 2, best.articles, 10_000),
                best.articles >= 10_000,
            )
        )
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {verdict(ok, full)} |" for target, measured, ok, full in rows]
    if stores:
        store = max(stores, key=lambda s: s.quads)
        untargeted = [q for q in store.queries if q.kind in ("listing", "check")]
        if untargeted:
            timed = ", ".join(f"{q.name} ({q.kind}) {_ms(percentile(q.oxigraph, 0.95))}" for q in untargeted)
            lines += ["", f"Under no target (p95 in ms at {store.quads:,} quads): {timed}."]
    return "\n".join(lines)


def write_results(section: str, path: Path = RESULTS) -> None:
    """Put ``section`` between the markers of ``path`` (appended with markers if they are missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN_MARKER}\n{section.strip()}\n{END_MARKER}"
    if BEGIN_MARKER in text and END_MARKER in text:
        head, rest = text.split(BEGIN_MARKER, 1)
        _, tail = rest.split(END_MARKER, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def _display(path: str) -> str:
    try:
        return str(Path(path).absolute().relative_to(ROOT))
    except ValueError:
        return path


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[200], help="corpus sizes to build")
    parser.add_argument("--triples", type=int, nargs="+", default=[100_000], help="graph sizes (quads)")
    parser.add_argument("--reasoning", type=int, nargs="*", default=[10_000, 100_000], help="reasoning sizes")
    parser.add_argument("--skip-owlrl-above", type=int, default=None, metavar="N", help="no owlrl above N")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="process counts (build and pipe)")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per query (after one warm-up)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds of timed runs per query")
    parser.add_argument("--validate-samples", type=int, default=20, help="articles validated alone")
    parser.add_argument("--no-full-validation", action="store_true", help="skip full SHACL validation")
    parser.add_argument("--work", type=Path, default=None, help="keep the corpus and graphs in this folder")
    parser.add_argument(
        "--graph",
        type=Path,
        default=None,
        help="skip corpus and builds: grow this built graph (.nq, .ttl, ...)",
    )
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not update {RESULTS.name}")
    args = parser.parse_args(argv)
    if min(args.workers) < 1 or min(args.articles) < 1 or min(args.triples) < 1:
        parser.error("--workers, --articles and --triples must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        return child_main(argv[1:])
    args = parse_args(argv)
    command = shlex.join([_display(sys.executable), _display(__file__), *argv])
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kg-bench-", ignore_cleanup_errors=True) as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        builds: list[BuildFigures] = []
        graph_file = args.graph
        for count in [] if args.graph else sorted(args.articles):
            figures, graph_file = measure_articles(work, count, args.seed, args.workers)
            builds.extend(figures)
        built = load_graph(graph_file)
        stores, largest = [], None
        for size in sorted(args.triples):
            print(f"{size:,} quads: store load and queries ...", file=sys.stderr)
            largest = replicate_dataset(built, size)
            stores.append(measure_store(largest.dataset, work / f"store-{size}", args.repeat, args.budget))
        full_store = None
        if largest is not None and not args.no_full_validation:
            full_store = work / f"store-{max(args.triples)}"
        validation = measure_validation(
            full_store, largest.quads if largest else 0, built, args.validate_samples
        )
        del largest
        gc.collect()
        reasoning_rows = measure_reasoning(built, args.reasoning, args.skip_owlrl_above, repeat=3)
    minutes = (time.perf_counter() - started) / 60
    section = "\n\n".join(
        [
            "## Scale benchmarks (issue 4, part 6)",
            f"Machine: {machine()}. Load average (1 min) before the run: {load_before:.2f} "
            "(other work on the machine slows every figure).",
            f"Command (took {minutes:.0f} min): `{command}`",
            f"Corpus: synthetic French articles from `benchmarks/corpus.py --seed {args.seed}`. "
            "Throughputs are after the model is loaded (both sides); quads are those of the built "
            "graph grown by renamed copies (entities shared).",
            "### Build\n\n"
            + (format_build(builds) if builds else f"Not run: graph read from `{args.graph}`."),
            "### Store load and stored queries (Oxigraph on disk vs rdflib in memory)\n\n"
            + format_store(stores),
            "### Validation\n\n" + format_validation(validation),
            "### Reasoning (`benchmarks/reasoning.py` on the corpus build)\n\n"
            + (reasoning.format_table(reasoning_rows) if reasoning_rows else "Not run."),
            "### Issue 4 targets\n\n" + format_targets(builds, stores, validation, reasoning_rows),
        ]
    )
    print(section)
    if not args.no_write:
        write_results(section)
        print(f"\nwritten to {_display(str(RESULTS))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
