"""Event extraction rules on short articles composed for the tests (not taken from any outlet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.articles import Article, normalise
from kg.extractors import extract
from kg.records import Incident


def _incidents(fr_nlp, text: str, published: str | None = None) -> list[Incident]:
    article = Article(id="t", path=Path("t.txt"), text=normalise(text), published=published)
    return extract(fr_nlp(article.text), article).incidents


def _by_target(incidents: list[Incident], key: str) -> Incident:
    matches = [i for i in incidents if key in i.targets]
    assert len(matches) == 1, [i.targets for i in incidents]
    return matches[0]


def test_events_two_incidents_with_slots(fr_nlp) -> None:
    text = (
        "Trois roquettes ont visé jeudi soir la base aérienne d'Aïn al-Assad, dans l'ouest de l'Irak, "
        "a indiqué vendredi un responsable de la coalition.\n\n"
        "Les roquettes ont été tirées depuis la ville de Hit, selon la police. "
        "Aucun blessé n'a été signalé.\n\n"
        "Les Brigades du Hezbollah ont revendiqué l'attaque.\n\n"
        "Samedi, une autre attaque au drone a visé la base aérienne de Harir, au Kurdistan. "
        "Le drone a été abattu avant d'atteindre sa cible."
    )
    incidents = _incidents(fr_nlp, text, published="2023-10-22")
    asad = _by_target(incidents, "ain-al-asad-air-base")
    harir = _by_target(incidents, "harir-air-base")
    assert asad.kinds == {"rocket"} and harir.kinds == {"drone"}
    assert asad.date is not None and asad.date.iso == "2023-10-19"  # the Thursday before Sunday 22
    assert harir.date is not None and harir.date.iso == "2023-10-21"
    assert asad.projectiles == 3 and asad.injured == 0 and asad.killed is None
    assert asad.launch_sites == ["hit"]
    assert asad.claimed_by == ["kataib-hezbollah"]
    assert harir.intercepted is True and asad.intercepted is None
    assert asad.is_main and not harir.is_main


def test_events_foiled_attack_has_status_foiled(fr_nlp) -> None:
    text = (
        "Les forces de sécurité irakiennes ont déjoué mardi une attaque à la roquette qui visait la base de "
        "Balad, au nord de Bagdad."
    )
    (incident,) = _incidents(fr_nlp, text, published="2021-05-06")
    assert incident.status == "foiled"
    assert incident.targets == ["balad-air-base"]
    assert "baghdad" not in incident.locations  # "au nord de Bagdad" locates the base, not the attack


def test_events_blame_keeps_the_accuser(fr_nlp) -> None:
    text = (
        "Une roquette a frappé lundi l'ambassade américaine à Bagdad. "
        "Washington a accusé les Brigades du Hezbollah d'avoir mené l'attaque."
    )
    (incident,) = _incidents(fr_nlp, text, published="2020-01-08")
    assert [(a.accused, a.accuser) for a in incident.attributions] == [("kataib-hezbollah", "united-states")]
    assert incident.claimed_by == []


def test_events_threat_and_vague_series_are_not_incidents(fr_nlp) -> None:
    text = (
        "Les factions armées ont menacé d'attaquer la base d'Aïn al-Assad. "
        "Une série d'attaques a visé les intérêts américains ces derniers mois."
    )
    assert _incidents(fr_nlp, text, published="2023-11-02") == []


def test_events_negated_claim_is_not_a_claim(fr_nlp) -> None:
    text = "Deux drones ont visé la base de Harir dimanche. Aucun groupe n'a revendiqué l'attaque."
    (incident,) = _incidents(fr_nlp, text, published="2024-01-10")
    assert incident.claimed_by == [] and incident.projectiles == 2


def test_events_rockets_that_hit_are_not_the_foiled_attack(fr_nlp) -> None:
    text = (
        "Les forces de sécurité ont déjoué une attaque à la roquette à Bagdad. "
        "Dimanche, deux roquettes ont frappé le camp Taji, au nord de Bagdad."
    )
    foiled, hit = _incidents(fr_nlp, text, published="2020-06-16")
    assert foiled.status == "foiled" and "camp-taji" not in foiled.targets
    assert hit.status == "carried_out" and hit.targets == ["camp-taji"] and hit.projectiles == 2


def test_events_a_bulleted_section_starts_its_own_incident(fr_nlp) -> None:
    text = (
        "Lettre de la semaine\n\n"
        "■ Coup de filet à Bagdad\n"
        "Les hommes arrêtés s'apprêtaient à tirer des roquettes sur la zone verte, selon le gouvernement.\n\n"
        "■ Taji visé\n"
        "Dimanche, deux roquettes ont frappé le camp Taji."
    )
    incidents = _incidents(fr_nlp, text, published="2020-06-16")
    taji = _by_target(incidents, "camp-taji")
    assert taji.status == "carried_out" and taji.projectiles == 2
    assert "green-zone" not in taji.locations and len(incidents) == 2


def test_events_bulleted_details_still_belong_to_the_attack_above(fr_nlp) -> None:
    text = (
        "Les points clés\n\n"
        "• Trois roquettes ont frappé la base de Balad mardi.\n"
        "• Aucun blessé n'a été signalé.\n"
        "• Les Brigades du Hezbollah ont revendiqué l'attaque."
    )
    (incident,) = _incidents(fr_nlp, text, published="2020-01-08")
    assert incident.injured == 0 and incident.claimed_by == ["kataib-hezbollah"]


@pytest.mark.parametrize(
    ("claim", "claimants"),
    [
        # a state's armed force claiming its own strike: the organisation is the claim verb's subject
        ("Les Gardiens de la révolution ont revendiqué l'opération.", ["islamic-revolutionary-guard-corps"]),
        ("L'opération a été revendiquée par le CGRI.", ["islamic-revolutionary-guard-corps"]),
        # an agency reporting a group's claim does not claim it
        ("Selon le Pentagone, les Brigades du Hezbollah ont revendiqué l'attaque.", ["kataib-hezbollah"]),
        # named beside the claim, not its subject
        ("Le Pentagone a indiqué qu'un groupe avait revendiqué l'attaque.", []),
    ],
)
def test_events_an_organisation_claims_only_as_the_claim_verb_subject(
    fr_nlp, claim: str, claimants: list[str]
) -> None:
    text = f"Des missiles ont frappé la base aérienne d'Aïn al-Assad mercredi. {claim}"
    (incident,) = _incidents(fr_nlp, text, published="2020-01-08")
    assert incident.claimed_by == claimants


@pytest.mark.parametrize(
    ("sentence", "kinds"),
    [
        ("Une frappe de drone a visé la base de Harir.", {"drone"}),
        ("Des obus de mortier sont tombés sur la base de Balad.", {"rocket"}),
        ("Une explosion a secoué la base de Balad.", set()),
        ("Un engin explosif a visé un convoi près de la base de Balad.", {"ied"}),
    ],
)
def test_events_kind_from_weapon_words(fr_nlp, sentence: str, kinds: set[str]) -> None:
    (incident,) = _incidents(fr_nlp, sentence, published="2022-03-01")
    assert incident.kinds == kinds


def test_events_a_new_strike_on_the_same_base_is_a_second_incident(fr_nlp) -> None:
    """'un nouveau tir', 'de nouvelles roquettes': 'nouveau' in any gender or number opens an incident."""
    text = (
        "Lundi matin, deux roquettes ont frappé la base aérienne de Balad, sans faire de victimes. "
        "Un nouveau tir, de trois roquettes cette fois, a touché la base de Balad dans la soirée, "
        "blessant deux soldats."
    )
    incidents = _incidents(fr_nlp, text, published="2021-05-06")
    assert [(i.projectiles, i.injured) for i in incidents] == [(2, 0), (3, 2)]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "fr",
            "Mardi soir, un drone a visé la base aérienne de Harir. "
            "Quelques heures plus tôt, trois roquettes avaient frappé la base aérienne de Balad.",
        ),
        (
            "en",
            "On Tuesday evening, a drone targeted Harir Air Base. "
            "Earlier that day, three rockets had hit Balad Air Base.",
        ),
    ],
)
def test_events_an_incident_hours_before_the_last_takes_its_day(language, text) -> None:
    """'quelques heures plus tôt', 'earlier that day': the day of the incident told just before."""
    from kg.nlp import load_pipeline

    article = Article(
        id="t", path=Path("t.txt"), text=normalise(text), published="2021-05-06", language=language
    )
    incidents = extract(load_pipeline(language)(article.text), article).incidents
    dates = {
        key: incident.date.iso if incident.date else None
        for incident in incidents
        for key in incident.targets
    }
    assert dates == {"harir-air-base": "2021-05-04", "balad-air-base": "2021-05-04"}
