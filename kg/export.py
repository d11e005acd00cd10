"""The events and entities tables, and RDF serialisations, produced from a built graph.

The tables are the project's public contract (``EXPORT_FORMAT.md``): the scorer
and analysts' notebooks read them. Every value comes from SPARQL over the
graph, through the stored queries ``events.rq`` and ``entities.rq``, which
return one row per (item, field, value); this module only pivots those rows
into one object per event or entity and applies the contract's conventions
(preferred English label, list or scalar, sort orders). Two facts the tables
need live in the ontology rather than in a built graph: the export codes of
attack kinds and statuses (``skos:notation``) and the export types of classes
(``kg:exportType`` with the ``rdfs:subClassOf`` tree). They are joined in by
querying ``kg.queries.with_vocabulary(data)``, a copy of the data plus those
ontology statements, so the stored queries can read them with plain SPARQL
and the graph file itself stays instance data only.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node

from kg import queries, store
from kg.endpoint import SparqlEndpoint, run_query
from kg.errors import InputError, choice
from kg.kb import KnowledgeBase

__all__ = [
    "ENTITY_COLUMNS",
    "EVENT_COLUMNS",
    "TableFormat",
    "entities_table",
    "events_table",
    "serialize",
    "table_text",
    "write_table",
]

EVENT_COLUMNS = (
    "id",
    "kind",
    "status",
    "date",
    "targets",
    "location",
    "launch_site",
    "projectiles",
    "killed",
    "injured",
    "intercepted",
    "perpetrators",
    "claimed_by",
    "attributed_to",
    "sources",
    "evidence",
)
ENTITY_COLUMNS = ("id", "type", "label", "aliases", "sources")
CSV_LIST_SEPARATOR = " | "
_COUNT_FIELDS = ("projectiles", "killed", "injured")
_ACTOR_LIST_FIELDS = ("targets", "perpetrators", "claimed_by", "attributed_to")


class TableFormat(StrEnum):
    """File formats of the events and entities tables."""

    JSON = "json"
    CSV = "csv"


# ---------------------------------------------------------------- events


def _run(data: Graph | KnowledgeBase | SparqlEndpoint, name: str) -> queries.QueryResult:
    """A stored query over a graph (rdflib, with the ontology vocabulary), a knowledge base or a server.

    A knowledge base, and the ``kg serve`` holding one, keep the vocabulary in their own graph.
    """
    query = queries.load_query(name)
    if isinstance(data, KnowledgeBase):
        return queries.run_on_store(data, query)
    if isinstance(data, SparqlEndpoint):
        return run_query(data, query)
    return queries.run(data, query)


def events_table(data: Graph | KnowledgeBase | SparqlEndpoint) -> list[dict[str, object]]:
    """One dict per attack, shaped as ``EXPORT_FORMAT.md`` describes, from ``queries/events.rq``.

    Lists are sorted; a place or actor is named by its English label (any
    label when it has none); ``location`` is a label, a list of labels when
    there are several, or None; ``launch_site`` the first label in sort
    order; evidence sentences are in article and text order. Events are
    sorted by date (undated last), then IRI.

    Raises:
        InputError: an attack kind or status has no ``skos:notation``.
    """
    result = _run(data, "events")  # joined with the ontology codes
    fields: dict[str, dict[str, list[dict[str, Node | None]]]] = defaultdict(lambda: defaultdict(list))
    for row in result.rows:
        fields[str(row["event"])][str(row["field"])].append(row)
    table = [_event_row(event, by_field) for event, by_field in fields.items()]
    return sorted(table, key=lambda event: (event["date"] is None, event["date"] or "", event["id"]))


def _event_row(event: str, by_field: dict[str, list[dict[str, Node | None]]]) -> dict[str, object]:
    labels = {
        name: _labels_by_node(by_field.get(name, []))
        for name in (*_ACTOR_LIST_FIELDS, "location", "launch_site")
    }
    locations = sorted({_pick_label(node, names) for node, names in labels["location"].items()})
    launch_sites = sorted({_pick_label(node, names) for node, names in labels["launch_site"].items()})
    row: dict[str, object] = {
        "id": event,
        "kind": sorted({_code(event, r) for r in by_field.get("kind", [])}),
        "status": min((_code(event, r) for r in by_field.get("status", [])), default=None),
        "date": _most_precise_date(r["value"] for r in by_field.get("date", [])),
        "targets": _label_list(labels["targets"]),
        "location": None if not locations else locations[0] if len(locations) == 1 else locations,
        "launch_site": launch_sites[0] if launch_sites else None,
    }
    for name in _COUNT_FIELDS:
        counts = [_to_int(r["value"]) for r in by_field.get(name, [])]
        row[name] = max((c for c in counts if c is not None), default=None)
    flags = [_to_bool(r["value"]) for r in by_field.get("intercepted", [])]
    row["intercepted"] = True if True in flags else False if False in flags else None
    for name in ("perpetrators", "claimed_by", "attributed_to"):
        row[name] = _label_list(labels[name])
    row["sources"] = sorted({str(r["value"]) for r in by_field.get("sources", [])})
    row["evidence"] = _evidence(by_field.get("evidence", []))
    return {column: row[column] for column in EVENT_COLUMNS}


def _code(event: str, row: dict[str, Node | None]) -> str:
    if row["value"] is None:
        raise InputError(
            f"event {event}: {row['node']} has no skos:notation; the ontology must give every attack "
            "kind and status an export code"
        )
    return str(row["value"])


def _most_precise_date(values: Iterable[Node | None]) -> str | None:
    dates = sorted({str(value) for value in values if value is not None}, key=lambda d: (-len(d), d))
    return dates[0] if dates else None


def _to_int(value: Node | None) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _to_bool(value: Node | None) -> bool | None:
    text = str(value).strip().lower() if value is not None else ""
    return True if text in ("true", "1") else False if text in ("false", "0") else None


def _evidence(rows: list[dict[str, Node | None]]) -> list[str]:
    ordered = sorted(
        rows,
        key=lambda r: (str(r["file"] or ""), _to_int(r["offset"]) or 0, str(r["value"])),
    )
    texts: list[str] = []
    for row in ordered:
        text = str(row["value"])
        if text not in texts:
            texts.append(text)
    return texts


# ---------------------------------------------------------------- entities


def entities_table(data: Graph | KnowledgeBase | SparqlEndpoint) -> list[dict[str, object]]:
    """One dict per actor or place, shaped as ``EXPORT_FORMAT.md`` describes, from ``queries/entities.rq``.

    ``type`` is the export type of the entity's most specific classes (a
    country that also acts, typed ``kg:Country`` and ``kg:State``, is
    ``Country``); ``label`` the English label (else any label); ``aliases``
    every other label, alternative label and surface form, without case-only
    duplicates, sorted; ``sources`` the files of the articles that mention it
    (empty for gazetteer places only pulled in as ancestors). Entities are
    sorted by type, then label, then IRI.
    """
    result = _run(data, "entities")  # joined with the class tree
    fields: dict[str, dict[str, list[Node]]] = defaultdict(lambda: defaultdict(list))
    for row in result.rows:
        value = row["value"]
        if value is not None:
            fields[str(row["entity"])][str(row["field"])].append(value)
    table = [_entity_row(entity, by_field) for entity, by_field in fields.items() if by_field.get("type")]
    return sorted(table, key=lambda entity: (entity["type"], str(entity["label"]).casefold(), entity["id"]))


def _entity_row(entity: str, by_field: dict[str, list[Node]]) -> dict[str, object]:
    labels = by_field.get("label", [])
    label = _pick_label(URIRef(entity), labels)
    others = [str(value) for value in (*labels, *by_field.get("alias", []))]
    return {
        "id": entity,
        "type": sorted(str(value) for value in by_field["type"])[0],
        "label": label,
        "aliases": _aliases(label, others),
        "sources": sorted({str(value) for value in by_field.get("sources", [])}),
    }


def _aliases(label: str, names: Iterable[str]) -> list[str]:
    """Names other than the label, one per case-insensitive spelling, sorted."""
    seen = {label.casefold()}
    aliases: list[str] = []
    for name in sorted({" ".join(name.split()) for name in names}, key=lambda n: (n.casefold(), n)):
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            aliases.append(name)
    return aliases


# ---------------------------------------------------------------- labels


def _labels_by_node(rows: list[dict[str, Node | None]]) -> dict[Node, list[Node]]:
    by_node: dict[Node, list[Node]] = defaultdict(list)
    for row in rows:
        node = row["node"]
        if node is None:
            continue
        names = by_node.setdefault(node, [])  # a node without any label still counts
        if row["value"] is not None:
            names.append(row["value"])
    return by_node


def _pick_label(node: Node, labels: Sequence[Node]) -> str:
    """The English label, else a label without language, else any label, else the IRI's last segment."""
    english = sorted(
        str(v) for v in labels if isinstance(v, Literal) and (v.language or "").lower().startswith("en")
    )
    if english:
        return english[0]
    ranked = sorted(labels, key=lambda v: (bool(getattr(v, "language", None)), str(v)))
    if ranked:
        return str(ranked[0])
    return str(node).rstrip("/").rsplit("/", 1)[-1]


def _label_list(labels: dict[Node, list[Node]]) -> list[str]:
    return sorted({_pick_label(node, names) for node, names in labels.items()})


# ---------------------------------------------------------------- output


def table_text(
    rows: Sequence[dict[str, object]], fmt: str | TableFormat, columns: Sequence[str] | None = None
) -> str:
    """Render table rows as JSON (an array, ``indent=1``, UTF-8 kept) or CSV (lists joined by ``" | "``).

    Args:
        rows: dicts as returned by ``events_table`` or ``entities_table``.
        fmt: ``json`` or ``csv``.
        columns: CSV column order; defaults to the keys of the first row.

    Raises:
        UsageError: unknown format.
    """
    table_format = _table_format(fmt)
    if table_format is TableFormat.JSON:
        return json.dumps(list(rows), indent=1, ensure_ascii=False) + "\n"
    header = list(columns) if columns is not None else list(rows[0]) if rows else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in header])
    return buffer.getvalue()


def write_table(
    rows: Sequence[dict[str, object]],
    path: Path | None,
    fmt: str | TableFormat,
    columns: Sequence[str] | None = None,
) -> None:
    """Write table rows to a file atomically, or to stdout when ``path`` is None.

    The file is replaced through ``kg.store.write_text_atomic``.

    Raises:
        UsageError: unknown format.
        InputError: the file cannot be written.
    """
    text = table_text(rows, fmt, columns)
    if path is None:
        sys.stdout.write(text)
    else:
        store.write_text_atomic(Path(path), text)


def serialize(data: Graph, fmt: str) -> str:
    """The graph as ``turtle``, ``nt``, ``jsonld`` or ``trig`` text, deterministic.

    See ``kg.store.serialize``, which this reuses.
    """
    return store.serialize(data, fmt)


def _table_format(fmt: str | TableFormat) -> TableFormat:
    return choice(TableFormat, fmt, "table format")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return CSV_LIST_SEPARATOR.join(str(item) for item in value)
    return str(value)
