"""The token attributes the rules read, as plain lists computed once per Doc.

spaCy builds a new ``Token`` object on every ``doc[i]`` and every iteration
over a span; the event rules look at each token's neighbours many times
over, and creating those objects was most of the extraction time (3 million
of them for 200 articles). Rules index these lists instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc

_KEY = "kg.tokens"


@dataclass(frozen=True)
class TokenTable:
    """Per-token attributes of one Doc, indexed by token position."""

    text: list[str]
    lower: list[str]
    lemma: list[str]  # as the lemmatizer wrote it
    lemma_lower: list[str]
    pos: list[str]
    is_punct: list[bool]
    doc_text: str  # ``Doc.text`` joins every token again on each call


def token_table(doc: Doc) -> TokenTable:
    """The table of ``doc``, built on first use and kept with the Doc (it dies with it)."""
    table = doc.user_data.get(_KEY)
    if table is None:
        text, lower, lemma, lemma_lower, pos, punct, with_space = [], [], [], [], [], [], []
        for token in doc:
            text.append(token.text)
            with_space.append(token.text_with_ws)
            lower.append(token.lower_)
            lemma.append(token.lemma_)
            lemma_lower.append(token.lemma_.lower())
            pos.append(token.pos_)
            punct.append(token.is_punct)
        table = TokenTable(text, lower, lemma, lemma_lower, pos, punct, "".join(with_space))
        doc.user_data[_KEY] = table
    return table
