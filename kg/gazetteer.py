"""An in-memory index over the gazetteer graph for fast name lookups.

Extraction needs to turn surface forms ("Aïn al-Assad", "camp Tji") into
gazetteer entities thousands of times per article; SPARQL over the RDF for
each lookup would be far too slow, so the gazetteer is read once into plain
dictionaries keyed by folded names. The RDF stays the source of truth.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from kg.ns import GEO, KG, KGR, fold
from kg.resources import gazetteer

ENTITY_PREFIX = str(KGR) + "entity/"

# Most specific first: an entity's kind is the first of these it is typed with.
KINDS = (
    "ArmedGroup",
    "Person",
    "Organization",
    "MilitaryBase",
    "DiplomaticFacility",
    "Airport",
    "EnergyFacility",
    "Facility",
    "District",
    "City",
    "Province",
    "Country",
    "State",
    "Place",
)
TARGET_KINDS = frozenset({"MilitaryBase", "DiplomaticFacility", "EnergyFacility", "Facility"})
PLACE_KINDS = frozenset({"Airport", "District", "City", "Province", "Place", "Country"})
ACTOR_KINDS = frozenset({"ArmedGroup", "Person", "Organization", "State"})

_LEADING_ARTICLE = re.compile(r"^(?:(?:al|el|the|le|la|les|l)[\s'-]+)")


def loose_fold(text: str) -> str:
    """``fold`` without leading articles or doubled letters, for transliteration variants.

    >>> loose_fold("Al-Assad") == loose_fold("Asad")
    True
    """
    key = fold(text)
    key = _LEADING_ARTICLE.sub("", key)
    key = re.sub(r"\b(?:al|el)\s+", "", key)
    key = re.sub(r"(.)\1", r"\1", key)
    return key.replace("ou", "u").replace("dh", "z").replace("kh", "k").replace("ch", "sh")


@dataclass(frozen=True)
class Entry:
    """One gazetteer entity as extraction sees it."""

    iri: URIRef
    slug: str
    kind: str
    label: str
    label_fr: str | None
    aliases: tuple[str, ...]
    parents: tuple[URIRef, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.label, *([self.label_fr] if self.label_fr else []), *self.aliases]))


class GazetteerIndex:
    """Name -> entity lookups over the gazetteer, exact then transliteration-tolerant then fuzzy."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.entries: dict[URIRef, Entry] = {}
        self._by_fold: dict[str, URIRef] = {}
        self._by_loose: dict[str, URIRef] = {}
        kind_of = {KG[k]: k for k in KINDS}
        for subject in sorted({s for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef)}):
            if not str(subject).startswith(ENTITY_PREFIX) or str(subject).endswith("/geometry"):
                continue
            types = {kind_of[t] for t in graph.objects(subject, RDF.type) if t in kind_of}
            if not types:
                continue
            kind = next(k for k in KINDS if k in types)
            if kind == "State" and "Country" in types:
                kind = "Country"
            labels = {
                lit.language: str(lit)
                for lit in graph.objects(subject, RDFS.label)
                if isinstance(lit, Literal)
            }
            label = labels.get("en") or next(iter(labels.values()), subject.rsplit("/", 1)[-1])
            aliases = tuple(sorted(str(a) for a in graph.objects(subject, SKOS.altLabel)))
            parents = tuple(
                sorted(
                    p
                    for prop in (KG.partOf, KG.locatedIn)
                    for p in graph.objects(subject, prop)
                    if isinstance(p, URIRef)
                )
            )
            entry = Entry(
                subject, subject.rsplit("/", 1)[-1], kind, label, labels.get("fr"), aliases, parents
            )
            self.entries[subject] = entry
            for name in entry.names:
                self._by_fold.setdefault(fold(name), subject)
                self._by_loose.setdefault(loose_fold(name), subject)
        self._loose_keys = sorted(self._by_loose)
        # computed once: extraction asks for these for every segment and every head noun
        self.folded_names: dict[URIRef, tuple[str, ...]] = {
            iri: tuple(fold(name) for name in entry.names) for iri, entry in self.entries.items()
        }
        self._ancestors: dict[URIRef, list[URIRef]] = {}

    def lookup(self, name: str) -> Entry | None:
        """Exact (folded) or transliteration-tolerant match."""
        iri = self._by_fold.get(fold(name)) or self._by_loose.get(loose_fold(name))
        return self.entries[iri] if iri else None

    def fuzzy(self, name: str, cutoff: float = 0.88) -> Entry | None:
        """Closest name above ``cutoff`` similarity, for source typos ("Conico" for "Conoco")."""
        key = loose_fold(name)
        if len(key) < 5:
            return None
        close = difflib.get_close_matches(key, self._loose_keys, n=2, cutoff=cutoff)
        if not close:
            return None
        if len(close) == 2 and self._by_loose[close[0]] != self._by_loose[close[1]]:
            ratio = [difflib.SequenceMatcher(None, key, c).ratio() for c in close]
            if abs(ratio[0] - ratio[1]) < 0.03:
                return None  # two distinct entities equally close: refuse to guess
        return self.entries[self._by_loose[close[0]]]

    def ancestors(self, iri: URIRef) -> list[URIRef]:
        """Every place or facility that contains ``iri`` (part-of/located-in closure), memoised."""
        if iri not in self._ancestors:
            seen: list[URIRef] = []
            stack = list(self.entries[iri].parents) if iri in self.entries else []
            while stack:
                parent = stack.pop(0)
                if parent in seen:
                    continue
                seen.append(parent)
                if parent in self.entries:
                    stack.extend(self.entries[parent].parents)
            self._ancestors[iri] = seen
        return self._ancestors[iri]

    def has_geometry(self, iri: URIRef) -> bool:
        return (iri, GEO.hasGeometry, None) in self.graph


@cache
def load_index() -> GazetteerIndex:
    """The gazetteer index, built once per process."""
    return GazetteerIndex(gazetteer())
