"""The persistent knowledge base: an on-disk Oxigraph store (RocksDB) plus extraction records.

A desk that follows Iraq and Syria adds articles every day; re-reading every
article with spaCy on each build would not scale. The knowledge base keeps,
next to the Oxigraph store, each article's extraction record (JSON, see
``kg.records``), so a build only parses new articles, then re-merges records
(cheap) and rewrites the graph. Queries on the store are evaluated by
Oxigraph, with parameters passed as SPARQL substitutions (never pasted into
the query text). The rest of kg talks to ``KnowledgeBase`` and never to
pyoxigraph directly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.term import Identifier, Node

from kg.errors import InputError, QueryError
from kg.ns import KGR, bind_prefixes
from kg.records import ArticleExtraction, extraction_from_json, extraction_to_json

DEFAULT_PATH = Path(".kg")
VOCABULARY_GRAPH = KGR["graph/vocabulary"]
LOOSE_TRIPLES_GRAPH = KGR["graph/default"]
_RECORDS = "records"
_OXIGRAPH = "oxigraph"


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


class KnowledgeBase:
    """A folder holding an Oxigraph store and one extraction record per article."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: not a folder; --store expects a knowledge-base folder")
        (self.path / _RECORDS).mkdir(parents=True, exist_ok=True)
        try:
            self._store = ox.Store(str(self.path / _OXIGRAPH))
        except OSError as exc:
            raise InputError(f"{self.path}: cannot open the store ({exc})") from None

    @classmethod
    def open_existing(cls, path: Path) -> KnowledgeBase:
        """Open a knowledge base that must already exist (for query/export/validate)."""
        if not (Path(path) / _OXIGRAPH).is_dir():
            raise InputError(
                f"{path}: no knowledge base here; build one with `kg build ARTICLES --store {path}`"
            )
        return cls(path)

    # -- extraction records ------------------------------------------------------------------------
    def _record_path(self, article_id: str) -> Path:
        return self.path / _RECORDS / f"{article_id}.json"

    def records(self) -> Iterator[ArticleExtraction]:
        """Every stored extraction record, in article order."""
        for path in sorted((self.path / _RECORDS).glob("*.json")):
            yield extraction_from_json(json.loads(path.read_text(encoding="utf-8")))

    def content_hashes(self) -> dict[str, str]:
        """Article id -> content hash of every article already in the knowledge base."""
        hashes = {}
        for path in sorted((self.path / _RECORDS).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            hashes[data["article"]["id"]] = data["article"]["content_hash"]
        return hashes

    def save_records(self, extractions: Iterable[ArticleExtraction]) -> None:
        for extraction in extractions:
            _write_atomic(
                self._record_path(extraction.article.id), json.dumps(extraction_to_json(extraction))
            )

    def remove_record(self, article_id: str) -> bool:
        path = self._record_path(article_id)
        if not path.exists():
            return False
        path.unlink()
        return True

    # -- graph -----------------------------------------------------------------------------------------
    def replace_graph(self, dataset: Dataset, vocabulary: Graph | None = None) -> int:
        """Replace the store's content with ``dataset`` (and the query vocabulary); returns the quad count.

        The new content is loaded in one bulk transaction after clearing, so readers see either the
        previous graph or the new one.
        """
        quads = []
        union: set[tuple[Node, Node, Node]] = set()
        for s, p, o, g in dataset.quads((None, None, None, None)):
            # triples outside any named graph (a Turtle file) are kept in kgr:graph/default
            name = (
                str(g)
                if isinstance(g, URIRef) and g != DATASET_DEFAULT_GRAPH_ID
                else str(LOOSE_TRIPLES_GRAPH)
            )
            quads.append(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), ox.NamedNode(name)))
            union.add((s, p, o))
        if vocabulary is not None:
            graph_name = ox.NamedNode(str(VOCABULARY_GRAPH))
            quads.extend(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), graph_name) for s, p, o in vocabulary)
            union.update(vocabulary)
        # Queries read the default graph, which holds each triple once: Oxigraph's union-of-graphs view
        # repeats a solution per graph holding the triple (two articles blaming the same group).
        quads.extend(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), ox.DefaultGraph()) for s, p, o in union)
        self._store.clear()
        self._store.bulk_extend(quads)
        self._store.flush()
        return len(quads)

    def __len__(self) -> int:
        """Triples of the merged graph (each once)."""
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.DefaultGraph()))

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
            rows = [{name: _from_ox(solution[name]) for name in names} for solution in result]
            return names, rows
        names = ["subject", "predicate", "object"]
        triples = sorted(
            ((_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)) for t in result),
            key=lambda triple: tuple(str(term) for term in triple),
        )
        return names, [dict(zip(names, triple, strict=True)) for triple in triples]


def _write_atomic(path: Path, text: str) -> None:
    """Write a small file via a temporary file and a rename, so a crash never leaves half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_knowledge_base(path: Path) -> None:
    """Delete a knowledge-base folder (tests and `--rebuild`)."""
    shutil.rmtree(path, ignore_errors=True)
