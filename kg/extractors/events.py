"""Attack incidents: from trigger words in sentences to one record per incident.

An article reports an attack over many sentences (headline, lead, details,
a quoted official) and often mentions other, older incidents in the
background. Each sentence is cut into segments around attack nouns, each
segment is read into ``SegmentFacts`` (kind, places, date, counts, claims,
blame), and segments are then clustered into incidents: a segment joins
the incident it is compatible with (kinds, dates, places related by
part-of), unless the text marks it as another incident ("une autre
attaque", a different date, "en représailles"). Blame stated for a whole
series goes to the article's main incident.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import date

from spacy.tokens import Doc, Span, Token

from kg.extractors.casualties import CasualtyReader
from kg.extractors.dates import (
    ResolvedDate,
    TimeExpression,
    TimeParser,
    compatible,
    days_apart,
    finer,
    resolve,
)
from kg.extractors.numbers import parse_number
from kg.extractors.tokens import token_table
from kg.gazetteer import PLACE_KINDS, TARGET_KINDS, GazetteerIndex
from kg.lexicon import Lexicon
from kg.ns import entity_iri
from kg.records import Attribution, EntityMention, EntityRecord, Incident, Sentence
from kg.resources import load_scope

_SPLIT_NOUNS = frozenset(
    {
        "attaque",
        "attaques",
        "frappe",
        "frappes",
        "assassinat",
        "barrage",
        "attentat",
        "attentats",
        "raid",
        "raids",
        "bombardement",
        "bombardements",
        "explosion",
        "explosions",
        "attack",
        "attacks",
        "strike",
        "strikes",
        "assassination",
        "bombing",
    }
)
# places specific enough that two targets inside one are one incident site (an airport complex, a district)
_SPECIFIC_PLACES = frozenset({"Airport", "MilitaryBase", "Facility"})
_BLAME_END = frozenset(
    {"d'", "de", "pour", "après", "car", "qui", ".", ";", "à", "au", "aux", "dans", "of", "for"}
)
_CLITICS = frozenset(
    {
        "il",
        "ils",
        "elle",
        "elles",
        "les",
        "l'",
        "la",
        "ne",
        "n'",
        "a",
        "ont",
        "pourtant",
        "régulièrement",
        "généralement",
        "has",
        "have",
        "repeatedly",
    }
)
_NUMBER_CACHE_SIZE = 200_000
_PLURAL_DETERMINERS = frozenset({"les", "ces", "des", "the", "these", "those"})
_INDEFINITE = frozenset({"une", "un", "a", "an"})
_ACTOR_KINDS = frozenset({"ArmedGroup", "State", "Country", "Organization", "Person"})
_GROUP_KINDS = frozenset({"ArmedGroup"})
# a state's armed force claims its own strikes ("les Gardiens de la révolution ont revendiqué l'opération"),
# but an agency is often named beside a claim it only reports ("selon le Pentagone, X a revendiqué"): such
# an actor claims only as the claim verb's own subject or agent, and only when no armed group is named
_SUBJECT_CLAIMANT_KINDS = frozenset({"Organization"})
# between coordinated names ("les Kataëb Hezbollah et Harakat al-Nujaba", "Iran and its proxies")
_COORDINATION_WORDS = frozenset(
    {"et", "and", ",", "ou", "or", "les", "the", "des", "l'", "la", "le", "its", "ses"}
)
# a wire dateline opening a paragraph: "BAGDAD, 8 janv 2020 (AFP) -", "Erbil (Reuters) —", "BAGHDAD — ";
# it says where and when the story was filed, not where or when the attack happened
_DATELINE = re.compile(
    r"^[ \t]*[A-ZÀ-Þ][\w'’.-]*(?:[ -][A-ZÀ-Þ][\w'’.-]*){0,2}"
    r"(?:(?:[ \t]*,[ \t]*[^\n()]{1,30}?)?[ \t]*\([A-Z][\w .-]{1,25}\)[ \t]*[-–—]"
    r"|(?<=[A-ZÀ-Þ])[ \t]+[–—-][ \t])",
    re.M,
)
# a line opening with a typographic bullet starts a new section of a newsletter or digest ("■ Taji de nouveau
# visé"): a section reports its own news, so an incident does not run on into the next one
_SECTION_BULLET = re.compile(r"^\s*[■□▪▫●•◆◇►▶‣➤]")
# "au nord de Bagdad", "west of Baghdad": a reference point, not where the attack happened
_DIRECTIONAL = re.compile(
    r"\b(nord|sud|est|ouest|north|south|east|west|northwest|northeast|southwest|southeast)"
    r"(?:-\w+)?\s+(de|d'|du|des|of)\s*(la|l'|le|the)?\s*$"
)


@dataclass
class SegmentFacts:
    """What one segment of a sentence says about an attack."""

    sentence: int
    start: int  # token indices
    end: int
    trigger: bool = False
    kinds: set[str] = field(default_factory=set)
    modal: bool = False
    series: bool = False
    new_marker: bool = False
    anaphoric: bool = False
    split_child: bool = False
    dates: list[TimeExpression] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    launch_sites: list[str] = field(default_factory=list)
    projectiles: int | None = None
    killed: int | None = None
    injured: int | None = None
    intercepted: bool | None = None
    foiled: bool = False
    struck: bool = False  # a verb says the weapon was fired or hit ("deux roquettes ont frappé", "fired")
    claimed_by: list[str] = field(default_factory=list)
    perpetrators: list[str] = field(default_factory=list)
    accused: list[str] = field(default_factory=list)
    accuser: str | None = None
    blame_period: bool = False
    relative: bool = False  # dated relative to another incident ("quelques jours plus tard")
    count_reference: int = 0  # "les deux attaques": refers back to that many incidents
    singular_reference: bool = False  # "l'attaque", "cette frappe": refers back to one incident
    blame_dates: list[TimeExpression] = field(default_factory=list)  # "l'attaque de mercredi"
    headline_count: int = 0  # "deux bases visées": how many incidents a headline announces
    day: date | None = None  # the day of the live-blog heading ("Mercredi", "Wednesday") above the segment
    section_start: bool = False  # the first segment of a bulleted section ("■ Taji de nouveau visé")

    @property
    def named(self) -> bool:
        return bool(self.targets or self.locations)

    @property
    def weekday(self) -> int | None:
        return next((d.weekday for d in self.dates if d.weekday is not None), None)


class EventExtractor:
    """Turns a parsed article into incidents (one instance per language, reused across articles)."""

    def __init__(self, lexicon: Lexicon, index: GazetteerIndex) -> None:
        self.lexicon = lexicon
        self.index = index
        self.time = TimeParser(lexicon)
        self._number_cache: dict[str, int | None] = {}  # token text -> its value as a number, if any
        self.casualties = CasualtyReader(lexicon)
        self.kinds = lexicon.mapping("kinds")
        # a number before one of these counts projectiles ("quatre roquettes"); attack nouns that are not
        # things fired ("deux assauts") are left out
        self.projectile_words = (
            {k for k in self.kinds if " " not in k} | lexicon.words("numbers", "projectile_nouns")
        ) - lexicon.words("numbers", "not_projectile_nouns")
        # English puts a weapon's description before it ("an explosive-laden drone", "a one-way attack
        # drone"): words of a hyphenated compound and these modifiers may stand between number and noun
        self.projectile_premodifiers = lexicon.words("numbers", "projectile_premodifiers")
        self.multiword_kinds = sorted((k for k in self.kinds if " " in k), key=len, reverse=True)
        self.trigger_nouns = lexicon.words("triggers", "nouns")
        # verbs that report an attack on their own (generic ones like "toucher" need a weapon word)
        self.strong_verbs = lexicon.words("triggers", "strong_verbs")
        self.foiled_objects = lexicon.words("status", "foiled_objects")
        self.fired_words = lexicon.words("status", "fired_words")
        self.not_intercepted = lexicon.words("status", "not_interception_before")
        self.reflexive_auxiliaries = lexicon.words("status", "reflexive_auxiliaries")
        self.target_markers = lexicon.words("relations", "target_markers")
        self.target_verbs = lexicon.words("relations", "target_verbs")
        self.cut_connectors = lexicon.words("relations", "cut_connectors")
        self.launch_markers = lexicon.words("relations", "launch_markers")
        self.motives = lexicon.words("relations", "motive_markers")
        self.clause_connectors = lexicon.words("relations", "clause_connectors")
        self.self_report_verbs = lexicon.words("relations", "self_report_verbs")
        self.perpetrator_adjectives: dict[str, str] = lexicon.mapping("relations", "perpetrator_adjectives")
        self.strike_nouns = lexicon.words("relations", "strike_nouns")
        self.adjective_after_noun = bool(lexicon.section("relations").get("adjective_after_noun", False))
        self.anaphoric_phrases = lexicon.words("relations", "anaphoric_phrases")
        self.never_accused = lexicon.words("relations", "never_accused")
        self.attack_words = lexicon.words("relations", "attack_words") | self.trigger_nouns
        # "X était derrière l'attaque", "X were behind the drone attack": the subject is blamed
        self.behind_words = lexicon.words("relations", "behind_words")
        self.copulas = lexicon.words("relations", "copulas")
        self.denial_verbs = lexicon.words("relations", "denial_verbs")
        self.scope = load_scope()
        self.found_words = lexicon.words("status", "found_words")
        self.foiled = lexicon.words("status", "foiled")
        self.intercepted = lexicon.words("status", "intercepted")
        self.intercept_success = lexicon.words("status", "intercept_success_verbs")
        rel = lexicon.section("relations")
        self.claim_verbs = frozenset(rel.get("claim_verbs", []))
        self.claim_stems = tuple(rel.get("claim_stems", [])) or ("\x00",)
        self.accuse_stems: dict[str, str] = rel.get("accuse_stems", {})
        self.accuse_verbs = frozenset(rel.get("accuse_verbs", []))
        self.claim_or_accuse_verbs = self.claim_verbs | self.accuse_verbs
        self.accuse_complements = {k: frozenset(v) for k, v in rel.get("accuse_complements", {}).items()}
        self.negations = frozenset(rel.get("negations", []))
        self.modality = frozenset(rel.get("modality", [])) - {"si", "risque"}
        self.series = [s.lower() for s in rel.get("series", [])]
        self.new_incident = frozenset(rel.get("new_incident", []))
        self.anaphora = frozenset(rel.get("anaphora", []))
        self.perpetrator_verbs = frozenset(rel.get("perpetrator_verbs", []))
        self.period_markers = [m.lower() for m in rel.get("period_markers", [])]
        dates = lexicon.section("dates")
        self.range_markers = [m.lower() for m in dates.get("range_markers", [])]
        # "depuis le 17 octobre", "since January": the start of a period, not an event date
        self.range_before = re.compile(
            r"\b(?:"
            + "|".join(re.escape(m) for m in self.range_markers)
            + r")\s+(?:le|la|l'|les|du|the)?\s*$"
            if self.range_markers
            else r"(?!x)x",
            re.I,
        )
        self.reporting_verbs = frozenset(dates.get("reporting_verbs", []))
        # "l'attaque de mardi": the words that make a date the complement of the noun before it
        self.date_of_links = frozenset(dates.get("date_of_links", []))
        self.date_possessives = frozenset(dates.get("date_possessives", []))  # "yesterday's attack"
        self.ordinals = {k.lower(): int(v) for k, v in dates.get("ordinals", {}).items()}
        self.anniversary = dates.get("anniversary", "anniversaire")
        anchors = dates.get("relative_anchors", [])
        self.relative_anchor = re.compile(
            r"\b(?:" + "|".join(re.escape(a) for a in anchors) + r")\b" if anchors else r"(?!x)x", re.I
        )
        self.facility_heads = frozenset(k.split()[0] for k in lexicon.mapping("heads", "facility"))

    # -- public -----------------------------------------------------------------------------------------
    def extract(
        self,
        doc: Doc,
        sentences: list[Sentence],
        mentions: list[EntityMention],
        entities: dict[str, EntityRecord],
        reference: date | None,
        reference_precision: str | None,
    ) -> list[Incident]:
        """Incidents reported in ``doc``, the article's headline incident first."""
        token_key: dict[int, str] = {}
        datelines = [(m.start(), m.end()) for m in _DATELINE.finditer(_doc_text(doc))]
        # longest mentions first: "l'aéroport international de Bagdad" owns its tokens, not "Bagdad"
        for mention in sorted(mentions, key=lambda m: m.start - m.end):
            if any(start <= mention.start < end for start, end in datelines):
                continue  # the dateline's city is where the story was filed
            span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
            if span is not None:
                for token in span:
                    token_key.setdefault(token.i, mention.key)
        if reference is None:
            reference, reference_precision = self._anniversary_reference(doc)
        facts: list[SegmentFacts] = []
        day: date | None = None
        for sentence in sentences:
            span = doc.char_span(sentence.start, sentence.end, alignment_mode="expand")
            if span is None:
                continue
            heading = self._day_heading(span, reference, reference_precision)
            if heading is not None:
                day = heading  # the entries below it, until the next heading, are that day's news
                continue
            pieces = self._segments(span)
            sentence_facts = [
                self._read(doc[start:end], sentence.index, token_key, entities, datelines)
                for start, end in pieces
            ]
            # a later attack noun with no place or date of its own is the same incident
            # ("à la suite d'une attaque")
            kept: list[tuple[int, int]] = []
            for (start, end), segment in zip(pieces, sentence_facts, strict=True):
                if kept and not segment.named and not segment.dates:
                    kept[-1] = (kept[-1][0], end)
                else:
                    kept.append((start, end))
            relative = bool(self.relative_anchor.search(span.text))
            section_start = bool(_SECTION_BULLET.match(span.text))
            for index, (start, end) in enumerate(kept):
                segment = (
                    self._read(doc[start:end], sentence.index, token_key, entities, datelines)
                    if len(kept) < len(pieces)
                    else sentence_facts[index]
                )
                segment.split_child = index > 0
                segment.relative = relative
                segment.day = day
                segment.section_start = section_start and index == 0
                facts.append(segment)
        return self._cluster(facts, reference, reference_precision)

    def _day_heading(self, span: Span, reference: date | None, precision: str | None) -> date | None:
        """The day a live blog's heading line names ("Mercredi", "Wednesday, July 7"), if the line is one.

        A heading holds a date and nothing else. A weekday there is the publication day's own or an
        earlier one in the same week: the blog runs up to the day it was last updated.
        """
        text = span.text.strip()
        if not text or "\n" in text or len(span) > 6:
            return None
        expressions = self.time.find(span.text, offset=span.start_char)
        if len(expressions) != 1:
            return None
        expression = expressions[0]
        doc_text = _doc_text(span.doc)
        rest = doc_text[span.start_char : expression.start] + doc_text[expression.end : span.end_char]
        if re.search(r"\w", rest) or (expression.day is None and expression.weekday is None):
            return None
        resolved = resolve(replace(expression, this_week=True), reference, precision)
        if resolved is None or resolved.precision != "day":
            return None
        return date.fromisoformat(resolved.iso)

    # -- reference date when the article has no publication date ---------------------------------------
    def _anniversary_reference(self, doc: Doc) -> tuple[date | None, str | None]:
        """ "le deuxième anniversaire de ... janvier 2020" dates the article to January 2022."""
        text = doc.text
        pattern = re.compile(rf"\b(\w+)\s+{self.anniversary}\b", re.I)
        for match in pattern.finditer(text):
            years = self.ordinals.get(match.group(1).lower())
            if years is None:
                continue
            sentence_end = text.find(".", match.end())
            window = text[match.end() : sentence_end if sentence_end > 0 else len(text)]
            for expression in self.time.find(window):
                if expression.year:
                    return date(expression.year + years, expression.month or 1, 1), (
                        "month" if expression.month else "year"
                    )
        return None, None

    # -- segmentation -------------------------------------------------------------------------------
    def _segments(self, sentence: Span) -> list[tuple[int, int]]:
        """Cut a sentence before each further attack noun introduced as a new referent."""
        lower = token_table(sentence.doc).lower
        cuts = [sentence.start]
        seen_noun = False  # an attack noun ("attaque", "frappe") already in the sentence
        seen_attack = False  # any attack or weapon word already in the sentence
        for i in range(sentence.start, sentence.end):
            word = lower[i]
            if word not in _SPLIT_NOUNS:
                # "..., tandis qu'un drone a frappé la base de X": a weapon after a clause connector
                kind = self.kinds.get(word)
                if seen_attack and kind:
                    before = lower[max(sentence.start, i - 3) : i]
                    if any(w in self.clause_connectors for w in before) and any(
                        w in ("un", "une", "qu'un", "qu'une", "a", "an") for w in before
                    ):
                        first = next(k for k, w in enumerate(before) if w in self.clause_connectors)
                        cuts.append(max(i - len(before) + first, cuts[-1] + 1))
                seen_attack = seen_attack or bool(kind)
                continue
            if seen_noun:
                before = lower[max(sentence.start, i - 3) : i]
                indefinite = any(w in ("une", "un", "d'un", "d'une", "a", "an") for w in before)
                # "en représailles à l'assassinat", "après l'attaque": a connector introduces another incident
                connected = before[-2:] == ["à", "l'"] or any(w in self.cut_connectors for w in before)
                if indefinite or connected:
                    # start the new segment at its determiner or connector
                    first = next((k for k, w in enumerate(before) if w in self.cut_connectors), None)
                    cut = i - len(before) + first if first is not None else i - 1
                    cuts.append(max(cut, cuts[-1] + 1))
            seen_noun = seen_attack = True
        cuts.append(sentence.end)
        return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]

    # -- reading one segment -----------------------------------------------------------------------
    def _read(
        self,
        span: Span,
        sentence: int,
        token_key: dict[int, str],
        entities: dict[str, EntityRecord],
        datelines: list[tuple[int, int]],
    ) -> SegmentFacts:
        table = token_table(span.doc)
        lower, lemmas = table.lower, table.lemma_lower
        positions = range(span.start, span.end)
        facts = SegmentFacts(sentence, span.start, span.end)
        words_in_order = lower[span.start : span.end]
        lowered = " " + " ".join(words_in_order) + " "
        # kinds and triggers
        for phrase in self.multiword_kinds:
            if f" {phrase} " in lowered:
                facts.kinds.add(self.kinds[phrase])
                facts.trigger = True
        first_trigger = None
        for i in positions:
            word, lemma = lower[i], lemmas[i]
            kind = self.kinds.get(word) or self.kinds.get(lemma)
            if kind and not word.startswith("anti"):
                facts.kinds.add(kind)
            if (
                kind
                or word in self.trigger_nouns
                or lemma in self.trigger_nouns
                or lemma in self.strong_verbs
                or word in self.strong_verbs
            ):
                facts.trigger = True
                first_trigger = i if first_trigger is None else first_trigger
            if word in self.foiled or lemma in self.foiled:
                facts.foiled = True
                facts.trigger = True
        # "un lance-roquettes a été découvert": a launcher found before firing is a foiled attack
        words = set(words_in_order)
        facts.struck = bool(words & self.fired_words)
        if words & self.foiled_objects and words & self.found_words and not words & self.fired_words:
            facts.foiled = True
            facts.trigger = True
        # markers
        for i in positions:
            word, lemma = lower[i], lemmas[i]
            if (lemma in self.modality or word in self.modality) and (
                first_trigger is None or i < first_trigger
            ):
                facts.modal = True
            if (
                word in _SPLIT_NOUNS
                or word in self.trigger_nouns
                or word.removesuffix("s") in self.facility_heads
            ):
                window = lower[max(span.start, i - 2) : i]
                if any(w in self.new_incident for w in window):
                    facts.new_marker = True
                # "l'attaque", "cette frappe", "les roquettes" point back; "les attaques" is a series,
                # "les deux attaques" points back to the last two incidents
                plural_attack = word in _SPLIT_NOUNS and word.endswith("s")
                if plural_attack and len(window) == 2 and window[0] in self.anaphora:
                    count = parse_number(window[1], self.lexicon) or (
                        2 if window[1] in ("deux", "both") else 0
                    )
                    if count:
                        facts.anaphoric = True
                        facts.count_reference = count
                if window and window[-1] in ("both",) and plural_attack:
                    facts.anaphoric, facts.count_reference = True, 2
                if (
                    window
                    and window[-1] in self.anaphora
                    and word not in self.facility_heads
                    and not (plural_attack)
                ):
                    facts.anaphoric = True
                    if not word.endswith(("s", "x")) and window[-1] not in _PLURAL_DETERMINERS:
                        facts.singular_reference = True  # "l'attaque", "cette frappe": one incident
                if window and (len(window) == 2 or window[-1] not in self.anaphora):
                    count = parse_number(window[-1], self.lexicon)
                    if count and count > 1 and not facts.headline_count:
                        facts.headline_count = count  # "deux bases visées", "two attacks"
        # "a répondu par des frappes de représailles" is a new incident; "en représailles à l'attaque X"
        # (the connector opening the segment) points back to an earlier one
        retaliation = next((i for i in positions if lower[i].startswith(("représailles", "retaliat"))), None)
        if retaliation is not None and first_trigger is not None and retaliation > first_trigger:
            facts.new_marker = True
        if any(f" {p} " in lowered for p in self.anaphoric_phrases):
            # "il s'agit de la troisième attaque contre Balad": the same incident, whatever the ordinal says
            facts.anaphoric = True
            facts.new_marker = False
        facts.series = any(f" {s} " in lowered for s in self.series) or bool(
            re.search(r"\b\d+\s*(?:e|è|ème)\s+attaque", lowered)
        )
        facts.blame_period = any(f" {m} " in lowered for m in self.period_markers)
        self._read_places(span, facts, token_key, entities)
        self._read_dates(span, facts, datelines)
        self._read_counts(span, facts, token_key, entities)
        self._read_relations(span, facts, token_key, entities)
        if not ({"airstrike"} & facts.kinds or facts.perpetrators):
            # armed groups are targets of strikes by states; elsewhere they are attackers or blamed
            facts.targets = [
                k for k in facts.targets if entities[k].kind not in ("ArmedGroup", "Organization")
            ]
        return facts

    def _read_places(
        self, span: Span, facts: SegmentFacts, token_key: dict[int, str], entities: dict[str, EntityRecord]
    ) -> None:
        doc = span.doc
        table = token_table(doc)
        seen: set[str] = set()
        kill_context = any(
            table.lemma[i] in ("tuer", "assassiner", "kill")
            or table.lower[i] in ("assassinat", "assassination")
            for i in range(span.start, span.end)
        )
        used_markers: set[int] = set()
        # "en réponse aux massacres à Gaza": places after a motive are not where the attack happened
        lowered = table.lower[span.start : span.end]
        motive = next(
            (
                span.start + k
                for k in range(len(lowered) - 1)
                if f"{lowered[k]} {lowered[k + 1]}" in self.motives
            ),
            span.end,
        )
        i = span.start
        while i < min(span.end, motive):
            key = token_key.get(i)
            if key is None:
                i += 1
                continue
            j = i
            while j < span.end and token_key.get(j) == key:
                j += 1
            record = entities.get(key)
            if record and key not in seen:
                before = " ".join(table.lower[max(span.start, i - 4) : i])
                aimed = self._aimed_at(doc, span.start, i)
                seen.add(key)
                marker = self._launch_marker(doc, span.start, i)
                if (
                    record.kind in PLACE_KINDS - {"Country"}
                    and marker is not None
                    and marker not in used_markers
                ):
                    # the first place after "tirées depuis" / "launched from", even past "un camion près de"
                    used_markers.add(marker)
                    facts.launch_sites.append(key)
                elif record.kind in TARGET_KINDS or (
                    record.kind in ("Airport", "ArmedGroup", "Organization") and aimed
                ):
                    # an airport, or a group's positions, named as what the attack was aimed at
                    facts.targets.append(key)
                elif (
                    record.kind in PLACE_KINDS
                    and record.kind != "Country"
                    and not _DIRECTIONAL.search(before)
                ):
                    facts.locations.append(key)
                elif record.kind == "Person" and kill_context:
                    facts.targets.append(key)
            i = j

    def _launch_marker(self, doc: Doc, start: int, i: int) -> int | None:
        """Index of a launch marker ("depuis", "from") shortly before token ``i`` in the same clause."""
        table = token_table(doc)
        for k in range(i - 1, max(start, i - 10) - 1, -1):
            word = table.lower[k]
            if table.text[k] in (".", ";", ":") or word in ("et", "and", "tandis", "while"):
                return None
            if word in self.launch_markers:
                return k
        return None

    def _aimed_at(self, doc: Doc, start: int, i: int) -> bool:
        """The mention at token ``i`` follows a targeting word ("contre", "visant", "en direction de")."""
        table = token_table(doc)
        for k in range(max(start, i - 6), i):
            word = table.lower[k]
            if (
                word in self.target_markers
                or word in self.target_verbs
                or table.lemma_lower[k] in self.target_verbs
            ):
                return not any(
                    table.pos[j] in ("VERB", "AUX") or table.text[j] in (".", ";") for j in range(k + 1, i)
                )
        return False

    def _read_dates(self, span: Span, facts: SegmentFacts, datelines: list[tuple[int, int]]) -> None:
        doc = span.doc
        for expression in self.time.find(span.text, offset=span.start_char):
            if any(start <= expression.start < end for start, end in datelines):
                continue  # the day the story was filed
            text = _doc_text(doc)
            before = text[max(0, expression.start - 14) : expression.start].lower()
            after = text[expression.end : expression.end + 12].lower()
            if self.range_before.search(before) and not re.match(r"[\s,]*(?:lorsque|quand|when|où)\b", after):
                continue  # "depuis le 17 octobre" starts a period; "depuis le 30 septembre, lorsque" dates
            token_span = doc.char_span(expression.start, expression.end, alignment_mode="expand")
            if (
                token_span is not None
                and self._reporting(token_span)
                and not self._dates_attack_noun(token_span)
            ):
                continue
            facts.dates.append(expression)

    def _dates_attack_noun(self, span: Span) -> bool:
        """The date qualifies an attack noun, whatever verb the sentence reports it with.

        "a revendiqué l'attaque à la roquette d'hier", "claiming yesterday's rocket attack": the day is
        the attack's, not the claim's.
        """
        doc = span.doc
        before = doc[span.start - 1].lower_ if span.start > 0 else ""
        if before in self.date_of_links:  # "l'attaque de mardi", "la frappe d'hier"
            return any(t.lower_ in self.attack_words for t in doc[max(0, span.start - 5) : span.start - 1])
        if span.end < len(doc) and doc[span.end].lower_ in self.date_possessives:  # "yesterday's attack"
            return any(t.lower_ in self.attack_words for t in doc[span.end + 1 : span.end + 4])
        return False

    def _reporting(self, span: Span) -> bool:
        """True when the time expression dates a statement ("a annoncé ... le 18 juin"), not the attack."""
        doc = span.doc
        if not doc.has_annotation("DEP"):
            # no parser (English): a reporting verb just before the date ("said on Friday", "told AFP Friday")
            window = [t.lower_ for t in doc[max(0, span.start - 4) : span.start]]
            return any(w in self.reporting_verbs for w in window)
        token = span.root
        for _ in range(6):
            if token.pos_ in ("VERB", "AUX") or token.head is token:
                break
            token = token.head
        return token.lemma_.lower() in self.reporting_verbs

    def _read_counts(
        self, span: Span, facts: SegmentFacts, token_key: dict[int, str], entities: dict[str, EntityRecord]
    ) -> None:
        table = token_table(span.doc)
        lower, lemmas = table.lower, table.lemma_lower
        numbers = self._numbers(span.doc)
        projectile_words = self.projectile_words
        reach = 6 if self.projectile_premodifiers else 3  # "a one - way attack drone": five tokens on
        for i in range(span.start, span.end - 1):
            value = numbers[i]
            if value is None:
                continue
            for k in range(i + 1, min(span.end, i + reach)):
                if lower[k] in projectile_words or lemmas[k] in projectile_words:
                    facts.projectiles = max(facts.projectiles or 0, value)
                    break
                if table.pos[k] != "ADJ" and not self._premodifies(span.doc, k, span.end):
                    break
        persons = {i for i, key in token_key.items() if entities.get(key) and entities[key].kind == "Person"}
        facts.killed, facts.injured = self.casualties.read(span, persons)
        for i in range(span.start, span.end):
            word = lower[i]
            two_words = f"{word} {lower[i + 1]}" if i + 1 < span.end else word
            if word in self.intercepted or two_words in self.intercepted:
                negated = any(w in ("pas", "ne", "n'", "not") for w in lower[max(span.start, i - 3) : i])
                # "s'abat", and past the auxiliary of a compound tense: "s'est abattu", "se sont abattus"
                before = lower[i - 1] if i > span.start else ""
                if before in self.reflexive_auxiliaries and i - 1 > span.start:
                    before = lower[i - 2]
                reflexive = before in self.not_intercepted
                if not negated and not reflexive:
                    facts.intercepted = True
                elif negated and not reflexive and facts.intercepted is None:
                    facts.intercepted = False  # "was not intercepted", "n'a pas été intercepté"
            if lemmas[i] in ("intercepter", "intercept") and i > span.start:
                helper = range(max(span.start, i - 3), i)
                if any(lemmas[k] in self.intercept_success for k in helper if lower[k] != word):
                    facts.intercepted = True

    def _numbers(self, doc: Doc) -> list[int | None]:
        """The value of each token read as a number ("quatre", "12"), computed once per Doc."""
        numbers = doc.user_data.get("kg.numbers")
        if numbers is None:
            cache = self._number_cache
            if len(cache) > _NUMBER_CACHE_SIZE:
                cache.clear()  # a long-running process meets ever new words
            numbers = []
            for text in token_table(doc).text:
                if text not in cache:
                    cache[text] = parse_number(text, self.lexicon)
                numbers.append(cache[text])
            doc.user_data["kg.numbers"] = numbers
        return numbers

    def _premodifies(self, doc: Doc, k: int, end: int) -> bool:
        """Whether token ``k`` can sit inside a weapon's description, before the weapon noun."""
        if not self.projectile_premodifiers:
            return False
        if doc[k].lower_ in self.projectile_premodifiers:
            return True

        def joining(h: int) -> bool:  # a hyphen inside a word ("one-way"), not a dash ("Jan 30 - The")
            return doc[h].text == "-" and not doc[h - 1].whitespace_ and not doc[h].whitespace_

        return joining(k) or (k + 1 < end and joining(k + 1)) or joining(k - 1)

    def _read_relations(
        self, span: Span, facts: SegmentFacts, token_key: dict[int, str], entities: dict[str, EntityRecord]
    ) -> None:
        doc = span.doc
        table = token_table(doc)
        lower = table.lower

        def kind_of(i: int) -> str | None:
            key = token_key.get(i)
            return entities[key].kind if key and key in entities else None

        def negated(i: int) -> bool:
            clause = lower[max(span.start, i - 5) : i]
            return any(w in self.negations for w in clause) or (i + 1 < span.end and lower[i + 1] == "pas")

        for position in range(span.start, span.end):
            word, lemma = lower[position], table.lemma_lower[position]
            verb = lemma if lemma in self.claim_or_accuse_verbs else word
            stem = next((s for s in self.accuse_stems if word.startswith(s)), None)
            if stem is not None and verb not in self.accuse_verbs:
                verb = self.accuse_stems[stem]  # an inflected form the lemmatizer missed ("impute", "blâmé")
            if verb in self.claim_verbs or word.startswith(self.claim_stems):
                if negated(position):
                    continue
                before = [token_key[i] for i in range(span.start, position) if kind_of(i) in _GROUP_KINDS]
                after = []
                # passive: "revendiquées sur Telegram par la Résistance islamique", "claimed by"
                agent = next(
                    (
                        i
                        for i in range(position + 1, min(span.end, position + 6))
                        if lower[i] in ("par", "by")
                    ),
                    None,
                )
                if agent is not None:
                    after = [
                        token_key[i]
                        for i in range(agent + 1, min(span.end, agent + 8))
                        if kind_of(i) in _GROUP_KINDS
                    ]
                # the subject comes first: "X, une coalition de milices, a revendiqué" names X
                claimants = list(dict.fromkeys(before[:1] + after[:1]))
                if not claimants:
                    claimants = self._claiming_subject(doc[position], agent, span, token_key, kind_of)
                facts.claimed_by.extend(claimants)
            elif verb in self.accuse_verbs:
                tail = lower[position + 1 : min(span.end, position + 5)]
                if self._lacks_complement(verb, lower, position, span.end):
                    continue
                if verb in ("attribuer", "imputer") and not any(w in ("à", "aux", "au") for w in tail):
                    continue
                if negated(position):
                    continue
                self._read_blame(span, position, facts, token_key, kind_of)
            elif lemma in self.perpetrator_verbs and not negated(position) and table.pos[position] == "VERB":
                for child in doc[position].children:
                    if child.dep_.startswith("nsubj") and kind_of(child.i) in (
                        "State",
                        "Country",
                        "ArmedGroup",
                    ):
                        key = token_key[child.i]
                        if entities[key].kind in ("Country", "State"):
                            facts.perpetrators.append(key)
        self._read_self_claims(span, facts, token_key, kind_of)
        self._read_behind_blame(span, facts, token_key, kind_of, negated)
        for key in self._perpetrators_by_adjective(span) + self._perpetrators_by_adjacency(
            span, token_key, kind_of
        ):
            if key not in facts.perpetrators:
                facts.perpetrators.append(key)

    def _read_behind_blame(
        self, span: Span, facts: SegmentFacts, token_key: dict[int, str], kind_of, negated
    ) -> None:
        """ "X étaient derrière l'attaque", "officials said X was behind the strike": X is blamed.

        The accused is the subject of the copula (groups, or a state, with their coordinations); whoever
        is named first in the sentence before it says so.
        """
        doc = span.doc
        lower = token_table(doc).lower
        for position in range(span.start, span.end):
            if lower[position] not in self.behind_words or negated(position):
                continue
            copula = next((k for k in (position - 1, position - 2) if lower[k] in self.copulas), None)
            if copula is None or copula < span.start:
                continue
            sentence = doc[position].sent
            if not any(w in self.attack_words for w in lower[position + 1 : min(sentence.end, position + 5)]):
                continue  # "derrière le mur", "behind the base"
            if any(w in self.denial_verbs for w in lower[sentence.start : copula]):
                continue  # "X a démenti être derrière l'attaque"
            accused: list[str] = []
            k = copula - 1
            while k >= max(sentence.start, copula - 12):
                kind = kind_of(k)
                if kind in _GROUP_KINDS or kind in ("Country", "State"):
                    key = token_key[k]
                    if key not in accused:
                        accused.insert(0, key)
                    while k > sentence.start and token_key.get(k - 1) == key:
                        k -= 1  # the rest of the same name
                elif accused and lower[k] not in _COORDINATION_WORDS:
                    break
                k -= 1
            if not accused:
                continue
            first = min(
                (i for i in range(sentence.start, copula) if token_key.get(i) in accused), default=copula
            )
            actors = [i for i in range(sentence.start, first) if kind_of(i) in _ACTOR_KINDS]
            facts.accused.extend(key for key in accused if key not in facts.accused)
            facts.accuser = facts.accuser or (token_key[actors[0]] if actors else None)

    @staticmethod
    def _claiming_subject(
        verb: Token, agent: int | None, span: Span, token_key: dict[int, str], kind_of
    ) -> list[str]:
        """The organisation that is the claim verb's subject, or its agent in the passive ("par le CGRI")."""
        candidates = [child.i for child in verb.children if child.dep_ in ("nsubj", "nsubj:pass")]
        if agent is not None:
            candidates += range(agent + 1, min(span.end, agent + 8))
        for i in candidates:
            if span.start <= i < span.end and kind_of(i) in _SUBJECT_CLAIMANT_KINDS:
                return [token_key[i]]
        return []

    def _read_self_claims(self, span: Span, facts: SegmentFacts, token_key: dict[int, str], kind_of) -> None:
        """A group saying it struck ("X a annoncé avoir visé", "X said it had targeted") claims the attack."""
        table = token_table(span.doc)
        lower, lemmas = table.lower, table.lemma_lower
        for position in range(span.start, span.end):
            if lower[position] not in self.self_report_verbs:
                continue
            if not any(
                lower[k] in self.target_verbs
                or lemmas[k] in self.target_verbs
                or lower[k] in self.perpetrator_verbs
                or lemmas[k] in self.perpetrator_verbs
                for k in range(position + 1, min(span.end, position + 4))
            ):
                continue
            # the group must be the one speaking: "X a annoncé ... avoir visé", not "accusé X d'avoir attaqué"
            speech = next(
                (
                    k
                    for k in range(span.start, position)
                    if lemmas[k] in self.reporting_verbs or lower[k] in self.reporting_verbs
                ),
                None,
            )
            if speech is None or any(
                self._blames(lower, lemmas, k, span.end) for k in range(span.start, position)
            ):
                continue
            groups = [token_key[i] for i in range(span.start, speech) if kind_of(i) in _GROUP_KINDS]
            if groups and groups[0] not in facts.claimed_by:
                facts.claimed_by.append(groups[0])

    def _lacks_complement(self, verb: str, lower: list[str], position: int, end: int) -> bool:
        """ "tenir", "porter", "bear" blame only with their complement ("porte la signature de").

        The complement may follow a coordinated object: "we hold Iran and its proxies responsible".
        """
        complement = self.accuse_complements.get(verb)
        return bool(complement) and not any(
            w in complement for w in lower[position + 1 : min(end, position + 8)]
        )

    def _blames(self, lower: list[str], lemmas: list[str], k: int, end: int) -> bool:
        """Whether token ``k`` is a blame verb ("accusé", "porte la signature"; not "porte-parole")."""
        verb = lemmas[k] if lemmas[k] in self.accuse_verbs else None
        if verb is None:
            stem = next((s for s in self.accuse_stems if lower[k].startswith(s)), None)
            verb = self.accuse_stems[stem] if stem is not None else None
        return verb is not None and not self._lacks_complement(verb, lower, k, end)

    def _perpetrators_by_adjective(self, span: Span) -> list[str]:
        """ "frappes américaines", "l'aviation américaine", "a US drone strike": the state that struck."""
        lower = token_table(span.doc).lower
        found = []
        for position in range(span.start, span.end):
            state = self.perpetrator_adjectives.get(lower[position])
            if state is None:
                continue
            # French puts the adjective after the noun ("frappe américaine"), English before ("US strike")
            if self.adjective_after_noun:
                near = lower[max(span.start, position - 3) : position]
            else:
                near = lower[position + 1 : min(span.end, position + 3)]
            if any(w in self.strike_nouns for w in near):
                found.append(state)
        return found

    def _perpetrators_by_adjacency(self, span: Span, token_key: dict[int, str], kind_of) -> list[str]:
        """Without a parser: a state right before a striking verb ("Washington launched airstrikes")."""
        doc = span.doc
        if doc.has_annotation("DEP"):
            return []
        table = token_table(doc)
        found = []
        for position in range(span.start, span.end):
            if table.lower[position] not in self.perpetrator_verbs:
                continue
            for k in range(position - 1, max(span.start, position - 4) - 1, -1):
                if kind_of(k) in ("Country", "State"):
                    found.append(token_key[k])
                    break
                if table.is_punct[k]:
                    break
        return found

    def _read_blame(
        self, span: Span, verb: int, facts: SegmentFacts, token_key: dict[int, str], kind_of
    ) -> None:
        """Who is blamed (armed groups; a state only for attacks) and who blames, around a blame verb."""
        doc = span.doc
        sentence = doc[verb].sent
        actors_before = [i for i in range(sentence.start, verb) if kind_of(i) in _ACTOR_KINDS]
        accused: list[str] = []
        relative = verb - 1
        while relative > sentence.start and doc[relative].lower_ in _CLITICS:
            relative -= 1
        pronoun = doc[relative].lower_
        object_relative = pronoun in ("que", "qu'")  # "les milices qu'il accuse": the antecedent is blamed
        subject_relative = pronoun in (
            "qui",
            "who",
        )  # "Washington, qui accuse Téhéran": the antecedent blames
        if object_relative:
            groups = [
                i for i in range(max(sentence.start, relative - 8), relative) if kind_of(i) in _GROUP_KINDS
            ]
            if groups:
                accused.append(token_key[groups[-1]])
                actors_before = [i for i in actors_before if token_key[i] != token_key[groups[-1]]]
        if not accused:
            accused = self._accused_after(doc, verb, sentence.end, token_key, kind_of)
        if not accused:
            return
        if not actors_before:
            accuser = None
        elif object_relative:
            accuser = token_key[actors_before[0]]  # the pronoun stands for the sentence's first actor
        elif subject_relative:
            accuser = token_key[actors_before[-1]]  # the antecedent right before "qui"
        else:
            accuser = token_key[actors_before[-1]]  # the subject right before the verb
        facts.accused = list(dict.fromkeys(accused))
        facts.accuser = accuser
        # "a imputé l'attaque de mercredi aux Kataëb Hezbollah": the blame names its incident by date
        after_verb = doc[verb + 1 : sentence.end]
        facts.blame_dates = self.time.find(after_verb.text, offset=after_verb.start_char)

    def _accused_after(self, doc: Doc, verb: int, end: int, token_key: dict[int, str], kind_of) -> list[str]:
        """Groups (and states blamed for attacks) in the object of a blame verb, with their coordinations."""
        accused: list[str] = []
        joinable = False  # a coordination ("X et les Y") lets the next group join the accused
        for i in range(verb + 1, min(end, verb + 16)):
            word = doc[i].lower_
            kind = kind_of(i)
            is_state = (
                kind in ("Country", "State")
                and token_key[i] not in self.never_accused
                and any(t.lower_ in self.attack_words for t in doc[i + 1 : min(end, i + 8)])
            )
            if kind in _GROUP_KINDS or is_state:
                key = token_key[i]
                if not accused or (joinable and key not in accused):
                    accused.append(key)
                elif key != accused[-1]:
                    break  # a group after a preposition qualifies the accused ("... à Hashed")
                joinable = False
                continue
            if accused and (word in _BLAME_END or (word in _INDEFINITE and doc[i - 1].text == ",")):
                break  # "les Brigades du Hezbollah, une faction ...": an apposition, not another accused
            if word in ("et", ",", "ou", "and", "or"):
                joinable = True
            elif doc[i].pos_ != "DET" and word not in ("l'", "la", "le", "les", "des", "du", "the"):
                joinable = False
        return accused

    # -- clustering -----------------------------------------------------------------------------------
    def _cluster(
        self, facts: list[SegmentFacts], reference: date | None, precision: str | None
    ) -> list[Incident]:
        incidents: list[Incident] = []
        current: Incident | None = None
        pending_series_blame: list[Attribution] = []
        headline_count = next((seg.headline_count for seg in facts if seg.trigger), 1)
        article_reference, article_precision = reference, precision
        for seg in facts:
            # under a live blog's day heading, the day stands in for the publication date
            reference, precision = (
                (seg.day, "day") if seg.day is not None else (article_reference, article_precision)
            )
            seg_date = self._segment_date(seg, current, reference, precision)
            is_event = seg.trigger and not seg.modal and not (seg.series and not seg.named)
            if is_event and seg.count_reference and len(incidents) >= seg.count_reference:
                # "les deux attaques ont été revendiquées": details for the last incidents, whatever is named
                for referent in incidents[-seg.count_reference :]:
                    self._absorb_details(referent, seg)
                continue
            if is_event:
                target = None
                if not seg.new_marker:
                    if seg.anaphoric and seg_date is not None and not seg.named and not seg.split_child:
                        target = next(
                            (
                                inc
                                for inc in incidents
                                if inc.date and not inc.date_is_default and compatible(inc.date, seg_date)
                            ),
                            None,
                        )
                    if (
                        target is None
                        and not seg.split_child
                        and not seg.section_start  # a new section's attack does not run on from the last
                        and current is not None
                        and self._compatible(current, seg, seg_date)
                    ):
                        target = current
                    if target is None and seg.named:
                        # back to an earlier incident: shared places, and no date of its own that differs
                        # (a definite "l'attaque contre le camp Taji" may date an incident left undated)
                        target = next(
                            (
                                inc
                                for inc in reversed(incidents)
                                if (inc is not current or not seg.split_child)
                                and self._overlap(inc, seg)
                                # a new section goes back to an earlier incident only for the same target
                                and (not seg.section_start or set(inc.targets) & set(seg.targets))
                                and self._compatible(inc, seg, seg_date)
                                and (
                                    seg_date is None
                                    or seg.anaphoric
                                    or (inc.date is not None and not inc.date_is_default)
                                )
                            ),
                            None,
                        )
                if (
                    target is None
                    and seg.anaphoric
                    and not seg.new_marker
                    and not seg.dates
                    and current is not None
                ):
                    # "l'attaque", "les deux attaques": a reference back never opens a new incident
                    for referent in incidents[-seg.count_reference :] if seg.count_reference else [current]:
                        self._absorb_details(referent, seg)
                    continue
                if target is None:
                    target = Incident(sentences=[])
                    if (
                        seg_date is None
                        and reference is not None
                        and precision is not None
                        and not seg.relative
                    ):
                        # an incident the text does not date is the article's news: date it by the article
                        month_or_year = "year" if precision == "year" else "month"
                        target.date = ResolvedDate(
                            reference.isoformat()[: 4 if month_or_year == "year" else 7], month_or_year
                        )
                        target.date_is_default = True
                    incidents.append(target)
                # an entry under a live blog's day heading that gives no date of its own is that day's news
                undated = seg_date is None and not seg.relative
                undated = undated and (target.date is None or target.date_is_default)
                if seg.day is not None and undated:
                    target.date = ResolvedDate(seg.day.isoformat(), "day")
                self._absorb(target, seg, seg_date)
                current = target
            elif current is not None and not seg.modal:
                # a sentence that refers back: casualties, claims, interception
                refers_back = (
                    seg.anaphoric
                    or seg.killed is not None
                    or seg.injured is not None
                    or seg.claimed_by
                    or seg.launch_sites  # "Elles ont été tirées depuis le village de X"
                    or seg.intercepted is not None  # "L'une d'elles a été interceptée par le C-RAM"
                )
                if refers_back and (not seg.series or seg.anaphoric):
                    self._absorb_details(current, seg)
            dated_referent = self._dated_referent(seg, incidents, reference, precision)
            if seg.accused and not seg.blame_period and dated_referent is not None:
                for accused in seg.accused:
                    if accused not in {x.accused for x in dated_referent.attributions}:
                        dated_referent.attributions.append(Attribution(accused, seg.accuser, seg.sentence))
            elif seg.accused and not seg.blame_period:
                blame = [Attribution(a, seg.accuser, seg.sentence) for a in seg.accused]
                # blame for this incident ("l'attaque", or a sentence reporting it); blame for a whole series
                # ("ces tirs", "les attaques", "généralement") goes to the article's main incident(s)
                if current is not None and ((is_event and not seg.series) or seg.singular_reference):
                    for b in blame:
                        if b.accused not in {x.accused for x in current.attributions}:
                            current.attributions.append(b)
                if seg.series or not (is_event or seg.singular_reference) or current is None:
                    pending_series_blame.extend(blame)
        for incident in incidents:
            if incident.status == "foiled":
                incident.projectiles = None  # a foiled attack launched nothing: loaded rockets are not fired
        kept = [inc for inc in incidents if inc.places and self._in_scope(inc)]
        lead = next((inc for inc in incidents if inc.sentences and min(inc.sentences) <= 2), None)
        # the headline's incident(s): "deux bases visées" in a title makes the first two the main ones; a lead
        # announcing them ("X a annoncé avoir visé dimanche trois bases") dates and claims each of them
        for incident in kept[: max(1, headline_count)]:
            incident.is_main = True
            if headline_count > 1 and lead is not None and incident is not lead:
                if incident.date_is_default and lead.date is not None and not lead.date_is_default:
                    incident.date, incident.date_is_default = lead.date, False
                for group in lead.claimed_by:
                    if group not in incident.claimed_by:
                        incident.claimed_by.append(group)
            for b in pending_series_blame:
                if b.accused not in {x.accused for x in incident.attributions}:
                    incident.attributions.append(b)
        return kept

    def _dated_referent(
        self, seg: SegmentFacts, incidents: list[Incident], reference: date | None, precision: str | None
    ) -> Incident | None:
        """The incident a blame names by its date ("l'attaque de vendredi"), if exactly one matches."""
        for expression in seg.blame_dates:
            resolved = resolve(expression, reference, precision)
            matches = [
                inc
                for inc in incidents
                if inc.places
                and (
                    (
                        resolved is not None
                        and inc.date is not None
                        and not inc.date_is_default
                        and inc.date.precision == "day"
                        and compatible(inc.date, resolved)
                    )
                    or (expression.weekday is not None and inc.weekday == expression.weekday)
                )
            ]
            if len(matches) == 1:
                return matches[0]
        return None

    def _segment_date(
        self, seg: SegmentFacts, current: Incident | None, reference: date | None, precision: str | None
    ) -> ResolvedDate | None:
        result = None
        for expression in seg.dates:
            resolved = None if expression.same_as_previous else resolve(expression, reference, precision)
            if resolved is not None:
                result = finer(result, resolved) if result is None or compatible(result, resolved) else result
        if result is None and any(expression.same_as_previous for expression in seg.dates):
            # "le même jour" dates by the incident before, unless the segment names its own day
            # ("tué vendredi, en même temps que ...")
            return current.date if current else None
        return result

    def _ancestors(self, key: str) -> set[str]:
        iri = entity_iri(key)
        return {str(a).rsplit("/", 1)[-1] for a in self.index.ancestors(iri)} | {key}

    def _overlap(self, incident: Incident, seg: SegmentFacts) -> bool:
        """The segment speaks of the incident's places: the same, or one inside the other."""
        mine_targets, their_targets = set(incident.targets), set(seg.targets)
        if mine_targets and their_targets:
            # two named targets: one incident only if they share a specific place (a base and its airport)
            return any(self._related(a, b) for a in mine_targets for b in their_targets)
        mine = mine_targets | set(incident.locations)
        theirs = their_targets | set(seg.locations)
        # one side only says where ("une base près de Kirkouk"): a facility in the same province fits it
        return any(self._related(a, b, loose=True) for a in mine for b in theirs)

    def _related(self, a: str, b: str, loose: bool = False) -> bool:
        """Same place, one inside the other (the embassy and the Green Zone), or both in one specific site.

        ``loose`` also accepts a city and a facility of the same province ("près de Kirkouk", "la base K1").
        """
        if a == b:
            return True
        up_a, up_b = self._ancestors(a), self._ancestors(b)
        if a in up_b or b in up_a:
            return True
        shared = (up_a & up_b) - {a, b}
        specific = _SPECIFIC_PLACES | ({"Province"} if loose and self._city_and_facility(a, b) else set())
        return any(self._kind(key) in specific for key in shared)

    def _city_and_facility(self, a: str, b: str) -> bool:
        kinds = {self._kind(a), self._kind(b)}
        return bool(kinds & {"City", "District"}) and bool(kinds & (TARGET_KINDS | {"Airport"}))

    def _kind(self, key: str) -> str | None:
        entry = self.index.entries.get(entity_iri(key))
        return entry.kind if entry else None

    def _in_scope(self, incident: Incident) -> bool:
        """Whether the incident happened in a country kg tracks (or in no known country)."""
        countries = {
            place
            for key in [*incident.targets, *incident.locations, *incident.launch_sites]
            for place in self._ancestors(key)
            if self._kind(place) == "Country"
        }
        return not countries or bool(countries & self.scope)

    def _compatible(self, incident: Incident, seg: SegmentFacts, seg_date: ResolvedDate | None) -> bool:
        if incident.kinds and seg.kinds and not (incident.kinds & seg.kinds):
            return False
        if incident.status == "foiled" and seg.struck and not (seg.foiled or seg.modal):
            return False  # rockets that hit are not the attack that was stopped before launch
        places_known = bool(incident.places) and seg.named
        if places_known and not self._overlap(incident, seg):
            return False
        if incident.date is not None and seg_date is not None and not compatible(incident.date, seg_date):
            apart = days_apart(incident.date, seg_date)
            if not (apart == 1 and places_known):
                return False
        if incident.weekday is not None and seg.weekday is not None and incident.weekday != seg.weekday:
            adjacent = (seg.weekday - incident.weekday) % 7 in (1, 6)
            if not (adjacent and places_known):
                return False
        return True

    def _absorb(self, incident: Incident, seg: SegmentFacts, seg_date: ResolvedDate | None) -> None:
        incident.kinds |= seg.kinds
        if seg.foiled:
            incident.status = "foiled"
        if seg_date is not None and (
            incident.date is None or incident.date_is_default or compatible(incident.date, seg_date)
        ):
            incident.date = seg_date if incident.date_is_default else finer(incident.date, seg_date)
            incident.date_is_default = False
        if incident.weekday is None:
            incident.weekday = seg.weekday
        for attr in ("targets", "locations", "launch_sites", "perpetrators"):
            values = getattr(incident, attr)
            for key in getattr(seg, attr):
                if key not in values:
                    values.append(key)
        self._absorb_details(incident, seg)

    def _absorb_details(self, incident: Incident, seg: SegmentFacts) -> None:
        if seg.sentence not in incident.sentences:
            incident.sentences.append(seg.sentence)
        for attr in ("projectiles", "killed", "injured"):
            value = getattr(seg, attr)
            if value is not None:
                old = getattr(incident, attr)
                setattr(incident, attr, value if old is None else max(old, value))
        if seg.intercepted:
            incident.intercepted = True
        elif seg.intercepted is False and incident.intercepted is None:
            incident.intercepted = False  # a stated miss, unless another sentence says one was stopped
        for key in seg.launch_sites:
            if key not in incident.launch_sites:
                incident.launch_sites.append(key)
        for key in seg.claimed_by:
            if key not in incident.claimed_by:
                incident.claimed_by.append(key)


def _doc_text(doc: Doc) -> str:
    """The Doc's text, joined once per Doc (``Doc.text`` joins every token on each call)."""
    return token_table(doc).doc_text
