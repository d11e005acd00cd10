"""Extraction: from a parsed article to entity mentions and incidents.

``extract(doc, article)`` runs the extractors in order: sentences, then
entities (which events need), then events. Each extractor is built once per
language from the lexicon and the gazetteer index and reused for every
article.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the submodules import kg.records, which imports kg.extractors.dates: load them lazily
    from spacy.tokens import Doc

    from kg.articles import Article
    from kg.extractors.entities import EntityExtractor
    from kg.extractors.events import EventExtractor
    from kg.records import ArticleExtraction, Sentence


@cache
def _extractors(language: str) -> tuple[EntityExtractor, EventExtractor]:
    from kg.extractors.entities import EntityExtractor
    from kg.extractors.events import EventExtractor
    from kg.gazetteer import load_index
    from kg.lexicon import load_lexicon

    lexicon = load_lexicon(language)
    index = load_index()
    return EntityExtractor(lexicon, index), EventExtractor(lexicon, index)


def sentences_of(doc: Doc) -> tuple[list[Sentence], list[int]]:
    """Non-empty sentences (stripped of surrounding whitespace) and the sentence index of every token."""
    from kg.records import Sentence

    sentences: list[Sentence] = []
    sentence_of = [0] * len(doc)
    for sent in doc.sents:
        text = sent.text
        stripped = text.strip()
        index = len(sentences) - 1 if not stripped else len(sentences)
        for token in sent:
            sentence_of[token.i] = max(index, 0)
        if not stripped:
            continue
        start = sent.start_char + (len(text) - len(text.lstrip()))
        sentences.append(Sentence(index, start, start + len(stripped), stripped))
    return sentences, sentence_of


def extract(doc: Doc, article: Article) -> ArticleExtraction:
    """Everything kg extracts from one parsed article."""
    from kg.records import ArticleExtraction

    entity_extractor, event_extractor = _extractors(article.language)
    sentences, sentence_of = sentences_of(doc)
    mentions, entities = entity_extractor.extract(doc, sentence_of)
    incidents = event_extractor.extract(
        doc, sentences, mentions, entities, article.published_date, article.published_precision
    )
    return ArticleExtraction(article, sentences, mentions, entities, incidents)
