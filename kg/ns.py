"""Namespaces and deterministic IRI minting.

The ontology terms are a closed ``DefinedNamespace`` so that a typo in an
extractor fails at import time instead of writing a silent, undeclared term
into the graph; ``tests/test_ontology.py`` keeps this list in sync with
``ontology/kg.ttl``. IRIs for entities, articles, mentions and events are
minted here and only here, from content (slugs and hashes), never from
counters or clocks, so rebuilding the same articles gives the same IRIs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

BASE = "https://kg.example.org/"


class KG(DefinedNamespace):
    """The kg ontology (``ontology/kg.ttl``)."""

    _fail = True
    _NS = Namespace(BASE + "ontology#")

    # classes: actors
    Actor: URIRef
    ArmedGroup: URIRef
    Person: URIRef
    Organization: URIRef
    State: URIRef
    # classes: places
    Place: URIRef
    Country: URIRef
    Province: URIRef
    City: URIRef
    District: URIRef
    Facility: URIRef
    MilitaryBase: URIRef
    DiplomaticFacility: URIRef
    Airport: URIRef
    EnergyFacility: URIRef
    # classes: events and evidence
    Event: URIRef
    Attack: URIRef
    AttackKind: URIRef
    AttackStatus: URIRef
    EventReport: URIRef
    Attribution: URIRef
    NewsArticle: URIRef
    Mention: URIRef
    # individuals: attack kinds and statuses
    Rocket: URIRef
    Drone: URIRef
    Airstrike: URIRef
    IED: URIRef
    GroundAttack: URIRef
    UnknownWeapon: URIRef
    CarriedOut: URIRef
    Foiled: URIRef
    # object properties: events
    attackKind: URIRef
    status: URIRef
    target: URIRef
    location: URIRef
    launchSite: URIRef
    occurredIn: URIRef
    perpetrator: URIRef
    claimedBy: URIRef
    attributedTo: URIRef
    hasAttribution: URIRef
    accused: URIRef
    accuser: URIRef
    hasReport: URIRef
    reportOf: URIRef
    datePrecision: URIRef
    # object properties: entities
    partOf: URIRef
    locatedIn: URIRef
    memberOf: URIRef
    affiliatedWith: URIRef
    backedBy: URIRef
    # object properties: provenance
    sourceArticle: URIRef
    hasMention: URIRef
    refersTo: URIRef
    hasEvidence: URIRef
    inArticle: URIRef
    # datatype properties
    date: URIRef
    projectileCount: URIRef
    killedCount: URIRef
    injuredCount: URIRef
    intercepted: URIRef
    isMain: URIRef
    holdsRole: URIRef
    fileName: URIRef
    published: URIRef
    url: URIRef
    contentHash: URIRef
    surfaceForm: URIRef
    startChar: URIRef
    endChar: URIRef
    evidenceText: URIRef
    sentenceStart: URIRef
    sentenceEnd: URIRef
    # annotation properties
    acledSubEventType: URIRef
    exportType: URIRef


KGR = Namespace(BASE + "id/")
SEM = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")
PROV = Namespace("http://www.w3.org/ns/prov#")
TIME = Namespace("http://www.w3.org/2006/time#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")

PREFIXES: dict[str, Namespace | str] = {
    "kg": KG._NS,
    "kgr": KGR,
    "sem": SEM,
    "prov": PROV,
    "time": TIME,
    "geo": GEO,
}


def bind_prefixes(graph) -> None:
    """Bind the project prefixes so every serialisation reads the same."""
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    graph.bind("skos", "http://www.w3.org/2004/02/skos/core#")
    graph.bind("dcterms", "http://purl.org/dc/terms/")


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key for names.

    Cached: it runs on every token of every article, and words repeat.

    >>> fold("Aïn al-Assad")
    'ain al assad'
    >>> fold("Kata'ib  Hezbollah")
    'kataib hezbollah'
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['’`´]", "", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def slugify(text: str) -> str:
    """Lower-case ASCII slug used in entity IRIs.

    >>> slugify("Kata'ib Hezbollah")
    'kataib-hezbollah'
    >>> slugify("Aïn al-Assad")
    'ain-al-assad'
    """
    return "-".join(fold(text).split()) or "x"


def short_hash(*parts: str, length: int = 16) -> str:
    """Stable hex digest of the parts, used where no readable key exists."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def entity_iri(slug: str) -> URIRef:
    return KGR[f"entity/{slug}"]


def geometry_iri(entity: URIRef) -> URIRef:
    return URIRef(f"{entity}/geometry")


def article_iri(article_id: str) -> URIRef:
    return KGR[f"article/{slugify(article_id)}"]


def article_graph_iri(article_id: str) -> URIRef:
    return KGR[f"graph/article/{slugify(article_id)}"]


def mention_iri(article_id: str, start: int, end: int) -> URIRef:
    return KGR[f"mention/{slugify(article_id)}/{start}-{end}"]


def event_iri(key: str) -> URIRef:
    return KGR[f"event/{short_hash(key)}"]


def report_iri(event: URIRef, article_id: str) -> URIRef:
    return KGR[f"report/{str(event).rsplit('/', 1)[-1]}/{slugify(article_id)}"]


def attribution_iri(event: URIRef, accused: URIRef, accuser: URIRef | None) -> URIRef:
    accuser_key = str(accuser).rsplit("/", 1)[-1] if accuser is not None else "unknown"
    return KGR[f"attribution/{str(event).rsplit('/', 1)[-1]}/{str(accused).rsplit('/', 1)[-1]}/{accuser_key}"]


EVENTS_GRAPH = KGR["graph/events"]
GAZETTEER_GRAPH = KGR["graph/gazetteer"]
