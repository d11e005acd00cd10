"""A deterministic synthetic corpus of French news articles, for benchmarks at 1k-10k articles.

The five seeds and the dev set are far too few to measure how kg scales, and
real articles cannot be shipped in bulk. This module writes as many articles
as asked from the phrases in ``benchmarks/templates.toml``, with real names
from the gazetteer (sites in Iraq, Syria and Jordan with their cities and
provinces, armed groups, agencies, officials), a ``published:`` header and
relative dates ("jeudi soir", "la semaine dernière") consistent with it,
counts in words and digits, casualties, claims, blame and background
incidents, so that the pipeline does the same work per article as on real
news. Article ``i`` depends only on the seed and ``i`` (its own
``random.Random``), so a corpus of 10,000 articles starts with the corpus of
1,000, and files are written one at a time: memory does not grow with the
count.

    .venv/bin/python benchmarks/corpus.py --count 1000 --out build/corpus --seed 7
"""

from __future__ import annotations

import argparse
import random
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kg.gazetteer import Entry, GazetteerIndex, load_index  # noqa: E402
from kg.ns import entity_iri, fold, slugify  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent / "templates.toml"
FILE_PREFIX = "synth-"
_VOWELS = tuple("aeiouyhàâäéèêëîïôöûüAEIOUYHÀÂÄÉÈÊËÎÏÔÖÛÜ")
_AGREEMENT = {"m": "", "f": "e", "mp": "s", "fp": "es"}


def capitalise(text: str) -> str:
    """First letter upper case, the rest untouched (names keep their own case).

    >>> capitalise("la base K1")
    'La base K1'
    """
    return text[:1].upper() + text[1:]


def de(text: str) -> str:
    """``de`` before a bare name, elided before a vowel or mute h.

    >>> de("Erbil"), de("Koya")
    ("d'Erbil", 'de Koya')
    """
    return f"d'{text}" if text.startswith(_VOWELS) else f"de {text}"


@dataclass(frozen=True)
class Name:
    """A gazetteer entity as the text names it, with the French article its head noun takes.

    ``gender`` is ``m``, ``f``, ``mp``, ``fp``, or None for names used without an article
    ("Harakat al-Nujaba", "Reuters").
    """

    slug: str
    text: str
    gender: str | None

    @property
    def plural(self) -> bool:
        return self.gender in ("mp", "fp")

    @property
    def agreement(self) -> str:
        """Ending of a past participle agreeing with the name ("visée", "visés")."""
        return _AGREEMENT[self.gender or "m"]

    @property
    def np(self) -> str:
        """``la base ...``, ``l'ambassade ...``, ``les Brigades ...``, ``Reuters``.

        >>> Name("x", "ambassade des États-Unis", "f").np
        "l'ambassade des États-Unis"
        """
        if self.gender is None:
            return self.text
        if self.plural:
            return f"les {self.text}"
        if self.text.startswith(_VOWELS):
            return f"l'{self.text}"
        return f"{'le' if self.gender == 'm' else 'la'} {self.text}"

    @property
    def de(self) -> str:
        """The name after ``de``: ``du camp Taji``, ``des milices ...``, ``de l'ambassade ...``."""
        if self.gender is None:
            return de(self.text)
        if self.plural:
            return f"des {self.text}"
        if self.gender == "m" and not self.text.startswith(_VOWELS):
            return f"du {self.text}"
        return f"de {self.np}"

    @property
    def a(self) -> str:
        """The name after ``à``: ``au camp Taji``, ``aux milices ...``, ``à la base ...``."""
        if self.plural:
            return f"aux {self.text}"
        if self.gender == "m" and not self.text.startswith(_VOWELS):
            return f"au {self.text}"
        return f"à {self.np}"


@dataclass(frozen=True)
class Site:
    """A target, with the places around it that the text may name."""

    name: Name
    country: Name
    city: str | None
    province: str | None
    in_baghdad: bool
    nearby_cities: tuple[str, ...]


class Templates:
    """The phrases and settings of ``templates.toml``, read once."""

    def __init__(self, path: Path = TEMPLATES) -> None:
        with path.open("rb") as handle:
            self.data: dict[str, Any] = tomllib.load(handle)
        self.path = path
        self.phrases: dict[str, list[str]] = self.data["phrases"]
        self.layout: dict[str, Any] = self.data["layout"]
        self.calendar: dict[str, Any] = self.data["calendar"]
        self.numbers: dict[str, Any] = self.data["numbers"]
        self.grammar: dict[str, Any] = self.data["grammar"]
        self.entities: dict[str, Any] = self.data["entities"]
        self.when: dict[str, list[str]] = self.data["when"]

    def gender_of(self, text: str) -> str | None:
        """Gender and number of a name, from its first word (None: no article)."""
        first = text.split()[0].lower() if text.split() else ""
        return self.grammar["genders"].get(first)


class Cast:
    """Who and where articles can talk about: real gazetteer entities chosen by ``templates.toml``.

    Raises:
        KeyError: a slug in ``templates.toml`` is not in the gazetteer (the message names it).
    """

    def __init__(self, templates: Templates, index: GazetteerIndex | None = None) -> None:
        self.templates = templates
        self.index = index if index is not None else load_index()
        countries = templates.entities["countries"]
        self.countries = {slug: self._name(slug, article=False) for slug in countries}
        kinds = set(templates.entities["target_kinds"])
        self.sites: list[Site] = []
        cities_by_province: dict[str, list[str]] = {}
        for entry in self.index.entries.values():
            if entry.kind == "City":
                province = self._ancestor(entry, "Province")
                if province is not None and self._country(entry) in countries:
                    cities_by_province.setdefault(province.slug, []).append(self._surface(entry))
        self.districts = sorted(
            self._surface(entry)
            for entry in self.index.entries.values()
            if entry.kind == "District" and self._in_baghdad(entry) and entry.slug != "green-zone"
        )
        for entry in sorted(self.index.entries.values(), key=lambda e: e.slug):
            country = self._country(entry)
            if entry.kind not in kinds or country not in countries:
                continue
            city = self._ancestor(entry, "City")
            province = self._ancestor(entry, "Province")
            nearby = tuple(sorted(cities_by_province.get(province.slug, []))) if province else ()
            self.sites.append(
                Site(
                    name=self._site_name(entry),
                    country=self.countries[country],
                    city=self._surface(city) if city else None,
                    province=self._surface(province) if province else None,
                    in_baghdad=self._in_baghdad(entry),
                    nearby_cities=nearby or ((self._surface(city),) if city else ()),
                )
            )
        self.claimants = [self._name(slug) for slug in templates.entities["claimants"]]
        self.blamed = [self._name(slug) for slug in templates.entities["blamed"]]
        self.sources = [self._name(slug) for slug in templates.entities["sources"]]
        self.authorities = [self._name(slug) for slug in templates.entities["authorities"]]
        self.speakers = [
            f"{speaker['role']} {self._surface(self._entry(speaker['slug']))}"
            for speaker in templates.data["speakers"]
        ]

    def _entry(self, slug: str) -> Entry:
        entry = self.index.entries.get(entity_iri(slug))
        if entry is None:
            raise KeyError(f"{self.templates.path}: {slug!r} is not a gazetteer entity slug")
        return entry

    @staticmethod
    def _surface(entry: Entry) -> str:
        return entry.label_fr or entry.label

    def _name(self, slug: str, article: bool = True) -> Name:
        text = self._surface(self._entry(slug))
        return Name(slug, text, self.templates.gender_of(text) if article else None)

    def _site_name(self, entry: Entry) -> Name:
        text = self._surface(entry)
        gender = self.templates.gender_of(text)
        if gender is None:  # "Green Village", "Union III": "la base Green Village"
            head = self.templates.grammar["site_head"]
            text, gender = f"{head} {text}", self.templates.gender_of(head)
        return Name(entry.slug, text, gender)

    def _ancestor(self, entry: Entry, kind: str) -> Entry | None:
        for iri in self.index.ancestors(entry.iri):
            parent = self.index.entries.get(iri)
            if parent is not None and parent.kind == kind:
                return parent
        return None

    def _country(self, entry: Entry) -> str | None:
        country = self._ancestor(entry, "Country")
        return country.slug if country else None

    def _in_baghdad(self, entry: Entry) -> bool:
        return any(iri == entity_iri("baghdad") for iri in self.index.ancestors(entry.iri))


@dataclass(frozen=True)
class GeneratedArticle:
    """One article of the corpus: its file name and full text (headers included)."""

    name: str
    text: str

    @cached_property
    def body_words(self) -> int:
        """Words after the header lines (the length the layout bounds)."""
        lines = self.text.split("\n")
        while lines and (lines[0].startswith(("published:", "url:")) or not lines[0].strip()):
            lines.pop(0)
        return len(" ".join(lines).split())


class Writer:
    """Composes articles; one ``random.Random`` per article, seeded by (seed, index)."""

    def __init__(self, seed: int, templates: Templates | None = None, cast: Cast | None = None) -> None:
        self.seed = seed
        self.templates = templates if templates is not None else Templates()
        self.cast = cast if cast is not None else Cast(self.templates)
        calendar = self.templates.calendar
        self.first_day: date = calendar["first_day"]
        self.days = (calendar["last_day"] - self.first_day).days

    # -- small pieces ---------------------------------------------------------------------------------
    def _number(self, rng: random.Random, n: int, feminine: bool) -> str:
        numbers = self.templates.numbers
        if n < len(numbers["words"]) and rng.random() < numbers["words_share"]:
            return numbers["feminine_one"] if n == 1 and feminine else numbers["words"][n]
        return str(n)

    def _count(self, rng: random.Random, n: int, noun: dict[str, str], at_least: bool = True) -> str:
        prefix = rng.choice(self.templates.numbers["at_least"]) if at_least and rng.random() < 0.2 else ""
        word = self._number(rng, n, noun["gender"] == "f")
        return f"{prefix}{word} {noun['singular'] if n == 1 else noun['plural']}"

    def _date_slots(self, day: date) -> dict[str, str]:
        calendar = self.templates.calendar
        return {
            "weekday": calendar["weekdays"][day.weekday()],
            "next_weekday": calendar["weekdays"][(day.weekday() + 1) % 7],
            "day": "1er" if day.day == 1 else str(day.day),
            "month": calendar["months"][day.month - 1],
        }

    def _when(self, rng: random.Random, published: date, attack: date) -> str:
        offset = (published - attack).days
        key = "same_day" if offset == 0 else "yesterday" if offset == 1 else "this_week"
        return rng.choice(self.templates.when[key]).format_map(self._date_slots(attack))

    def _background_when(self, rng: random.Random, published: date, day: date) -> str:
        slots = self._date_slots(day)
        slots["month_year"] = slots["month"] + ("" if day.year == published.year else f" {day.year}")
        if (published - day).days <= 13:
            choices = list(self.templates.when["last_week"])
        else:
            choices = list(self.templates.when["older"])
            if day.day <= 10:
                choices += self.templates.when["older_early"]
            if day.day >= 20:
                choices += self.templates.when["older_late"]
        return rng.choice(choices).format_map(slots)

    @staticmethod
    def _time(rng: random.Random) -> str:
        hour, minute = rng.randrange(24), rng.choice([0, 10, 15, 20, 30, 40, 45, 50])
        return f"{hour} h" if minute == 0 else f"{hour} h {minute:02d}"

    def _region(self, rng: random.Random, site: Site) -> str:
        options = [f"{self.templates.grammar['country_preposition']} {site.country.text}"]
        if site.province:
            options.append(f"dans la {site.province}" if site.province.startswith("province") else "")
        if site.city and fold(site.city) not in fold(site.name.text):  # not "la base d'Erbil, près d'Erbil"
            options += [f"près {de(site.city)}", f"non loin {de(site.city)}"]
        return rng.choice([option for option in options if option])

    # -- the article ----------------------------------------------------------------------------------
    def article(self, index: int) -> GeneratedArticle:
        """Article number ``index`` of the corpus (the same text for the same seed and index)."""
        rng = random.Random(f"kg-benchmark-corpus:{self.seed}:{index}")
        t, cast, layout = self.templates, self.cast, self.templates.layout
        phrases = t.phrases
        published = self.first_day + timedelta(days=rng.randrange(self.days + 1))
        attack_day = published - timedelta(days=rng.choice(t.calendar["attack_offsets"]))
        site = rng.choice(cast.sites)
        weapon = rng.choice(t.data["weapons"])
        people = rng.choice(t.data["people"])
        count = rng.randint(2, 10)
        group, blamed = rng.choice(cast.claimants), rng.choice(cast.blamed)
        source, authority = rng.choice(cast.sources), rng.choice(cast.authorities)
        speaker = rng.choice(cast.speakers)
        country = f"{t.grammar['country_preposition']} {site.country.text}"
        slots: dict[str, str] = {
            "target": site.name.np,
            "Target": capitalise(site.name.np),
            "target_de": site.name.de,
            "target_a": site.name.a,
            "target_agree": site.name.agreement,
            "region": self._region(rng, site),
            "country_in": country,
            "when": self._when(rng, published, attack_day),
            "count": self._count(rng, count, weapon),
            "weapons": f"des {weapon['plural']}",
            "agree": "es" if weapon["gender"] == "f" else "s",
            "attack": weapon["attack"],
            "source": source.np,
            "Source": capitalise(source.np),
            "authority": authority.np,
            "Authority": capitalise(authority.np),
            "said": rng.choice(phrases["said"]),
            "group": group.np,
            "Group": capitalise(group.np),
            "group_has": "ont" if group.plural else "a",
            "blamed": blamed.np,
            "blamed_a": blamed.a,
            "speaker": speaker,
            "Speaker": capitalise(speaker),
            "time": self._time(rng),
            "CITY": (site.city or site.country.text).upper(),
            "Country": site.country.text,
            "pub_day": "1er" if published.day == 1 else str(published.day),
            "pub_month": t.calendar["months"][published.month - 1],
            "pub_year": str(published.year),
            "district_de": de(rng.choice(cast.districts)),
            "launch_city_de": de(rng.choice(site.nearby_cities) if site.nearby_cities else site.country.text),
            "place_de": de(site.city or site.country.text),
            "troops": rng.choice(t.numbers["troops"]),
            "people_plural": people["plural"],
            "agree_people": _AGREEMENT[people["gender"] + "p"],
        }
        slots["Count"] = capitalise(slots["count"])

        outcome = rng.choices(["none", "injured", "killed", "unknown"], weights=layout["outcome_weights"])[0]
        injured, killed = rng.randint(1, 8), rng.randint(1, 3)
        slots["injured"] = self._number(rng, max(injured, 2), False)
        slots["killed"] = self._number(rng, max(killed, 2), False)
        if outcome == "injured":
            toll_key, casualties_key = ("headline_toll_injured", "casualties_injured")
            if injured == 1:
                toll_key, casualties_key = "headline_toll_injured_one", "casualties_injured_one"
                slots["agree_people"] = _AGREEMENT[people["gender"]]
            slots["Injured_people"] = capitalise(self._count(rng, injured, people))
        elif outcome == "killed":
            toll_key, casualties_key = ("headline_toll_killed", "casualties_killed")
            if killed == 1:
                toll_key, casualties_key = "headline_toll_killed_one", "casualties_killed_one"
                slots["agree_people"] = _AGREEMENT[people["gender"]]
            slots["Killed_people"] = capitalise(self._count(rng, killed, people, at_least=False))
        else:
            toll_key, casualties_key = f"headline_toll_{outcome}", f"casualties_{outcome}"
        slots["headline_toll"] = rng.choice(phrases[toll_key]).format_map(slots)

        def say(key: str) -> str:
            return rng.choice(phrases[key]).format_map(slots)

        def maybe(probability_key: str) -> bool:
            return rng.random() < layout[probability_key]

        headline = say("headline")
        dateline = say("dateline") if maybe("dateline") and site.city else ""
        lead = [dateline + say("lead")]
        if maybe("detail"):
            lead.append(say("detail"))
        toll = [say(casualties_key)]
        if maybe("launch"):
            toll.append(say("launch_district") if site.in_baghdad else say("launch_city"))
        responsibility = [say("claimed") if maybe("claimed") else say("unclaimed")]
        if maybe("blame"):
            responsibility.append(say("blame"))
        optional: list[list[str]] = []
        if maybe("quote"):
            optional.append([say("quote")])
        if maybe("background"):
            optional.append([self._background(rng, published, site)])
        paragraphs = [[headline], lead, toll, responsibility, *optional]

        # fillers up to a drawn length, never past the maximum
        words = sum(len(" ".join(p).split()) for p in paragraphs)
        target = rng.randint(layout["min_words"], layout["max_words"])
        fillers = rng.sample(phrases["filler"], len(phrases["filler"]))
        position = 4  # after the claim and blame, before the quote and background
        for filler in fillers:
            if words >= target:
                break
            text = filler.format_map(slots)
            size = len(text.split())
            if words + size > layout["max_words"]:
                continue
            paragraphs.insert(position if rng.random() < 0.4 else len(paragraphs), [text])
            words += size
        while words > layout["max_words"] and optional:  # only when the templates grow too long
            dropped = optional.pop()
            paragraphs.remove(dropped)
            words -= len(" ".join(dropped).split())

        headers = [f"published: {published.isoformat()}"]
        if maybe("url"):
            headers.append(f"url: https://www.example.org/actualites/{index:06d}-{slugify(headline)}")
        text = "\n".join(headers) + "\n\n" + "\n\n".join(" ".join(p) for p in paragraphs) + "\n"
        return GeneratedArticle(f"{FILE_PREFIX}{index:06d}.txt", text)

    def _background(self, rng: random.Random, published: date, site: Site) -> str:
        """An earlier incident at another site of the same country (a second event to extract)."""
        t = self.templates
        others = [s for s in self.cast.sites if s.country == site.country and s != site] or self.cast.sites
        other = rng.choice(others)
        weapon = rng.choice(t.data["weapons"])
        people = rng.choice(t.data["people"])
        day = published - timedelta(days=rng.randint(7, 120))
        when = self._background_when(rng, published, day)
        injured = rng.randint(2, 6)
        slots = {
            "background_injured": self._number(rng, injured, False),
            "background_people": people["plural"],
        }
        outcome_key = "background_outcome_injured" if rng.random() < 0.4 else "background_outcome_none"
        slots.update(
            {
                "Background_when": capitalise(when),
                "background_when_lower": when,
                "background_count": self._count(rng, rng.randint(2, 6), weapon),
                "background_target": other.name.np,
                "background_attack": weapon["attack"],
                "background_outcome": rng.choice(t.phrases[outcome_key]).format_map(slots),
            }
        )
        text = rng.choice(t.phrases["background"]).format_map(slots)
        return capitalise(text)

    def articles(self, count: int, start: int = 0) -> Iterator[GeneratedArticle]:
        """Articles ``start .. start + count - 1``, generated one at a time."""
        for index in range(start, start + count):
            yield self.article(index)


def write_corpus(out: Path, count: int, seed: int, start: int = 0) -> Iterator[Path]:
    """Write ``count`` articles into ``out`` (created if needed), yielding each path once it is on disk."""
    out.mkdir(parents=True, exist_ok=True)
    writer = Writer(seed)
    for generated in writer.articles(count, start):
        path = out / generated.name
        path.write_text(generated.text, encoding="utf-8")
        yield path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="number of articles (default: 1000)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the .txt articles into")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument("--start", type=int, default=0, help="index of the first article (default: 0)")
    args = parser.parse_args(argv)
    if args.count < 0 or args.start < 0:
        parser.error("--count and --start must be zero or more")
    written = sum(1 for _ in write_corpus(args.out, args.count, args.seed, args.start))
    print(f"wrote {written} articles to {args.out} (seed {args.seed})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
