"""The persistent knowledge base: an on-disk Oxigraph store (RocksDB) plus extraction records.

A desk that follows Iraq and Syria adds articles every day; re-reading every
article with spaCy on each build would not scale. The knowledge base keeps,
next to the Oxigraph store, each article's extraction record (JSON, see
``kg.records``), so a build only parses new articles and merges them with
what is there (``kg.update``). The store is the truth about which articles
the knowledge base holds (their ``kg:contentHash``); records are what lets
the graph be merged again without NLP.

Nothing is ever half-written: a change is one SPARQL update (a single
Oxigraph transaction), and a full rewrite loads a new store next to the old
one and swaps the folders, so a process killed at any point leaves the
previous content queryable. The rest of kg talks to ``KnowledgeBase`` and
never to pyoxigraph directly.
"""

from __future__ import annotations

import gc
import itertools
import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier, Node

from kg.errors import InputError, QueryError
from kg.ns import KG, KGR, article_iri, bind_prefixes
from kg.records import ArticleExtraction, extraction_from_json, extraction_to_json
from kg.store import write_text_atomic

if TYPE_CHECKING:
    from kg.answers import AnswerView

DEFAULT_PATH = Path(".kg")
VOCABULARY_GRAPH = KGR["graph/vocabulary"]
LOOSE_TRIPLES_GRAPH = KGR["graph/default"]
_RECORDS = "records"
_OXIGRAPH = "oxigraph"
_NEW = "oxigraph.new"  # a full rewrite being loaded
_OLD = "oxigraph.old"  # the previous store, between the two renames of a swap
_BATCH = 50_000  # quads handed to Oxigraph at a time in a full rewrite
_DEFAULT = ox.DefaultGraph()


def _to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise InputError(f"cannot store RDF term {term!r}")


def _from_ox(term: object) -> Identifier | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value if term.datatype else None
        if datatype == "http://www.w3.org/2001/XMLSchema#string":
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype) if datatype else None)
    raise InputError(f"unexpected term from the store: {term!r}")


def to_ox_quads(dataset: Dataset) -> Iterator[ox.Quad]:
    """Quads of an rdflib Dataset for the store; triples outside any named graph go to kgr:graph/default."""
    for s, p, o, g in dataset.quads((None, None, None, None)):
        name = str(g) if isinstance(g, URIRef) and g != DATASET_DEFAULT_GRAPH_ID else str(LOOSE_TRIPLES_GRAPH)
        yield ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), ox.NamedNode(name))


def _with_default_copies(quads: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
    """Each named-graph quad and its copy in the default graph.

    Queries read the default graph, which holds each triple once: Oxigraph's union-of-graphs view repeats
    a solution per graph holding the triple (two articles blaming the same group). The store is a set, so
    a triple several graphs hold is stored once there.
    """
    for quad in quads:
        yield quad
        yield ox.Quad(quad.subject, quad.predicate, quad.object, _DEFAULT)


class KnowledgeBase:
    """A folder holding an Oxigraph store and one extraction record per article."""

    # a lookup missing from the stored answers is kept once run: safe where no write runs meanwhile
    fills_answers = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: not a folder; --store expects a knowledge-base folder")
        (self.path / _RECORDS).mkdir(parents=True, exist_ok=True)
        self._answer_view: AnswerView | None = None
        self._recover()
        self._store = self._open(self.path / _OXIGRAPH)

    def _open(self, folder: Path) -> ox.Store:
        try:
            return ox.Store(str(folder))
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open the store ({exc})") from None

    def _recover(self) -> None:
        """Finish or undo a swap a killed process left half done."""
        current, old, new = self.path / _OXIGRAPH, self.path / _OLD, self.path / _NEW
        if old.is_dir() and not current.is_dir():
            old.rename(current)  # killed between the two renames: the previous store is still whole
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(new, ignore_errors=True)  # a rewrite that never finished loading

    @classmethod
    def open_existing(cls, path: Path) -> KnowledgeBase:
        """Open a knowledge base that must already exist (for query/export/validate)."""
        if not any((Path(path) / name).is_dir() for name in (_OXIGRAPH, _OLD)):
            raise InputError(
                f"{path}: no knowledge base here; build one with `kg build ARTICLES --store {path}`"
            )
        return cls(path)

    # -- extraction records ------------------------------------------------------------------------
    def _record_path(self, article_id: str) -> Path:
        return self.path / _RECORDS / f"{article_id}.json"

    def records(self, article_ids: Iterable[str] | None = None) -> Iterator[ArticleExtraction]:
        """Stored extraction records (of ``article_ids``, or all), in article order."""
        if article_ids is None:
            paths = sorted((self.path / _RECORDS).glob("*.json"))
        else:
            paths = [self._record_path(article_id) for article_id in sorted(article_ids)]
        for path in paths:
            yield self._read_record(path)

    def record(self, article_id: str) -> ArticleExtraction | None:
        path = self._record_path(article_id)
        return self._read_record(path) if path.exists() else None

    def _read_record(self, path: Path) -> ArticleExtraction:
        try:
            return extraction_from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: unreadable extraction record ({exc}); rebuild the article") from None

    def save_records(self, extractions: Iterable[ArticleExtraction]) -> Iterator[ArticleExtraction]:
        """Write each record as it comes (atomically) and pass it on."""
        for extraction in extractions:
            write_text_atomic(
                self._record_path(extraction.article.id), json.dumps(extraction_to_json(extraction))
            )
            yield extraction

    def remove_record(self, article_id: str) -> bool:
        path = self._record_path(article_id)
        if not path.exists():
            return False
        path.unlink()
        return True

    # -- what the store holds ---------------------------------------------------------------------------
    def content_hashes(self) -> dict[str, str]:
        """Article id -> content hash of every article in the store (records alone do not count)."""
        solutions = self._store.query(
            f"SELECT ?file ?hash WHERE {{ ?article a <{KG.NewsArticle}> ; <{KG.fileName}> ?file ; "
            f"<{KG.contentHash}> ?hash }}"
        )
        # plain strings, not rdflib terms: a store of 10k articles answers in milliseconds, not half a second
        return {Path(row["file"].value).stem: row["hash"].value for row in solutions}  # type: ignore[union-attr]

    def stored_hash(self, article_id: str) -> str | None:
        """Content hash of the stored article with this id (None if the store does not hold it)."""
        for quad in self._store.quads_for_pattern(
            ox.NamedNode(str(article_iri(article_id))), ox.NamedNode(str(KG.contentHash)), None, _DEFAULT
        ):
            return quad.object.value
        return None

    def holds_content(self, content_hash: str) -> bool:
        """Whether some stored article has this content (under whatever name)."""
        pattern = self._store.quads_for_pattern(
            None, ox.NamedNode(str(KG.contentHash)), ox.Literal(content_hash), _DEFAULT
        )
        return next(iter(pattern), None) is not None

    def article_count(self) -> int:
        return sum(
            1
            for _ in self._store.quads_for_pattern(
                None, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(KG.NewsArticle)), _DEFAULT
            )
        )

    def quads_about(self, subjects: Iterable[Identifier], graph: URIRef | None = None) -> list[ox.Quad]:
        """Every quad of the named graphs (or of ``graph``) whose subject is one of ``subjects``."""
        graph_name = ox.NamedNode(str(graph)) if graph is not None else None
        quads = []
        for subject in subjects:
            for quad in self._store.quads_for_pattern(_to_ox(subject), None, None, graph_name):
                if isinstance(quad.graph_name, ox.NamedNode):
                    quads.append(quad)
        return quads

    def triples_about(
        self, subjects: Iterable[Identifier], graph: URIRef | None = None
    ) -> list[tuple[Identifier, Identifier, Identifier]]:
        """``quads_about`` as rdflib triples."""
        return [_triple(quad) for quad in self.quads_about(subjects, graph)]

    def triples_in(self, graph: URIRef) -> list[tuple[Identifier, Identifier, Identifier]]:
        """Every triple of one named graph."""
        return [_triple(q) for q in self._store.quads_for_pattern(None, None, None, ox.NamedNode(str(graph)))]

    def objects(self, subject: Identifier, predicate: URIRef) -> list[Identifier]:
        """Objects of a subject and predicate in the merged (default) graph."""
        return [
            _from_ox(quad.object)  # type: ignore[misc]
            for quad in self._store.quads_for_pattern(_to_ox(subject), _to_ox(predicate), None, _DEFAULT)
        ]

    # -- writing ----------------------------------------------------------------------------------------
    def apply(self, delete: Iterable[ox.Quad], insert: Dataset) -> None:
        """Delete some named-graph quads and add a dataset's, in one transaction.

        The default graph follows: inserted triples are copied there, and a deleted triple leaves it only
        when no named graph holds it any more. The kept lookup answers (``kg.answers``) the change can
        move, found from the triples the default graph gained or lost, are dropped (and run live when
        next asked for).
        """
        deleted = list(delete)
        inserted = list(to_ox_quads(insert))
        inserted_triples = {(q.subject, q.predicate, q.object) for q in inserted}
        gained = [triple for triple in inserted_triples if not self._merged_holds(triple)]
        # a triple both deleted and inserted stays; one only deleted may still be held by another graph
        may_lose = [
            triple
            for triple in {(q.subject, q.predicate, q.object) for q in deleted} - inserted_triples
            if self._merged_holds(triple)
        ]
        view = self.answer_view
        # read before the write: links about to go. The rules only follow links, so when the merged graph
        # loses nothing every answer they reach now they reach after the write too
        affected = view.affected([*gained, *may_lose]) if may_lose else {}
        view.begin_change()
        parts = []
        if deleted:
            parts.append("DELETE DATA { " + " ".join(_quad_text(q) for q in deleted) + " }")
        if inserted:
            parts.append(
                "INSERT DATA { " + " ".join(_quad_text(q) for q in _with_default_copies(inserted)) + " }"
            )
        if deleted:
            rows = " ".join(f"({q.subject} {q.predicate} {q.object})" for q in deleted)
            parts.append(
                "DELETE { ?s ?p ?o } WHERE { VALUES (?s ?p ?o) { "
                + rows
                + " } FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
            )
        if parts:
            self._store.update(" ;\n".join(parts))
            self._store.flush()
        lost = [triple for triple in may_lose if not self._merged_holds(triple)]
        view.finish_change(affected, [*gained, *lost])
        self._merged_changed(len(gained), len(lost))

    def _merged_holds(self, triple: tuple[Any, Any, Any]) -> bool:
        return ox.Quad(*triple, _DEFAULT) in self._store

    def _merged_changed(self, gained: int, lost: int) -> None:
        """Called after a write with the numbers of triples the default graph gained and lost."""

    @property
    def answer_view(self) -> AnswerView:
        """The stored answers of the lookups (``kg.answers``), which every write keeps exact."""
        from kg.answers import AnswerView  # kg.answers runs queries, which read a KnowledgeBase

        if self._answer_view is None:
            self._answer_view = AnswerView(self, fill=self.fills_answers)
        return self._answer_view

    def replace_all(self, quads: Iterable[ox.Quad], vocabulary: Graph | None = None) -> int:
        """Replace the store's content with ``quads`` (named-graph quads) and the query vocabulary.

        The new store is loaded next to the current one and the folders are swapped, so readers (and a
        process killed mid-load) see either the previous content or the new one. Returns the quad count.
        """
        new_path = self.path / _NEW
        shutil.rmtree(new_path, ignore_errors=True)
        new_store = self._open(new_path)
        count = 0

        def counted(stream: Iterable[ox.Quad]) -> Iterator[ox.Quad]:
            nonlocal count
            for quad in stream:
                count += 1
                yield quad

        self.answer_view.begin_change()
        if vocabulary is not None:
            graph_name = ox.NamedNode(str(VOCABULARY_GRAPH))
            vocabulary_quads = (
                ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), graph_name) for s, p, o in vocabulary
            )
            quads = itertools.chain(vocabulary_quads, quads)
        batch: list[ox.Quad] = []
        for quad in _with_default_copies(counted(quads)):
            batch.append(quad)
            if len(batch) >= _BATCH:
                new_store.bulk_extend(batch)
                batch = []
        new_store.bulk_extend(batch)
        new_store.flush()
        new_store.optimize()  # compact the bulk-loaded files: queries then read fewer of them (10-40%)
        del new_store
        self._swap_in(new_path)
        self.answer_view.refresh()
        return count

    def _swap_in(self, new_path: Path) -> None:
        current, old = self.path / _OXIGRAPH, self.path / _OLD
        del self._store
        gc.collect()  # drop every handle on the RocksDB folder before renaming it
        current.rename(old)
        new_path.rename(current)
        shutil.rmtree(old, ignore_errors=True)
        self._store = self._open(current)

    def replace_graph(self, dataset: Dataset, vocabulary: Graph | None = None) -> int:
        """Replace the store's content with an rdflib ``dataset`` (see ``replace_all``)."""
        return self.replace_all(to_ox_quads(dataset), vocabulary)

    @property
    def oxigraph(self) -> ox.Store:
        """The Oxigraph store itself, for a query engine built on it (``kg.shacl_sparql``); read only.

        Everything that changes the store goes through ``apply`` and ``replace_all``, which keep the
        default graph and the named graphs in step.
        """
        return self._store

    def __len__(self) -> int:
        """Triples of the merged graph (each once)."""
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, _DEFAULT))

    def to_dataset(self) -> Dataset:
        """The stored graph as an rdflib Dataset (for validation, reasoning and file export)."""
        dataset = Dataset(default_union=True)
        bind_prefixes(dataset)
        for quad in self._store.quads_for_pattern(None, None, None, None):
            if not isinstance(quad.graph_name, ox.NamedNode) or quad.graph_name.value == str(
                VOCABULARY_GRAPH
            ):
                continue  # the default graph only repeats the named graphs' triples, merged, for queries
            graph = dataset.graph(URIRef(quad.graph_name.value))
            graph.add((_from_ox(quad.subject), _from_ox(quad.predicate), _from_ox(quad.object)))
        return dataset

    def select(
        self, text: str, substitutions: dict[str, Identifier] | None = None
    ) -> tuple[list[str], list[dict[str, Identifier | None]]]:
        """Run a SPARQL query with Oxigraph over the merged graph (each triple once); terms bound as given."""
        bound = {ox.Variable(name): _to_ox(value) for name, value in (substitutions or {}).items()}
        try:
            result = self._store.query(text, substitutions=bound)
        except SyntaxError as exc:
            raise QueryError(f"query does not parse: {exc}") from None
        except OSError as exc:
            raise QueryError(f"query failed in the store: {exc}") from None
        if isinstance(result, bool):
            return ["ask"], [{"ask": Literal(result)}]
        if isinstance(result, ox.QuerySolutions):
            names = [variable.value for variable in result.variables]
            converted: dict[object, Identifier | None] = {None: None}  # long tables repeat their terms

            def term(value: object) -> Identifier | None:
                try:
                    return converted[value]
                except KeyError:
                    found = converted[value] = _from_ox(value)
                    return found

            rows = [dict(zip(names, map(term, solution), strict=True)) for solution in result]
            return names, rows
        names = ["subject", "predicate", "object"]
        triples = sorted(
            ((_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)) for t in result),
            key=lambda triple: tuple(str(term) for term in triple),
        )
        return names, [dict(zip(names, triple, strict=True)) for triple in triples]


def _triple(quad: ox.Quad) -> tuple[Identifier, Identifier, Identifier]:
    return _from_ox(quad.subject), _from_ox(quad.predicate), _from_ox(quad.object)  # type: ignore[return-value]


def _quad_text(quad: ox.Quad) -> str:
    triple = f"{quad.subject} {quad.predicate} {quad.object} ."
    if isinstance(quad.graph_name, ox.DefaultGraph):
        return triple
    return f"GRAPH {quad.graph_name} {{ {triple} }}"


def remove_knowledge_base(path: Path) -> None:
    """Delete a knowledge-base folder (tests and `--rebuild`)."""
    shutil.rmtree(path, ignore_errors=True)
