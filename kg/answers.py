"""Answers of the stored lookups of one entity, worked out when the store changes (a materialised view).

An analyst opens an entity's page (``entity-facts``) or a place's attacks (``attacks-in-place``) far more
often than an article arrives. Run live on a 1M-triple store those lookups take 10-25 ms at p95 and up
to 130 ms for a hub such as Iraq: finding the events, one index probe per date, kind and label, then
sorting and grouping. Their answers only change when the store does, so the knowledge base keeps them
next to the store (``KB/answers.sqlite``, one row per query and entity) and ``kg query --store`` reads
the stored rows instead of running the query.

Kept exact, never merely recent:

- a full load (``KnowledgeBase.replace_all``: first build, ``kg remove``) works out every answer again;
- an incremental write (``KnowledgeBase.apply``) works out which answers the triples it adds to or
  removes from the merged graph can change (each lookup has a dependency rule below, written from the
  triple patterns its query reads, evaluated on the store before and after the write) and drops exactly
  those; a dropped answer runs live when next asked for, and is kept again;
- the view is marked as changing before the store is written and fresh only once its answers follow,
  so a process killed in between leaves a view no query trusts (queries run live) until the next write
  drops every answer;
- an answer is keyed by a digest of the query text, so an edited ``.rq`` file is run live, never
  answered from rows of its previous version.

``tests/test_answers.py`` compares every stored answer with the live query after random writes.
Queries through ``kg serve`` and ``--endpoint`` run live.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Literal, URIRef
from rdflib.namespace import SKOS
from rdflib.term import Identifier

from kg import resources
from kg.kb import KnowledgeBase
from kg.ns import KG
from kg.queries import ParamType, QueryResult, StoredQuery, bind_params, load_query
from kg.queries import run_on_store as run_live

VIEW_FILE = "answers.sqlite"
_DEFAULT = ox.DefaultGraph()
_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answer (
  query TEXT NOT NULL, entity TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (query, entity)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS predicate (iri TEXT PRIMARY KEY) WITHOUT ROWID;
"""
_FRESH, _CHANGING = "fresh", "changing"

Triple = tuple[ox.NamedNode | ox.BlankNode, ox.NamedNode, ox.NamedNode | ox.BlankNode | ox.Literal]
# Every predicate the merged graph uses (or used), when the view knows them; None: not known.
Predicates = frozenset[ox.NamedNode] | None
# The answers the changed triples of the merged graph can change, as entity IRIs; None: every answer.
DependencyRule = Callable[[ox.Store, Iterable[Triple], Predicates], set[str] | None]


def _iri(term: URIRef) -> ox.NamedNode:
    return ox.NamedNode(str(term))


_REFERS_TO, _SOURCE_ARTICLE, _HAS_MENTION = _iri(KG.refersTo), _iri(KG.sourceArticle), _iri(KG.hasMention)
_FILE_NAME, _LABEL, _NOTATION = _iri(KG.fileName), _iri(RDFS.label), _iri(SKOS.notation)
_PLACE_LINKS = frozenset({_iri(KG.locatedIn), _iri(KG.partOf)})
_ATTACK_PLACES = frozenset({_iri(KG.location), _iri(KG.target), _iri(KG.occurredIn)})
_ATTACK_FIELDS = frozenset({_iri(RDF.type), _iri(KG.date), _iri(KG.attackKind)})


# ---------------------------------------------------------------- dependency rules


def _objects(
    store: ox.Store, subjects: Iterable[ox.NamedNode | ox.BlankNode], skip: set, predicates: Predicates
) -> set[str]:
    """IRIs the subjects point to in the merged graph, by any predicate but those skipped."""
    named = [subject for subject in subjects if isinstance(subject, ox.NamedNode)]
    if not named:
        return set()
    if predicates is not None:
        # one index probe per subject and predicate: a hub's tens of thousands of mentions and sources,
        # which the query below filters out one by one (0.5-0.9 s per article at 3.5M quads), never read
        return {
            quad.object.value
            for subject in named
            for predicate in predicates - skip
            for quad in store.quads_for_pattern(subject, predicate, None, _DEFAULT)
            if isinstance(quad.object, ox.NamedNode)
        }
    # one query, not a Python loop over each hub's thousands of mentions: Oxigraph filters them 2x faster
    skipped = f"FILTER (?p NOT IN ({', '.join(str(p) for p in skip)}))" if skip else ""
    solutions = store.query(
        f"SELECT DISTINCT ?o WHERE {{ VALUES ?s {{ {' '.join(str(s) for s in named)} }} ?s ?p ?o "
        f"FILTER (isIRI(?o)) {skipped} }}"
    )
    return {solution[0].value for solution in solutions}  # type: ignore[union-attr, index]


def _entity_facts_rule(store: ox.Store, changed: Iterable[Triple], predicates: Predicates) -> set[str] | None:
    """``entity-facts.rq`` on entity E reads: every triple of E (its facts, its source articles); every
    triple pointing at E but ``refersTo`` (its "in" facts); the source articles of what points at E; the
    file names of all those articles; the labels of everything E points at or is pointed at by."""
    affected: set[str] = set()
    sourced: set[ox.NamedNode | ox.BlankNode] = set()  # subjects whose source articles changed
    labelled: set[ox.NamedNode | ox.BlankNode] = set()
    for subject, predicate, obj in changed:
        if isinstance(subject, ox.NamedNode):
            affected.add(subject.value)
        if isinstance(obj, ox.NamedNode) and predicate != _REFERS_TO:
            affected.add(obj.value)
        if predicate == _SOURCE_ARTICLE:
            sourced.add(subject)
        elif predicate == _LABEL:
            labelled.add(subject)
        elif predicate == _FILE_NAME:  # every fact sourced from that article
            for quad in store.quads_for_pattern(None, _SOURCE_ARTICLE, subject, _DEFAULT):
                sourced.add(quad.subject)
                if isinstance(quad.subject, ox.NamedNode):
                    affected.add(quad.subject.value)
    # mentions and source articles are never entities' facts: skipping them keeps a hub's thousands
    affected |= _objects(store, sourced, {_HAS_MENTION, _SOURCE_ARTICLE}, predicates)
    affected |= _objects(store, labelled, set(), predicates)
    for node in labelled:
        for quad in store.quads_for_pattern(None, None, node, _DEFAULT):
            if isinstance(quad.subject, ox.NamedNode):
                affected.add(quad.subject.value)
    return affected


def _attacks_in_place_rule(
    store: ox.Store, changed: Iterable[Triple], predicates: Predicates
) -> set[str] | None:
    """``attacks-in-place.rq`` on place P reads the attacks whose location, target or place of
    occurrence W lies in P through ``locatedIn``/``partOf`` links: their type, date and kind (with the
    kind's code) and W's label. So a change to an attack counts for the places above each W of it, a
    change to W's links or label for the places above W."""
    places: set[ox.NamedNode | ox.BlankNode] = set()
    attacks: set[ox.NamedNode | ox.BlankNode] = set()
    for subject, predicate, obj in changed:
        if predicate == _NOTATION:
            return None  # a kind's code: the vocabulary, which only a full load changes
        if predicate in _PLACE_LINKS or predicate == _LABEL:
            places.add(subject)
        if predicate in _ATTACK_PLACES and not isinstance(obj, ox.Literal):
            places.add(obj)
        if predicate in _ATTACK_FIELDS:
            attacks.add(subject)
    for attack in attacks:
        for link in _ATTACK_PLACES:
            places.update(
                q.object
                for q in store.quads_for_pattern(attack, link, None, _DEFAULT)
                if not isinstance(q.object, ox.Literal)
            )
    return _places_above(store, places)


def _places_above(store: ox.Store, places: set[ox.NamedNode | ox.BlankNode]) -> set[str]:
    """The places and every place they lie in, through ``locatedIn`` and ``partOf`` chains."""
    found: set[str] = set()
    todo = list(places)
    seen = set(todo)
    while todo:
        node = todo.pop()
        if isinstance(node, ox.NamedNode):
            found.add(node.value)
        for link in _PLACE_LINKS:
            for quad in store.quads_for_pattern(node, link, None, _DEFAULT):
                if quad.object not in seen and not isinstance(quad.object, ox.Literal):
                    seen.add(quad.object)
                    todo.append(quad.object)
    return found


# Stored lookups kept as views, and what each one reads. A lookup without a rule here runs live; whoever
# changes what one of these queries reads changes its rule too (the random-write test catches a miss).
DEPENDENCY_RULES: dict[str, DependencyRule] = {
    "entity-facts": _entity_facts_rule,
    "attacks-in-place": _attacks_in_place_rule,
}


# ---------------------------------------------------------------- the view


@dataclass(frozen=True)
class Lookup:
    """A stored lookup kept as a view: the query, the name of its one entity parameter, its rule."""

    query: StoredQuery
    param: str
    rule: DependencyRule

    @property
    def digest(self) -> str:
        return query_digest(self.query)


def query_digest(query: StoredQuery) -> str:
    return hashlib.sha256(query.text.encode("utf-8")).hexdigest()[:32]


def materialised_lookups() -> list[Lookup]:
    """The stored queries kept as views: one required entity parameter, and a dependency rule.

    Only the queries with a rule are read: parsing all of ``queries/`` takes 0.75 s, which every
    ``kg query --store`` and ``kg build`` process would pay before its first lookup or write.
    """
    lookups = []
    for name, rule in DEPENDENCY_RULES.items():
        path = resources.queries_dir() / f"{name}.rq"
        if not path.is_file():
            continue
        query = load_query(path)
        if len(query.params) == 1 and query.params[0].type is ParamType.ENTITY:
            lookups.append(Lookup(query, query.params[0].name, rule))
    return sorted(lookups, key=lambda lookup: lookup.query.name)


class AnswerView:
    """The stored answers of a knowledge base's lookups (``KB/answers.sqlite``).

    Invariant: while the view is marked fresh, every answer it holds equals the query run live. An
    answer may be missing (a write removed it, or it was never asked for); a lookup then runs live and,
    where no write can run meanwhile (``fill``), keeps its answer.
    """

    def __init__(self, kb: KnowledgeBase, fill: bool = True) -> None:
        # a proxy: the knowledge base keeps its view, and a cycle would keep the store's lock held until
        # the garbage collector ran, refusing the next process (a proxy stays usable as the knowledge base)
        self.kb: KnowledgeBase = weakref.proxy(kb)
        self.path = kb.path / VIEW_FILE
        self.fill = fill
        self.last_refresh_seconds = 0.0  # how long the last full refresh took (the benchmarks report it)
        self._lookups: list[Lookup] | None = None

    @property
    def lookups(self) -> list[Lookup]:
        if self._lookups is None:
            self._lookups = materialised_lookups()
        return self._lookups

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            connection.executescript(_SCHEMA)
            with connection:  # one transaction, committed on leaving
                yield connection
        finally:
            connection.close()

    def _state(self, connection: sqlite3.Connection, name: str = "state") -> str | None:
        """A value of the view's state table: ``state`` (fresh or changing), ``previous``, ``predicates``."""
        row = connection.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    def _set_state(self, connection: sqlite3.Connection, value: str, name: str = "state") -> None:
        connection.execute("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))

    def is_fresh(self) -> bool:
        if not self.path.exists():
            return False
        with self._connection() as connection:
            return self._state(connection) == _FRESH

    # -- reading -------------------------------------------------------------------------------------
    def answer(self, query: StoredQuery, bindings: dict[str, Identifier]) -> QueryResult | None:
        """The stored answer of a lookup on one entity (worked out and kept if missing), or None when it
        must run live: the view is not fresh, the query is not the stored one, the entity is not one an
        article mentions."""
        lookup = next((lookup for lookup in self.lookups if lookup.digest == query_digest(query)), None)
        if lookup is None or set(bindings) != {lookup.param} or not self.path.exists():
            return None
        entity = bindings[lookup.param]
        if not isinstance(entity, URIRef):
            return None
        with self._connection() as connection:
            if self._state(connection) != _FRESH:
                return None
            row = connection.execute(
                "SELECT result FROM answer WHERE query = ? AND entity = ?", (lookup.digest, str(entity))
            ).fetchone()
        if row is not None:
            return decode_result(row[0])
        if not self.fill or not self._mentioned(entity):
            return None
        result = run_live(self.kb, lookup.query, {lookup.param: str(entity)})
        with self._connection() as connection:
            if self._state(connection) == _FRESH:
                connection.execute(
                    "INSERT OR REPLACE INTO answer (query, entity, result) VALUES (?, ?, ?)",
                    (lookup.digest, str(entity), encode_result(result)),
                )
        return result

    def _mentioned(self, entity: URIRef) -> bool:
        pattern = self.kb.oxigraph.quads_for_pattern(None, _REFERS_TO, ox.NamedNode(str(entity)), _DEFAULT)
        return next(iter(pattern), None) is not None

    # -- keeping it exact ----------------------------------------------------------------------------
    def affected(self, changed: list[Triple]) -> dict[str, set[str] | None]:
        """Per lookup digest, the entities whose answers the changed triples can change (None: all)."""
        store = self.kb.oxigraph
        predicates = self._predicates()
        if predicates is not None:  # after a write, the changed triples may use predicates new to the table
            predicates |= {predicate for _, predicate, _ in changed}
        return {lookup.digest: lookup.rule(store, changed, predicates) for lookup in self.lookups}

    def _predicates(self) -> Predicates:
        """The predicates of the merged graph, as the last full load found them and writes added them."""
        if not self.path.exists():
            return None
        with self._connection() as connection:
            if self._state(connection, "predicates") != "complete":
                return None
            return frozenset(ox.NamedNode(iri) for (iri,) in connection.execute("SELECT iri FROM predicate"))

    def begin_change(self) -> None:
        """Before a write: remember whether the view was exact, then mark it changing."""
        fresh = self.is_fresh()
        with self._connection() as connection:
            self._set_state(connection, _FRESH if fresh else _CHANGING, "previous")
            self._set_state(connection, _CHANGING)

    def finish_change(self, affected_before: dict[str, set[str] | None], changed: list[Triple]) -> int:
        """After a write: drop the answers the changed triples can move, read before and after it (links
        a write removes are only seen before it, links it adds only after); returns the answers dropped.

        They are worked out again when next asked for, not here: an article arriving touches the hubs
        (Iraq, the United States), whose answers take the longest, and would wait for all of them.
        """
        affected_after = self.affected(changed)
        dropped = 0
        with self._connection() as connection:
            # the table stays a superset of the merged graph's predicates: a write may bring new ones
            connection.executemany(
                "INSERT OR IGNORE INTO predicate (iri) VALUES (?)", {(p.value,) for _, p, _ in changed}
            )
            if not self._was_fresh(connection):
                dropped += connection.execute("DELETE FROM answer").rowcount
            for lookup in self.lookups:
                before = affected_before.get(lookup.digest, set())
                after = affected_after.get(lookup.digest, set())
                if before is None or after is None:
                    dropped += connection.execute(
                        "DELETE FROM answer WHERE query = ?", (lookup.digest,)
                    ).rowcount
                    continue
                for entity in before | after:
                    dropped += connection.execute(
                        "DELETE FROM answer WHERE query = ? AND entity = ?", (lookup.digest, entity)
                    ).rowcount
            self._set_state(connection, _FRESH)
        return dropped

    def refresh(self) -> int:
        """Work out every answer, for every entity the articles mention (after a full load); returns how
        many. A full load changes everything, and the first lookups after it should not wait."""
        started = time.perf_counter()
        entities = sorted(
            {
                quad.object.value
                for quad in self.kb.oxigraph.quads_for_pattern(None, _REFERS_TO, None, _DEFAULT)
                if isinstance(quad.object, ox.NamedNode)
            }
        )
        answers = [
            (lookup.digest, entity, encode_result(run_live(self.kb, lookup.query, {lookup.param: entity})))
            for lookup in self.lookups
            for entity in entities
        ]
        predicates = [(row[0].value,) for row in self.kb.oxigraph.query("SELECT DISTINCT ?p { ?s ?p ?o }")]
        with self._connection() as connection:
            connection.execute("DELETE FROM answer")
            connection.executemany("INSERT INTO answer (query, entity, result) VALUES (?, ?, ?)", answers)
            connection.execute("DELETE FROM predicate")
            connection.executemany("INSERT INTO predicate (iri) VALUES (?)", predicates)
            self._set_state(connection, "complete", "predicates")
            self._set_state(connection, _FRESH)
        self.last_refresh_seconds = time.perf_counter() - started
        return len(answers)

    def _was_fresh(self, connection: sqlite3.Connection) -> bool:
        """Whether every answer was exact before the write now ending (then only the affected ones moved)."""
        return self._state(connection, "previous") == _FRESH


def run_on_store(kb: KnowledgeBase, query: StoredQuery, params: dict[str, str] | None = None) -> QueryResult:
    """``kg.queries.run_on_store``, answered from the view when the knowledge base keeps the answer."""
    if query.name in DEPENDENCY_RULES:
        stored = kb.answer_view.answer(query, bind_params(query, params))
        if stored is not None:
            return stored
    return run_live(kb, query, params)


# ---------------------------------------------------------------- rows as JSON


def _encode_term(term: Identifier | None) -> list[str] | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ["i", str(term)]
    if isinstance(term, BNode):
        return ["b", str(term)]
    if isinstance(term, Literal):
        return ["l", str(term), term.language or "", str(term.datatype or "")]
    raise TypeError(f"cannot store term {term!r}")


def encode_result(result: QueryResult) -> str:
    return json.dumps(
        {
            "variables": result.variables,
            "rows": [[_encode_term(row.get(name)) for name in result.variables] for row in result.rows],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode_result(text: str) -> QueryResult:
    data = json.loads(text)
    names: list[str] = data["variables"]
    made: dict[tuple[str, ...], Identifier] = {}  # long answers repeat their terms

    def term(encoded: list[str] | None) -> Identifier | None:
        if encoded is None:
            return None
        key = tuple(encoded)
        found = made.get(key)
        if found is None:
            if encoded[0] == "i":
                found = URIRef(encoded[1])
            elif encoded[0] == "b":
                found = BNode(encoded[1])
            else:
                _, value, language, datatype = encoded
                found = Literal(value, lang=language or None, datatype=URIRef(datatype) if datatype else None)
            made[key] = found
        return found

    return QueryResult(names, [dict(zip(names, map(term, row), strict=True)) for row in data["rows"]])
