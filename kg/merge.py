"""Cross-article resolution: one entity per real-world entity, one event per incident.

Each article is extracted on its own; the same base, group or attack then
appears in several ``ArticleExtraction`` records. Entities already share
keys (gazetteer slugs, or slugs of new names), so merging them is a union
of what each article says. Incidents are merged only on positive evidence:
overlapping kinds, compatible known dates, and a shared target (or a shared
location on the same day). Articles are processed in a sorted order so the
result, and every event key, is the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kg.extractors import dates as dates_mod
from kg.records import ArticleExtraction, EntityRecord, Event, Incident


@dataclass
class MergedGraphInput:
    """What triple writing needs: every article's extraction, merged entities and events."""

    extractions: list[ArticleExtraction]
    entities: dict[str, EntityRecord]
    events: list[Event]


def merge_entities(extractions: Iterable[ArticleExtraction]) -> dict[str, EntityRecord]:
    merged: dict[str, EntityRecord] = {}
    for extraction in extractions:
        for key, record in extraction.entities.items():
            if key not in merged:
                merged[key] = EntityRecord(
                    key,
                    record.kind,
                    record.label,
                    record.in_gazetteer,
                    set(record.aliases),
                    record.role,
                    record.parent,
                )
            else:
                target = merged[key]
                target.aliases |= record.aliases
                target.role = target.role or record.role
                target.parent = target.parent or record.parent
    return dict(sorted(merged.items()))


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


def event_key(extraction: ArticleExtraction, incident: Incident) -> str:
    """Stable key of the first report of an event: its article and its place among that article's incidents.

    (A sentence index alone is not enough: one sentence can report two incidents.)
    """
    position = next(i for i, other in enumerate(extraction.incidents) if other is incident)
    return f"{extraction.article.id}#{position}"


def merge_events(extractions: Iterable[ArticleExtraction]) -> list[Event]:
    events: list[Event] = []
    for extraction in sorted(extractions, key=lambda x: x.article.id):
        for incident in extraction.incidents:
            match = next(
                (
                    event
                    for event in events
                    if all(x.article.id != extraction.article.id for x, _ in event.reports)
                    and any(same_incident(incident, other) for _, other in event.reports)
                ),
                None,
            )
            if match is None:
                events.append(Event(event_key(extraction, incident), [(extraction, incident)]))
            else:
                match.reports.append((extraction, incident))
    return events


def merge(extractions: list[ArticleExtraction]) -> MergedGraphInput:
    """Resolve entities and events across all articles of a build."""
    ordered = sorted(extractions, key=lambda x: x.article.id)
    return MergedGraphInput(ordered, merge_entities(ordered), merge_events(ordered))
