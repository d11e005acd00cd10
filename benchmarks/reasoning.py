"""Benchmark: the fast reasoning engine (``materialise``) against owlrl's full OWL RL closure.

owlrl is the reference but grows superlinearly with the graph, which blocks
reasoning over a real corpus; ``materialise`` must stay linear and give the
same triples. This script (not a test: timings depend on the machine) grows
the seed build to graphs of about N triples by replicating it with renamed
article-level IRIs (articles, mentions, events, reports, attributions) while
the entities stay shared, as in a corpus where many articles name the same
places and groups; it then times both engines on each graph, checks they
inferred the same triples, and prints a table.

    .venv/bin/python benchmarks/reasoning.py
    .venv/bin/python benchmarks/reasoning.py --sizes 10000,100000,1000000 --skip-owlrl-above 100000
    .venv/bin/python benchmarks/reasoning.py --seed-graph build/kg.ttl   # skip building the seeds
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg import resources  # noqa: E402
from kg.ns import KGR  # noqa: E402
from kg.reason import Engine, closure, materialise, reason  # noqa: E402
from kg.store import flatten, load  # noqa: E402

Triple = tuple[Node, Node, Node]

# Entities (and their geometries) are shared by every article; every other
# kgr: IRI belongs to one article's contribution and is renamed per copy.
_SHARED = str(KGR["entity/"])
_DATA = str(KGR)


@dataclass(frozen=True)
class Row:
    """One line of the table; ``owlrl_seconds`` and ``same`` are None when owlrl was skipped."""

    triples: int
    inferred: int
    owlrl_seconds: float | None
    fast_seconds: float
    fast_closure_seconds: float
    same: bool | None

    @property
    def speedup(self) -> float | None:
        return None if self.owlrl_seconds is None else self.owlrl_seconds / self.fast_seconds


def seed_triples(seed_graph: Path | None) -> list[Triple]:
    """The triples of the seed build: read from a file, or built from ``seeds/`` with the real pipeline."""
    if seed_graph is not None:
        return list(flatten(load(seed_graph)))
    from kg.pipeline import build

    print("building the seed articles (loads the spaCy model) ...", file=sys.stderr)
    return list(flatten(build([ROOT / "seeds"]).dataset))


def _renamer(copy: int) -> Callable[[Node], Node]:
    def rename(term: Node) -> Node:
        text = str(term)
        if copy == 0 or not isinstance(term, URIRef) or not text.startswith(_DATA):
            return term
        if text.startswith(_SHARED):
            return term
        kind, _, rest = text[len(_DATA) :].partition("/")
        return URIRef(f"{_DATA}{kind}/c{copy}-{rest}")

    return rename


def replicate(seed: list[Triple], size: int) -> Graph:
    """A graph of ``size`` distinct triples: copies of the seed build with renamed article IRIs.

    The last copy is cut where the size is reached, like a corpus read up to some article.
    """
    graph = Graph()
    for copy in itertools.count():
        rename = _renamer(copy)
        for s, p, o in seed:
            graph.add((rename(s), p, rename(o)))
            if len(graph) >= size:
                return graph
    raise AssertionError("unreachable")


def _timed(function: Callable[[], Graph]) -> tuple[float, Graph]:
    gc.collect()
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def measure(data: Graph, *, with_owlrl: bool, repeat: int) -> Row:
    """Time both engines on one graph (the fast one ``repeat`` times, best kept)."""
    fast_runs = [_timed(lambda: materialise(data)) for _ in range(repeat)]
    fast_seconds, fast = min(fast_runs, key=lambda run: run[0])
    fast_closure_seconds = min(_timed(lambda: closure(data, engine=Engine.FAST))[0] for _ in range(repeat))
    owlrl_seconds: float | None = None
    same: bool | None = None
    if with_owlrl:
        owlrl_seconds, reference = _timed(lambda: reason(data, engine=Engine.OWLRL))
        same = set(reference) == set(fast)
    return Row(len(data), len(fast), owlrl_seconds, fast_seconds, fast_closure_seconds, same)


def format_table(rows: list[Row]) -> str:
    """A Markdown table, ready for ``benchmarks/RESULTS.md``."""
    header = (
        "| triples | inferred | owlrl reason (s) | fast materialise (s) | fast closure (s) "
        "| speed-up | same triples |"
    )
    lines = [header, "|---:|---:|---:|---:|---:|---:|:---:|"]
    for row in rows:
        owlrl = "skipped" if row.owlrl_seconds is None else f"{row.owlrl_seconds:.2f}"
        speedup = "" if row.speedup is None else f"{row.speedup:.0f}x"
        same = "" if row.same is None else ("yes" if row.same else "NO")
        lines.append(
            f"| {row.triples:,} | {row.inferred:,} | {owlrl} | {row.fast_seconds:.3f} "
            f"| {row.fast_closure_seconds:.3f} | {speedup} | {same} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated graph sizes in triples (default: 10000,100000)",
    )
    parser.add_argument(
        "--skip-owlrl-above",
        type=int,
        default=None,
        metavar="N",
        help="do not run owlrl on graphs larger than N triples (it is superlinear)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast engine per size (best kept)")
    parser.add_argument(
        "--seed-graph",
        type=Path,
        default=None,
        help="a build of the seeds (any RDF file kg reads) instead of building seeds/ here",
    )
    args = parser.parse_args(argv)
    try:
        sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    except ValueError:
        parser.error(f"--sizes expects comma-separated integers, got {args.sizes!r}")

    seed = seed_triples(args.seed_graph)
    resources.ontology()  # parsed once, outside the timings, as in a long-running process
    rows: list[Row] = []
    for size in sizes:
        data = replicate(seed, size)
        with_owlrl = args.skip_owlrl_above is None or len(data) <= args.skip_owlrl_above
        print(f"{len(data):,} triples: timing ...", file=sys.stderr)
        rows.append(measure(data, with_owlrl=with_owlrl, repeat=max(1, args.repeat)))
    print(format_table(rows))
    return 0 if all(row.same is not False for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
