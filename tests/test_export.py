"""Tests for kg.export: the events/entities tables of EXPORT_FORMAT.md, table files, serialisations.

The expected tables of the fixture graph are golden files next to it
(``tests/fixtures/graphs/mini.events.json`` and ``mini.entities.json``);
run with ``KG_UPDATE_GOLDEN=1`` to rewrite them after a deliberate change,
then review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.compare import isomorphic

from kg import export, store
from kg.errors import InputError, UsageError
from kg.ns import KG, KGR, entity_iri

# rdflib 7 warns about its own internal use of deprecated names while parsing and serialising
pytestmark = pytest.mark.filterwarnings(
    r"ignore:(ConjunctiveGraph|Dataset\.\w+) is deprecated:DeprecationWarning"
)

GRAPHS = Path(__file__).parent / "fixtures" / "graphs"
MINI_TRIG = GRAPHS / "mini.trig"
MINI_TTL = GRAPHS / "mini.ttl"
E1 = str(KGR["event/8856a72389db2f04"])
E6 = KGR["event/238dda249d191e59"]
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
EVENT_KEYS = [
    "id", "kind", "status", "date", "targets", "location", "launch_site", "projectiles", "killed",
    "injured", "intercepted", "perpetrators", "claimed_by", "attributed_to", "sources", "evidence",
]  # fmt: skip
ENTITY_TYPES = {
    "ArmedGroup",
    "Person",
    "MilitaryBase",
    "DiplomaticFacility",
    "Place",
    "Country",
    "Organization",
}


@pytest.fixture(scope="module")
def events(mini: Dataset) -> list[dict[str, object]]:
    return export.events_table(mini)


@pytest.fixture(scope="module")
def entities(mini: Dataset) -> list[dict[str, object]]:
    return export.entities_table(mini)


def by_id(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(row["id"]): row for row in rows}


def check_golden(rows: list[dict[str, object]], name: str) -> None:
    path = GRAPHS / name
    if os.environ.get("KG_UPDATE_GOLDEN"):
        export.write_table(rows, path, "json")
        pytest.skip(f"rewrote {path}")
    assert rows == json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- events


def test_export_events_match_the_golden_table(events: list[dict[str, object]]) -> None:
    check_golden(events, "mini.events.json")


def test_export_events_have_exactly_the_contract_keys(events: list[dict[str, object]]) -> None:
    assert len(events) == 6
    assert all(list(event) == EVENT_KEYS for event in events)
    assert tuple(EVENT_KEYS) == export.EVENT_COLUMNS


def test_export_events_merge_two_sources_of_one_attack(events: list[dict[str, object]]) -> None:
    assert by_id(events)[E1] == {
        "id": E1,
        "kind": ["rocket"],
        "status": "carried_out",
        "date": "2022-01-13",
        "targets": ["US Embassy Baghdad"],
        "location": "Green Zone",
        "launch_site": "Dora",
        "projectiles": 4,
        "killed": None,
        "injured": 2,
        "intercepted": True,
        "perpetrators": [],
        "claimed_by": [],
        "attributed_to": ["Iran-backed militias"],
        "sources": ["100_5a1f0c2e9b7d4e31.txt", "101_c3d8e6f41a2b9077.txt"],
        "evidence": [
            "Quatre roquettes ont visé jeudi soir l'ambassade des États-Unis dans la zone verte de Bagdad, "
            "a déclaré l'armée irakienne.",
            "Deux civils ont été blessés et le système C-RAM de l'ambassade a intercepté "
            "une partie des projectiles.",
            "Les roquettes ont été lancées depuis le quartier de Dora, selon l'armée irakienne.",
            "Three rockets struck the US Embassy in Baghdad's Green Zone on Thursday, "
            "injuring two civilians.",
            "The rockets were fired from the Dora district, the Iraqi military said.",
        ],
    }


def test_export_events_keep_claims_blame_and_perpetrators_apart(events: list[dict[str, object]]) -> None:
    table = by_id(events)
    drone = table[str(KGR["event/30f8a83e13f7ed77"])]
    assert (drone["claimed_by"], drone["attributed_to"], drone["perpetrators"]) == (
        ["Islamic Resistance in Iraq"],
        ["Kataib Hezbollah"],
        [],
    )
    strike = table[str(E6)]
    assert (strike["perpetrators"], strike["targets"], strike["kind"]) == (
        ["United States"],
        ["Kataib Hezbollah"],
        ["airstrike"],
    )


def test_export_events_statuses_dates_and_unknowns(events: list[dict[str, object]]) -> None:
    assert [event["date"] for event in events] == [
        "2019",
        "2020-03",
        "2020-03",
        "2022-01",
        "2022-01-13",
        "2023-10-19",
    ]
    foiled = [event for event in events if event["status"] == "foiled"]
    assert [event["targets"] for event in foiled] == [["Camp Taji"]]
    assert foiled[0]["location"] == "Umm al-Azam"  # a label without language tag
    unattributed = by_id(events)[str(KGR["event/a6fef69c406505eb"])]
    assert (unattributed["location"], unattributed["killed"], unattributed["injured"]) == (None, None, 5)


def test_export_events_from_turtle_equal_events_from_trig(events: list[dict[str, object]]) -> None:
    assert export.events_table(store.load(MINI_TTL)) == events


def test_export_events_read_blame_from_attribution_nodes(fresh: Dataset) -> None:
    fresh.remove((None, KG.attributedTo, None, None))
    table = by_id(export.events_table(fresh))
    assert table[E1]["attributed_to"] == ["Iran-backed militias"]


def test_export_events_list_several_locations_and_order_undated_last(fresh: Dataset) -> None:
    fresh.graph(KGR["graph/events"]).add((E6, KG.location, entity_iri("anbar")))
    fresh.remove((E6, KG.date, None, None))
    rows = export.events_table(fresh)
    assert rows[-1]["id"] == str(E6)
    assert rows[-1]["date"] is None
    assert rows[-1]["location"] == ["Al-Qaim", "Anbar"]


def test_export_events_refuse_a_kind_without_export_code(fresh: Dataset) -> None:
    mortar = URIRef("https://kg.example.org/ontology#Mortar")  # not in the ontology
    fresh.graph(KGR["graph/events"]).add((E6, KG.attackKind, mortar))
    with pytest.raises(InputError, match="Mortar has no skos:notation"):
        export.events_table(fresh)


def test_export_does_not_modify_the_graph(fresh: Dataset) -> None:
    size = len(fresh)
    export.events_table(fresh)
    export.entities_table(fresh)
    assert len(fresh) == size


# ---------------------------------------------------------------- entities


def test_export_entities_match_the_golden_table(entities: list[dict[str, object]]) -> None:
    check_golden(entities, "mini.entities.json")


def test_export_entities_have_contract_keys_and_types(entities: list[dict[str, object]]) -> None:
    assert len(entities) == 20
    assert all(list(entity) == ["id", "type", "label", "aliases", "sources"] for entity in entities)
    assert {entity["type"] for entity in entities} == ENTITY_TYPES
    assert [(entity["type"], str(entity["label"]).casefold()) for entity in entities] == sorted(
        (entity["type"], str(entity["label"]).casefold()) for entity in entities
    )


def test_export_entities_country_that_acts_is_a_country(entities: list[dict[str, object]]) -> None:
    united_states = by_id(entities)[str(entity_iri("united-states"))]
    assert united_states == {
        "id": str(entity_iri("united-states")),
        "type": "Country",
        "label": "United States",
        "aliases": ["USA", "Washington", "États-Unis"],
        "sources": ["100_5a1f0c2e9b7d4e31.txt", "102_7e4b2d90f6a1c385.txt"],
    }


def test_export_entities_aliases_merge_labels_alt_labels_and_surface_forms(
    entities: list[dict[str, object]],
) -> None:
    green_zone = by_id(entities)[str(entity_iri("green-zone"))]
    # "zone verte" (surface form) and "Zone verte" (French label) are one alias
    assert green_zone["aliases"] == ["International Zone", "Zone verte"]
    embassy = by_id(entities)[str(entity_iri("us-embassy-baghdad"))]
    assert "US Embassy" in embassy["aliases"]  # surface form from the English article
    assert embassy["label"] not in embassy["aliases"]


def test_export_entities_gazetteer_ancestors_have_no_sources(entities: list[dict[str, object]]) -> None:
    no_sources = {entity["label"] for entity in entities if entity["sources"] == []}
    assert no_sources == {"Anbar", "Baghdad Governorate", "Popular Mobilization Forces", "Taji"}


def test_export_entities_type_is_that_of_the_most_specific_class(fresh: Dataset) -> None:
    gazetteer = fresh.graph(KGR["graph/gazetteer"])
    gazetteer.add((entity_iri("camp-taji"), RDF_TYPE, KG.Facility))  # as after OWL RL reasoning
    gazetteer.add((entity_iri("camp-taji"), RDF_TYPE, KG.Place))
    table = by_id(export.entities_table(fresh))
    assert table[str(entity_iri("camp-taji"))]["type"] == "MilitaryBase"


def test_export_entities_use_the_only_label_when_none_is_english(fresh: Dataset) -> None:
    taji = entity_iri("taji")
    fresh.remove((taji, None, None, None))
    gazetteer = fresh.graph(KGR["graph/gazetteer"])
    gazetteer.add((taji, RDF_TYPE, KG.City))
    gazetteer.add((taji, URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("Tadji", lang="fr")))
    assert by_id(export.entities_table(fresh))[str(taji)]["label"] == "Tadji"


# ---------------------------------------------------------------- files


def test_export_write_table_json_is_atomic_and_readable(
    events: list[dict[str, object]], tmp_path: Path
) -> None:
    path = tmp_path / "out" / "events.json"
    export.write_table(events, path, "json")
    text = path.read_text(encoding="utf-8")
    assert "États-Unis" in text  # ensure_ascii=False
    assert text.startswith('[\n {\n  "id"')  # indent=1
    assert json.loads(text) == events
    assert [p.name for p in path.parent.iterdir()] == ["events.json"]


def test_export_write_table_csv_joins_lists(events: list[dict[str, object]], tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    export.write_table(events, path, "csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert list(rows[0]) == EVENT_KEYS
    row = next(r for r in rows if r["id"] == E1)
    assert row["sources"] == "100_5a1f0c2e9b7d4e31.txt | 101_c3d8e6f41a2b9077.txt"
    assert (row["intercepted"], row["killed"], row["projectiles"]) == ("true", "", "4")


def test_export_write_table_to_stdout(
    entities: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    export.write_table(entities, None, "csv", columns=export.ENTITY_COLUMNS)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "id,type,label,aliases,sources"
    assert len(out.splitlines()) == 21


def test_export_empty_csv_still_has_a_header() -> None:
    assert export.table_text([], "csv", columns=export.ENTITY_COLUMNS) == "id,type,label,aliases,sources\n"
    assert export.table_text([], "json") == "[]\n"


def test_export_unknown_table_format_lists_choices(events: list[dict[str, object]]) -> None:
    with pytest.raises(UsageError, match="json, csv"):
        export.table_text(events, "xlsx")


@pytest.mark.parametrize(
    ("fmt", "parse_as"), [("turtle", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("trig", "trig")]
)
def test_export_serialize_round_trips(mini: Dataset, fmt: str, parse_as: str) -> None:
    text = export.serialize(mini, fmt)
    parsed = Dataset(default_union=True)
    parsed.parse(data=text, format=parse_as)
    assert isomorphic(store.union(parsed), store.union(mini))
