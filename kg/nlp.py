"""The spaCy pipeline kg reads articles with, built once per process.

French articles go through ``fr_core_news_sm`` (tagger, parser, NER);
English ones through a blank English pipeline with a rule-based sentencizer,
since no English model ships with kg. Both get the ``kg_gazetteer``
component, which marks gazetteer names in ``doc.spans["kg_gazetteer"]`` with
the entity slug as ``kb_id_``: folded (case- and accent-insensitive) phrase
matching for names, exact-case matching for acronyms and short one-word names ("EI", "Hit").
All custom components are registered in this module only.
"""

from __future__ import annotations

from functools import cache

import spacy
from rdflib import URIRef
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from kg.gazetteer import GazetteerIndex, fold, load_index
from kg.lexicon import load_lexicon

GAZETTEER_SPANS = "kg_gazetteer"
NESTED_SPANS = "kg_gazetteer_nested"
NESTABLE_KINDS = frozenset({"City", "Province", "Country", "District"})
MODELS = {"fr": "fr_core_news_sm"}
_ACRONYM_MAX = 5


def _fold_norms(doc: Doc) -> Doc:
    for token in doc:
        folded = fold(token.text)
        token.norm_ = folded if folded else token.text
    return doc


def _needs_exact_case(name: str) -> bool:
    """Acronyms ("EI", "KH") and short one-word names ("Hit", "Kut") are also common words in lower case."""
    return len(name) <= _ACRONYM_MAX and (
        name.replace("-", "").isupper() or (" " not in name and name[:1].isupper())
    )


class GazetteerMatcher:
    """Marks gazetteer names in a Doc; longest match wins where names overlap."""

    def __init__(self, nlp: Language, index: GazetteerIndex) -> None:
        self.index = index
        self.folded = PhraseMatcher(nlp.vocab, attr="NORM")
        self.exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        for entry in index.entries.values():
            folded_patterns, exact_patterns = [], []
            for name in entry.names:
                if not fold(name):
                    continue
                pattern = nlp.make_doc(name)
                if _needs_exact_case(name):
                    exact_patterns.append(pattern)
                else:
                    folded_patterns.append(_fold_norms(pattern))
            if folded_patterns:
                self.folded.add(str(entry.iri), folded_patterns)
            if exact_patterns:
                self.exact.add(str(entry.iri), exact_patterns)

    def __call__(self, doc: Doc) -> Doc:
        _fold_norms(doc)
        spans = []
        for matcher in (self.folded, self.exact):
            for match_id, start, end in matcher(doc):
                iri = doc.vocab.strings[match_id]
                entry = self.index.entries[URIRef(iri)]
                spans.append(Span(doc, start, end, label=entry.kind, kb_id=entry.slug))
        kept = filter_spans(spans)
        doc.spans[GAZETTEER_SPANS] = kept
        # a place named inside a longer name ("l'aéroport international de Bagdad") is mentioned too
        doc.spans[NESTED_SPANS] = [
            s
            for s in spans
            if s.label_ in NESTABLE_KINDS
            and not any(s.start == k.start and s.end == k.end for k in kept)
            and any(k.start <= s.start and s.end <= k.end for k in kept)
        ]
        return doc


@Language.component("kg_paragraphs")
def mark_paragraphs(doc: Doc) -> Doc:
    """A line break ends a sentence: headlines and bylines carry no final period."""
    for token in doc[:-1]:
        if "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


class AbbreviationJoiner:
    """The period of a title abbreviation ("Maj. Gen. Yahya Rasool") does not end a sentence.

    The sentencizer cuts after every lone period; a cut inside a title splits a person's name from its
    sentence. Abbreviations are lexicon data (``[sentences] abbreviations``).
    """

    def __init__(self, abbreviations: frozenset[str]) -> None:
        self.abbreviations = abbreviations

    def __call__(self, doc: Doc) -> Doc:
        for token in doc[1:-1]:
            after = doc[token.i + 1]
            if (
                token.text == "."
                and token.whitespace_ != ""
                and "\n" not in after.text
                and after.text[:1].isupper()
                and doc[token.i - 1].lower_.rstrip(".") in self.abbreviations
                and not doc[token.i - 1].whitespace_
            ):
                after.is_sent_start = False
        return doc


@Language.factory("kg_abbreviations")
def make_abbreviation_joiner(nlp: Language, name: str) -> AbbreviationJoiner:
    return AbbreviationJoiner(load_lexicon(nlp.lang).words("sentences", "abbreviations"))


@Language.factory("kg_gazetteer")
def make_gazetteer_matcher(nlp: Language, name: str) -> GazetteerMatcher:
    return GazetteerMatcher(nlp, load_index())


@cache
def load_pipeline(language: str = "fr") -> Language:
    """The pipeline for ``language``; loading the model once is what makes batch builds fast."""
    if language in MODELS:
        nlp = spacy.load(MODELS[language])
        # Rule-based sentence boundaries: the small parser splits inside sentences ("Simultanément | , ...").
        nlp.add_pipe("sentencizer", before="parser")
        nlp.add_pipe("kg_paragraphs", before="parser")
        nlp.add_pipe("kg_abbreviations", before="parser")
    else:
        nlp = spacy.blank(language)
        nlp.add_pipe("kg_paragraphs")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("kg_abbreviations")
    nlp.add_pipe("kg_gazetteer", last=True)
    return nlp
