"""The stored answers of lookups (kg.answers): exact after every write, never served when in doubt."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Dataset, Literal, URIRef
from rdflib.namespace import XSD

from kg.answers import AnswerView, materialised_lookups, run_on_store
from kg.kb import VOCABULARY_GRAPH, KnowledgeBase
from kg.ns import KG, KGR
from kg.queries import load_query, parse_query, vocabulary
from kg.queries import run_on_store as run_live
from kg.store import load

# links the lookups read, and some they do not: what a random write adds
_LINKS = (KG.locatedIn, KG.partOf, KG.location, KG.target, KG.occurredIn, KG.claimedBy, KG.sourceArticle)


@pytest.fixture(scope="module")
def loaded_kb(tmp_path_factory: pytest.TempPathFactory, seed_graph_file: Path) -> Path:
    """A knowledge base loaded from the seed build (a full load: every answer worked out)."""
    path = tmp_path_factory.mktemp("answers") / "kb"
    KnowledgeBase(path).replace_graph(load(seed_graph_file), vocabulary())
    return path


@pytest.fixture
def kb(loaded_kb: Path, tmp_path: Path) -> KnowledgeBase:
    """A private copy of the loaded knowledge base, which a test may write to."""
    copy = tmp_path / "kb"
    shutil.copytree(loaded_kb, copy)
    return KnowledgeBase(copy)


def _mentioned(kb: KnowledgeBase) -> list[str]:
    _, rows = kb.select(f"SELECT DISTINCT ?e WHERE {{ ?m <{KG.refersTo}> ?e }}")
    return sorted(str(row["e"]) for row in rows)


def _table(result) -> list[tuple[str, ...]]:
    """Rows in their order, as strings with language and datatype: the view must give the same output."""
    return [tuple(repr(row[name]) for name in result.variables) for row in result.rows]


def _differences(kb: KnowledgeBase) -> list[str]:
    """Lookups whose stored answer differs from the query run live, for every mentioned entity."""
    view = kb.answer_view
    assert view.is_fresh()
    wrong = []
    for lookup in materialised_lookups():
        for entity in _mentioned(kb):
            params = {lookup.param: entity}
            stored = view.answer(lookup.query, {lookup.param: URIRef(entity)})
            live = run_live(kb, lookup.query, params)
            if stored is None or stored.variables != live.variables or _table(stored) != _table(live):
                wrong.append(f"{lookup.query.name} {entity}")
    return wrong


def test_answers_every_lookup_is_kept_for_every_mentioned_entity(kb: KnowledgeBase) -> None:
    names = {lookup.query.name for lookup in materialised_lookups()}
    assert names == {"entity-facts", "attacks-in-place"}
    assert len(_mentioned(kb)) > 40
    assert _differences(kb) == []


def test_answers_are_what_kg_query_on_the_store_prints(kb: KnowledgeBase) -> None:
    query = load_query("attacks-in-place")
    via_view = run_on_store(kb, query, {"place": "iraq"})
    assert via_view.rows and _table(via_view) == _table(run_live(kb, query, {"place": "iraq"}))


def _random_write(kb: KnowledgeBase, rng: random.Random, step: int) -> str:
    """Delete some of an article's quads, or add links, labels, dates and types between existing nodes."""
    graphs = sorted(
        {
            quad.graph_name.value
            for quad in kb.oxigraph.quads_for_pattern(None, None, None, None)
            if isinstance(quad.graph_name, ox.NamedNode) and quad.graph_name.value != str(VOCABULARY_GRAPH)
        }
    )
    draw = rng.random()
    if draw < 0.2:  # links, wherever they are held (place hierarchies come from the gazetteer's graph)
        links = [
            quad
            for link in (KG.locatedIn, KG.partOf, KG.location, KG.target)
            for quad in kb.oxigraph.quads_for_pattern(None, ox.NamedNode(str(link)), None, None)
            if isinstance(quad.graph_name, ox.NamedNode)
        ]
        gone = rng.sample(links, min(len(links), rng.randint(1, 3)))
        kb.apply(gone, Dataset())
        return f"deleted links {gone}"
    if draw < 0.5:
        graph = rng.choice(graphs)
        quads = list(kb.oxigraph.quads_for_pattern(None, None, None, ox.NamedNode(graph)))
        gone = rng.sample(quads, min(len(quads), rng.randint(1, 40)))
        kb.apply(gone, Dataset())
        return f"deleted {len(gone)} quads of {graph}"
    _, rows = kb.select(f"SELECT DISTINCT ?e WHERE {{ ?e a <{KG.Attack}> }}")
    attacks = [row["e"] for row in rows]
    entities = [URIRef(e) for e in _mentioned(kb)]
    _, rows = kb.select(f"SELECT DISTINCT ?a WHERE {{ ?a a <{KG.NewsArticle}> }}")
    articles = [row["a"] for row in rows]
    written = Dataset()
    graph = written.graph(KGR[f"graph/test-write-{step}"])
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.45:
            link = rng.choice(_LINKS)
            if link in (KG.location, KG.target, KG.occurredIn):
                subject = rng.choice(attacks)
            else:  # an attack's sources show on the pages of what it targets
                subject = rng.choice(entities + attacks if link == KG.sourceArticle else entities)
            obj = rng.choice(articles if link == KG.sourceArticle else entities)
            graph.add((subject, link, obj))
        elif choice < 0.6:
            graph.add((rng.choice(entities + attacks), RDFS.label, Literal(f"name {step}", lang="en")))
        elif choice < 0.75:
            day = Literal(f"2019-0{rng.randint(1, 9)}-11", datatype=XSD.date)
            graph.add((rng.choice(attacks), KG.date, day))
        elif choice < 0.9:
            new_attack = KGR[f"event/test-{step}"]
            graph.add((new_attack, RDF.type, KG.Attack))
            graph.add((new_attack, KG.target, rng.choice(entities)))
        else:  # a new entity, mentioned: the view gains a key
            entity, mention = KGR[f"entity/test-{step}"], KGR[f"mention/test/{step}"]
            graph.add((mention, KG.refersTo, entity))
            graph.add((entity, KG.locatedIn, rng.choice(entities)))
    kb.apply([], written)
    return f"inserted {len(graph)} triples"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_answers_stay_exact_through_random_writes(kb: KnowledgeBase, seed: int) -> None:
    rng = random.Random(seed)
    for step in range(12):
        what = _random_write(kb, rng, step)
        assert _differences(kb) == [], f"after step {step}: {what}"


def _stored(kb: KnowledgeBase) -> set[tuple[str, str]]:
    with sqlite3.connect(kb.path / "answers.sqlite") as connection:
        return set(connection.execute("SELECT query, entity FROM answer"))


def test_answers_a_small_write_drops_only_the_answers_it_touches(kb: KnowledgeBase) -> None:
    entities = _mentioned(kb)
    place = URIRef("https://kg.example.org/id/entity/baghdad")
    before = _stored(kb)
    assert len(before) == 2 * len(entities)  # the full load worked every answer out
    written = Dataset()
    written.graph(KGR["graph/test-label"]).add((place, RDFS.label, Literal("Bagdad la ronde", lang="fr")))
    kb.apply([], written)
    dropped = before - _stored(kb)
    # the place's own answers, and the entity pages showing its label; not the rest
    assert {entity for _, entity in dropped} >= {str(place)}
    assert 2 <= len(dropped) < len(before) / 4
    assert _differences(kb) == []
    assert _stored(kb) == before  # each dropped answer was worked out again when asked for


def test_answers_a_write_cut_short_leaves_a_view_no_query_trusts(kb: KnowledgeBase) -> None:
    query = load_query("entity-facts")
    entity = URIRef(_mentioned(kb)[0])
    assert kb.answer_view.answer(query, {"entity": entity}) is not None
    kb.answer_view.begin_change()  # as a process killed between the view's mark and the store's write
    restarted = AnswerView(kb)  # what the next process reads
    assert restarted.answer(query, {"entity": entity}) is None
    assert run_on_store(kb, query, {"entity": str(entity)}).rows  # answered live
    written = Dataset()
    written.graph(KGR["graph/test-after"]).add((entity, RDFS.label, Literal("y", lang="fr")))
    kb.apply([], written)  # the next write works every answer out again
    assert restarted.answer(query, {"entity": entity}) is not None
    assert _differences(kb) == []


def test_answers_an_edited_query_runs_live(kb: KnowledgeBase) -> None:
    stored = load_query("entity-facts")
    edited = parse_query(stored.text.replace("ORDER BY DESC(?direction)", "ORDER BY ?direction"), stored.name)
    entity = URIRef(_mentioned(kb)[0])
    assert kb.answer_view.answer(stored, {"entity": entity}) is not None
    assert kb.answer_view.answer(edited, {"entity": entity}) is None
    rows = run_on_store(kb, edited, {"entity": str(entity)}).rows
    assert rows and rows[0]["direction"] == Literal("in")  # the edited order, so not the stored rows


def test_answers_of_an_entity_nobody_mentions_run_live(kb: KnowledgeBase) -> None:
    query = load_query("entity-facts")
    assert kb.answer_view.answer(query, {"entity": KG.Attack}) is None


def test_answers_a_knowledge_base_without_the_view_runs_live(kb: KnowledgeBase) -> None:
    (kb.path / "answers.sqlite").unlink()  # a knowledge base built before kg kept answers
    assert not AnswerView(kb).is_fresh()
    assert run_on_store(kb, load_query("attacks-in-place"), {"place": "iraq"}).rows


def test_answers_a_new_source_of_an_attack_shows_on_its_target_page(kb: KnowledgeBase) -> None:
    _, rows = kb.select(
        f"SELECT ?attack ?target WHERE {{ ?attack a <{KG.Attack}> ; <{KG.target}> ?target . "
        f"?m <{KG.refersTo}> ?target }} ORDER BY ?attack ?target LIMIT 1"
    )
    attack, target = rows[0]["attack"], rows[0]["target"]
    _, rows = kb.select(
        f"SELECT ?article WHERE {{ ?article a <{KG.NewsArticle}> "
        f"FILTER NOT EXISTS {{ <{attack}> <{KG.sourceArticle}> ?article }} }} ORDER BY ?article LIMIT 1"
    )
    query = load_query("entity-facts")
    page_before = _table(run_on_store(kb, query, {"entity": str(target)}))
    written = Dataset()
    written.graph(KGR["graph/test-source"]).add((attack, KG.sourceArticle, rows[0]["article"]))
    kb.apply([], written)
    page_after = _table(run_on_store(kb, query, {"entity": str(target)}))
    assert page_after != page_before  # the attack's row lists one more source article
    assert page_after == _table(run_live(kb, query, {"entity": str(target)}))


def test_answers_a_predicate_first_written_after_the_load_is_followed(kb: KnowledgeBase) -> None:
    """The rules probe each predicate the merged graph uses: one a write brings must join them."""
    _, rows = kb.select(
        f"SELECT ?attack ?target WHERE {{ ?attack a <{KG.Attack}> ; <{KG.target}> ?target . "
        f"?m <{KG.refersTo}> ?target }} ORDER BY ?attack ?target LIMIT 1"
    )
    attack, target = rows[0]["attack"], rows[0]["target"]
    entity = URIRef(next(e for e in _mentioned(kb) if e != str(target)))
    _, rows = kb.select(
        f"SELECT ?article WHERE {{ ?article a <{KG.NewsArticle}> "
        f"FILTER NOT EXISTS {{ <{attack}> <{KG.sourceArticle}> ?article }} }} ORDER BY ?article LIMIT 1"
    )
    written = Dataset()
    written.graph(KGR["graph/test-new-link"]).add((attack, KGR["vocabulary/newLink"], entity))
    kb.apply([], written)  # a predicate the load never saw points the attack at the entity
    query = load_query("entity-facts")
    page_before = _table(run_on_store(kb, query, {"entity": str(entity)}))  # kept again
    written = Dataset()
    written.graph(KGR["graph/test-source"]).add((attack, KG.sourceArticle, rows[0]["article"]))
    kb.apply([], written)  # the attack's new source shows on the entity's page, through the new link
    page_after = _table(run_on_store(kb, query, {"entity": str(entity)}))
    assert page_after != page_before
    assert page_after == _table(run_live(kb, query, {"entity": str(entity)}))
    assert _differences(kb) == []
