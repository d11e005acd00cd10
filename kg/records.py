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


@dataclass(frozen=True)
class ExtractionFailure:
    """An article the extractors failed on: reported and skipped, so one odd article cannot stop a build."""

    article_id: str
    reason: str


@dataclass(frozen=True)
class IncidentRef:
    """An incident and where it was reported: its article and its place among that article's incidents.

    Merging needs only these (not the article's sentences and mentions), so a knowledge base of thousands
    of articles can be merged without holding every extraction in memory.
    """

    article_id: str
    position: int
    incident: Incident = field(compare=False, hash=False)

    @property
    def key(self) -> str:
        return f"{self.article_id}#{self.position}"


@dataclass
class Event:
    """One real-world incident after merging; ``reports`` keeps each article's own account."""

    key: str
    reports: list[IncidentRef]


# ---------------------------------------------------------------- JSON form (kept by the knowledge base)


def _date_to_json(value: ResolvedDate | None) -> list[str] | None:
    return [value.iso, value.precision] if value is not None else None


def _date_from_json(value: list[str] | None) -> ResolvedDate | None:
    return ResolvedDate(value[0], value[1]) if value else None


def extraction_to_json(extraction: ArticleExtraction) -> dict:
    """A JSON-ready dict of everything extracted from one article, so it can be merged again without NLP."""
    article = extraction.article
    return {
        "article": {
            "id": article.id,
            "path": str(article.path),
            "text": article.text,
            "published": article.published,
            "language": article.language,
            "title": article.title,
            "url": article.url,
            "content_hash": article.content_hash,
        },
        "sentences": [[s.index, s.start, s.end, s.text] for s in extraction.sentences],
        "mentions": [[m.key, m.start, m.end, m.text, m.sentence] for m in extraction.mentions],
        "entities": {
            key: {
                "kind": r.kind,
                "label": r.label,
                "in_gazetteer": r.in_gazetteer,
                "aliases": sorted(r.aliases),
                "role": r.role,
                "parent": r.parent,
            }
            for key, r in extraction.entities.items()
        },
        "incidents": [
            {
                "kinds": sorted(i.kinds),
                "status": i.status,
                "date": _date_to_json(i.date),
                "targets": i.targets,
                "locations": i.locations,
                "launch_sites": i.launch_sites,
                "projectiles": i.projectiles,
                "killed": i.killed,
                "injured": i.injured,
                "intercepted": i.intercepted,
                "perpetrators": i.perpetrators,
                "claimed_by": i.claimed_by,
                "attributions": [[a.accused, a.accuser, a.sentence] for a in i.attributions],
                "sentences": i.sentences,
                "is_main": i.is_main,
                "weekday": i.weekday,
                "date_is_default": i.date_is_default,
            }
            for i in extraction.incidents
        ],
    }


def extraction_from_json(data: dict) -> ArticleExtraction:
    """The inverse of ``extraction_to_json``."""
    from pathlib import Path

    a = data["article"]
    article = Article(
        id=a["id"],
        path=Path(a["path"]),
        text=a["text"],
        published=a["published"],
        language=a["language"],
        title=a["title"],
        url=a["url"],
    )
    incidents = []
    for i in data["incidents"]:
        fields = dict(i)
        fields["kinds"] = set(fields["kinds"])
        fields["date"] = _date_from_json(fields["date"])
        fields["attributions"] = [Attribution(*a) for a in fields["attributions"]]
        incidents.append(Incident(**fields))
    return ArticleExtraction(
        article=article,
        sentences=[Sentence(*s) for s in data["sentences"]],
        mentions=[EntityMention(*m) for m in data["mentions"]],
        entities={
            key: EntityRecord(
                key, e["kind"], e["label"], e["in_gazetteer"], set(e["aliases"]), e["role"], e["parent"]
            )
            for key, e in data["entities"].items()
        },
        incidents=incidents,
    )
