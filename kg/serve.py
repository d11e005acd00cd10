"""``kg serve``: one long-running process that owns a knowledge base, keeps the model loaded and serves HTTP.

Adding one article to a store of 10,001 articles takes about 0.3 s in a process that has the model
loaded, but a new ``kg build`` process spends 4 s starting Python and loading ``fr_core_news_sm``
(most of it compiling spaCy's French tokenizer patterns, which cannot be cached). The embedded Oxigraph
store also holds a RocksDB lock, so while one process writes no other can even query. A desk that
receives articles all day therefore runs one server per knowledge base:

- ``GET /sparql?query=``, ``POST /sparql`` (form or ``application/sparql-query``): the SPARQL 1.1
  Protocol over the store's default graph, which holds each triple of the named graphs once (see
  ``kg.kb``), so answers equal ``kg query --store``. Read only: updates and ``SERVICE`` are refused.
  Queries run on their own threads while articles are added (Oxigraph readers see snapshots).
- ``POST /articles?name=FILE.txt`` (body: the file's bytes): the article is read by the rules of
  ``kg.articles`` and added by ``kg.pipeline.build_into``, exactly as ``kg build FILE --store``
  would, arrival validation included; writes are serialised by one lock.
  ``DELETE /articles?name=FILE.txt`` takes one out, as ``kg remove`` does.
- ``GET /health`` (or ``/``), ``GET /stats`` (the counts of ``kg build``'s summary line),
  ``GET /dataset`` (N-Quads of kg's named graphs, what ``KnowledgeBase.to_dataset`` reads).
- ``--watch FOLDER`` adds article files as they appear or change in a folder.

While it runs, the server announces itself in ``KB/serve.json`` (``{"url": ..., "pid": ...}``), and
the other ``kg`` commands given ``--store KB`` go through it instead of opening the store
(``served_store``, ``build_through``, ``ServerClient``). The client half of this module imports
neither spaCy nor the pipeline: a delegated ``kg build`` starts in a third of a second.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import http.client
import json
import logging
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph as ox
from rdflib import Dataset, Graph

from kg.articles import ARTICLE_SUFFIXES, read_all, read_article
from kg.endpoint import EndpointError, GraphScope, SparqlEndpoint
from kg.errors import ArticleError, InputError, KGError, UsageError
from kg.kb import VOCABULARY_GRAPH, KnowledgeBase
from kg.ns import GAZETTEER_GRAPH, KG, article_iri, bind_prefixes
from kg.resources import limits
from kg.store import write_text_atomic

if TYPE_CHECKING:
    from kg.validate import Report

__all__ = [
    "SERVE_FILE",
    "RemoteBuild",
    "Served",
    "ServedKnowledgeBase",
    "ServerClient",
    "build_through",
    "held_message",
    "serve",
    "served_store",
]

logger = logging.getLogger(__name__)

SERVE_FILE = "serve.json"
DEFAULT_POLL = 1.0
_HEALTH_TIMEOUT = 5.0  # seconds a served store has to answer before its serve.json counts as stale
_QUERY_TIMEOUT = 24 * 3600.0  # a served query runs as long as a local one would (--timeout still applies)
_STOP_GRACE = 10.0  # seconds requests in flight get to finish once the server stops
_SETTLE_SECONDS = 0.5  # a watched file not written to for this long is taken to be complete
_MAX_QUERY_BYTES = 10_000_000  # a SPARQL request body above this is refused (413)
_DATASET_END = b"# kg: end of dataset\n"  # the last line of GET /dataset: a cut connection is noticed
_LOOPBACK_FOR = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_SAFE_NAME = re.compile(r"[^\x00-\x1f/\\]{1,255}")
_UPDATE = re.compile(
    r"^\s*(?:(?:BASE\s*<[^>]*>|PREFIX\s+[^:\s]*:\s*<[^>]*>)\s*)*"
    r"(?:INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.IGNORECASE,
)
_SERVICE = re.compile(r"(?<![?$:\w])SERVICE\s+(?:SILENT\s+)?[<?$:\w]", re.IGNORECASE)
_TOKENS = re.compile(r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|(<[^<>"{}|^`\\\s]*>)|#[^\n]*""")

# Media types the SPARQL endpoint answers in: results of SELECT/ASK, graphs of CONSTRUCT/DESCRIBE.
_RESULT_FORMATS = (
    ox.QueryResultsFormat.JSON,
    ox.QueryResultsFormat.XML,
    ox.QueryResultsFormat.CSV,
    ox.QueryResultsFormat.TSV,
)
_GRAPH_FORMATS = (
    ox.RdfFormat.N_TRIPLES,
    ox.RdfFormat.TURTLE,
    ox.RdfFormat.RDF_XML,
    ox.RdfFormat.JSON_LD,
    ox.RdfFormat.N3,
)


# ============================================================================ finding a served store


@dataclass(frozen=True)
class Served:
    """A running ``kg serve`` that holds a knowledge base: its URL and process id."""

    url: str
    pid: int
    store: Path


def served_store(store: Path, timeout: float = _HEALTH_TIMEOUT) -> Served | None:
    """The ``kg serve`` process holding ``store``, or None when the store is not served.

    ``KB/serve.json`` names the server; it counts only if its process is alive and its URL answers
    ``/health`` with the same process id (a server killed with ``kill -9`` leaves the file behind, and
    its pid or port may since have been reused). Without the file this costs one failed ``open``.
    """
    announced = _read_serve_file(Path(store) / SERVE_FILE)
    if announced is None or not _pid_alive(announced[1]):
        return None
    url, pid = announced
    try:
        status, _, payload = _call(url, "GET", "/health", timeout=timeout)
        health = json.loads(payload)
    except (EndpointError, ValueError):
        return None
    if status != HTTPStatus.OK or not isinstance(health, dict) or health.get("pid") != pid:
        return None
    return Served(url, pid, Path(store))


def held_message(server: Served, command: str) -> str:
    """Why ``command`` cannot open a store ``kg serve`` holds, and what to do instead (one line)."""
    return (
        f"{server.store} is held by `kg serve` at {server.url} (pid {server.pid}); {command} cannot run "
        f"while it is served: stop the server (kill {server.pid}, or Ctrl-C in its terminal) and run it again"
    )


def _read_serve_file(path: Path) -> tuple[str, int] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # half-written by hand or unreadable: not an announcement kg can trust
    if not isinstance(info, dict):
        return None
    url, pid = info.get("url"), info.get("pid")
    if not isinstance(url, str) or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return None
    return url, pid


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    except OSError:
        return False
    return True


# ============================================================================ the client


def _call(
    url: str,
    method: str,
    target: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[int, str, bytes]:
    """One HTTP exchange with a ``kg serve``; (status, media type, body) or a one-line EndpointError.

    ``http.client`` rather than ``urllib``: a served store is reached directly, never through a proxy.
    """
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers.get_content_type(), response.read()
    except TimeoutError:
        raise EndpointError(f"`kg serve` at {url} did not answer {method} {target} in {timeout:g}s") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise EndpointError(f"cannot reach `kg serve` at {url} ({reason}); is it still running?") from None
    finally:
        connection.close()


def _error_text(payload: bytes) -> str:
    text = " ".join(payload.decode("utf-8", errors="replace").split())
    return text or "(no message)"


class ServerClient:
    """The requests other ``kg`` commands make to the ``kg serve`` holding their store."""

    def __init__(self, server: Served) -> None:
        self.server = server

    def endpoint(self) -> SparqlEndpoint:
        """The server's SPARQL endpoint; its default graph already shows every kg graph, once."""
        return SparqlEndpoint(f"{self.server.url}/sparql", scope=GraphScope.SERVER, timeout=_QUERY_TIMEOUT)

    def add(self, name: str, data: bytes, strict: bool = False) -> dict[str, Any]:
        """Send one article file's bytes; the server's JSON answer.

        Raises:
            ArticleError: the server refused the article as bad input (HTTP 400).
            EndpointError: the server is gone, or answered with another error.
        """
        target = "/articles?" + urlencode({"name": name, "strict": "1" if strict else "0"})
        # no timeout: a changed article rewrites the whole store, minutes on a large one
        status, _, payload = _call(
            self.server.url,
            "POST",
            target,
            body=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return self._json(status, payload, f"adding {name}")

    def remove(self, name: str) -> dict[str, Any]:
        """Take an article out (a rewrite of the store, as ``kg remove``); the server's JSON answer."""
        status, _, payload = _call(self.server.url, "DELETE", "/articles?" + urlencode({"name": name}))
        return self._json(status, payload, f"removing {name}")

    def stats(self) -> dict[str, Any]:
        """Articles, events, triples and entity kinds of the served store (``kg build``'s summary)."""
        status, _, payload = _call(self.server.url, "GET", "/stats", timeout=_QUERY_TIMEOUT)
        return self._json(status, payload, "counting")

    def validate(self, shapes: Graph | None, engine: str) -> Report:
        """The served store validated by the server, where it lies (it is never sent over)."""
        from kg.validate import Report, ValidationResult

        target = "/validate?" + urlencode({"engine": engine})
        if shapes is None:
            status, _, payload = _call(self.server.url, "GET", target, timeout=_QUERY_TIMEOUT)
        else:
            body = shapes.serialize(format="nt").encode("utf-8")
            headers = {"Content-Type": "application/n-triples"}
            status, _, payload = _call(
                self.server.url, "POST", target, body=body, headers=headers, timeout=_QUERY_TIMEOUT
            )
        answer = self._json(status, payload, "validating")
        graph = Graph()
        graph.parse(data=answer["graph"], format="nt")
        results = tuple(ValidationResult(**result) for result in answer["results"])
        return Report(conforms=bool(answer["conforms"]), results=results, graph=graph)

    def dataset(self) -> Dataset:
        """The served graph as an rdflib Dataset, as ``KnowledgeBase.to_dataset`` gives it locally."""
        status, _, payload = _call(self.server.url, "GET", "/dataset", timeout=_QUERY_TIMEOUT)
        if status != HTTPStatus.OK:
            raise EndpointError(f"`kg serve` at {self.server.url}: HTTP {status}: {_error_text(payload)}")
        if not payload.endswith(_DATASET_END):
            raise EndpointError(f"`kg serve` at {self.server.url}: the graph was cut off in transfer")
        dataset = Dataset(default_union=True)
        bind_prefixes(dataset)
        dataset.parse(data=payload.decode("utf-8"), format="nquads")
        return dataset

    def _json(self, status: int, payload: bytes, what: str) -> dict[str, Any]:
        if status == HTTPStatus.BAD_REQUEST:
            raise ArticleError(_error_text(payload))
        if status == HTTPStatus.NOT_FOUND and what.startswith("removing"):
            raise ArticleError(_error_text(payload))
        if status != HTTPStatus.OK:
            raise EndpointError(
                f"{what} through `kg serve` at {self.server.url} failed: "
                f"HTTP {status}: {_error_text(payload)}"
            )
        try:
            answer = json.loads(payload)
        except ValueError:
            raise EndpointError(f"`kg serve` at {self.server.url} sent an unreadable answer") from None
        if not isinstance(answer, dict):
            raise EndpointError(f"`kg serve` at {self.server.url} sent an unexpected answer")
        return answer


@dataclass(frozen=True)
class RemoteProblem:
    """One validation result as the server reported it (the fields ``kg build`` prints)."""

    severity: str
    focus: str
    path: str | None
    message: str


@dataclass(frozen=True)
class RemoteReport:
    """An arrival validation that failed on the server: its summary line and first results."""

    summary_line: str
    results: tuple[RemoteProblem, ...]

    def summary(self) -> str:
        return self.summary_line

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RemoteReport:
        problems = tuple(
            RemoteProblem(
                str(item.get("severity", "")),
                str(item.get("focus", "")),
                item.get("path"),
                str(item.get("message", "")),
            )
            for item in data.get("results", [])
        )
        return cls(str(data.get("summary", "")), problems)


@dataclass
class RemoteBuild:
    """What a build through ``kg serve`` did, with the attributes ``kg build`` prints (like ``BuildResult``).

    Counts are asked of the server only when the summary line wants them (counting the triples of a
    large store costs more than adding an article to it).
    """

    client: ServerClient
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: int = 0
    added: list[str] = field(default_factory=list)
    nonconforming: dict[str, RemoteReport] = field(default_factory=dict)
    _stats: dict[str, Any] | None = None

    @property
    def stats(self) -> dict[str, Any]:
        if self._stats is None:
            self._stats = self.client.stats()
        return self._stats

    @property
    def articles(self) -> int:
        return int(self.stats["articles"])

    @property
    def events(self) -> int:
        return int(self.stats["events"])

    @property
    def triples(self) -> int:
        return int(self.stats["triples"])

    def entity_counts(self) -> Counter[str]:
        return Counter({str(kind): int(n) for kind, n in self.stats["entities"].items()})

    @property
    def dataset(self) -> Dataset:
        return self.client.dataset()


def build_through(
    server: Served,
    paths: Iterable[Path],
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RemoteBuild:
    """``kg build ARTICLES --store KB`` when KB is served: each article file is sent to the server.

    Files are found and read here first, by the same rules and with the same messages as a local build
    (bad files skipped or, with ``strict``, an error before anything is sent; a second file of the same
    name or content skipped), then each one's bytes go to ``POST /articles``, where the server reads
    them again and adds them with ``build_into``. Articles are added one request each, so a large batch
    is merged in place article by article rather than rewritten once (same graph, more time).

    Raises:
        InputError: no article file under ``paths``, or (``strict``) a bad article.
        EndpointError: the server went away or failed.
    """
    started = time.perf_counter()
    client = ServerClient(server)
    result = RemoteBuild(client)
    articles, skipped = read_all(paths, strict=strict)
    result.skipped.extend(skipped)
    kept = [article.path for article in articles]
    if on_start is not None:
        on_start(len(kept))
    for path in kept:
        try:
            data = path.read_bytes()
        except OSError as exc:
            reason = f"{path}: cannot read ({exc.strerror or exc})"
            if strict:
                raise ArticleError(reason) from None
            result.skipped.append(reason)
            continue
        try:
            answer = client.add(path.name, data, strict=strict)
        except ArticleError as exc:  # refused by the server's reading: reported as a local read would be
            message = _as_local(str(exc), path)
            if strict:
                raise ArticleError(message) from None
            result.skipped.append(message)
            continue
        result.unchanged += len(answer.get("unchanged", []))
        result.added.extend(answer.get("added", []))
        result.skipped.extend(_as_local(str(reason), path) for reason in answer.get("skipped", []))
        for article_id, report in answer.get("nonconforming", {}).items():
            result.nonconforming[article_id] = RemoteReport.from_json(report)
        if progress is not None:
            progress(1)
    result.seconds = time.perf_counter() - started
    return result


def _as_local(message: str, path: Path) -> str:
    """A server message about file ``NAME`` as a local build words it, about the path given."""
    prefix = f"{path.name}:"
    return f"{path}:{message[len(prefix) :]}" if message.startswith(prefix) else message


# ============================================================================ the served store


class _ReadWriteLock:
    """Many readers at once, or one writer; a waiting writer holds back new readers.

    Queries read the store while articles are added (Oxigraph readers see a snapshot), so they need no
    lock against writes; only a full rewrite's swap of the store folder (``KnowledgeBase._swap_in``)
    must wait until no query holds the store it replaces.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._waiting += 1
            try:
                while self._writing or self._readers:
                    self._condition.wait()
            finally:
                self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


class ServedKnowledgeBase(KnowledgeBase):
    """A knowledge base shared by the server's threads: raw queries for the endpoint, a guarded swap.

    It also keeps the number of triples of the merged graph up to date as articles are added: counting
    them takes 0.8 s on 3.5M triples, twice what adding an article takes, and ``kg build`` prints it.
    """

    # its queries run live on the endpoint's threads, while articles arrive: it only drops stale answers
    fills_answers = False

    def __init__(self, path: Path) -> None:
        self.swap_lock = _ReadWriteLock()
        self._triples: int | None = None
        self._counted_before_write = False
        self._triples_lock = threading.Lock()
        super().__init__(path)

    def _swap_in(self, new_path: Path) -> None:
        with self.swap_lock.writing():  # no query may hold the store being replaced
            super()._swap_in(new_path)

    def replace_all(self, quads: Iterable[ox.Quad], vocabulary: Graph | None = None) -> int:
        count = super().replace_all(quads, vocabulary)
        with self._triples_lock:
            self._triples = None  # counted again when next asked
        return count

    def triple_count(self) -> int:
        """``COUNT(*)`` over the merged (default) graph, as ``kg build``'s summary gives it.

        Counted once, then kept up to date by ``apply``; a rewrite makes it count again.
        """
        with self._triples_lock:
            if self._triples is None:
                self._triples = self.count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
            return self._triples

    def apply(self, delete: Iterable[ox.Quad], insert: Dataset) -> None:
        """``KnowledgeBase.apply``, and the triple count moved by what it changed in the default graph.

        ``KnowledgeBase.apply`` looks up which inserted triples the default graph did not hold and which
        deleted ones no named graph holds any more (one index probe each), and reports their numbers to
        ``_merged_changed``. A count made while the write ran is not moved: it may have seen either side.
        """
        with self._triples_lock:
            self._counted_before_write = self._triples is not None
        super().apply(delete, insert)

    def _merged_changed(self, gained: int, lost: int) -> None:
        with self._triples_lock:
            if self._counted_before_write and self._triples is not None:
                self._triples += gained - lost

    def evaluate(
        self,
        text: str,
        default_graph: list[ox.NamedNode] | None = None,
        named_graphs: list[ox.NamedNode] | None = None,
    ) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Oxigraph's own result of a query (to serialise as is); hold ``swap_lock.reading()`` meanwhile.

        None means the store's own: its default graph (each triple once) and all its named graphs.
        """
        return self._store.query(text, default_graph=default_graph, named_graphs=named_graphs)

    def named_quads(self) -> Iterator[ox.Quad]:
        """The quads of kg's named graphs (not the default-graph copies nor the query vocabulary)."""
        vocabulary = str(VOCABULARY_GRAPH)
        for quad in self._store.quads_for_pattern(None, None, None, None):
            if isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value != vocabulary:
                yield quad

    def count(self, text: str) -> int:
        """The number a ``SELECT (COUNT(...) AS ?n)`` query gives."""
        for solution in self._store.query(text):
            value = solution["n"]
            return int(value.value) if value is not None else 0
        return 0

    def close(self) -> None:
        """Let go of the RocksDB folder (and its lock) before the process ends."""
        with contextlib.suppress(AttributeError):
            del self._store
        gc.collect()


# ============================================================================ the server


@dataclass
class Outcome:
    """What adding one article file did, as ``POST /articles`` reports it."""

    name: str
    article: str
    status: str  # added, replaced, unchanged or skipped
    skipped: list[str] = field(default_factory=list)
    nonconforming: dict[str, Any] = field(default_factory=dict)
    events: int = 0  # events the article reports
    seconds: float = 0.0

    def to_json(self, store_counts: dict[str, int]) -> dict[str, Any]:
        return {
            "name": self.name,
            "article": self.article,
            "status": self.status,
            "added": [self.article] if self.status in ("added", "replaced") else [],
            "unchanged": [self.article] if self.status == "unchanged" else [],
            "skipped": self.skipped,
            "nonconforming": self.nonconforming,
            "events": self.events,
            "store": store_counts,
            "seconds": round(self.seconds, 3),
        }

    def log_line(self) -> str:
        if self.status == "skipped":
            return "; ".join(f"skipped {reason}" for reason in self.skipped)
        if self.status == "unchanged":
            return f"{self.name}: already in the store"
        line = f"{self.status} {self.name} ({self.events} event(s) reported; {self.seconds:.2f}s)"
        for article_id, report in self.nonconforming.items():
            line += f"; {article_id} on arrival: {report['summary']}"
        return line


class ServerClosing(KGError):
    """A write arrived after the server started to stop."""


class KnowledgeBaseServer:
    """The state ``kg serve`` shares between its request threads and its folder watcher."""

    def __init__(self, kb: ServedKnowledgeBase, model: str, log: Callable[[str], None]) -> None:
        self.kb = kb
        self.model = model
        self.log = log
        self.write_lock = threading.Lock()
        self.closing = False
        self.url = ""
        self.watching: Path | None = None
        self._generation = 0  # writes so far: cached counts are those of one generation
        self._stats: tuple[int, dict[str, Any]] | None = None

    # ---------------------------------------------------------------- reading

    def quick_counts(self) -> dict[str, int]:
        """Articles and events in the store (milliseconds, unlike the triple count)."""
        with self.kb.swap_lock.reading():
            return {
                "articles": self.kb.count(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?a a <{KG.NewsArticle}> }}"),
                "events": self.kb.count(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?e a <{KG.Attack}> }}"),
            }

    def stats(self) -> dict[str, Any]:
        """The counts of ``kg build``'s summary line (``kg.pipeline``'s ``_store_counts``), cached per write.

        The triple count is the one the served store keeps up to date (``ServedKnowledgeBase.apply``).
        """
        generation = self._generation
        cached = self._stats
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self.kb.swap_lock.reading():
            articles = self.kb.count(
                f"SELECT (COUNT(DISTINCT ?article) AS ?n) WHERE {{ ?article a <{KG.NewsArticle}> }}"
            )
            events = self.kb.count(
                f"SELECT (COUNT(DISTINCT ?event) AS ?n) WHERE {{ ?event a <{KG.Attack}> }}"
            )
            triples = self.kb.triple_count()
            _, rows = self.kb.select(
                f"SELECT ?kind (COUNT(?entity) AS ?n) WHERE {{ "
                f"GRAPH <{GAZETTEER_GRAPH}> {{ ?entity a ?kind }} "
                f"FILTER EXISTS {{ ?entity <{KG.hasMention}> ?mention }} }} GROUP BY ?kind"
            )
        kinds = Counter({str(row["kind"]).rsplit("#", 1)[-1]: int(str(row["n"])) for row in rows})
        stats = {
            "articles": articles,
            "events": events,
            "triples": triples,
            "entities": dict(sorted(kinds.items())),
        }
        self._stats = (generation, stats)
        return stats

    def health(self) -> dict[str, Any]:
        return {
            "status": "stopping" if self.closing else "ok",
            "store": str(self.kb.path.resolve()),
            "articles": self.quick_counts()["articles"],
            "model": self.model,
            "pid": os.getpid(),
            "url": self.url,
            "watching": str(self.watching) if self.watching is not None else None,
            "writing": self.write_lock.locked(),
        }

    def validate(self, shapes: Graph | None, engine: str) -> Report:
        """The store validated where it lies, as one state of it: adds wait until the report is made."""
        from kg.validate import validate_store

        with self.write_lock, self.kb.swap_lock.reading():
            return validate_store(self.kb, shapes, engine=engine)

    # ---------------------------------------------------------------- writing

    def add_bytes(self, name: str, data: bytes, strict: bool = False) -> Outcome:
        """Add an article sent as bytes: written under its name to a private folder, then added from there."""
        with tempfile.TemporaryDirectory(prefix="kg-serve-") as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            return self.add_file(path, strict=strict, name=name)

    def add_file(self, path: Path, strict: bool = False, name: str | None = None) -> Outcome:
        """Add one article file as ``kg build FILE --store KB`` does.

        The article is read first, outside the write lock, so that bad input is refused and an article
        the store already holds is answered at once (``build_into`` would count the store's articles
        first: 0.1 s on 10,000 articles, and a watched folder is rescanned every second).

        Raises:
            ArticleError: the file is not a readable article (or, ``strict``, extraction failed).
            ServerClosing: the server is stopping.
        """
        from kg.pipeline import build_into

        started = time.perf_counter()
        shown = name or str(path)
        try:
            article = read_article(path)
        except ArticleError as exc:
            raise ArticleError(_renamed(str(exc), path, shown)) from None
        outcome = Outcome(shown, article.id, "unchanged")
        if self._holds(article.id, article.content_hash):
            outcome.seconds = time.perf_counter() - started
            return outcome
        with self.write_lock:
            if self.closing:
                raise ServerClosing("kg serve is stopping; send the article again once it is back")
            before = self.kb.stored_hash(article.id)
            try:
                result = build_into(self.kb, [path], strict=strict)
            except ArticleError as exc:
                raise ArticleError(_renamed(str(exc), path, shown)) from None
            finally:
                self._generation += 1
        outcome.skipped = [_renamed(reason, path, shown) for reason in result.skipped]
        if result.unchanged:
            outcome.status = "unchanged"
        elif outcome.skipped:
            outcome.status = "skipped"
        else:
            outcome.status = "replaced" if before is not None else "added"
        outcome.nonconforming = {
            article_id: {
                "summary": report.summary(),
                "results": [
                    {
                        "severity": problem.severity,
                        "focus": str(problem.focus),
                        "path": str(problem.path) if problem.path else None,
                        "message": problem.message,
                    }
                    for problem in report.results
                ],
            }
            for article_id, report in sorted(result.nonconforming.items())
        }
        outcome.events = self._reported_events(article.id)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def remove(self, name: str) -> dict[str, Any]:
        """Take an article out, as ``kg remove`` does (a rewrite of the store from its records)."""
        from kg.pipeline import remove_from

        with self.write_lock:
            if self.closing:
                raise ServerClosing("kg serve is stopping; try again once it is back")
            try:
                result = remove_from(self.kb, name)
            finally:
                self._generation += 1
        return {"removed": Path(name).stem, "seconds": round(result.seconds, 3)}

    def _holds(self, article_id: str, content_hash: str) -> bool:
        with self.kb.swap_lock.reading():
            stored = self.kb.stored_hash(article_id)
            return stored == content_hash or self.kb.holds_content(content_hash)

    def _reported_events(self, article_id: str) -> int:
        with self.kb.swap_lock.reading():
            return self.kb.count(
                f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e <{KG.hasReport}> ?r . "
                f"?r <{KG.sourceArticle}> <{article_iri(article_id)}> }}"
            )


def _renamed(message: str, path: Path, name: str) -> str:
    """A message about the server's private copy of an upload, about the name it was sent under."""
    return message.replace(str(path), name)


# ---------------------------------------------------------------------------- HTTP


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that can wait, for a bounded time, for the requests it is answering."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: KnowledgeBaseServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app = app
        self._active: set[threading.Thread] = set()
        self._active_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_one, args=(request, client_address), name="kg-serve-request", daemon=True
        )
        with self._active_lock:
            self._active.add(thread)
        thread.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active.discard(threading.current_thread())

    def wait_for_requests(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._active_lock:
            threads = list(self._active)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Refused(Exception):
    """A request answered with an HTTP error and a one-line message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "kg-serve/1"
    protocol_version = "HTTP/1.0"  # one request per connection: a stopping server has nothing to drain

    def log_message(self, format: str, *args: Any) -> None:  # the base class's parameter name
        """No access log: the server logs what it adds, not every query."""

    # ---------------------------------------------------------------- dispatch

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        route = parts.path.rstrip("/") or "/"
        params = parse_qs(parts.query, keep_blank_values=True)
        app = self.server.app
        try:
            if route in ("/", "/health") and method == "GET":
                self._send_json(app.health())
            elif route in ("/sparql", "/query") and method in ("GET", "POST"):
                self._sparql(method, params)
            elif route in ("/update", "/store"):
                raise _Refused(HTTPStatus.FORBIDDEN, _READ_ONLY)
            elif route == "/articles" and method == "POST":
                self._add_article(params)
            elif route == "/articles" and method == "DELETE":
                self._send_json(app.remove(_one(params, "name")))
            elif route == "/stats" and method == "GET":
                self._send_json(app.stats())
            elif route == "/validate" and method in ("GET", "POST"):
                self._validate(method, params)
            elif route == "/dataset" and method == "GET":
                self._dataset()
            elif route in (
                "/",
                "/health",
                "/sparql",
                "/query",
                "/articles",
                "/stats",
                "/dataset",
                "/validate",
            ):
                raise _Refused(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {route}")
            else:
                raise _Refused(
                    HTTPStatus.NOT_FOUND,
                    f"no such resource {route}; "
                    "kg serve answers /sparql, /articles, /health, /stats, /dataset and /validate",
                )
        except _Refused as exc:
            self._send_error(exc.status, str(exc))
        except ServerClosing as exc:
            self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, str(exc))
        except ArticleError as exc:
            missing = "not in the knowledge base" in str(exc)
            self._send_error(HTTPStatus.NOT_FOUND if missing else HTTPStatus.BAD_REQUEST, str(exc))
        except KGError as exc:
            self._send_error(HTTPStatus.BAD_REQUEST, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; nothing to answer
        except Exception as exc:  # a bug: the server stays up and says what happened, in one line
            logger.error("%s %s failed: %s: %s", method, self.path, type(exc).__name__, exc)
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}: {exc}")

    # ---------------------------------------------------------------- answers

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(HTTPStatus.OK, "application/json", body)

    def _send_error(self, status: HTTPStatus, message: str) -> None:
        line = " ".join(message.split())
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(status, "text/plain; charset=utf-8", (line + "\n").encode("utf-8"))

    def _body(self, limit: int, what: str) -> bytes:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, f"{what}: send a Content-Length header")
        try:
            length = int(length_header)
        except ValueError:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"{what}: bad Content-Length {length_header!r}") from None
        if length < 0:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"{what}: bad Content-Length {length_header!r}")
        if length > limit:
            raise _Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"{what} is {length / 1e6:.1f} MB, above kg's limit of {limit / 1e6:g} MB (kg/limits.toml)",
            )
        return self.rfile.read(length)

    # ---------------------------------------------------------------- SPARQL

    def _sparql(self, method: str, params: dict[str, list[str]]) -> None:
        query = params.get("query", [])
        if method == "POST":
            media = self.headers.get_content_type()
            body = self._body(_MAX_QUERY_BYTES, "the SPARQL request")
            if media == "application/x-www-form-urlencoded":
                form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
                if "update" in form:
                    raise _Refused(HTTPStatus.FORBIDDEN, _READ_ONLY)
                query = query + form.get("query", [])
                for key in ("default-graph-uri", "named-graph-uri"):
                    if key in form:
                        params.setdefault(key, []).extend(form[key])
            elif media == "application/sparql-query":
                query = [*query, body.decode("utf-8", errors="replace")]
            elif media == "application/sparql-update":
                raise _Refused(HTTPStatus.FORBIDDEN, _READ_ONLY)
            else:
                raise _Refused(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"POST a query as application/x-www-form-urlencoded or application/sparql-query, "
                    f"not {media}",
                )
        if "update" in params:
            raise _Refused(HTTPStatus.FORBIDDEN, _READ_ONLY)
        if len(query) != 1 or not query[0].strip():
            raise _Refused(HTTPStatus.BAD_REQUEST, "give exactly one SPARQL query (the query parameter)")
        text = query[0]
        if _SERVICE.search(_code_only(text)):
            raise _Refused(HTTPStatus.FORBIDDEN, "federated queries (SERVICE) are not served by kg serve")
        default_graph = named_graphs = None
        if "default-graph-uri" in params or "named-graph-uri" in params:  # the request names its dataset
            try:
                default_graph = [ox.NamedNode(iri) for iri in params.get("default-graph-uri", [])]
                named_graphs = [ox.NamedNode(iri) for iri in params.get("named-graph-uri", [])]
            except ValueError as exc:
                raise _Refused(HTTPStatus.BAD_REQUEST, f"bad graph IRI: {exc}") from None
        kb = self.server.app.kb
        with kb.swap_lock.reading():  # a rewrite's swap waits until the answer is written out
            try:
                result = kb.evaluate(text, default_graph, named_graphs)
            except SyntaxError as exc:
                if _UPDATE.match(_code_only(text)):
                    raise _Refused(HTTPStatus.FORBIDDEN, _READ_ONLY) from None
                raise _Refused(HTTPStatus.BAD_REQUEST, f"query does not parse: {exc}") from None
            except OSError as exc:
                raise _Refused(HTTPStatus.INTERNAL_SERVER_ERROR, _failed(exc)) from None
            accept = self.headers.get("Accept")
            try:
                if isinstance(result, ox.QueryTriples):
                    graph_format = _negotiate(accept, _GRAPH_FORMATS)
                    if graph_format is None:
                        raise _Refused(HTTPStatus.NOT_ACCEPTABLE, _not_acceptable(accept, _GRAPH_FORMATS))
                    body, media = result.serialize(format=graph_format), graph_format.media_type
                else:
                    result_format = _negotiate(accept, _RESULT_FORMATS)
                    if result_format is None:
                        raise _Refused(HTTPStatus.NOT_ACCEPTABLE, _not_acceptable(accept, _RESULT_FORMATS))
                    body, media = result.serialize(format=result_format), result_format.media_type
            except (OSError, ValueError) as exc:
                raise _Refused(HTTPStatus.INTERNAL_SERVER_ERROR, _failed(exc)) from None
        self._send(HTTPStatus.OK, media, body or b"")

    def _validate(self, method: str, params: dict[str, list[str]]) -> None:
        """``GET /validate`` (the project's shapes), ``POST /validate`` (shapes as N-Triples): the report."""
        from dataclasses import asdict

        from kg.store import serialize

        shapes = None
        if method == "POST":
            shapes, text = (
                Graph(),
                self._body(limits().article_max_bytes, "shapes").decode("utf-8", "replace"),
            )
            try:
                shapes.parse(data=text, format="nt")
            except Exception as exc:  # rdflib parsers raise many kinds; any of them means bad input
                raise _Refused(
                    HTTPStatus.BAD_REQUEST, f"the shapes do not parse as N-Triples: {exc}"
                ) from None
        report = self.server.app.validate(shapes, params.get("engine", ["sparql"])[-1])
        self._send_json(
            {
                "conforms": report.conforms,
                "results": [asdict(result) for result in report.results],
                "graph": serialize(report.graph, "nt"),
            }
        )

    # ---------------------------------------------------------------- articles and the graph

    def _add_article(self, params: dict[str, list[str]]) -> None:
        name = _one(params, "name")
        if not _SAFE_NAME.fullmatch(name) or name in (".", "..") or name.startswith("."):
            raise _Refused(HTTPStatus.BAD_REQUEST, f"name {name!r}: give the article's file name, e.g. x.txt")
        strict = params.get("strict", ["0"])[-1].lower() in ("1", "true", "yes")
        data = self._body(limits().article_max_bytes, name)
        app = self.server.app
        outcome = app.add_bytes(name, data, strict=strict)
        app.log(outcome.log_line())
        self._send_json(outcome.to_json(app.quick_counts()))

    def _dataset(self) -> None:
        """Every quad of kg's named graphs as N-Quads, streamed; the last line says the end was reached."""
        kb = self.server.app.kb
        with kb.swap_lock.reading():
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/n-quads")
            self.end_headers()  # no length: HTTP/1.0 ends the body with the connection
            ox.serialize(kb.named_quads(), self.wfile, format=ox.RdfFormat.N_QUADS)
            self.wfile.write(_DATASET_END)


_READ_ONLY = (
    "kg serve is read only: SPARQL UPDATE is refused; add articles with POST /articles?name=FILE "
    "or `kg build FILE --store KB`"
)


def _failed(exc: Exception) -> str:
    return f"query failed in the store: {exc}"


def _one(params: dict[str, list[str]], key: str) -> str:
    values = params.get(key, [])
    if len(values) != 1 or not values[0]:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"give one {key}= parameter")
    return values[0]


def _code_only(text: str) -> str:
    """The query without comments, string literals blanked: what is left are keywords, names and IRIs.

    IRIs are matched (and kept) so that a ``#`` inside one is not taken for a comment.
    """
    return _TOKENS.sub(lambda match: '""' if match.group(1) else match.group(2) or "", text)


def _negotiate(accept: str | None, offered: tuple[Any, ...]) -> Any | None:
    """The offered format the ``Accept`` header prefers (the first offered for none or ``*/*``).

    Each format takes the quality of the most specific range that matches it (``text/csv`` before
    ``text/*`` before ``*/*``); ties go to the order of ``offered``. Aliases such as ``application/json``
    are recognised by Oxigraph's own ``from_media_type``.
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media, *options = (part.strip() for part in item.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    kind = type(offered[0])
    best: tuple[float, int] | None = None
    chosen = None
    for position, candidate in enumerate(offered):
        quality = _quality(candidate, ranges, kind)
        if quality > 0 and (best is None or quality > best[0]):
            best, chosen = (quality, position), candidate
    return chosen


def _quality(candidate: Any, ranges: list[tuple[str, float]], kind: Any) -> float:
    main = candidate.media_type.split(";")[0].split("/")[0]
    specific: float | None = None
    partial: float | None = None
    anything: float | None = None
    for media, quality in ranges:
        if media == "*/*":
            anything = quality if anything is None else max(anything, quality)
        elif media.endswith("/*"):
            if media[:-2] == main:
                partial = quality if partial is None else max(partial, quality)
        elif _known_type(kind, media) == candidate:
            specific = quality if specific is None else max(specific, quality)
    for quality in (specific, partial, anything):
        if quality is not None:
            return quality
    return 0.0


def _known_type(kind: Any, media: str) -> Any | None:
    try:
        return kind.from_media_type(media)
    except ValueError:
        return None


def _not_acceptable(accept: str | None, offered: tuple[Any, ...]) -> str:
    types = ", ".join(candidate.media_type.split(";")[0] for candidate in offered)
    return f"cannot answer in {accept!r}; this result is available as: {types}"


# ---------------------------------------------------------------------------- watching a folder


class _Watcher(threading.Thread):
    """Adds article files that appear or change in a folder, looked at every ``poll`` seconds.

    A file is taken once it has stopped changing: nothing written to it for ``settle`` seconds (half a
    second, or one poll if shorter), judged by its modification time or, should the clock disagree, by
    its size and modification time staying those first seen. So a file still being copied in is not
    read half-way (which would add a truncated article, then rewrite the store when it changes), and
    a file moved in whole is taken at the first look. A file seen again with another modification
    time but the same bytes is not sent again.
    """

    def __init__(self, app: KnowledgeBaseServer, folder: Path, poll: float) -> None:
        super().__init__(name="kg-serve-watch", daemon=True)
        self.app = app
        self.folder = folder
        self.poll = poll
        self.settle = min(poll, _SETTLE_SECONDS)
        self.stop = threading.Event()
        self._seen: dict[Path, tuple[tuple[int, int], float]] = {}  # signature, when first seen
        self._done: dict[Path, tuple[int, int]] = {}  # signature last taken
        self._digests: dict[Path, str] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            soonest = None
            try:
                soonest = self.scan()
            except Exception as exc:  # one bad scan (a folder removed, a bug) must not end the watch
                self.app.log(f"watch: scan of {self.folder} failed: {type(exc).__name__}: {exc}")
            self.stop.wait(self.poll if soonest is None else min(self.poll, soonest))

    def scan(self) -> float | None:
        """Take every new or changed file that has settled; seconds until the next one settles, if any."""
        soonest: float | None = None
        for path in sorted(self._files()):
            if self.stop.is_set() or self.app.closing:
                return None
            try:
                info = path.stat()
            except OSError:
                continue  # gone since it was listed
            signature = (info.st_size, info.st_mtime_ns)
            if self._done.get(path) == signature:
                continue
            seen = self._seen.get(path)
            if seen is None or seen[0] != signature:
                seen = self._seen[path] = (signature, time.monotonic())
            quiet = max(time.time() - info.st_mtime, time.monotonic() - seen[1])
            if quiet < self.settle:
                wait = self.settle - quiet
                soonest = wait if soonest is None else min(soonest, wait)
                continue
            self._take(path, signature)
        return soonest

    def _files(self) -> Iterator[Path]:
        for path in self.folder.rglob("*"):
            if path.suffix.lower() in ARTICLE_SUFFIXES and not path.name.startswith(".") and path.is_file():
                yield path

    def _take(self, path: Path, signature: tuple[int, int]) -> None:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return
        if self._digests.get(path) == digest:
            self._done[path] = signature
            return
        try:
            outcome = self.app.add_file(path)
        except ServerClosing:
            return
        except KGError as exc:
            self.app.log(f"watch: skipped {exc}")
        except Exception as exc:  # a bug: said once, not at every poll
            self.app.log(f"watch: {path} failed: {type(exc).__name__}: {exc}")
        else:
            if outcome.status != "unchanged":
                self.app.log(f"watch: {outcome.log_line()}")
        self._done[path] = signature
        self._digests[path] = digest


# ---------------------------------------------------------------------------- running


def _public_url(host: str, port: int) -> str:
    """The URL clients on this machine use (a wildcard bind address is reached on loopback)."""
    shown = _LOOPBACK_FOR.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _write_serve_file(store: Path, url: str) -> None:
    payload = {"url": url, "pid": os.getpid(), "store": str(store.resolve())}
    write_text_atomic(store / SERVE_FILE, json.dumps(payload, indent=1) + "\n")


def _remove_serve_file(store: Path) -> None:
    """Remove ``serve.json`` if it is still this process's (a newer server may have replaced it)."""
    path = store / SERVE_FILE
    announced = _read_serve_file(path)
    if announced is not None and announced[1] == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _stderr_log(line: str) -> None:
    sys.stderr.write(f"kg: {line}\n")
    sys.stderr.flush()


def serve(
    store: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    watch: Path | None = None,
    poll: float = DEFAULT_POLL,
    log: Callable[[str], None] = _stderr_log,
) -> None:
    """Serve a knowledge base until SIGINT or SIGTERM (see the module docstring); blocks.

    Stopping stops accepting requests and the folder watch, lets the write under way finish (a rewrite
    of a large store may take minutes), gives the other requests in flight a few seconds, closes the
    store and removes ``serve.json``. A second signal while stopping ends the process at once; the
    store stays consistent either way (each write is one transaction, a rewrite swaps folders).

    Raises:
        UsageError: the store is already served, or a bad option.
        InputError: the store or the watched folder cannot be used, or the address cannot be bound.
    """
    store = Path(store)
    if poll <= 0:
        raise UsageError(f"--poll {poll}: expected a positive number of seconds")
    running = served_store(store)
    if running is not None:
        raise UsageError(f"{store} is already served by `kg serve` at {running.url} (pid {running.pid})")
    if watch is not None and not Path(watch).is_dir():
        raise InputError(f"{watch}: no such folder to watch")
    kb = ServedKnowledgeBase(store)
    started = time.perf_counter()
    from kg.nlp import MODELS, load_pipeline  # spaCy: seconds to import, so only once the store is ours

    counting = threading.Thread(target=kb.triple_count, name="kg-serve-count", daemon=True)
    counting.start()  # Oxigraph counts outside the GIL while spaCy loads
    nlp = load_pipeline("fr")
    counting.join()
    model = f"{MODELS['fr']} {nlp.meta.get('version', '')}".strip()
    app = KnowledgeBaseServer(kb, model, log)
    try:
        httpd = _HttpServer((host, port), app)
    except OSError as exc:
        kb.close()
        raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    app.url = _public_url(host, httpd.server_address[1])
    stop = threading.Event()
    signals = {"count": 0}

    def on_signal(number: int, frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            log("second signal: stopping now, without waiting for the write under way")
            _remove_serve_file(store)
            os._exit(128 + number)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server_thread = threading.Thread(target=httpd.serve_forever, name="kg-serve-http", daemon=True)
    watcher = _Watcher(app, Path(watch), poll) if watch is not None else None
    try:
        _write_serve_file(store, app.url)
        server_thread.start()
        if watcher is not None:
            app.watching = watcher.folder
            watcher.start()
        log(
            f"serving {store} at {app.url}/sparql (pid {os.getpid()}; {model} loaded in "
            f"{time.perf_counter() - started:.1f}s{f'; watching {watch}' if watch is not None else ''}); "
            "stop with Ctrl-C or SIGTERM"
        )
        while not stop.wait(1.0):
            pass
        log("stopping: finishing the write under way")
    finally:
        app.closing = True  # no write starts from now on
        if watcher is not None and watcher.is_alive():
            watcher.stop.set()
            watcher.join()
        if server_thread.is_alive():
            httpd.shutdown()  # stop accepting
        with app.write_lock:  # the write under way, if any, is done
            pass
        httpd.wait_for_requests(_STOP_GRACE)
        httpd.server_close()
        kb.close()
        _remove_serve_file(store)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log(f"stopped; {store} is free")
