"""The benchmark runner's reading of the issue's query targets.

Which target a stored query is judged against decides whether the run says "met": a GROUP BY
hidden in a sub-select is still an aggregation, a word in a comment is not, and an entity
parameter that is only optional does not make a query a lookup.
"""

from __future__ import annotations

import pytest
from conftest import benchmark_script

from kg.queries import parse_query

PREFIX = "PREFIX kg: <https://kg.example.org/ontology#>\n"


@pytest.mark.parametrize(
    ("name", "header", "body", "kind"),
    [
        (
            "by-group",
            "",
            "SELECT ?g (COUNT(?e) AS ?n) WHERE { ?e kg:perpetrator ?g } GROUP BY ?g",
            "aggregation",
        ),
        (
            "nested",
            "",
            "SELECT ?e ?n WHERE { { SELECT ?e (COUNT(?a) AS ?n) WHERE { ?e kg:sourceArticle ?a } "
            "GROUP BY ?e } }",
            "aggregation",
        ),
        ("latest", "", "SELECT (MAX(?d) AS ?last) WHERE { ?e kg:date ?d }", "aggregation"),
        (
            "table",
            "# COUNT(?x) in a comment is no aggregate\n",
            "SELECT ?e ?d WHERE { ?e kg:date ?d }",
            "listing",
        ),
        (
            "in-place",
            "# param: place  entity  required  The place\n",
            "SELECT ?e WHERE { ?e kg:location ?place }",
            "lookup",
        ),
        (
            "maybe-in-place",
            "# param: place  entity  optional  The place\n",
            "SELECT ?e WHERE { ?e kg:location ?place }",
            "listing",
        ),
        ("dateless-violation", "", "SELECT ?focus WHERE { ?focus a kg:Attack }", "check"),
    ],
)
def test_benchmarks_run_query_kind_follows_the_query_shape(
    name: str, header: str, body: str, kind: str
) -> None:
    query = parse_query(f"# title: {name}\n{header}{PREFIX}{body}", name=name)
    assert benchmark_script("run").query_kind(query) == kind
