"""English articles: blank pipeline, English lexicon, same contract (texts composed for the tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.articles import Article, normalise
from kg.extractors import extract
from kg.nlp import load_pipeline
from kg.records import Incident


@pytest.fixture(scope="module")
def en_nlp():
    return load_pipeline("en")


def _incidents(en_nlp, text: str, published: str | None) -> list[Incident]:
    article = Article(id="t", path=Path("t.txt"), text=normalise(text), published=published, language="en")
    return extract(en_nlp(article.text), article).incidents


def test_events_english_main_and_background_incidents(en_nlp) -> None:
    text = (
        "Three US service members were killed and at least 34 were injured when a drone struck Tower 22, "
        "a small US outpost in Jordan, on Sunday.\n\n"
        "The Islamic Resistance in Iraq claimed responsibility for the attack.\n\n"
        "President Joe Biden blamed Iran-backed militant groups for the strike.\n\n"
        "Separately, two rockets were fired at al-Asad air base on Saturday night. No injuries were reported "
        "and one rocket was shot down."
    )
    incidents = _incidents(en_nlp, text, "2024-01-29")
    tower = next(i for i in incidents if "tower-22" in i.targets)
    asad = next(i for i in incidents if "ain-al-asad-air-base" in i.targets)
    assert tower.is_main and tower.kinds == {"drone"}
    assert (tower.killed, tower.injured) == (3, 34)
    assert tower.date is not None and tower.date.iso == "2024-01-28"
    assert tower.claimed_by == ["islamic-resistance-in-iraq"]
    assert [(a.accused, a.accuser) for a in tower.attributions] == [("iran-backed-militias", "joe-biden")]
    assert asad.projectiles == 2 and asad.injured == 0 and asad.intercepted is True
    assert asad.date is not None and asad.date.iso == "2024-01-27"


def test_events_english_reporting_date_is_not_the_attack_date(en_nlp) -> None:
    text = "A rocket hit the US embassy in Baghdad on Tuesday, officials said on Thursday."
    (incident,) = _incidents(en_nlp, text, "2020-01-10")
    assert incident.date is not None and incident.date.iso == "2020-01-07"


def test_events_english_foiled_launcher(en_nlp) -> None:
    text = "Iraqi forces found a rocket launcher aimed at Baghdad International Airport on Monday."
    (incident,) = _incidents(en_nlp, text, "2021-03-03")
    assert incident.status == "foiled"
