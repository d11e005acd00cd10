"""Running extraction on several processes or on a Dask cluster.

Parsing with spaCy is the slow stage of a build and each article is
independent, so articles are cut into chunks and each chunk is extracted by
a worker that loads the model once (``kg.nlp.load_pipeline`` is cached per
process). Workers return plain ``ArticleExtraction`` records; merging and
triple writing stay in the calling process, so a parallel build gives the
same graph as a local one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from kg.articles import Article
from kg.errors import UsageError
from kg.records import ArticleExtraction, ExtractionFailure

CHUNK_SIZE = 16  # spaCy's batch size; the last round of chunks leaves workers idle, so keep them small

Progress = Callable[[int], None]


def extract_chunk(articles: list[Article]) -> list[ArticleExtraction | ExtractionFailure]:
    """Extract one chunk in the current process (the unit of work sent to workers)."""
    from kg.pipeline import extract_all

    return list(extract_all(articles))


def _chunks(articles: list[Article], size: int) -> Iterator[list[Article]]:
    iterator = iter(articles)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _chunk_size(count: int, workers: int) -> int:
    """Small enough that every worker gets several rounds of work, large enough to amortise sending them."""
    return max(1, min(CHUNK_SIZE, -(-count // (workers * 4))))


def extract_with_processes(
    articles: list[Article], workers: int, progress: Progress | None = None
) -> Iterator[ArticleExtraction | ExtractionFailure]:
    """Extract on ``workers`` local processes, yielding records in article order."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for records in pool.map(extract_chunk, _chunks(articles, _chunk_size(len(articles), workers))):
            yield from records
            if progress is not None:
                progress(len(records))


def extract_with_dask(
    articles: list[Article], address: str, progress: Progress | None = None
) -> Iterator[ArticleExtraction | ExtractionFailure]:
    """Extract on a Dask distributed cluster (one model per worker process), in article order."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--dask needs the distributed package: pip install 'kg[dask]'") from None
    try:
        client = Client(address, timeout=10)
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = list(_chunks(articles, _chunk_size(len(articles), workers)))
        futures = client.map(extract_chunk, chunks, pure=False)
        for future in futures:
            records = future.result()
            yield from records
            if progress is not None:
                progress(len(records))
    finally:
        client.close()


def extract_parallel(
    articles: Iterable[Article], workers: int = 1, dask: str | None = None, progress: Progress | None = None
) -> Iterator[ArticleExtraction | ExtractionFailure]:
    """Extract locally, on processes, or on Dask, whichever the caller asked for."""
    from kg.pipeline import extract_all

    articles = list(articles)
    if dask:
        return extract_with_dask(articles, dask, progress)
    if workers > 1 and len(articles) > 1:
        return extract_with_processes(articles, workers, progress)
    return extract_all(articles, progress)
