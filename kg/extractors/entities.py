"""Entity mentions: gazetteer names, names introduced by head nouns, titled persons.

The gazetteer covers the entities analysts already know; articles keep
introducing others ("le quartier de Dora", "la base de X", "les Brigades
Y", "le général Z"). Those are found by head-noun rules over the parsed
text, typed by the head noun, and resolved against the gazetteer (exact,
then transliteration-tolerant, then fuzzy for typos) before a new entity is
minted. spaCy's NER only proposes person names; rules decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from kg.extractors.tokens import token_table
from kg.gazetteer import PLACE_KINDS, TARGET_KINDS, Entry, GazetteerIndex, fold
from kg.lexicon import Lexicon
from kg.nlp import GAZETTEER_SPANS, NESTED_SPANS
from kg.ns import slugify
from kg.records import EntityMention, EntityRecord

_NAME_PARTICLES = frozenset(
    {
        "al",
        "el",
        "ez",
        "ad",
        "ed",
        "as",
        "ash",
        "bin",
        "ibn",
        "abu",
        "abou",
        "umm",
        "oum",
        "bani",
        "de",
        "du",
        "des",
        "la",
        "d'",
        "-",
    }
)
_CONNECTORS = frozenset({"de", "d'", "du", "des", "of"})
_FACILITY_KINDS = TARGET_KINDS | {"Airport"}
_GROUP_NAME_HEADS = frozenset(
    {"brigades", "brigade", "kataib", "kata'ib", "harakat", "saraya", "asaib", "front"}
)


@dataclass
class _Found:
    start: int  # token index
    end: int
    key: str
    record: EntityRecord


class EntityExtractor:
    """Finds entity mentions in a parsed article (one instance per language, reused)."""

    def __init__(self, lexicon: Lexicon, index: GazetteerIndex) -> None:
        self.lexicon = lexicon
        self.index = index
        heads = lexicon.section("heads")
        self.facility_heads = {k.lower(): v for k, v in heads.get("facility", {}).items()}
        self.definite = frozenset(heads.get("definite_articles", []))
        # singular group heads that refer back to the group just named ("cinq positions du groupe")
        self.group_reference_heads = frozenset(heads.get("group_reference_heads", []))
        self.group_introducers = [w.lower() for w in heads.get("group_introducers", [])]
        self.name_before_head = bool(heads.get("name_before_head", False))
        self.new_incident = lexicon.words("relations", "new_incident")
        self.place_heads = {k.lower(): v for k, v in heads.get("place", {}).items()}
        self.group_heads = {k.lower(): v for k, v in heads.get("group", {}).items()}
        self.titles = sorted(
            (t.lower().split() for t in heads.get("person_titles", [])), key=len, reverse=True
        )
        self.junk = frozenset(w.lower() for w in heads.get("junk", []))
        self.collective_nouns = frozenset(heads.get("collective_nouns", []))
        self.collective_links = frozenset(heads.get("collective_links", []))
        self.collective_sponsor = frozenset(heads.get("collective_sponsor", []))
        self.collective_adjectives = frozenset(heads.get("collective_adjectives", []))
        self.collective_possessives = frozenset(heads.get("collective_possessives", []))
        self.collective_coordinators = frozenset(heads.get("collective_coordinators", []))
        self.collective_nationality = frozenset(heads.get("collective_nationality", []))
        # a title in apposition goes on with one of these ("porte-parole de", "head of", "spokesman for")
        self.title_links = frozenset(heads.get("title_links", []))
        all_heads = {**self.facility_heads, **self.place_heads, **self.group_heads}
        self.heads = sorted(((h.split(), kind) for h, kind in all_heads.items()), key=lambda h: -len(h[0]))
        # looked up by first word: every token is a candidate start, most match no head or title at all
        self.heads_by_first = _by_first_word(self.heads)
        self.titles_by_first = _by_first_word([(words, "") for words in self.titles])

    # -- public -----------------------------------------------------------------------------------------
    def extract(
        self, doc: Doc, sentence_of: list[int]
    ) -> tuple[list[EntityMention], dict[str, EntityRecord]]:
        """Mentions (in text order) and one record per entity named in ``doc``.

        ``sentence_of`` maps token index to sentence index.
        """
        found: list[_Found] = []
        taken = [False] * len(doc)
        gazetteer_spans = list(doc.spans.get(GAZETTEER_SPANS, []))

        collectives = self._collectives(doc)
        for hit in collectives:
            found.append(hit)
            taken[hit.start : hit.end] = [True] * (hit.end - hit.start)
        for start, end, kind, name_start, name_end in self._head_phrases(doc):
            hit = self._resolve_headed(doc, start, end, kind, gazetteer_spans, (name_start, name_end))
            if hit and not any(taken[hit.start : hit.end]):
                found.append(hit)
                taken[hit.start : hit.end] = [True] * (hit.end - hit.start)
        for span in gazetteer_spans:
            if any(taken[span.start : span.end]):
                continue
            entry = self.index.entries[self.index_iri(span.kb_id_)]
            found.append(_Found(span.start, span.end, entry.slug, self._record(entry, span.text)))
            taken[span.start : span.end] = [True] * (span.end - span.start)
        persons = [
            *self._titled_persons(doc, gazetteer_spans),
            *self._apposed_persons(doc, gazetteer_spans),
            *self._ner_persons(doc),
        ]
        for hit in persons:
            if not any(taken[hit.start : hit.end]):
                found.append(hit)
                taken[hit.start : hit.end] = [True] * (hit.end - hit.start)
        for span in doc.spans.get(NESTED_SPANS, []):
            inside = [f for f in found if f.start <= span.start and span.end <= f.end]
            if any(not f.record.in_gazetteer and fold(span.text) in fold(f.record.label) for f in inside):
                continue  # part of a new name ("Khan al-Baghdadi"), not a mention of its own
            if any(f.key != span.kb_id_ for f in inside):
                entry = self.index.entries[self.index_iri(span.kb_id_)]
                found.append(_Found(span.start, span.end, entry.slug, self._record(entry, span.text)))

        found = self._corefer_person_names(found)
        named = [f for f in found if not any(f is c for c in collectives)]  # "le groupe" names a named group
        for hit in self._definite_references(doc, named, taken, sentence_of):
            found.append(hit)
            taken[hit.start : hit.end] = [True] * (hit.end - hit.start)

        records: dict[str, EntityRecord] = {}
        mentions: list[EntityMention] = []
        for hit in sorted(found, key=lambda f: f.start):
            span = doc[hit.start : hit.end]
            text = span.text.strip(" ,.;:'\"«»")
            record = records.get(hit.key)
            if record is None:
                records[hit.key] = record = hit.record
            else:
                record.aliases |= hit.record.aliases
                record.role = record.role or hit.record.role
                record.parent = record.parent or hit.record.parent
            record.aliases.add(text)
            mentions.append(
                EntityMention(hit.key, span.start_char, span.end_char, span.text, sentence_of[hit.start])
            )
        return mentions, records

    def index_iri(self, slug: str):
        from kg.ns import entity_iri

        return entity_iri(slug)

    # -- gazetteer entries -----------------------------------------------------------------------------
    def _record(self, entry: Entry, surface: str) -> EntityRecord:
        return EntityRecord(entry.slug, entry.kind, entry.label, True, {surface})

    # -- "la base de X", "le quartier de Y", "les Brigades Z" ---------------------------------------------
    def _head_phrases(self, doc: Doc) -> list[tuple[int, int, str, int, int]]:
        """(start, end, kind, name start, name end) of every head noun with a proper name.

        French puts the name after the head ("la base de X"); English also before it ("the X base").
        """
        results = []
        lowers = token_table(doc).lower
        i = 0
        while i < len(doc):
            for words, kind in self.heads_by_first.get(lowers[i], ()):
                n = len(words)
                if lowers[i : i + n] != words:
                    continue
                j = i + n
                # optional adjectives between head and name ("la base militaire irakienne d'Aïn al-Asad")
                while j < len(doc) and doc[j].pos_ == "ADJ" and doc[j].is_lower and j - (i + n) < 2:
                    j += 1
                if j < len(doc) and doc[j].lower_ in _CONNECTORS:
                    j += 1
                    if j < len(doc) and doc[j].lower_ in ("la", "l'"):
                        j += 1
                if kind == "ArmedGroup" and self._name_end(doc, j) == j:
                    j = self._after_group_introducer(doc, j)
                name_end = self._name_end(doc, j)
                if name_end > j:
                    results.append((i, name_end, kind, j, name_end))
                    i = name_end - 1
                    break
                if self.name_before_head and i > 0:
                    name_start = self._name_start(doc, i)
                    if name_start < i:
                        results.append((name_start, i + n, kind, name_start, i))
                        break
            i += 1
        return results

    def _after_group_introducer(self, doc: Doc, j: int) -> int:
        """Skip "jusque-là inconnu," or "calling itself" between a group head and its name."""
        for k in range(j, min(len(doc), j + 6)):
            window = " ".join(t.lower_ for t in doc[j : k + 1])
            if any(window.endswith(intro) for intro in self.group_introducers) or (
                doc[k].text == "," and all(t.is_lower or t.is_punct for t in doc[j:k])
            ):
                return k + 1
            if not (doc[k].is_lower or doc[k].is_punct):
                break
        return j

    def _name_start(self, doc: Doc, head: int) -> int:
        """Start of a proper name ending right before a head noun ("the Kharab al-Jir base")."""
        j = head
        while j > 0 and (
            _is_name_token(doc[j - 1]) or doc[j - 1].text == "-" or doc[j - 1].lower_ in ("al", "el")
        ):
            j -= 1
        while j < head and (not _is_name_token(doc[j]) or doc[j].is_sent_start or doc[j].lower_ in self.junk):
            j += 1
        sentence = doc[j].sent if j < head else None
        if sentence is not None:
            words = [t for t in sentence if t.is_alpha and len(t) > 3]
            if words and sum(t.is_title for t in words) / len(words) > 0.5:
                return head  # a headline in title case: every word looks like a name
        return j

    def _name_end(self, doc: Doc, start: int) -> int:
        """End of a proper name starting at ``start`` (capitalised words and transliteration particles)."""
        j = start
        if j >= len(doc) or not _is_name_token(doc[j]) or doc[j].lower_ in self.junk:
            return start
        while j < len(doc):
            token = doc[j]
            if _is_name_token(token) or (
                (token.lower_ in _NAME_PARTICLES or token.text == "-")
                and j + 1 < len(doc)
                and (_is_name_token(doc[j + 1]) and doc[j + 1].lower_ not in self.junk)
                and token.lower_ not in ("de", "du", "des", "la", "d'")
            ):
                j += 1
            elif token.lower_ in ("al", "el") and j + 2 < len(doc) and doc[j + 1].text == "-":
                j += 2
            elif (
                j > start
                and doc[j - 1].text.endswith("'")
                and not doc[j - 1].whitespace_
                and token.is_alpha
                and token.is_lower
            ):
                j += 1  # a transliteration apostrophe inside a name: "Albu Tu'ma"
            else:
                break
        return j

    def _resolve_headed(
        self, doc: Doc, start: int, end: int, kind: str, gaz: list[Span], name_bounds: tuple[int, int]
    ) -> _Found | None:
        span = doc[start:end]
        if name_bounds[0] == start and name_bounds[1] < end:  # name first ("the Kharab al-Jir base")
            head_end, name = start, doc[name_bounds[0] : name_bounds[1]].text
        else:
            head_end = start
            while head_end < end and not _is_name_token(doc[head_end]):
                head_end += 1
            name = doc[head_end:end].text
        if not name or fold(name) in self.junk or (name.isupper() and len(name) <= 2):
            return None
        parent = self._parent_after(doc, end, gaz)
        # 1. the whole phrase or the name is a gazetteer entry of a compatible kind
        for candidate in (span.text, name):
            entry = self.index.lookup(candidate)
            if entry and _kinds_compatible(kind, entry.kind):
                return _Found(start, end, entry.slug, self._record(entry, span.text))
        # a known name inside the phrase stands for it only from the name's first word: "Khan al-Baghdadi"
        # is another town than al-Baghdadi
        overlapping = [s for s in gaz if s.start < end and head_end < s.end and s.start <= head_end]
        for s in overlapping:
            entry = self.index.entries[self.index_iri(s.kb_id_)]
            if _kinds_compatible(kind, entry.kind):
                return _Found(
                    start, max(end, s.end), entry.slug, self._record(entry, doc[start : max(end, s.end)].text)
                )
        # 2. a facility of that place ("la base de Balad" -> Balad Air Base)
        if kind in _FACILITY_KINDS:
            entry = self._facility_named(name, kind)
            if entry:
                return _Found(start, end, entry.slug, self._record(entry, span.text))
        # 3. a typo of a known name of the right kind
        entry = self.index.fuzzy(name, cutoff=0.8)
        if entry and _kinds_compatible(kind, entry.kind) and fold(entry.label)[:1] == fold(name)[:1]:
            return _Found(start, end, entry.slug, self._record(entry, span.text))
        head_word = doc[start].lower_
        group_name = kind == "ArmedGroup" and head_word in _GROUP_NAME_HEADS and doc[start].is_title
        if overlapping and not group_name:
            return None  # the name is a known entity of another kind: let the gazetteer mention stand
        # 4. a new entity ("les Brigades Thar al-Mouhandis" is a group even if it names a person)
        label = (
            span.text
            if kind == "ArmedGroup" and head_word in _GROUP_NAME_HEADS and doc[start].is_title
            else name
        )
        if kind == "ArmedGroup" and len(label.split()) < 2 and not doc[start].is_title:
            return None
        if kind == "Province" and name_bounds[0] != start:
            label = f"{name} Province"  # labels are English, as the gazetteer's ("Anbar Province")
        key = slugify(label)
        existing = self.index.entries.get(self.index_iri(key))
        if existing is not None and existing.kind != kind:
            key = f"{key}-{slugify(kind)}"
        record = EntityRecord(key, kind, label, False, {span.text, name}, parent=parent)
        return _Found(start, end, key, record)

    def _facility_named(self, name: str, kind: str) -> Entry | None:
        folded = fold(name)
        matches = [
            e
            for e in self.index.entries.values()
            if _kinds_compatible(kind, e.kind)
            and any(f" {folded} " in f" {n} " for n in self.index.folded_names[e.iri])
        ]
        return matches[0] if len(matches) == 1 else None

    def _parent_after(self, doc: Doc, end: int, gaz: list[Span]) -> str | None:
        """The place right after "à"/"dans" that locates a new name ("le quartier de Dora à Bagdad")."""
        if end < len(doc) and doc[end].lower_ in ("à", "dans", "au", "près"):
            for s in gaz:
                if s.start in (end + 1, end + 2) and s.label_ in PLACE_KINDS:
                    return s.kb_id_
        return None

    # -- "les milices chiites soutenues par l'Iran" ----------------------------------------------------
    def _collectives(self, doc: Doc) -> list[_Found]:
        entry = self.index.entries.get(self.index_iri("iran-backed-militias"))
        if entry is None:
            return []
        hits = self._collectives_sponsor_first(doc, entry)
        lower = token_table(doc).lower
        for i, word in enumerate(lower):
            if word not in self.collective_nouns:
                continue
            if (
                i >= 3
                and lower[i - 1] in self.collective_possessives
                and lower[i - 2] in self.collective_coordinators
                and lower[i - 3] in self.collective_sponsor
            ):
                hits.append(_Found(i - 1, i + 1, entry.slug, self._record(entry, doc[i - 1 : i + 1].text)))
                continue
            if word.endswith(("s", "x")):
                # "Iranian militias", "des milices iraniennes": the sponsor's nationality beside a plural
                beside = (i - 1, i + 1) if i > 0 and lower[i - 1] in self.collective_nationality else None
                if beside is None and i + 1 < len(doc) and lower[i + 1] in self.collective_nationality:
                    beside = (i, i + 2)
                if beside is not None:
                    text = doc[beside[0] : beside[1]].text
                    hits.append(_Found(beside[0], beside[1], entry.slug, self._record(entry, text)))
                    continue
            window = doc[i + 1 : min(len(doc), i + 9)]
            for k, t in enumerate(window):
                if t.lower_ in self.collective_adjectives:
                    hits.append(
                        _Found(i, i + 2 + k, entry.slug, self._record(entry, doc[i : i + 2 + k].text))
                    )
                    break
                if t.lower_ in self.collective_links:
                    rest = window[k + 1 : k + 4]
                    sponsor = next((r for r in rest if r.lower_ in self.collective_sponsor), None)
                    if sponsor is not None:
                        end = sponsor.i + 1
                        hits.append(_Found(i, end, entry.slug, self._record(entry, doc[i:end].text)))
                    break
                if (t.is_punct and t.text not in (",", "–", "-", "—")) or t.lower_ in ("qui", "que", "et"):
                    break
        return hits

    def _collectives_sponsor_first(self, doc: Doc, entry: Entry) -> list[_Found]:
        """English order: "Iran-backed (militant) groups", "pro-Iranian militias"."""
        hits = []
        table = token_table(doc)
        lower = table.lower
        for i, word in enumerate(lower):
            if (
                word in self.collective_sponsor
                and i + 2 < len(lower)
                and table.text[i + 1] == "-"
                and (lower[i + 2] in self.collective_links)
            ):
                start, after = i, i + 3
            elif word in self.collective_adjectives:
                start, after = i, i + 1
            else:
                continue
            for k in range(after, min(len(lower), after + 3)):
                if lower[k] in self.collective_nouns:
                    hits.append(
                        _Found(start, k + 1, entry.slug, self._record(entry, doc[start : k + 1].text))
                    )
                    break
        return hits

    # -- in-article coreference -----------------------------------------------------------------------
    def _corefer_person_names(self, found: list[_Found]) -> list[_Found]:
        """A new person named by part of a longer name in the same article is that person ("Al-Kadhimi")."""
        persons = [f for f in found if f.record.kind == "Person"]
        result = []
        for hit in found:
            if hit.record.kind == "Person" and not hit.record.in_gazetteer:
                short = fold(hit.record.label)
                longer = next(
                    (
                        p
                        for p in persons
                        if p.key != hit.key
                        and f" {short}" in f" {fold(p.record.label)}"
                        and len(fold(p.record.label)) > len(short)
                    ),
                    None,
                )
                if longer is not None:
                    record = EntityRecord(
                        longer.key,
                        "Person",
                        longer.record.label,
                        longer.record.in_gazetteer,
                        {hit.record.label},
                        hit.record.role,
                    )
                    hit = _Found(hit.start, hit.end, longer.key, record)
            result.append(hit)
        return result

    def _definite_references(
        self, doc: Doc, found: list[_Found], taken: list[bool], sentence_of: list[int]
    ) -> list[_Found]:
        """A bare "l'ambassade", "la base" or "le groupe" refers back to the last one named."""
        facilities = sorted(
            (f for f in found if f.record.kind in _FACILITY_KINDS or f.record.kind == "ArmedGroup"),
            key=lambda f: f.start,
        )
        hits = []
        lower = token_table(doc).lower
        for i, word in enumerate(lower):
            kind = self.facility_heads.get(word) or (
                "ArmedGroup" if word in self.group_reference_heads else None
            )
            if kind is None or taken[i] or i == 0 or lower[i - 1] not in self.definite:
                continue
            nxt = doc[i + 1] if i + 1 < len(doc) else None
            # "la base de X", "le camp X": a name of its own; but "accuse cette faction d'être derrière"
            # and "blamed the group of having" go on with a verb, not a name
            verb_after = i + 2 < len(doc) and doc[i + 2].pos_ in ("VERB", "AUX")
            if nxt is not None and ((nxt.lower_ in _CONNECTORS and not verb_after) or _is_name_token(nxt)):
                continue
            if i > 1 and doc[i - 2].lower_ in self.new_incident:
                continue
            before = [
                f
                for f in facilities
                if f.start < i
                and _kinds_compatible(kind, f.record.kind)
                and sentence_of[i] - sentence_of[f.start] <= 3
            ]
            if before:
                antecedent = before[-1]
                record = EntityRecord(
                    antecedent.key,
                    antecedent.record.kind,
                    antecedent.record.label,
                    antecedent.record.in_gazetteer,
                    set(),
                )
                hits.append(_Found(i - 1, i + 1, antecedent.key, record))
        return hits

    # -- "le Premier ministre Mustafa al-Kadhimi" ------------------------------------------------------
    def _title_at(self, lowers: list[str], i: int) -> list[str] | None:
        """The words of the (longest) person title starting at token ``i``, if one does."""
        return next(
            (
                words
                for words, _ in self.titles_by_first.get(lowers[i], ())
                if lowers[i : i + len(words)] == words
            ),
            None,
        )

    def _titled_gazetteer_person(self, person: Span, role: str) -> tuple[str, EntityRecord]:
        entry = self.index.entries[self.index_iri(person.kb_id_)]
        record = self._record(entry, person.text)
        record.role = role
        return entry.slug, record

    def _titled_persons(self, doc: Doc, gaz: list[Span]) -> list[_Found]:
        hits = []
        lowers = token_table(doc).lower
        for i in range(len(doc)):
            title = self._title_at(lowers, i)
            if title is None:
                continue
            n = len(title)
            j = i + n
            while (
                j < len(doc)
                and doc[j].is_lower
                and doc[j].is_alpha
                and j - (i + n) < 3
                and doc[j].pos_ in ("ADJ", "NOUN")
            ):
                j += 1
            role = doc[i:j].text
            person = next((s for s in gaz if s.start == j and s.label_ == "Person"), None)
            if person is not None:
                hits.append(_Found(i, person.end, *self._titled_gazetteer_person(person, role)))
                continue
            end = self._name_end(doc, j)
            if end - j >= 2 and all(not doc[k].is_sent_start for k in range(j + 1, end)):
                record = _new_person(doc[j:end].text, role)
                hits.append(_Found(i, end, record.key, record))
        return hits

    def _apposed_persons(self, doc: Doc, gaz: list[Span]) -> list[_Found]:
        """A name followed by its title in apposition: "Farhad Shami, head of the SDF media centre".

        The title must go on with a preposition ("porte-parole de", "spokesman for"): a title alone after
        a comma ("..., the spokesman said") is the subject of what follows, not a description.
        """
        hits = []
        lowers = token_table(doc).lower
        for i in range(2, len(doc)):
            title = self._title_at(lowers, i)
            after = i + len(title) if title is not None else len(doc)
            if after >= len(doc) or lowers[after] not in self.title_links:
                continue
            comma = i - 1 if lowers[i - 1] == "," else i - 2
            if comma < 1 or lowers[comma] != "," or (comma == i - 2 and lowers[i - 1] not in self.definite):
                continue
            role = doc[i:after].text
            person = next((s for s in gaz if s.end == comma and s.label_ == "Person"), None)
            if person is not None:
                hits.append(_Found(person.start, person.end, *self._titled_gazetteer_person(person, role)))
                continue
            start = comma
            while start > 0 and comma - start < 3 and _is_name_token(doc[start - 1]):
                start -= 1
            longer = start > 0 and doc[start - 1].text[:1].isupper()
            if comma - start < 2 or longer:
                continue  # one word, or the end of a longer capitalised run (an organisation's name)
            if any(doc[k].is_sent_start for k in range(start + 1, comma)):
                continue
            record = _new_person(doc[start:comma].text, role)
            hits.append(_Found(start, comma, record.key, record))
        return hits

    def _ner_persons(self, doc: Doc) -> list[_Found]:
        hits = []
        for ent in doc.ents:
            if ent.label_ != "PER" or len(ent) < 2:
                continue
            words = [t for t in ent if not t.is_punct]
            if any(t.lower_ in self.junk for t in words) or not all(
                _is_name_token(t) or t.lower_ in _NAME_PARTICLES for t in words
            ):
                continue
            if "\n" in ent.text:
                continue
            name = ent.text.strip()
            entry = self.index.lookup(name)
            if entry is not None:
                if entry.kind == "Person":
                    hits.append(_Found(ent.start, ent.end, entry.slug, self._record(entry, name)))
                continue
            hits.append(
                _Found(
                    ent.start,
                    ent.end,
                    slugify(name),
                    EntityRecord(slugify(name), "Person", name, False, {name}),
                )
            )
        return hits


def _by_first_word(phrases: list[tuple[list[str], str]]) -> dict[str, list[tuple[list[str], str]]]:
    """Phrases grouped by their first word, each group in the order given (longest first)."""
    grouped: dict[str, list[tuple[list[str], str]]] = {}
    for words, kind in phrases:
        grouped.setdefault(words[0], []).append((words, kind))
    return grouped


def _new_person(name: str, role: str) -> EntityRecord:
    """A person the gazetteer does not know, with the title the text gives."""
    return EntityRecord(slugify(name), "Person", name, False, {name}, role=role)


def _is_name_token(token: Token) -> bool:
    text = token.text
    return (
        bool(text)
        and (text[0].isupper() or (text[0].isdigit() and token.i > 0))
        and not token.is_punct
        and (any(c.isalpha() for c in text) or text.isdigit())
    )


def _kinds_compatible(head_kind: str, entry_kind: str) -> bool:
    if head_kind == entry_kind:
        return True
    families = (
        {"MilitaryBase", "Airport", "Facility"},
        {"EnergyFacility", "Facility"},
        {"DiplomaticFacility", "Facility"},
        {"District", "City", "Place", "Province"},
        {"ArmedGroup", "Organization"},
    )
    return any(head_kind in f and entry_kind in f for f in families)
