"""Plain records passed between extraction, merging and triple writing.

Extraction works on linguistic objects (spaCy spans), merging on
real-world identities, triple writing on RDF terms. These dataclasses are
the hand-off between them: small, typed, and free of spaCy and rdflib, so
merge rules can be tested without a model and triples written without text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.articles import Article
from kg.extractors.dates import ResolvedDate


@dataclass(frozen=True)
class Sentence:
    """A sentence of the article (character offsets in the normalised text)."""

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class EntityMention:
    """A span of text that names an entity."""

    key: str  # entity slug: one per real-world entity
    start: int
    end: int
    text: str
    sentence: int


@dataclass
class EntityRecord:
    """What one article says about one entity."""

    key: str
    kind: str  # kg class local name, e.g. "MilitaryBase"
    label: str
    in_gazetteer: bool
    aliases: set[str] = field(default_factory=set)
    role: str | None = None
    parent: str | None = (
        None  # key of the place a new entity was said to be in ("le quartier de Dora à Bagdad")
    )


@dataclass(frozen=True)
class Attribution:
    """Blame: ``accuser`` (if the text names one) holds ``accused`` responsible."""

    accused: str
    accuser: str | None
    sentence: int


@dataclass
class Incident:
    """One concrete attack as reported by one article."""

    kinds: set[str] = field(default_factory=set)
    status: str = "carried_out"
    date: ResolvedDate | None = None
    targets: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    launch_sites: list[str] = field(default_factory=list)
    projectiles: int | None = None
    killed: int | None = None
    injured: int | None = None
    intercepted: bool | None = None
    perpetrators: list[str] = field(default_factory=list)
    claimed_by: list[str] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    sentences: list[int] = field(default_factory=list)
    is_main: bool = False
    weekday: int | None = None  # weekday named by the text, to tell incidents apart when no date resolves
    date_is_default: bool = False  # the date is the article's, not one the text gives for this incident

    @property
    def places(self) -> list[str]:
        return [*self.targets, *self.locations]


@dataclass
class ArticleExtraction:
    """Everything extracted from one article, before cross-article merging."""

    article: Article
    sentences: list[Sentence]
    mentions: list[EntityMention]
    entities: dict[str, EntityRecord]
    incidents: list[Incident]


@dataclass
class Event:
    """One real-world incident after merging; ``reports`` keeps each article's own account."""

    key: str
    reports: list[tuple[ArticleExtraction, Incident]]
