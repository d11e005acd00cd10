"""Killed and injured counts from casualty phrases.

News states casualties in many shapes: "deux civils ont été blessés",
"Deux soldats américains et un britannique sont morts", "a fait un mort",
"blessé un enfant", "a tué X et Y", and the crucial zeros: "aucun blessé",
"ni victime ni dommage", "aucune victime". A count is 0 only when the text
says nobody; "on ne sait pas si l'attaque a fait des victimes" gives nothing.
"""

from __future__ import annotations

from spacy.tokens import Span, Token

from kg.extractors.numbers import parse_number
from kg.extractors.tokens import token_table
from kg.lexicon import Lexicon

_AUX = frozenset(
    {
        "ont",
        "a",
        "été",
        "sont",
        "est",
        "auraient",
        "aurait",
        "avaient",
        "avait",
        "seraient",
        "serait",
        "ont-ils",
        "have",
        "has",
        "been",
        "were",
        "was",
        "are",
        "is",
        "reportedly",
    }
)


class CasualtyReader:
    """Reads killed/injured counts in a span of one sentence."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.killed_words = lexicon.words("casualties", "killed_words")
        self.killed_nouns = lexicon.words("casualties", "killed_nouns")
        self.killed_verbs = lexicon.words("casualties", "killed_verbs")
        self.assassination = lexicon.words("casualties", "assassination_nouns")
        self.injured_words = lexicon.words("casualties", "injured_words")
        self.injured_nouns = lexicon.words("casualties", "injured_nouns")
        self.casualty_nouns = lexicon.words("casualties", "casualty_nouns")
        self.none_markers = lexicon.words("casualties", "none_markers")
        self.unknown_markers = lexicon.words("casualties", "unknown_markers")
        self.people = lexicon.words("casualties", "people_nouns")
        # verb forms that take the victims as object ("tuant deux soldats", "killing a contractor")
        self.active_forms = lexicon.words("casualties", "active_forms")
        self.light_verbs = lexicon.words("casualties", "light_verbs")
        self.modifiers = lexicon.words("casualties", "modifiers")
        self.demonyms = lexicon.words("casualties", "demonyms")

    def read(self, span: Span, person_tokens: set[int]) -> tuple[int | None, int | None]:
        """(killed, injured) stated in ``span``; ``person_tokens`` are token indices of Person mentions."""
        killed: int | None = None
        injured: int | None = None
        table = token_table(span.doc)
        for position in range(span.start, span.end):
            word, lemma = table.lower[position], table.lemma[position]
            is_killed = word in self.killed_words or lemma in self.killed_verbs
            is_injured = word in self.injured_words or lemma == "blesser" or word in self.injured_nouns
            is_casualty = word in self.casualty_nouns
            if not (is_killed or is_injured or is_casualty or word in self.assassination):
                continue
            token = span.doc[position]
            clause = " ".join(table.lower[max(span.start, position - 8) : position])
            if any(marker in f" {clause} " for marker in self.unknown_markers):
                continue  # "on ne sait pas si l'attaque a fait des victimes"
            if self._negated(span, token):
                if is_casualty:
                    killed = killed if killed else 0
                    injured = injured if injured else 0
                elif is_killed:
                    killed = killed if killed else 0
                elif is_injured:
                    injured = injured if injured else 0
                continue
            if is_casualty:
                continue  # "des victimes mineures": not a count
            if word in self.assassination:
                count = self._persons_after(span, token, person_tokens)
                if count:
                    killed = max(killed or 0, count)
                continue
            count = self._count_before(span, token) or self._count_after(span, token, person_tokens)
            if count:
                if is_killed:
                    killed = max(killed or 0, count)
                else:
                    injured = max(injured or 0, count)
        return killed, injured

    def _negated(self, span: Span, token: Token) -> bool:
        start = max(span.start, token.i - 3)
        before = [t.lower_ for t in span.doc[start : token.i]]
        if any(w in self.none_markers for w in before):
            return True
        text = " ".join(before)
        return "pas de" in text or "pas fait de" in text or "n' y a eu" in text

    def _count_before(self, span: Span, token: Token) -> int:
        """Sum of "NUMBER people-noun" groups in the subject before a passive/intransitive casualty verb."""
        doc = span.doc
        i = token.i - 1
        # a count right before a noun form: "un mort", "deux blessés"
        if token.i > span.start and token.lower_ in (
            self.killed_nouns | self.injured_nouns | self.injured_words
        ):
            number = token.i - 2 if doc[token.i - 1].lower_ in ("autres", "other") else token.i - 1
            value = parse_number(doc[number].text, self.lexicon) if number >= span.start else None
            if value is not None:
                return value
        # "suffered a minor injury", "a subi des blessures légères": skip the noun's modifiers
        while i >= span.start and i > token.i - 3 and doc[i].lower_ in self.modifiers:
            i -= 1
        aux_end = i
        while i >= span.start and (doc[i].lower_ in _AUX or doc[i].lower_ in self.light_verbs):
            i -= 1
        if i == aux_end:
            return 0  # no auxiliary: not a passive or intransitive casualty verb
        # an elliptical subject: "trois ont été tués", "at least 34 were injured"
        value = parse_number(doc[i].text, self.lexicon) if i >= span.start else None
        if value is not None:
            return value
        groups: list[tuple[int, bool]] = []  # (count, counted people named by a demonym), right to left
        j = i
        while j >= span.start and j > i - 14:
            word = doc[j]
            if (
                (word.is_punct and word.text not in ("-", ","))
                or word.pos_ == "VERB"
                or (word.lower_ in ("que", "qui", "lors"))
            ):
                break
            value = parse_number(word.text, self.lexicon)
            nouns = [doc[k].lower_ for k in range(j + 1, min(j + 4, i + 1))]
            if value is not None and any(n in self.people for n in nouns):
                groups.append((value, any(n in self.demonyms for n in nouns)))
            j -= 1
        groups.reverse()
        breakdown = len(groups) > 1 and all(demonym for _, demonym in groups[1:])
        if breakdown and sum(v for v, _ in groups[1:]) == groups[0][0]:
            return groups[0][0]  # "six militaires, quatre Américains et deux Irakiens": a breakdown
        return sum(v for v, _ in groups)

    def _count_after(self, span: Span, token: Token, person_tokens: set[int]) -> int:
        """Objects of an active casualty verb: "blessé un enfant", "a tué X et Y", "tuant deux soldats"."""
        if token.pos_ != "VERB" and token.lower_ not in self.active_forms:
            return 0
        return self._persons_after(span, token, person_tokens) or self._numbered_people_after(span, token)

    def _numbered_people_after(self, span: Span, token: Token) -> int:
        doc = span.doc
        total = 0
        # "trois soldats, deux policiers et un civil": a list of counted groups, commas included
        for j in range(token.i + 1, min(span.end, token.i + 16)):
            if (doc[j].is_punct and doc[j].text != ",") or doc[j].pos_ in ("VERB", "AUX"):
                break
            if doc[j].lower_ in self.killed_words | self.injured_words | self.active_forms:
                break  # "killing a contractor and wounding five soldiers": the next casualty verb has its own
            value = parse_number(doc[j].text, self.lexicon)
            if value is not None and any(
                doc[k].lower_ in self.people for k in range(j + 1, min(span.end, j + 5))
            ):
                total += value
        return total

    def _persons_after(self, span: Span, token: Token, person_tokens: set[int]) -> int:
        """Number of distinct Person mentions following the verb or noun in the same clause."""
        doc = span.doc
        count = 0
        previous = False
        for j in range(token.i + 1, span.end):
            if doc[j].pos_ == "VERB" and doc[j].lower_ not in self.killed_words:
                break
            inside = j in person_tokens
            if inside and not previous:
                count += 1
            previous = inside
        return count
