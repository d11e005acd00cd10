"""Writing merged extraction records as RDF, one named graph per article.

The graph layout is the one in ``ontology/MODEL.md``: each article's graph
holds what that article says (mentions, its report of each event, blame,
surface forms), ``kgr:graph/events`` the merged event view, and
``kgr:graph/gazetteer`` the descriptions of the entities involved. Keeping
per-article graphs apart is what makes provenance queryable and an article
removable; no blank nodes, so any SPARQL store can hold the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, lru_cache

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from kg.articles import Article
from kg.extractors.dates import ResolvedDate, compatible, finer
from kg.gazetteer import load_index
from kg.merge import MergedGraphInput
from kg.ns import (
    EVENTS_GRAPH,
    GAZETTEER_GRAPH,
    GEO,
    KG,
    TIME,
    article_graph_iri,
    article_iri,
    attribution_iri,
    bind_prefixes,
    entity_iri,
    event_iri,
    mention_iri,
    report_iri,
)
from kg.records import ArticleExtraction, EntityRecord, Event, Incident, Sentence
from kg.resources import gazetteer, ontology

_DATATYPES = {"day": XSD.date, "month": XSD.gYearMonth, "year": XSD.gYear}
_PRECISION_UNITS = {"day": TIME.unitDay, "month": TIME.unitMonth, "year": TIME.unitYear}
_ENTITY_LINKS = (KG.partOf, KG.locatedIn, KG.memberOf, KG.backedBy, KG.affiliatedWith)


@cache
def notation_index() -> dict[tuple[URIRef, str], URIRef]:
    """(class, code) -> individual, read from the ontology (``skos:notation`` of kinds and statuses)."""
    index: dict[tuple[URIRef, str], URIRef] = {}
    onto = ontology()
    for cls in (KG.AttackKind, KG.AttackStatus):
        for individual in onto.subjects(RDF.type, cls):
            for code in onto.objects(individual, SKOS.notation):
                index[(cls, str(code))] = individual  # type: ignore[assignment]
    return index


def date_literal(value: ResolvedDate) -> Literal:
    return Literal(value.iso, datatype=_DATATYPES[value.precision])


def _add_date(graph: Graph, subject: URIRef, value: ResolvedDate | None) -> None:
    if value is not None:
        graph.add((subject, KG.date, date_literal(value)))
        graph.add((subject, KG.datePrecision, _PRECISION_UNITS[value.precision]))


@lru_cache(maxsize=1 << 14)
def _offset(value: int) -> Literal:
    """Offsets repeat across mentions and articles; building an rdflib Literal is not cheap."""
    return Literal(value)


def _mention(graph: Graph, article: Article, start: int, end: int, sentence: Sentence) -> URIRef:
    """A span of an article with its evidence sentence and offsets."""
    node = mention_iri(article.id, start, end)
    graph.add((node, RDF.type, KG.Mention))
    graph.add((node, KG.inArticle, article_iri(article.id)))
    graph.add((node, KG.evidenceText, Literal(sentence.text)))
    graph.add((node, KG.startChar, _offset(start)))
    graph.add((node, KG.endChar, _offset(end)))
    graph.add((node, KG.sentenceStart, _offset(sentence.start)))
    graph.add((node, KG.sentenceEnd, _offset(sentence.end)))
    return node


def _sentence_mention(graph: Graph, extraction: ArticleExtraction, index: int) -> URIRef:
    sentence = extraction.sentences[index]
    return _mention(graph, extraction.article, sentence.start, sentence.end, sentence)


def _article_node(graph: Graph, article: Article) -> URIRef:
    node = article_iri(article.id)
    graph.add((node, RDF.type, KG.NewsArticle))
    graph.add((node, KG.fileName, Literal(article.file_name)))
    graph.add((node, DCTERMS.language, Literal(article.language)))
    graph.add((node, KG.contentHash, Literal(article.content_hash)))
    if article.title:
        graph.add((node, DCTERMS.title, Literal(article.title, lang=article.language)))
    if article.url:
        graph.add((node, KG.url, Literal(article.url, datatype=XSD.anyURI)))
    if article.published and article.published_precision:
        _add_date(graph, node, ResolvedDate(article.published, article.published_precision))
        graph.remove((node, KG.date, None))
        graph.add(
            (node, KG.published, date_literal(ResolvedDate(article.published, article.published_precision)))
        )
    return node


def write_article(dataset: Dataset, extraction: ArticleExtraction) -> Graph:
    """Mentions, entity links and names of one article, in the article's graph.

    Everything here depends on this article alone, so it is written once, when the article arrives.
    """
    article = extraction.article
    graph = dataset.graph(article_graph_iri(article.id))
    article_node = _article_node(graph, article)
    for mention in extraction.mentions:
        entity = entity_iri(mention.key)
        node = _mention(graph, article, mention.start, mention.end, extraction.sentences[mention.sentence])
        graph.add((node, KG.refersTo, entity))
        graph.add((node, KG.surfaceForm, Literal(mention.text)))
        graph.add((entity, KG.hasMention, node))
        graph.add((entity, KG.sourceArticle, article_node))
    for key, record in extraction.entities.items():
        if record.role:
            graph.add((entity_iri(key), KG.holdsRole, Literal(record.role, lang=article.language)))
        for alias in sorted(record.aliases):
            if alias and alias != record.label:
                graph.add((entity_iri(key), SKOS.altLabel, Literal(alias)))
    return graph


def write_report(graph: Graph, event: URIRef, extraction: ArticleExtraction, incident: Incident) -> None:
    """One article's account of an event (its figures, evidence and blame), in that article's graph."""
    article = extraction.article
    article_node = article_iri(article.id)
    report = report_iri(event, article.id)
    graph.add((event, KG.sourceArticle, article_node))
    graph.add((event, KG.hasReport, report))
    graph.add((report, RDF.type, KG.EventReport))
    graph.add((report, KG.reportOf, event))
    graph.add((report, KG.sourceArticle, article_node))
    _add_date(graph, report, incident.date)
    for prop, value in (
        (KG.projectileCount, incident.projectiles),
        (KG.killedCount, incident.killed),
        (KG.injuredCount, incident.injured),
    ):
        if value is not None:
            graph.add((report, prop, Literal(value, datatype=XSD.nonNegativeInteger)))
    for index in sorted(incident.sentences):
        evidence = _sentence_mention(graph, extraction, index)
        graph.add((event, KG.hasEvidence, evidence))
        graph.add((report, KG.hasEvidence, evidence))
    for blame in incident.attributions:
        node = attribution_iri(
            event, entity_iri(blame.accused), entity_iri(blame.accuser) if blame.accuser else None
        )
        graph.add((event, KG.hasAttribution, node))
        graph.add((node, RDF.type, KG.Attribution))
        graph.add((node, KG.accused, entity_iri(blame.accused)))
        if blame.accuser:
            graph.add((node, KG.accuser, entity_iri(blame.accuser)))
        graph.add((node, KG.sourceArticle, article_node))
        graph.add((node, KG.hasEvidence, _sentence_mention(graph, extraction, blame.sentence)))


def write_merged_event(graph: Graph, event: URIRef, record: Event) -> None:
    """The event as all its reports together describe it; needs the incidents only, not the articles."""
    notations = notation_index()
    incidents = [ref.incident for ref in record.reports]
    graph.add((event, RDF.type, KG.Attack))
    kinds = set().union(*(i.kinds for i in incidents)) or {"unknown"}
    if len(kinds) > 1:
        kinds.discard("unknown")
    for code in sorted(kinds):
        graph.add((event, KG.attackKind, notations[(KG.AttackKind, code)]))
    status = "foiled" if all(i.status == "foiled" for i in incidents) else "carried_out"
    graph.add((event, KG.status, notations[(KG.AttackStatus, status)]))
    merged_date: ResolvedDate | None = None
    for incident in incidents:
        if incident.date is not None and (merged_date is None or compatible(merged_date, incident.date)):
            merged_date = finer(merged_date, incident.date)
    _add_date(graph, event, merged_date)
    for prop, attr in (
        (KG.target, "targets"),
        (KG.location, "locations"),
        (KG.launchSite, "launch_sites"),
        (KG.perpetrator, "perpetrators"),
        (KG.claimedBy, "claimed_by"),
    ):
        for incident in incidents:
            for key in getattr(incident, attr):
                graph.add((event, prop, entity_iri(key)))
    for incident in incidents:
        for blame in incident.attributions:
            graph.add((event, KG.attributedTo, entity_iri(blame.accused)))
    for prop, attr in (
        (KG.projectileCount, "projectiles"),
        (KG.killedCount, "killed"),
        (KG.injuredCount, "injured"),
    ):
        values = [getattr(i, attr) for i in incidents if getattr(i, attr) is not None]
        if values:
            graph.add((event, prop, Literal(max(values), datatype=XSD.nonNegativeInteger)))
    if any(i.intercepted for i in incidents):
        graph.add((event, KG.intercepted, Literal(True)))
    elif any(i.intercepted is False for i in incidents):  # a source says nothing was intercepted
        graph.add((event, KG.intercepted, Literal(False)))
    if any(i.is_main for i in incidents):
        graph.add((event, KG.isMain, Literal(True)))


def describe_entities(dataset: Dataset, entities: dict[str, EntityRecord]) -> None:
    """Types, labels and links of the given (merged) entities, from the gazetteer or minted.

    A gazetteer entity is described with everything it links to (its city, province, country); those
    descriptions never change, so describing one twice is harmless.
    """
    graph = dataset.graph(GAZETTEER_GRAPH)
    source = gazetteer()
    index = load_index()
    wanted: list[URIRef] = []
    for key in entities:
        iri = entity_iri(key)
        wanted.append(iri)
        wanted.extend(index.ancestors(iri))
    seen: set[URIRef] = set()
    queue = list(wanted)
    while queue:
        iri = queue.pop(0)
        if iri in seen or iri not in index.entries:
            continue
        seen.add(iri)
        for p, o in source.predicate_objects(iri):
            graph.add((iri, p, o))
            if p == GEO.hasGeometry:
                for triple in source.triples((o, None, None)):
                    graph.add(triple)
            if p in _ENTITY_LINKS and isinstance(o, URIRef):
                queue.append(o)
    for key, record in entities.items():
        iri = entity_iri(key)
        if iri in index.entries:
            continue
        graph.add((iri, RDF.type, KG[record.kind]))
        graph.add((iri, RDFS.label, Literal(record.label)))
        if record.parent:
            parent_kind = index.entries.get(entity_iri(record.parent))
            link = KG.partOf if record.kind in ("District", "City", "Province", "Place") else KG.locatedIn
            if parent_kind is not None:
                graph.add((iri, link, entity_iri(record.parent)))


def write_event(dataset: Dataset, event: Event, extractions: Mapping[str, ArticleExtraction]) -> URIRef:
    """The merged event (events graph) and each source's report of it (in that source's graph)."""
    node = event_iri(event.key)
    write_merged_event(dataset.graph(EVENTS_GRAPH), node, event)
    for ref in event.reports:
        extraction = extractions[ref.article_id]
        write_report(dataset.graph(article_graph_iri(ref.article_id)), node, extraction, ref.incident)
    return node


def new_dataset() -> Dataset:
    """An empty Dataset with the project prefixes bound."""
    dataset = Dataset()
    bind_prefixes(dataset)
    return dataset


def write_merged(dataset: Dataset, merged: MergedGraphInput) -> None:
    """What the merge decided: events (with each source's report) and the entities' descriptions.

    The articles' own graphs (``write_article``) must already be in ``dataset``.
    """
    by_id = {extraction.article.id: extraction for extraction in merged.extractions}
    for event in merged.events:
        write_event(dataset, event, by_id)
    describe_entities(dataset, merged.entities)


def to_dataset(merged: MergedGraphInput) -> Dataset:
    """The knowledge graph of a build as an rdflib Dataset (named graph per article)."""
    dataset = new_dataset()
    for extraction in merged.extractions:
        write_article(dataset, extraction)
    write_merged(dataset, merged)
    return dataset
