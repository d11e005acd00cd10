"""The build: articles -> nlp -> extract -> merge -> triples.

This is the only module that knows the order of the stages. Articles are
streamed through ``nlp.pipe`` in batches per language, so the model is
loaded once and Docs are dropped as soon as they are extracted; a bad
article is reported and skipped (or, with ``strict``, stops the build).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, Dataset

from kg.articles import Article, find_article_files, read_article
from kg.errors import ArticleError
from kg.extractors import extract
from kg.kb import KnowledgeBase
from kg.merge import merge
from kg.nlp import load_pipeline
from kg.ns import KG
from kg.parallel import extract_parallel
from kg.records import ArticleExtraction
from kg.triples import to_dataset

BATCH_SIZE = 16

Progress = Callable[[int], None]


@dataclass
class BuildResult:
    """The built graph and what a user wants to know about the build."""

    dataset: Dataset
    extractions: list[ArticleExtraction]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: int = 0  # articles already in the knowledge base with the same content

    @property
    def articles(self) -> int:
        return len(self.extractions)

    @property
    def events(self) -> int:
        return len({s for s, _, _, _ in self.dataset.quads((None, RDF.type, KG.Attack, None))})

    def entity_counts(self) -> Counter[str]:
        kinds: dict[str, str] = {}
        for extraction in self.extractions:
            for key, record in extraction.entities.items():
                kinds.setdefault(key, record.kind)
        return Counter(kinds.values())

    @property
    def triples(self) -> int:
        return len(self.dataset)


def read_all(paths: Iterable[Path], strict: bool = False) -> tuple[list[Article], list[str]]:
    """Read every article; bad ones are skipped with a reason unless ``strict``."""
    articles: dict[str, Article] = {}
    skipped: list[str] = []
    for path in find_article_files(paths):
        try:
            article = read_article(path)
        except ArticleError as exc:
            if strict:
                raise
            skipped.append(str(exc))
            continue
        if article.id in articles or any(a.content_hash == article.content_hash for a in articles.values()):
            skipped.append(f"{path}: same content or name as an article already read")
            continue
        articles[article.id] = article
    return list(articles.values()), skipped


def extract_all(articles: list[Article], progress: Progress | None = None) -> Iterator[ArticleExtraction]:
    """Parse and extract articles, one language batch at a time."""
    for language in sorted({a.language for a in articles}):
        batch = [a for a in articles if a.language == language]
        nlp = load_pipeline(language)
        for article, doc in zip(batch, nlp.pipe((a.text for a in batch), batch_size=BATCH_SIZE), strict=True):
            yield extract(doc, article)
            if progress is not None:
                progress(1)


def build_into(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    strict: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    workers: int = 1,
    dask: str | None = None,
) -> BuildResult:
    """Add the articles under ``paths`` to a knowledge base, parsing only those it does not hold yet.

    Records of earlier articles are merged again with the new ones (cheap: no NLP), so cross-article
    event merging works as in a full build, and the store is rewritten in one transaction.
    """
    started = time.perf_counter()
    known = kb.content_hashes()
    articles, skipped = read_all(paths, strict=strict)
    known_hashes = set(known.values())
    new = [a for a in articles if known.get(a.id) != a.content_hash and a.content_hash not in known_hashes]
    unchanged = len(articles) - len(new)
    if on_start is not None:
        on_start(len(new))
    kb.save_records(extract_parallel(new, workers=workers, dask=dask, progress=progress))
    return _write_knowledge_base(kb, skipped, started, unchanged)


def remove_from(kb: KnowledgeBase, article_id: str) -> BuildResult:
    """Take one article's contribution out of a knowledge base; events other sources report stay."""
    started = time.perf_counter()
    if not kb.remove_record(Path(article_id).stem):
        known = ", ".join(sorted(kb.content_hashes())) or "none"
        raise ArticleError(f"{article_id}: not in the knowledge base {kb.path} (articles: {known})")
    return _write_knowledge_base(kb, [], started, 0)


def _write_knowledge_base(
    kb: KnowledgeBase, skipped: list[str], started: float, unchanged: int
) -> BuildResult:
    from kg.queries import vocabulary

    extractions = list(kb.records())
    dataset = to_dataset(merge(extractions))
    kb.replace_graph(dataset, vocabulary())
    result = BuildResult(dataset, extractions, skipped, time.perf_counter() - started)
    result.unchanged = unchanged
    return result


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
    extractions = list(extract_parallel(articles, workers=workers, dask=dask, progress=progress))
    dataset = to_dataset(merge(extractions))
    return BuildResult(dataset, extractions, skipped, time.perf_counter() - started)
