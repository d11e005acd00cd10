"""Cross-article resolution: one entity per real-world entity, one event per incident.

Each article is extracted on its own; the same base, group or attack then
appears in several ``ArticleExtraction`` records. Entities already share
keys (gazetteer slugs, or slugs of new names), so merging them is a union
of what each article says (each field's smallest value, whatever the order).
Incidents are merged only on positive evidence:
overlapping kinds, compatible known dates, and a shared target (or a shared
location on the same day). Articles are processed in a sorted order so the
result, and every event key, is the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kg.extractors import dates as dates_mod
from kg.records import ArticleExtraction, EntityRecord, Event, Incident, IncidentRef


@dataclass
class MergedGraphInput:
    """What triple writing needs: every article's extraction, merged entities and events."""

    extractions: list[ArticleExtraction]
    entities: dict[str, EntityRecord]
    events: list[Event]


def merge_entities(extractions: Iterable[ArticleExtraction]) -> dict[str, EntityRecord]:
    """One record per entity key.

    Each field is the smallest value any article gives (not the first article's), so the result does not
    depend on the order articles arrive in: a knowledge base that grows one article at a time describes
    every entity exactly as a build of all its articles at once would.
    """
    merged: dict[str, EntityRecord] = {}
    for extraction in extractions:
        for key, record in extraction.entities.items():
            merged[key] = merge_entity(merged.get(key), record)
    return dict(sorted(merged.items()))


def merge_entity(known: EntityRecord | None, record: EntityRecord) -> EntityRecord:
    """What ``known`` (already merged) and one more article's ``record`` of the same entity say together."""
    if known is None:
        return EntityRecord(
            record.key,
            record.kind,
            record.label,
            record.in_gazetteer,
            set(record.aliases),
            record.role,
            record.parent,
        )
    return EntityRecord(
        known.key,
        min(known.kind, record.kind),
        min(known.label, record.label),
        known.in_gazetteer or record.in_gazetteer,
        known.aliases | record.aliases,
        _smallest(known.role, record.role),
        _smallest(known.parent, record.parent),
    )


def _smallest(a: str | None, b: str | None) -> str | None:
    return min(a, b) if a is not None and b is not None else a or b


def same_incident(a: Incident, b: Incident) -> bool:
    """Two reports from different articles describe the same incident."""
    if a.kinds and b.kinds and not (a.kinds & b.kinds) and "unknown" not in a.kinds | b.kinds:
        return False
    if a.status != b.status:
        return False
    if a.date is None or b.date is None or not dates_mod.compatible(a.date, b.date):
        return False
    if "year" in (a.date.precision, b.date.precision):
        return False  # a year is too coarse to tell two attacks on the same base apart
    if set(a.targets) & set(b.targets):
        return True
    same_day = a.date.precision == b.date.precision == "day" and a.date.iso == b.date.iso
    return same_day and bool(set(a.locations) & set(b.locations))


def merge_bucket(incident: Incident) -> str | None:
    """The month an incident can merge within, or None when it can merge with nothing.

    ``same_incident`` needs compatible dates finer than a year, so two incidents that merge always share
    their year and month: merging is done month by month, and adding an article touches only its months.
    """
    if incident.date is None or incident.date.precision == "year":
        return None
    return incident.date.iso[:7]


def incident_refs(extraction: ArticleExtraction) -> list[IncidentRef]:
    return [
        IncidentRef(extraction.article.id, i, incident) for i, incident in enumerate(extraction.incidents)
    ]


def merge_incidents(refs: Iterable[IncidentRef]) -> list[Event]:
    """Group incident reports into events.

    Reports are taken in (article, position) order; each joins the first event (in creation order) that has
    no report from its article and has a report of the same incident, else starts an event keyed by itself.
    Which event a report joins depends only on the reports connected to it by ``same_incident``, which all
    lie in its month: that is what lets a knowledge base re-merge one month's worth of reports for a new
    article and get the events a full build would.
    """
    events: list[Event] = []
    open_events: dict[str, list[Event]] = {}
    for ref in sorted(refs, key=lambda r: (r.article_id, r.position)):
        bucket = merge_bucket(ref.incident)
        candidates = open_events.setdefault(bucket, []) if bucket is not None else []
        match = next(
            (
                event
                for event in candidates
                if all(other.article_id != ref.article_id for other in event.reports)
                and any(same_incident(ref.incident, other.incident) for other in event.reports)
            ),
            None,
        )
        if match is None:
            event = Event(ref.key, [ref])
            events.append(event)
            if bucket is not None:
                candidates.append(event)
        else:
            match.reports.append(ref)
    return events


def merge_events(extractions: Iterable[ArticleExtraction]) -> list[Event]:
    return merge_incidents(ref for extraction in extractions for ref in incident_refs(extraction))


def merge(extractions: list[ArticleExtraction]) -> MergedGraphInput:
    """Resolve entities and events across all articles of a build."""
    ordered = sorted(extractions, key=lambda x: x.article.id)
    return MergedGraphInput(ordered, merge_entities(ordered), merge_events(ordered))
