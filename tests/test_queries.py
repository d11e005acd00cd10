"""Tests for kg.queries and the stored queries in queries/*.rq, run on the hand-made fixture graph."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import (
    BNode,
    Dataset,
    Graph,
    Literal,
    URIRef,
    namespace,
)  # namespace.XSD qualified: pytest probes globals

from kg import queries, resources
from kg.errors import QueryError, UsageError
from kg.ns import KG, KGR, entity_iri

# rdflib 7 warns about its own internal use of deprecated names while parsing and serialising
pytestmark = pytest.mark.filterwarnings(
    r"ignore:(ConjunctiveGraph|Dataset\.\w+) is deprecated:DeprecationWarning"
)

MINI_TRIG = Path(__file__).parent / "fixtures" / "graphs" / "mini.trig"
STORED_NAMES = sorted(path.stem for path in resources.queries_dir().glob("*.rq"))
VIOLATION_NAMES = [name for name in STORED_NAMES if name.endswith("-violation")]
SAMPLE_PARAMS = {"entity-facts": {"entity": "camp-taji"}, "attacks-in-place": {"place": "baghdad"}}

E1 = KGR["event/8856a72389db2f04"]  # US embassy, 4 vs 3 rockets
E2 = KGR["event/30f8a83e13f7ed77"]  # Ain al-Asad drones
E3 = KGR["event/df246a500bf79488"]  # foiled, Camp Taji
E4 = KGR["event/650bcaa8ae1f0e8e"]  # Camp Taji, 3 killed
E5 = KGR["event/a6fef69c406505eb"]  # Camp Taji, unattributed
E6 = KGR["event/238dda249d191e59"]  # US airstrike at Al-Qaim
INJECTION = 'x" } ; DROP ALL ; #'


def run(data: Dataset, name: str, **params: str) -> list[dict[str, object]]:
    result = queries.run(data, queries.load_query(name), params)
    return [{key: value for key, value in row.items()} for row in result.rows]


def column(rows: list[dict[str, object]], name: str) -> list[object]:
    return [row[name] for row in rows]


# ---------------------------------------------------------------- every stored query


def test_queries_collects_the_stored_queries() -> None:
    stored = queries.list_queries()
    assert [query.name for query in stored] == STORED_NAMES
    assert len(stored) >= 12
    assert len(VIOLATION_NAMES) >= 1


@pytest.mark.parametrize("name", STORED_NAMES)
def test_queries_every_stored_query_parses_and_runs_on_the_fixture(mini: Dataset, name: str) -> None:
    query = queries.load_query(name)
    assert query.title and query.title != name
    assert query.description
    result = queries.run(mini, query, SAMPLE_PARAMS.get(name))
    assert result.variables
    if not query.is_violation:
        assert result.rows, f"{name} returns nothing on the fixture"


@pytest.mark.parametrize("name", STORED_NAMES)
def test_queries_use_only_terms_declared_in_the_ontology(name: str) -> None:
    text = (resources.queries_dir() / f"{name}.rq").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    declared = set(resources.ontology().subjects())
    used = {KG._NS[term] for term in re.findall(r"\bkg:(\w+)", body)}
    assert used, f"{name} uses no kg: term"
    assert used <= declared, f"{name} uses undeclared terms: {sorted(used - declared)}"


def test_queries_every_required_param_has_a_sample_value() -> None:
    required = {q.name for q in queries.list_queries() if any(p.required for p in q.params)}
    assert required == set(SAMPLE_PARAMS)


@pytest.mark.parametrize("name", VIOLATION_NAMES)
def test_queries_violation_queries_return_no_rows_on_the_fixture(mini: Dataset, name: str) -> None:
    assert run(mini, name) == []


def drop_evidence_of_e5(data: Dataset) -> URIRef:
    data.remove((E5, KG.hasEvidence, None, None))
    return E5


def make_mention_end_before_start(data: Dataset) -> URIRef:
    mention = KGR["mention/101-c3d8e6f41a2b9077/335-344"]
    data.remove((mention, KG.endChar, None, None))
    data.graph(KGR["graph/article/101-c3d8e6f41a2b9077"]).add((mention, KG.endChar, Literal(300)))
    return mention


def drop_labels_of_taji(data: Dataset) -> URIRef:
    data.remove((entity_iri("taji"), namespace.RDFS.label, None, None))
    return entity_iri("taji")


BREAKERS: dict[str, Callable[[Dataset], URIRef]] = {
    "event-without-evidence-violation": drop_evidence_of_e5,
    "mention-offsets-violation": make_mention_end_before_start,
    "entity-without-label-violation": drop_labels_of_taji,
}


def test_queries_every_violation_query_has_a_broken_fixture() -> None:
    assert set(BREAKERS) == set(VIOLATION_NAMES)


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_queries_violation_queries_find_the_broken_node(fresh: Dataset, name: str) -> None:
    broken = BREAKERS[name](fresh)
    rows = run(fresh, name)
    assert broken in column(rows, "focus")
    assert all(isinstance(row["message"], Literal) and str(row["message"]) for row in rows)


# ---------------------------------------------------------------- asserted answers


def test_queries_bases_attacked_more_than_once_counts_camp_taji_twice(mini: Dataset) -> None:
    rows = run(mini, "bases-attacked-more-than-once")
    # three attacks target Camp Taji but one was foiled; Ain al-Asad was hit once
    assert [(row["base"], str(row["baseLabel"]), int(row["attacks"])) for row in rows] == [
        (entity_iri("camp-taji"), "Camp Taji", 2)
    ]
    assert str(rows[0]["dates"]) == "2020-03"


@pytest.mark.parametrize(
    ("place", "events"),
    [
        ("baghdad", {E1}),  # Green Zone partOf Baghdad; embassy locatedIn Green Zone
        ("green-zone", {E1}),
        ("baghdad-governorate", {E1, E3, E4, E5}),  # Camp Taji locatedIn Taji partOf the governorate
        ("anbar", {E2, E6}),
        ("iraq", {E1, E2, E3, E4, E5, E6}),
        ("dora", set()),  # a launch site is not where the attack happened
    ],
)
def test_queries_attacks_in_place_follows_part_of_chains(
    mini: Dataset, place: str, events: set[URIRef]
) -> None:
    assert set(column(run(mini, "attacks-in-place", place=place), "event")) == events


@pytest.mark.parametrize("spelling", ["baghdad", "Baghdad", "kgr:entity/baghdad", str(entity_iri("baghdad"))])
def test_queries_entity_params_accept_slug_name_prefixed_name_and_iri(mini: Dataset, spelling: str) -> None:
    rows = run(mini, "attacks-in-place", place=spelling)
    assert column(rows, "event") == [E1]
    assert str(rows[0]["via"]) == "Green Zone, US Embassy Baghdad"


def test_queries_attacks_in_place_uses_occurred_in_of_a_reasoned_graph(fresh: Dataset) -> None:
    fresh.remove((E6, KG.location, None, None))
    fresh.remove((E6, KG.target, None, None))
    assert E6 not in column(run(fresh, "attacks-in-place", place="anbar"), "event")
    fresh.graph(KGR["graph/inferred"]).add((E6, KG.occurredIn, entity_iri("iraq")))
    assert E6 in column(run(fresh, "attacks-in-place", place="iraq"), "event")


def test_queries_disputed_events_finds_the_four_versus_three_rockets(mini: Dataset) -> None:
    rows = run(mini, "disputed-events")
    assert [(row["event"], int(row["sourceCount"]), row["property"]) for row in rows] == [
        (E1, 2, KG.projectileCount)
    ]
    # the two dates 2022-01-13 and 2022-01 agree (one is more precise); injured agrees
    assert str(rows[0]["values"]).split(" | ") == [
        "4 (100_5a1f0c2e9b7d4e31.txt)",
        "3 (101_c3d8e6f41a2b9077.txt)",
    ]


def test_queries_disputed_events_reports_conflicting_dates(fresh: Dataset) -> None:
    report = KGR["report/8856a72389db2f04/101-c3d8e6f41a2b9077"]
    fresh.remove((report, KG.date, None, None))
    fresh.graph(KGR["graph/article/101-c3d8e6f41a2b9077"]).add(
        (report, KG.date, Literal("2022-01-12", datatype=namespace.XSD.date))
    )
    properties = column(run(fresh, "disputed-events"), "property")
    assert properties == [KG.date, KG.projectileCount]


def test_queries_attacks_by_group_keeps_claims_and_blame_apart(mini: Dataset) -> None:
    rows = run(mini, "attacks-by-group")
    assert {(row["group"], str(row["relation"]), int(row["attacks"])) for row in rows} == {
        (entity_iri("iran-backed-militias"), "attributed", 1),
        (entity_iri("islamic-resistance-in-iraq"), "claimed", 1),
        (entity_iri("kataib-hezbollah"), "attributed", 2),
        (entity_iri("united-states"), "perpetrated", 1),
    }


def test_queries_attacks_by_group_with_group_param(mini: Dataset) -> None:
    rows = run(mini, "attacks-by-group", group="kataib-hezbollah")
    assert [(str(row["groupLabel"]), str(row["relation"]), int(row["attacks"])) for row in rows] == [
        ("Kataib Hezbollah", "attributed", 2)
    ]
    assert str(rows[0]["dates"]) == "2020-03, 2023-10-19"


def test_queries_attacks_by_group_reads_attribution_nodes_without_attributed_to(fresh: Dataset) -> None:
    fresh.remove((None, KG.attributedTo, None, None))
    rows = run(fresh, "attacks-by-group", group="kataib-hezbollah")
    assert [(str(row["relation"]), int(row["attacks"])) for row in rows] == [("attributed", 2)]


def test_queries_attacks_by_target_counts_and_filters_by_kind(mini: Dataset) -> None:
    rows = run(mini, "attacks-by-target")
    assert [(str(r["targetLabel"]), int(r["attacks"]), int(r["foiled"])) for r in rows] == [
        ("Camp Taji", 3, 1),
        ("Ain al-Asad Air Base", 1, 0),
        ("Kataib Hezbollah", 1, 0),
        ("US Embassy Baghdad", 1, 0),
    ]
    assert (str(rows[0]["firstDate"]), str(rows[0]["lastDate"])) == ("2020-03", "2022-01")
    assert column(run(mini, "attacks-by-target", kind="drone"), "target") == [entity_iri("ain-al-asad")]
    assert len(run(mini, "attacks-by-target", kind="ROCKET")) == 2


def test_queries_timeline_orders_by_date_and_filters_at_each_precision(mini: Dataset) -> None:
    rows = run(mini, "timeline")
    assert column(rows, "event") == [E6, E4, E5, E3, E1, E2]
    first = rows[4]
    assert (str(first["when"]), str(first["status"]), str(first["kinds"])) == (
        "2022-01-13",
        "carried_out",
        "rocket",
    )
    assert str(first["sources"]) == "100_5a1f0c2e9b7d4e31.txt, 101_c3d8e6f41a2b9077.txt"
    # E3 is dated 2022-01: it may have happened after the 15th, so it is kept
    assert column(run(mini, "timeline", since="2022-01-15"), "event") == [E3, E2]
    assert column(run(mini, "timeline", until="2020"), "event") == [E6, E4, E5]
    assert column(run(mini, "timeline", since="2020-03-01", until="2022-01-13"), "event") == [E4, E5, E3, E1]


def test_queries_timeline_lists_undated_attacks_last(fresh: Dataset) -> None:
    fresh.remove((E6, KG.date, None, None))
    assert column(run(fresh, "timeline"), "event")[-1] == E6


def test_queries_unattributed_and_foiled_attacks(mini: Dataset) -> None:
    assert column(run(mini, "unattributed-attacks"), "event") == [E5, E3]
    foiled = run(mini, "foiled-attacks")
    assert column(foiled, "event") == [E3]
    assert (str(foiled[0]["targets"]), str(foiled[0]["location"])) == ("Camp Taji", "Umm al-Azam")


def test_queries_casualties_keep_unknown_apart_from_zero(mini: Dataset) -> None:
    rows = run(mini, "casualties-by-target-and-year")
    table = {
        (str(r["targetLabel"]), int(r["attackYear"])): (
            int(r["attacks"]),
            None if r["killed"] is None else int(r["killed"]),
            None if r["injured"] is None else int(r["injured"]),
        )
        for r in rows
    }
    assert table == {
        ("Ain al-Asad Air Base", 2023): (1, None, None),
        ("Camp Taji", 2020): (2, 3, 5),
        ("Camp Taji", 2022): (1, None, None),
        ("Kataib Hezbollah", 2019): (1, 25, None),
        ("US Embassy Baghdad", 2022): (1, None, 2),
    }
    assert [str(r["targetLabel"]) for r in run(mini, "casualties-by-target-and-year", year="2020")] == [
        "Camp Taji"
    ]


def test_queries_accusations_name_accuser_or_leave_it_empty(mini: Dataset) -> None:
    rows = run(mini, "accusations")
    assert [(r["event"], r["accused"], r["accuser"]) for r in rows] == [
        (E4, entity_iri("kataib-hezbollah"), None),
        (E1, entity_iri("iran-backed-militias"), entity_iri("united-states")),
        (E2, entity_iri("kataib-hezbollah"), entity_iri("united-states")),
    ]
    assert str(rows[1]["evidence"]) == "Washington accuse les milices soutenues par l'Iran de ces attaques."
    assert column(run(mini, "accusations", accused="iran-backed-militias"), "event") == [E1]


def test_queries_entity_facts_lists_both_directions_with_sources(mini: Dataset) -> None:
    rows = run(mini, "entity-facts", entity="camp-taji")
    facts = {(str(r["direction"]), r["property"], r["value"]) for r in rows}
    assert ("out", KG.locatedIn, entity_iri("taji")) in facts
    assert {value for direction, prop, value in facts if direction == "in" and prop == KG.target} == {
        E3,
        E4,
        E5,
    }
    assert not any(prop == KG.hasMention for _, prop, _ in facts)
    located = next(r for r in rows if r["property"] == KG.locatedIn)
    assert str(located["valueLabel"]) == "Taji"
    assert str(located["sources"]) == "101_c3d8e6f41a2b9077.txt, 102_7e4b2d90f6a1c385.txt"


def test_queries_launch_sites(mini: Dataset) -> None:
    rows = run(mini, "launch-sites")
    assert [(str(r["siteLabel"]), int(r["attacks"]), str(r["targets"])) for r in rows] == [
        ("Dora", 1, "US Embassy Baghdad")
    ]


def test_queries_with_ontology_switch_changes_what_the_query_sees(mini: Dataset) -> None:
    timeline = queries.load_query("timeline")
    with_codes = queries.run(mini, timeline)
    without = queries.run(mini, timeline, with_ontology=False)
    assert {str(row["kinds"]) for row in with_codes.rows} == {"airstrike", "drone", "rocket"}
    assert {str(row["kinds"]) for row in without.rows} == {"Airstrike", "Drone", "Rocket"}


def test_queries_with_vocabulary_does_not_change_the_data(mini: Dataset) -> None:
    before = len(mini)
    copy = queries.with_vocabulary(mini)
    assert len(mini) == before
    assert len(copy) == before + len(queries.vocabulary())
    assert (KG.Rocket, URIRef("http://www.w3.org/2004/02/skos/core#notation"), Literal("rocket")) in copy


# ---------------------------------------------------------------- parameters


def test_queries_missing_required_param_names_it_and_lists_accepted(mini: Dataset) -> None:
    with pytest.raises(QueryError, match=r"needs parameter 'place'; it accepts: place \(entity, required\)"):
        run(mini, "attacks-in-place")


def test_queries_unknown_param_names_it_and_lists_accepted(mini: Dataset) -> None:
    with pytest.raises(QueryError, match=r"has no parameter 'groop'; it accepts: group \(entity, optional\)"):
        run(mini, "attacks-by-group", groop="kataib-hezbollah")


def test_queries_param_on_query_without_params_says_how_to_declare(mini: Dataset) -> None:
    with pytest.raises(QueryError, match="declare them in the header"):
        run(mini, "launch-sites", place="dora")


def test_queries_injection_string_is_only_a_value_that_matches_nothing(fresh: Dataset) -> None:
    size = len(fresh)
    assert run(fresh, "attacks-by-target", kind=INJECTION) == []
    assert run(fresh, "attacks-in-place", place=INJECTION) == []
    assert run(fresh, "accusations", accused=INJECTION) == []
    assert len(fresh) == size


@pytest.mark.parametrize(
    ("value", "datatype"),
    [
        ("2020", namespace.XSD.gYear),
        ("2020-03", namespace.XSD.gYearMonth),
        ("2020-03-11", namespace.XSD.date),
    ],
)
def test_queries_date_params_are_typed_by_precision(value: str, datatype: URIRef) -> None:
    bound = queries.bind_params(queries.load_query("timeline"), {"since": value})
    assert bound == {"since": Literal(value, datatype=datatype)}


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("timeline", {"since": "2020-02-30"}, "expects a date"),
        ("timeline", {"until": "March 2020"}, "expects a date"),
        ("casualties-by-target-and-year", {"year": "twenty"}, "expects an integer"),
        ("attacks-in-place", {"place": "https://kg.example.org/id/entity/a b"}, "not a valid IRI"),
        # a noncharacter (U+1FFFE): RFC 3987 and Oxigraph refuse it
        ("attacks-in-place", {"place": "http://\U0001fffe"}, "not a valid IRI"),
        ("attacks-in-place", {"place": "kgr:"}, "not a valid kgr: name"),
        ("attacks-in-place", {"place": "  "}, "is empty"),
    ],
)
def test_queries_bad_param_values_are_refused(name: str, params: dict[str, str], message: str) -> None:
    with pytest.raises(QueryError, match=message):
        queries.bind_params(queries.load_query(name), params)


def test_queries_integer_param_is_typed_integer() -> None:
    bound = queries.bind_params(queries.load_query("casualties-by-target-and-year"), {"year": "2020"})
    assert bound == {"year": Literal(2020, datatype=namespace.XSD.integer)}


# ---------------------------------------------------------------- loading and parsing


def test_queries_unknown_name_lists_stored_queries() -> None:
    with pytest.raises(
        QueryError, match=r"unknown query 'atacks'; stored queries are: accusations, attacks-by-group"
    ):
        queries.load_query("atacks")


def test_queries_load_query_from_a_path_reads_its_header(tmp_path: Path, mini: Dataset) -> None:
    path = tmp_path / "my.rq"
    path.write_text(
        "# title: Members of a group\n"
        "# description: Groups that are members of another one,\n"
        "#   with their labels.\n"
        "# param: parent  entity  required  The parent group\n"
        "PREFIX kg: <https://kg.example.org/ontology#>\n"
        "SELECT ?member WHERE { ?member kg:memberOf ?parent }\n",
        encoding="utf-8",
    )
    query = queries.load_query(str(path))
    assert (query.name, query.title, query.path) == ("my", "Members of a group", path)
    assert query.description == "Groups that are members of another one, with their labels."
    assert query.params == (queries.Param("parent", queries.ParamType.ENTITY, True, "The parent group"),)
    rows = queries.run(mini, query, {"parent": "popular-mobilization-forces"}).rows
    assert rows == [{"member": entity_iri("kataib-hezbollah")}]


def test_queries_query_file_without_header_uses_defaults_and_project_prefixes(
    tmp_path: Path, mini: Dataset
) -> None:
    path = tmp_path / "count.rq"
    path.write_text("SELECT (COUNT(?e) AS ?n) WHERE { ?e a kg:Attack }\n", encoding="utf-8")
    query = queries.load_query(path)
    assert (query.title, query.description, query.params) == ("count", "", ())
    assert int(queries.run(mini, query).rows[0]["n"]) == 6


def test_queries_missing_query_file(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="query file not found"):
        queries.load_query(str(tmp_path / "nope.rq"))


@pytest.mark.parametrize(
    "text",
    [
        "DELETE WHERE { ?s ?p ?o }",
        "PREFIX e: <http://e.org/>\nINSERT DATA { e:a e:b e:c }",
        "# title: sneaky\nDROP ALL",
    ],
)
def test_queries_update_requests_are_refused(text: str) -> None:
    with pytest.raises(QueryError, match="read-only"):
        queries.parse_query(text)


def test_queries_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.rq"
    path.write_text(
        "# title: Broken\n# description: Misses a brace.\n\nSELECT ?x WHERE {\n  ?x ?y ?z .\n  FILTER( }\n",
        encoding="utf-8",
    )
    with pytest.raises(QueryError, match=rf"{path.name}:6:3: SPARQL syntax error"):
        queries.load_query(path)


def test_queries_unknown_prefix_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="Unknown namespace prefix"):
        queries.parse_query("SELECT ?x WHERE { ?x foo:bar ?y }")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "# param: group  actor  optional  x",
            r"<q>:1: parameter type 'actor' unknown; expected one of entity",
        ),
        ("# param: group  entity  maybe  x", r"<q>:1: expected 'required' or 'optional'"),
        ("# param: group", r"<q>:1: malformed param line"),
        ("# param: 9lives  entity  optional  x", "is not a SPARQL variable name"),
        ("# param: g  entity  optional  x\n# param: g  string  optional  y", "declared twice"),
        ("# param: other  entity  optional  x", r"'other' is declared but \?other is not in the query"),
    ],
)
def test_queries_malformed_headers_are_refused(header: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        queries.parse_query(f"{header}\nSELECT ?g WHERE {{ ?g ?p ?o }}\n", name="<q>")


def test_queries_ask_and_construct_results(mini: Dataset) -> None:
    ask = queries.parse_query("ASK { ?e a kg:Attack ; kg:status kg:Foiled }", name="ask")
    assert queries.run(mini, ask).rows == [{"ask": Literal(True)}]
    construct = queries.parse_query(
        "CONSTRUCT { ?e kg:target ?t } WHERE { ?e kg:target ?t ; kg:status kg:Foiled }", name="c"
    )
    result = queries.run(mini, construct)
    assert result.variables == ["subject", "predicate", "object"]
    assert result.rows == [{"subject": E3, "predicate": KG.target, "object": entity_iri("camp-taji")}]


# ---------------------------------------------------------------- formatting


@pytest.fixture(scope="module")
def bases(mini: Dataset) -> queries.QueryResult:
    return queries.run(mini, queries.load_query("bases-attacked-more-than-once"))


def test_queries_format_table_aligns_columns_and_shortens_iris(bases: queries.QueryResult) -> None:
    lines = queries.format_result(bases, "table").splitlines()
    assert lines[0].split() == ["base", "baseLabel", "attacks", "dates"]
    assert lines[2].split() == ["kgr:entity/camp-taji", "Camp", "Taji", "2", "2020-03"]
    assert lines[0].index("baseLabel") == lines[2].index("Camp Taji")
    assert lines[-1] == "(1 row)"


def test_queries_format_csv_keeps_full_iris(bases: queries.QueryResult) -> None:
    assert queries.format_result(bases, "csv") == (
        "base,baseLabel,attacks,dates\nhttps://kg.example.org/id/entity/camp-taji,Camp Taji,2,2020-03\n"
    )


def test_queries_format_json_converts_literals_and_unbound(mini: Dataset) -> None:
    import json

    result = queries.run(mini, queries.load_query("accusations"))
    rows = json.loads(queries.format_result(result, "json"))
    assert rows[0]["accuser"] is None
    assert rows[0]["event"] == str(E4)
    counts = json.loads(
        queries.format_result(queries.run(mini, queries.load_query("attacks-by-target")), "json")
    )
    assert counts[0]["attacks"] == 3


def test_queries_format_unknown_lists_choices(bases: queries.QueryResult) -> None:
    with pytest.raises(UsageError, match="table, csv, json"):
        queries.format_result(bases, "xml")


def test_queries_shorten_uses_longest_prefix() -> None:
    assert queries.shorten(entity_iri("camp-taji")) == "kgr:entity/camp-taji"
    assert queries.shorten(KG.Rocket) == "kg:Rocket"
    assert queries.shorten(URIRef("http://example.org/x")) == "http://example.org/x"
    assert queries.shorten(None) == ""


def test_queries_format_limit_cuts_rows_and_says_so_in_tables(mini: Dataset) -> None:
    result = queries.run(mini, queries.load_query("timeline"))
    assert len(result.rows) == 6
    table = queries.format_result(result, "table", limit=2).splitlines()
    assert len(table) == 2 + 3 and table[-1] == "(2 of 6 rows shown)"
    assert queries.format_result(result, "table", limit=0).splitlines()[-1] == "(6 rows)"
    assert queries.format_result(result, "table", limit=6).splitlines()[-1] == "(6 rows)"
    assert len(queries.format_result(result, "csv", limit=2).splitlines()) == 3
    assert queries.format_result(result, "json", limit=2).count('"event"') == 2
    with pytest.raises(UsageError, match="--limit -1"):
        queries.format_result(result, "table", limit=-1)


# -- ordering on the store: Oxigraph sorts slowly, so a final ORDER BY of plain variables is done in Python


def _ordered_data() -> Dataset:
    data = Dataset()
    graph = data.graph(KGR["graph/test"])
    xsd = namespace.XSD
    rows = [
        ("b", Literal(10)),
        ("a", Literal(2)),
        ("c", Literal("2.5", datatype=xsd.decimal)),
        ("d", Literal("zèbre")),
        ("e", Literal("abeille", lang="fr")),
        ("f", URIRef("https://example.org/x")),
    ]
    for name, value in rows:
        graph.add((URIRef(f"https://example.org/{name}"), URIRef("https://example.org/value"), value))
    graph.add(
        (URIRef("https://example.org/g"), URIRef("https://example.org/other"), Literal(1))
    )  # ?value unbound for g
    return data


@pytest.mark.parametrize(
    "order",
    ["?value", "DESC(?value)", "?value ?item", "DESC(?item)", "ASC(?item)"],
)
def test_queries_store_order_matches_sparql_order(tmp_path: Path, order: str) -> None:
    from kg.kb import KnowledgeBase

    text = (
        "PREFIX ex: <https://example.org/>\n"
        "SELECT ?item ?value WHERE { ?item ?p ?o OPTIONAL { ?item ex:value ?value } }\n"
        f"ORDER BY {order}"
    )
    query = queries.StoredQuery(name="ordered", title="ordered", description="", params=(), text=text)
    stripped, client_order = queries.client_side_order(text)
    assert client_order and "ORDER BY" not in stripped  # the store is not asked to sort
    data = _ordered_data()
    kb = KnowledgeBase(tmp_path / "kb")
    kb.replace_graph(data)
    on_store = [tuple(str(row[v]) for v in ("item", "value")) for row in queries.run_on_store(kb, query).rows]
    plain = Graph()
    for s, p, o, _ in data.quads((None, None, None, None)):
        plain.add((s, p, o))
    on_file = [
        tuple(str(row[v]) for v in ("item", "value"))
        for row in queries.run(plain, query, with_ontology=False).rows
    ]
    assert on_store == on_file
    assert len(on_store) == 7


def test_queries_numbers_sort_by_value_and_unbound_first() -> None:
    rows = [{"v": Literal(10)}, {"v": None}, {"v": Literal(2)}, {"v": URIRef("https://example.org/a")}]
    ordered = [row["v"] for row in queries.sort_rows(rows, [("v", False)])]
    assert ordered == [None, URIRef("https://example.org/a"), Literal(2), Literal(10)]


_SORTABLE_TERMS = [
    None,
    BNode("b1"),
    URIRef("https://example.org/a"),
    URIRef("https://example.org/b"),
    Literal(2),
    Literal("10", datatype=namespace.XSD.integer),
    Literal("010", datatype=namespace.XSD.integer),  # 10 spelt otherwise: by value, then by text
    Literal(2.5),
    Literal("abc"),
    Literal("abc", lang="fr"),
    Literal("2021-03", datatype=namespace.XSD.gYearMonth),
]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries({"a": st.sampled_from(_SORTABLE_TERMS), "b": st.sampled_from(_SORTABLE_TERMS)}),
        max_size=30,
    ),
    order=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), min_size=1, max_size=3),
    copies=st.booleans(),
)
def test_queries_sort_rows_orders_as_one_stable_sort_per_key(
    rows: list[dict], order: list[tuple[str, bool]], copies: bool
) -> None:
    """Ranking each distinct term once orders rows as sorting on each key in turn does, ties kept."""
    if copies:  # equal terms as distinct objects, as rows parsed from a graph file hold them
        rows = [{name: copy.copy(term) for name, term in row.items()} for row in rows]
    expected = list(rows)
    for name, descending in reversed(order):
        expected = sorted(expected, key=lambda row, n=name: queries._term_order(row[n]), reverse=descending)
    assert [id(row) for row in queries.sort_rows(rows, order)] == [id(row) for row in expected]


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?a WHERE { ?a ?p ?o } ORDER BY STR(?a)",  # an expression
        "SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a LIMIT 3",  # the limit depends on the order
        "SELECT ?a WHERE { { SELECT ?a WHERE { ?a ?p ?o } ORDER BY ?a } }",  # an inner order
    ],
)
def test_queries_orders_the_store_must_keep(text: str) -> None:
    assert queries.client_side_order(text) == (text, [])


_MENTION = KGR["mention/101-c3d8e6f41a2b9077/335-344"]
_MENTION_GRAPH = KGR["graph/article/101-c3d8e6f41a2b9077"]


def _replace(data: Dataset, prop: URIRef, value: Literal) -> None:
    data.remove((_MENTION, prop, None, None))
    data.graph(_MENTION_GRAPH).add((_MENTION, prop, value))


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        (KG.endChar, Literal(300), "mention ends before it starts"),
        (KG.sentenceEnd, Literal(340), "mention lies outside its sentence"),
        (KG.surfaceForm, Literal("a much longer surface form"), "surface form length differs"),
        (KG.evidenceText, Literal("x"), "evidence sentence length differs"),
    ],
)
def test_queries_mention_offsets_violation_finds_each_rule(
    fresh: Dataset, prop: URIRef, value: Literal, message: str
) -> None:
    _replace(fresh, prop, value)
    rows = run(fresh, "mention-offsets-violation")
    assert {row["focus"] for row in rows} == {_MENTION}
    assert any(str(row["message"]).startswith(message) for row in rows)


@pytest.mark.parametrize(
    "where",
    [
        # a sub-select that does not project the parameter: rdflib's initBindings still bind it there
        "{ SELECT (COUNT(*) AS ?n) WHERE { ?item ex:value ?v } } ?item ?p ?o",
        # the same sub-select inside one branch of a UNION, and an aggregate grouped inside
        "{ ?item ?p ?o BIND (0 AS ?n) } UNION "
        "{ { SELECT ?p (COUNT(*) AS ?n) WHERE { ?item ?p ?o } GROUP BY ?p } }",
        # the whole WHERE is a sub-select that does not pass the parameter out
        "SELECT ?p ?o (1 AS ?n) WHERE { ?item ?p ?o }",
    ],
)
def test_queries_params_bind_inside_sub_selects_as_on_a_graph_file(tmp_path: Path, where: str) -> None:
    from kg.kb import KnowledgeBase

    text = f"PREFIX ex: <https://example.org/>\nSELECT ?p ?o ?n WHERE {{ {where} }}"
    query = queries.StoredQuery(
        name="sub",
        title="sub",
        description="",
        params=(queries.Param("item", queries.ParamType.ENTITY, True, "an item"),),
        text=text,
    )
    data = _ordered_data()
    kb = KnowledgeBase(tmp_path / "kb")
    kb.replace_graph(data)
    plain = Graph()
    for s, p, o, _ in data.quads((None, None, None, None)):
        plain.add((s, p, o))
    params = {"item": "https://example.org/a"}

    def rows(result: queries.QueryResult) -> list[tuple[str, ...]]:
        return sorted(tuple(str(row[v]) for v in ("p", "o", "n")) for row in result.rows)

    on_file = rows(queries.run(plain, query, params, with_ontology=False))
    on_store = rows(queries.run_on_store(kb, query, params))
    assert on_store == on_file
    assert on_file and all(n in {"0", "1"} for _, _, n in on_file)  # counts over ex:a alone, not every item
