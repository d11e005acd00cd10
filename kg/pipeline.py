"""The build: articles -> nlp -> extract -> merge -> triples.

This is the only module that knows the order of the stages. Articles are
streamed through ``nlp.pipe`` in batches per language, so the model is
loaded once and Docs are dropped as soon as they are extracted; a bad
article is reported and skipped (or, with ``strict``, stops the build).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import RDF, Dataset

from kg.articles import Article, read_all
from kg.errors import ArticleError
from kg.extractors import extract
from kg.kb import KnowledgeBase
from kg.merge import merge
from kg.nlp import load_pipeline
from kg.ns import GAZETTEER_GRAPH, KG
from kg.parallel import extract_parallel
from kg.records import ArticleExtraction, ExtractionFailure
from kg.triples import new_dataset, write_article, write_merged

if TYPE_CHECKING:
    from kg.validate import Report

BATCH_SIZE = 16
_NEVER = 2**31 - 1  # the largest threshold gc.set_threshold takes

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Counts:
    """How much a graph holds."""

    articles: int
    events: int
    triples: int
    entity_kinds: Counter[str]


@dataclass
class BuildResult:
    """What a user wants to know about a build; counts and graph are computed only when asked for.

    (Counting the triples of a store of millions costs more than adding one article to it.)
    """

    count: Callable[[], Counts]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: int = 0  # articles already in the knowledge base with the same content
    parsed: int = 0  # articles read by the NLP pipeline (the others were known or had a record)
    nonconforming: dict[str, Report] = field(default_factory=dict)  # article -> its arrival validation
    extractions: list[ArticleExtraction] = field(default_factory=list)  # of a file build
    load_dataset: Callable[[], Dataset] | None = None
    _counts: Counts | None = None
    _dataset: Dataset | None = None

    @property
    def dataset(self) -> Dataset:
        if self._dataset is None:
            assert self.load_dataset is not None
            self._dataset = self.load_dataset()
        return self._dataset

    @property
    def counts(self) -> Counts:
        if self._counts is None:
            self._counts = self.count()
        return self._counts

    @property
    def articles(self) -> int:
        return self.counts.articles

    @property
    def events(self) -> int:
        return self.counts.events

    @property
    def triples(self) -> int:
        return self.counts.triples

    def entity_counts(self) -> Counter[str]:
        return self.counts.entity_kinds

    @classmethod
    def of_dataset(
        cls, dataset: Dataset, extractions: list[ArticleExtraction], skipped: list[str], seconds: float
    ) -> BuildResult:
        def count() -> Counts:
            kinds: dict[str, str] = {}
            for extraction in extractions:
                for key, record in extraction.entities.items():
                    kinds.setdefault(key, record.kind)
            events = len({s for s, _, _, _ in dataset.quads((None, RDF.type, KG.Attack, None))})
            return Counts(len(extractions), events, len(dataset), Counter(kinds.values()))

        return cls(
            count,
            skipped,
            seconds,
            parsed=len(extractions),
            extractions=extractions,
            _dataset=dataset,
        )


def extract_all(
    articles: list[Article], progress: Progress | None = None
) -> Iterator[ArticleExtraction | ExtractionFailure]:
    """Parse and extract articles, one language batch at a time.

    An article the extractors fail on (a bug, not bad input: that is refused when reading) is yielded as
    an ``ExtractionFailure`` so the build reports it and goes on with the others.
    """
    for language in sorted({a.language for a in articles}):
        batch = [a for a in articles if a.language == language]
        nlp = load_pipeline(language)
        for article, doc in zip(batch, nlp.pipe((a.text for a in batch), batch_size=BATCH_SIZE), strict=True):
            try:
                yield extract(doc, article)
            except Exception as exc:  # reported with the article name, never silent
                yield ExtractionFailure(
                    article.id, f"{article.path}: extraction failed ({type(exc).__name__}: {exc})"
                )
            if progress is not None:
                progress(1)


def without_failures(
    stream: Iterable[ArticleExtraction | ExtractionFailure], skipped: list[str], strict: bool = False
) -> Iterator[ArticleExtraction]:
    """The extractions of a stream; failures go to ``skipped`` (or stop the build when ``strict``)."""
    for item in stream:
        if isinstance(item, ExtractionFailure):
            if strict:
                raise ArticleError(item.reason)
            skipped.append(item.reason)
        else:
            yield item


def build_into(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    strict: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    workers: int = 1,
    dask: str | None = None,
    validate_arrivals: bool = True,
) -> BuildResult:
    """Add the articles under ``paths`` to a knowledge base, parsing only those it does not hold yet.

    A few new articles are merged in place (``kg.update.add``: only what they touch is rewritten) and each
    is validated on its own triples as it arrives; many new articles, or a changed one, rewrite the base
    from the stored records (``kg.update.rewrite``). Both give the graph a build of all articles gives.
    """
    from kg import update

    started = time.perf_counter()
    articles, skipped = read_all(paths, strict=strict)
    new, replaced = [], []
    for article in articles:  # looked up one by one: listing a store of 10k articles costs more
        stored = kb.stored_hash(article.id)
        if stored == article.content_hash or kb.holds_content(article.content_hash):
            continue
        new.append(article)
        if stored is not None:
            replaced.append(article.id)  # changed since it was stored
    unchanged = len(articles) - len(new)
    held = kb.article_count()
    recorded, to_parse = [], []
    for article in new:  # a record with the same content survives from an interrupted build
        record = kb.record(article.id)
        if record is not None and record.article.content_hash == article.content_hash:
            recorded.append(record)
        else:
            to_parse.append(article)
    if on_start is not None:
        on_start(len(to_parse))
    extracted = kb.save_records(
        without_failures(
            extract_parallel(to_parse, workers=workers, dask=dask, progress=progress), skipped, strict
        )
    )
    in_place = held > 0 and not replaced and len(new) <= max(100, held // 5)
    nonconforming: dict[str, Report] = {}
    if in_place:
        extractions = [*recorded, *extracted]
        if extractions:
            update.add(kb, extractions)
        if validate_arrivals:
            nonconforming = _validate_arrivals(kb, sorted(x.article.id for x in extractions))
    else:
        for _ in extracted:
            pass  # records are written as they come; the rewrite reads them back one at a time
        update.rewrite(kb, [*kb.content_hashes(), *(a.id for a in new)])
    result = _store_result(kb, skipped, started)
    result.unchanged, result.parsed, result.nonconforming = unchanged, len(to_parse), nonconforming
    return result


def _validate_arrivals(kb: KnowledgeBase, article_ids: list[str]) -> dict[str, Report]:
    """Validate each new article on its own triples (with what they refer to); keep the reports that fail.

    The SPARQL engine checks an article in about 15 ms where pySHACL takes about 50 (same reports),
    which keeps adding an article to a large knowledge base well under a second.
    """
    from kg.update import arrival_graph
    from kg.validate import Engine, validate

    reports = {
        article_id: validate(arrival_graph(kb, article_id), engine=Engine.SPARQL)
        for article_id in article_ids
    }
    return {article_id: report for article_id, report in reports.items() if not report.conforms}


def remove_from(kb: KnowledgeBase, article_id: str) -> BuildResult:
    """Take one article's contribution out of a knowledge base; events other sources report stay."""
    from kg import update

    started = time.perf_counter()
    known = kb.content_hashes()
    stem = Path(article_id).stem
    if stem not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise ArticleError(f"{article_id}: not in the knowledge base {kb.path} (articles: {listed})")
    update.rewrite(kb, [other for other in known if other != stem])
    kb.remove_record(stem)  # after the store no longer holds it: a crash before leaves both in place
    return _store_result(kb, [], started)


def _store_result(kb: KnowledgeBase, skipped: list[str], started: float) -> BuildResult:
    """A result whose counts are asked of the store when wanted (nothing is loaded into memory)."""
    return BuildResult(
        lambda: _store_counts(kb), skipped, time.perf_counter() - started, load_dataset=kb.to_dataset
    )


def _store_counts(kb: KnowledgeBase) -> Counts:
    def number(query: str) -> int:
        _, rows = kb.select(query)
        return int(rows[0]["n"])  # type: ignore[arg-type]

    articles = number(f"SELECT (COUNT(DISTINCT ?article) AS ?n) WHERE {{ ?article a <{KG.NewsArticle}> }}")
    events = number(f"SELECT (COUNT(DISTINCT ?event) AS ?n) WHERE {{ ?event a <{KG.Attack}> }}")
    triples = number("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    _, rows = kb.select(
        f"SELECT ?kind (COUNT(?entity) AS ?n) WHERE {{ GRAPH <{GAZETTEER_GRAPH}> {{ ?entity a ?kind }} "
        f"FILTER EXISTS {{ ?entity <{KG.hasMention}> ?mention }} }} GROUP BY ?kind"
    )
    kinds = Counter({str(row["kind"]).rsplit("#", 1)[-1]: int(row["n"]) for row in rows})  # type: ignore[arg-type]
    return Counts(articles, events, triples, kinds)


@contextlib.contextmanager
def full_collections_deferred() -> Iterator[None]:
    """Hold back the garbage collector's full collections (the young ones still run) for the block.

    A build into memory grows one dataset for its whole length, and it holds next to no cyclic garbage:
    each full collection walks the model and every triple written so far again and freed nothing when
    measured, yet cost 2-3 ms per article, a tenth of parsing (``benchmarks/RESULTS.md``). Garbage the
    block leaves is collected as usual once it ends. Worker processes forked inside the block inherit the
    setting, which suits them too: their heap is the model and the chunk of Docs in hand.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        yield
    finally:
        gc.set_threshold(young, middle, old)


def build(
    paths: Iterable[Path],
    strict: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    workers: int = 1,
    dask: str | None = None,
) -> BuildResult:
    """Build the knowledge graph of the articles under ``paths``."""
    started = time.perf_counter()
    articles, skipped = read_all(paths, strict=strict)
    if not articles:
        raise ArticleError("no readable article: " + "; ".join(skipped))
    if on_start is not None:
        on_start(len(articles))
    stream = extract_parallel(articles, workers=workers, dask=dask, progress=progress)
    dataset = new_dataset()
    extractions = []
    with full_collections_deferred():
        for extraction in without_failures(stream, skipped, strict):
            # an article's own graph depends on it alone: written while workers extract the next ones
            write_article(dataset, extraction)
            extractions.append(extraction)
        if not extractions:
            raise ArticleError("no article could be extracted: " + "; ".join(skipped[:3]))
        write_merged(dataset, merge(extractions))
    return BuildResult.of_dataset(dataset, extractions, skipped, time.perf_counter() - started)
