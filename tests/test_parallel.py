"""Parallel extraction gives the same graph as a local build: processes, and a real Dask LocalCluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.pipeline import build
from kg.store import serialize

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def local_turtle() -> str:
    return serialize(build([SEEDS]).dataset, "turtle")


def test_parallel_processes_give_the_local_graph(local_turtle: str) -> None:
    seen: list[int] = []
    result = build([SEEDS], workers=2, progress=seen.append)
    assert serialize(result.dataset, "turtle") == local_turtle
    assert sum(seen) == 5


def test_parallel_dask_local_cluster_gives_the_local_graph(local_turtle: str) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = build([SEEDS], dask=cluster.scheduler_address)
    assert serialize(result.dataset, "turtle") == local_turtle


def test_parallel_unreachable_scheduler_is_a_usage_error() -> None:
    from kg.errors import UsageError

    with pytest.raises(UsageError, match="Dask scheduler"):
        build([SEEDS], dask="tcp://127.0.0.1:9")
