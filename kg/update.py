"""Merging articles into a knowledge base: one article at a time, or the whole base again.

A desk adds a few articles to a base of thousands. Re-merging everything for each one costs time in
proportion to the base; this module instead works out what one new article can change and rewrites
only that:

- its own graph (mentions, names, roles: they depend on the article alone);
- the events of the months its incidents fall in that are connected to them (``kg.merge`` merges
  incidents only within a month, and an incident's event depends only on the incidents linked to it by
  ``same_incident``), found by asking the store for events with the same targets or places in that month;
- the descriptions of the entities it names (merged field by field with the smallest value, so merging
  in any order gives the same description).

The result is the graph a full build of all the articles would give; ``tests/test_update.py`` checks it
by adding the seeds one by one in several orders. ``rewrite`` is the full build from stored records,
streamed article by article into a new store (bounded memory), used for the first load and after
``kg remove``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import pyoxigraph as ox
from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef

from kg.errors import InputError
from kg.gazetteer import load_index
from kg.kb import KnowledgeBase, to_ox_quads
from kg.merge import incident_refs, merge_bucket, merge_entities, merge_entity, merge_incidents, same_incident
from kg.ns import (
    EVENTS_GRAPH,
    GAZETTEER_GRAPH,
    GEO,
    KG,
    article_graph_iri,
    bind_prefixes,
    entity_iri,
    event_iri,
)
from kg.records import ArticleExtraction, EntityRecord, Event, Incident, IncidentRef
from kg.triples import describe_entities, write_article, write_event, write_merged_event, write_report

_ENTITY_PREFIX = str(entity_iri(""))
_PARENT_LINKS = frozenset(str(link) for link in (KG.partOf, KG.locatedIn))


def add(kb: KnowledgeBase, extractions: list[ArticleExtraction]) -> Dataset:
    """Merge new articles (not yet in the store) into it, in one transaction; returns what was written."""
    records = {extraction.article.id: extraction for extraction in extractions}
    new_ids = set(records)
    new_refs = [ref for extraction in extractions for ref in incident_refs(extraction)]
    component = _connected_reports(kb, records, new_refs)
    before = merge_incidents(ref for ref in component if ref.article_id not in new_ids)
    after = merge_incidents([*component, *(ref for ref in new_refs if merge_bucket(ref.incident) is None)])
    old = {_signature(event): event for event in before}
    new = {_signature(event): event for event in after}
    gone = [event for signature, event in old.items() if signature not in new]
    came = [event for signature, event in new.items() if signature not in old]

    written = Dataset()
    bind_prefixes(written)
    for extraction in extractions:
        write_article(written, extraction)
    for event in came:
        write_event(written, event, records)
    stale_descriptions, entities = _entity_changes(kb, extractions)
    describe_entities(written, entities)
    kb.apply([*_event_quads(kb, gone), *stale_descriptions], written)
    return written


def rewrite(
    kb: KnowledgeBase, article_ids: Iterable[str], progress: Callable[[int], None] | None = None
) -> int:
    """Replace the store with the merge of the given articles' records; returns the quad count.

    Two passes over the records: the first merges entities and incidents (kept in memory: they are small),
    the second writes each article's graph and streams it into the new store.
    """
    from kg.queries import vocabulary

    ids = sorted(set(article_ids))
    entities: dict[str, EntityRecord] = {}
    refs: list[IncidentRef] = []
    for record in kb.records(ids):
        for key, entity in record.entities.items():
            entities[key] = merge_entity(entities.get(key), entity)
        refs.extend(incident_refs(record))
    events = merge_incidents(refs)
    reports: dict[str, list[tuple[URIRef, Incident]]] = defaultdict(list)
    for event in events:
        for ref in event.reports:
            reports[ref.article_id].append((event_iri(event.key), ref.incident))

    def quads() -> Iterator[ox.Quad]:
        for record in kb.records(ids):
            dataset = Dataset()
            graph = write_article(dataset, record)
            for node, incident in reports[record.article.id]:
                write_report(graph, node, record, incident)
            yield from to_ox_quads(dataset)
            if progress is not None:
                progress(1)
        dataset = Dataset()
        for event in events:
            write_merged_event(dataset.graph(EVENTS_GRAPH), event_iri(event.key), event)
        describe_entities(dataset, dict(sorted(entities.items())))
        yield from to_ox_quads(dataset)

    return kb.replace_all(quads(), vocabulary())


def arrival_graph(kb: KnowledgeBase, article_id: str) -> Graph:
    """One article's own triples as stored, with the events it reports and the entities they name.

    This is what is validated when an article arrives: enough context (types and labels of what it
    refers to) for the shapes to judge it, without the rest of the knowledge base.
    """
    graph = Graph()
    own = article_graph_iri(article_id)
    for triple in kb.triples_in(own):
        graph.add(triple)
    events = {s for s, p, _ in graph if p == KG.hasReport}
    for triple in kb.triples_about(events, EVENTS_GRAPH):
        graph.add(triple)
    referenced = {o for _, _, o in graph if isinstance(o, URIRef) and str(o).startswith(_ENTITY_PREFIX)}
    described: set[URIRef] = set()
    while referenced:
        iri = referenced.pop()
        described.add(iri)
        for s, p, o in kb.triples_about([iri], GAZETTEER_GRAPH):
            graph.add((s, p, o))
            if isinstance(o, URIRef) and str(o).startswith(_ENTITY_PREFIX) and o not in described:
                referenced.add(o)
    for triple in kb.triples_about({o for _, p, o in graph if p == GEO.hasGeometry}, GAZETTEER_GRAPH):
        graph.add(triple)
    return graph


# ------------------------------------------------------------------------------------------------ events


def _signature(event: Event) -> tuple[str, tuple[str, ...]]:
    return event.key, tuple(ref.key for ref in event.reports)


def _connected_reports(
    kb: KnowledgeBase, records: dict[str, ArticleExtraction], new_refs: list[IncidentRef]
) -> list[IncidentRef]:
    """Every stored or new incident report linked to a new one by a chain of ``same_incident``.

    Grown from the new reports: for each report reached, the store names the articles that report an event
    with one of its targets (or places) in its month; their records give the incidents to compare with.
    Records of ``records`` are added as they are read.
    """
    pool: dict[str, IncidentRef] = {ref.key: ref for ref in new_refs if merge_bucket(ref.incident)}
    component: dict[str, IncidentRef] = {}
    frontier = list(pool.values())
    while frontier:
        ref = frontier.pop()
        if ref.key in component:
            continue
        component[ref.key] = ref
        bucket = merge_bucket(ref.incident)
        for article_id in _articles_near(kb, ref.incident, bucket) - records.keys():
            record = kb.record(article_id)
            if record is None:
                raise InputError(f"{kb.path}: the extraction record of {article_id} is missing; rebuild it")
            records[article_id] = record
            pool.update((other.key, other) for other in incident_refs(record) if merge_bucket(other.incident))
        frontier.extend(
            other
            for other in pool.values()
            if other.key not in component
            and merge_bucket(other.incident) == bucket
            and same_incident(ref.incident, other.incident)
        )
    return list(component.values())


def _articles_near(kb: KnowledgeBase, incident: Incident, bucket: str | None) -> set[str]:
    """Articles reporting a stored event of the month ``bucket`` that shares a target or place with it.

    A superset of the articles with an incident ``same_incident`` could join to this one: that needs a
    shared target, or a shared place on the same day.
    """
    places = [*incident.targets, *incident.locations]
    if bucket is None or not places:
        return set()
    values = " ".join(f"<{entity_iri(key)}>" for key in sorted(set(places)))
    _, rows = kb.select(
        "SELECT DISTINCT ?file WHERE { "
        f"VALUES ?place {{ {values} }} "
        f"{{ ?event <{KG.target}> ?place }} UNION {{ ?event <{KG.location}> ?place }} "
        f"?event <{KG.hasReport}> ?report . ?report <{KG.date}> ?date ; <{KG.sourceArticle}> ?article . "
        f'FILTER(STRSTARTS(STR(?date), "{bucket}")) ?article <{KG.fileName}> ?file }}'
    )
    return {str(row["file"]).rsplit(".", 1)[0] for row in rows}


def _event_quads(kb: KnowledgeBase, events: list[Event]) -> list[ox.Quad]:
    """Every stored quad about these events: the merged event, and each source's report and blame."""
    subjects: list[URIRef] = []
    for event in events:
        node = event_iri(event.key)
        subjects.append(node)
        for prop in (KG.hasReport, KG.hasAttribution):
            subjects.extend(o for o in kb.objects(node, prop) if isinstance(o, URIRef))
    return kb.quads_about(subjects)


# ---------------------------------------------------------------------------------------------- entities


def _entity_changes(
    kb: KnowledgeBase, extractions: list[ArticleExtraction]
) -> tuple[list[ox.Quad], dict[str, EntityRecord]]:
    """Stored descriptions to drop, and entities to describe, once the new articles' records are merged in."""
    index = load_index()
    stale: list[ox.Quad] = []
    describe: dict[str, EntityRecord] = {}
    for key, record in merge_entities(extractions).items():
        iri = entity_iri(key)
        if iri in index.entries:
            describe[key] = record  # from the gazetteer: the same whoever names it
            continue
        stored = _stored_entity(kb, key)
        merged = merge_entity(stored, record) if stored is not None else record
        if stored is not None and _description(stored) == _description(merged):
            continue
        if stored is not None:
            stale.extend(kb.quads_about([iri], GAZETTEER_GRAPH))
        describe[key] = merged
    return stale, describe


def _stored_entity(kb: KnowledgeBase, key: str) -> EntityRecord | None:
    """The merged description of a minted entity as the store holds it (None if the store has none)."""
    kind = label = parent = None
    for quad in kb.quads_about([entity_iri(key)], GAZETTEER_GRAPH):
        predicate, value = quad.predicate.value, quad.object.value
        if predicate == str(RDF.type) and value.startswith(str(KG)):
            kind = value[len(str(KG)) :]
        elif predicate == str(RDFS.label):
            label = value
        elif predicate in _PARENT_LINKS and value.startswith(_ENTITY_PREFIX):
            parent = value[len(_ENTITY_PREFIX) :]
    if kind is None or label is None:
        return None
    return EntityRecord(key, kind, label, False, set(), None, parent)


def _description(record: EntityRecord) -> tuple[str, Literal | str, str | None]:
    return record.kind, record.label, record.parent
