"""One regression test per extraction rule added while generalising on the dev set (texts composed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.articles import Article, normalise
from kg.extractors import extract
from kg.nlp import load_pipeline
from kg.records import ArticleExtraction, Incident


def _run(text: str, published: str = "2023-11-13", language: str = "fr") -> ArticleExtraction:
    article = Article(
        id="t", path=Path("t.txt"), text=normalise(text), published=published, language=language
    )
    return extract(load_pipeline(language)(article.text), article)


def _one(incidents: list[Incident], key: str) -> Incident:
    (incident,) = [i for i in incidents if key in i.targets]
    return incident


def test_rules_launch_site_past_a_vehicle() -> None:
    text = (
        "Trois roquettes ont frappé la base de Balad mardi. Elles ont été tirées depuis un camion abandonné "
        "dans le village de Kassem Tarfi, selon la police."
    )
    incident = _one(_run(text).incidents, "balad-air-base")
    assert incident.launch_sites == ["kassem-tarfi"]


def test_rules_apostrophe_inside_a_name() -> None:
    text = "Les roquettes ont été tirées depuis le village d'Albu Tu'ma vers la base de Balad."
    assert "albu-tuma" in _run(text).entities


def test_rules_two_named_targets_in_one_city_stay_apart() -> None:
    text = (
        "Des obus de mortier ont visé vendredi l'ambassade des États-Unis à Bagdad. "
        "Le même jour, deux roquettes ont visé la base Union III, dans le centre de Bagdad."
    )
    incidents = _run(text).incidents
    assert {tuple(i.targets) for i in incidents} == {("us-embassy-baghdad",), ("union-iii",)}


def test_rules_state_strike_on_a_group_has_target_and_perpetrator() -> None:
    text = (
        "Dimanche, l'aviation américaine a frappé plusieurs positions des Brigades du Hezbollah "
        "près d'Al-Qaïm, à la frontière syrienne."
    )
    (incident,) = _run(text, "2019-12-31").incidents
    assert incident.kinds == {"airstrike"}
    assert incident.targets == ["kataib-hezbollah"]
    assert incident.perpetrators == ["united-states"]


def test_rules_counted_reference_spreads_a_claim() -> None:
    text = (
        "Deux drones ont visé la base d'Aïn al-Assad mardi. Au même moment, trois roquettes ont visé "
        "la base de Harir. Les deux attaques ont été revendiquées sur Telegram par la Résistance islamique "
        "en Irak."
    )
    incidents = _run(text, "2023-10-25").incidents
    assert all(i.claimed_by == ["islamic-resistance-in-iraq"] for i in incidents) and len(incidents) == 2


def test_rules_blame_stops_at_an_apposition() -> None:
    text = (
        "Une roquette a frappé la base K1 vendredi. Washington a accusé les Brigades du Hezbollah, "
        "une faction armée soutenue par l'Iran, d'être responsables de l'attaque."
    )
    (incident,) = _run(text, "2019-12-29").incidents
    assert [a.accused for a in incident.attributions] == ["kataib-hezbollah"]


def test_rules_state_blamed_only_for_attacks() -> None:
    attacks = _run(
        "Un drone a visé la base de Harir dimanche. Washington, qui accuse Téhéran d'orchestrer "
        "ces opérations, n'a pas réagi.",
        "2023-11-13",
    ).incidents
    assert [(a.accused, a.accuser) for a in attacks[0].attributions] == [("iran", "united-states")]
    massacre = _run(
        "Un drone a visé la base de Harir dimanche. Les factions ont accusé Israël d'avoir commis un "
        "massacre à Gaza.",
        "2023-11-13",
    ).incidents
    assert massacre[0].attributions == []


def test_rules_group_announcing_its_strike_claims_it() -> None:
    text = "La Résistance islamique en Irak a annoncé avoir visé dimanche la base de Harir avec deux drones."
    (incident,) = _run(text).incidents
    assert incident.claimed_by == ["islamic-resistance-in-iraq"]
    blamed = _run(
        "Une roquette a visé la base de Harir. Washington a accusé les milices soutenues par l'Iran "
        "d'avoir attaqué la base."
    ).incidents
    assert blamed[0].claimed_by == []


def test_rules_incidents_outside_scope_are_dropped() -> None:
    text = (
        "L'armée israélienne dit avoir frappé des cibles dans la bande de Gaza. "
        "Une roquette a visé la base de Balad."
    )
    incidents = _run(text).incidents
    assert [i.targets for i in incidents] == [["balad-air-base"]]


def test_rules_comment_on_the_incident_is_not_a_new_one() -> None:
    text = (
        "Deux roquettes ont frappé la base de Balad lundi. Il s'agit de la troisième attaque contre Balad "
        "en un mois."
    )
    assert len(_run(text, "2021-05-05").incidents) == 1


def test_rules_group_named_after_an_introducer() -> None:
    text = "A group calling itself Liwa al-Ghaliboun claimed the drone attack on the Rumalyn base on Friday."
    extraction = _run(text, "2023-03-25", "en")
    assert extraction.entities["liwa-al-ghaliboun"].kind == "ArmedGroup"


def test_rules_casualty_breakdown_by_nationality_is_not_added_twice() -> None:
    text = (
        "Un sous-traitant américain a été tué et six militaires, quatre Américains et deux Irakiens, ont été "
        "blessés vendredi soir dans une attaque contre la base K1."
    )
    (incident,) = _run(text, "2019-12-29").incidents
    assert (incident.killed, incident.injured) == (1, 6)


def test_rules_clause_connector_splits_two_incidents() -> None:
    text = (
        "Une salve de roquettes a visé la base d'al-Chaddadi dimanche, tandis qu'un drone a frappé la base "
        "de Kharab Ishk, près de Kobané."
    )
    incidents = _run(text).incidents
    assert len(incidents) == 2


def test_rules_motive_clause_does_not_place_the_attack() -> None:
    text = (
        "La Résistance islamique en Irak a annoncé avoir visé dimanche la base de Harir, en réponse aux "
        "massacres commis à Gaza."
    )
    (incident,) = _run(text).incidents
    assert incident.targets == ["harir-air-base"] and "gaza-strip" not in incident.locations


def test_rules_lead_announcing_several_attacks_dates_and_claims_each() -> None:
    text = (
        "La Résistance islamique en Irak a annoncé avoir visé dimanche deux bases américaines en Syrie.\n\n"
        "Deux drones ont visé la base du champ gazier de Conoco. "
        "Une salve de roquettes a par ailleurs visé la base d'al-Chaddadi."
    )
    incidents = _run(text).incidents
    assert len(incidents) == 2
    assert all(i.is_main and i.claimed_by == ["islamic-resistance-in-iraq"] for i in incidents)
    assert all(i.date is not None and i.date.iso == "2023-11-12" for i in incidents)


def test_rules_blame_names_its_incident_by_date() -> None:
    text = (
        "Une roquette a frappé vendredi la base K1, près de Kirkouk. Dimanche, des drones ont visé la base "
        "de Harir. Washington a accusé les Brigades du Hezbollah d'être responsables "
        "de l'attaque de vendredi."
    )
    incidents = _run(text, "2019-12-30").incidents
    blamed = [i.targets for i in incidents if i.attributions]
    assert blamed == [["k1-air-base"]]


def test_rules_city_report_and_facility_in_same_province_are_one_incident() -> None:
    text = (
        "Un sous-traitant américain a été tué vendredi dans une attaque à la roquette près de Kirkouk. "
        "Plus de 30 roquettes se sont abattues sur la base K1."
    )
    (incident,) = _run(text, "2019-12-29").incidents
    assert incident.targets == ["k1-air-base"] and incident.projectiles == 30


def test_rules_two_incidents_of_one_sentence_are_two_events_in_the_graph(tmp_path: Path) -> None:
    from rdflib import RDF

    from kg.ns import KG
    from kg.pipeline import build

    (tmp_path / "a.txt").write_text(
        "published: 2020-03-13\n\nFin décembre, une attaque à la roquette contre la base K1 "
        "avait déclenché une escalade qui avait culminé avec l'assassinat du général Qassem Soleimani "
        "par un drone à Bagdad, début janvier.",
        encoding="utf-8",
    )
    dataset = build([tmp_path]).dataset
    attacks = {s for s, _, _, _ in dataset.quads((None, RDF.type, KG.Attack, None))}
    assert len(attacks) == 2


def test_rules_weapon_inside_an_attack_noun_phrase_does_not_split_it() -> None:
    text = (
        "On Jan. 4, a US drone strike on a Harakat al-Nujaba headquarters in Baghdad killed two commanders."
    )
    (incident,) = _run(text, "2024-01-30", "en").incidents
    assert incident.date is not None and incident.date.iso == "2024-01-04"
    assert incident.perpetrators == ["united-states"] and incident.targets == ["harakat-al-nujaba"]


def test_rules_bearing_the_signature_of_a_group_is_blame() -> None:
    text = (
        "Deux drones ont visé la base de Harir jeudi. Selon le Pentagone, l'attaque porte la marque "
        "des Brigades du Hezbollah. Le porte-parole de la base n'a pas fait de commentaire."
    )
    (incident,) = _run(text).incidents
    assert [(a.accused, a.accuser) for a in incident.attributions] == [
        ("kataib-hezbollah", "us-department-of-defense")
    ]


def test_rules_bearing_something_else_is_no_blame() -> None:
    text = (
        "Deux drones ont visé la base de Harir jeudi. Des combattants des Brigades du Hezbollah "
        "portaient des uniformes neufs lors du défilé."
    )
    (incident,) = _run(text).incidents
    assert incident.attributions == []


def test_rules_hallmarks_of_a_group_is_blame_in_english() -> None:
    text = (
        "A drone struck Harir air base on Thursday. US officials said the attack bore the hallmarks "
        "of Kataib Hezbollah."
    )
    (incident,) = _run(text, language="en").incidents
    assert [a.accused for a in incident.attributions] == ["kataib-hezbollah"]


def test_rules_english_weapon_description_between_number_and_noun() -> None:
    for text in (
        "An explosive-laden drone struck Harir air base on Thursday.",
        "A one-way attack drone struck Harir air base on Thursday.",
        "Two armed drones struck Harir air base on Thursday.",
        "A ballistic missile struck Harir air base on Thursday.",
        "Two short-range cruise missiles struck Harir air base on Thursday.",
    ):
        (incident,) = _run(text, language="en").incidents
        assert incident.projectiles == (2 if text.startswith("Two") else 1), text


def test_rules_a_dash_after_a_date_does_not_join_the_number_to_a_weapon() -> None:
    text = "WASHINGTON, Jan 30 - The drone struck Harir air base on Sunday, officials said."
    (incident,) = _run(text, "2024-01-30", language="en").incidents
    assert incident.projectiles is None


@pytest.mark.parametrize(
    ("language", "text", "intercepted"),
    [
        pytest.param(
            "fr",
            "Dimanche, un drone chargé d'explosifs s'est abattu sur la base de Harir, faisant deux blessés.",
            None,
            id="raining-down-in-a-compound-tense-is-not-shot-down",
        ),
        pytest.param(
            "en",
            "A drone struck Harir air base on Sunday. The drone was not intercepted, officials said.",
            False,
            id="a-stated-miss-is-false",
        ),
        pytest.param(
            "fr",
            "Trois roquettes ont visé la base de Harir dimanche : la première n'a pas été interceptée, "
            "mais les deux autres ont été interceptées par le système C-RAM.",
            True,
            id="a-miss-is-not-false-when-a-sentence-says-one-was-stopped",
        ),
        pytest.param(
            "fr",
            "Deux roquettes ont visé la base de Harir dimanche. "
            "L'une d'elles a été interceptée par le système de défense C-RAM, selon un responsable.",
            True,
            id="an-interception-told-in-the-next-sentence-joins-the-incident",
        ),
    ],
)
def test_rules_interception(language: str, text: str, intercepted: bool | None) -> None:
    (incident,) = _run(text, language=language).incidents
    assert incident.intercepted is intercepted


def test_rules_a_spokesman_announcing_a_strike_is_no_blame_verb() -> None:
    """ "porte-parole" starts like "porter (la signature)", which blames only with its complement."""
    text = (
        "Le porte-parole des Brigades du Hezbollah a annoncé avoir visé la base de Harir dimanche "
        "avec deux drones."
    )
    (incident,) = _run(text).incidents
    assert incident.claimed_by == ["kataib-hezbollah"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "fr",
            "Trois roquettes ont visé la base d'Ain al-Asad lundi. Les Kataëb Hezbollah sont soupçonnés. "
            "Le groupe a revendiqué l'attaque sur Telegram.",
        ),
        (
            "en",
            "Two rockets hit Ain al-Asad air base on Monday. Kataib Hezbollah has been behind similar "
            "strikes. The group claimed responsibility on Telegram.",
        ),
    ],
)
def test_rules_group_noun_claims_for_the_group_named_before(language: str, text: str) -> None:
    (incident,) = _run(text, language=language).incidents
    assert incident.claimed_by == ["kataib-hezbollah"]


def test_rules_demonstrative_group_noun_is_blamed() -> None:
    text = (
        "Deux drones ont frappé la base de Harir dimanche. Harakat al-Nujaba a menacé de nouvelles frappes. "
        "Le Pentagone a accusé ce groupe d'avoir mené l'attaque."
    )
    (incident,) = _run(text).incidents
    assert [a.accused for a in incident.attributions] == ["harakat-al-nujaba"]


def test_rules_group_noun_with_its_own_name_or_a_collective_before_is_no_reference() -> None:
    named = (
        "Trois roquettes ont visé la base d'Ain al-Asad lundi. Les Kataëb Hezbollah sont soupçonnés. "
        "Le groupe Liwa al-Ghaliboun a revendiqué l'attaque."
    )
    collective = (
        "Trois roquettes ont visé la base d'Ain al-Asad lundi. Les milices pro-iraniennes sont soupçonnées. "
        "Le groupe a revendiqué l'attaque."
    )
    for text in (named, collective):
        (incident,) = _run(text).incidents
        assert "kataib-hezbollah" not in incident.claimed_by
        assert "iran-backed-militias" not in incident.claimed_by


def test_rules_wire_dateline_is_neither_place_nor_date_of_the_attack() -> None:
    text = (
        "BAGDAD, 2 janv 2020 (AFP) - Trois roquettes ont frappé mercredi la base aérienne d'Aïn al-Assad, "
        "dans l'ouest de l'Irak."
    )
    (incident,) = _run(text, "2020-01-02").incidents
    assert "baghdad" not in incident.locations
    assert incident.date is not None and incident.date.iso == "2020-01-01"


def test_rules_shortly_before_an_early_hour_is_after_midnight() -> None:
    text = (
        "Des missiles ont visé dans la nuit de mardi à mercredi, peu avant 2 heures du matin, "
        "la base aérienne d'Aïn al-Assad."
    )
    (incident,) = _run(text, "2020-01-08").incidents
    assert incident.date is not None and incident.date.iso == "2020-01-08"


def test_rules_own_weekday_beats_at_the_same_time() -> None:
    text = (
        "Deux roquettes ont visé mardi la base de Balad. "
        "Un drone américain avait frappé vendredi près de l'aéroport international de Bagdad, tuant le "
        "commandant en même temps que son adjoint."
    )
    incidents = _run(text, "2020-01-08").incidents
    airport = next(i for i in incidents if "baghdad-international-airport" in i.places)
    assert airport.date is not None and airport.date.iso == "2020-01-03"


def test_rules_english_hold_responsible_blames_past_a_coordinated_object() -> None:
    blamed = "Two rockets hit Erbil air base on Monday. Washington holds Kataib Hezbollah responsible for it."
    (incident,) = _run(blamed, "2023-11-21", language="en").incidents
    assert [a.accused for a in incident.attributions] == ["kataib-hezbollah"]
    holding = "Two rockets hit Erbil air base on Monday. The soldiers were holding positions near the gate."
    (incident,) = _run(holding, "2023-11-21", language="en").incidents
    assert incident.attributions == []


def test_rules_known_name_inside_a_new_name_is_not_that_place() -> None:
    text = (
        "Fourteen rockets landed on Ain al-Asad air base. They were fired from a truck parked near the "
        "village of Khan al-Baghdadi, a few kilometres from the base."
    )
    extraction = _run(text, "2021-07-08", language="en")
    assert "khan-al-baghdadi" in extraction.entities
    assert "al-baghdadi" not in extraction.entities


def test_rules_new_province_is_labelled_in_english() -> None:
    text = (
        "Onze missiles ont visé la base d'Aïn al-Assad. Tous ont été tirés depuis la province de Kermanshah."
    )
    extraction = _run(text, "2020-01-08")
    assert extraction.entities["kermanshah-province"].label == "Kermanshah Province"
    (incident,) = extraction.incidents
    assert incident.launch_sites == ["kermanshah-province"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "fr",
            "EN DIRECT : attaques contre les forces américaines\n\nJeudi\n\n"
            "09:40 — Le gouvernement a ouvert une enquête.\n\nMercredi\n\n"
            "22:10 — Un drone a visé ce soir le champ pétrolier d'Al-Omar, dans la province de Deir ez-Zor.",
        ),
        (
            "en",
            "LIVE: attacks on US forces\n\nThursday\n\n"
            "09:40 — The government has opened an investigation.\n\nWednesday\n\n"
            "22:10 — A drone targeted the Al-Omar oil field in Deir ez-Zor province this evening.",
        ),
    ],
)
def test_rules_live_blog_day_heading_dates_the_entries_below_it(language: str, text: str) -> None:
    # published on a Thursday: the "Wednesday" heading is the day before
    (incident,) = _run(text, "2021-07-08", language).incidents
    assert incident.date is not None and incident.date.iso == "2021-07-07"


def test_rules_yesterday_under_a_day_heading_counts_back_from_the_heading() -> None:
    # published on a Friday: the entry under "Jeudi" was written on Thursday, so "hier" is Wednesday
    text = (
        "EN DIRECT : attaques contre les forces américaines\n\nJeudi\n\n"
        "07:30 — Un groupe a revendiqué l'attaque à la roquette d'hier contre la base d'Aïn al-Asad.\n\n"
    )
    (incident,) = _run(text, "2021-07-09").incidents
    assert incident.date is not None and incident.date.iso == "2021-07-07"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "A drone hit Ain al-Asad air base. We hold Iran and its proxies responsible for the attack."),
        ("fr", "Un drone a frappé la base d'Aïn al-Asad. Paris accuse l'Iran et ses supplétifs de l'attaque"),
    ],
)
def test_rules_a_sponsor_and_its_proxies_are_the_militias_it_backs(language: str, text: str) -> None:
    result = _run(text, language=language)
    assert "iran-backed-militias" in result.entities
    (incident,) = result.incidents
    assert {a.accused for a in incident.attributions} == {"iran", "iran-backed-militias"}


def test_rules_a_possessive_after_another_actor_is_not_the_sponsor_s_proxies() -> None:
    text = "Un drone a frappé lundi la base d'Aïn al-Asad. Damas et ses milices ont démenti toute implication"
    assert "iran-backed-militias" not in _run(text).entities


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Un groupe a revendiqué jeudi l'attaque à la roquette d'hier contre la base d'Aïn al-Asad."),
        ("en", "A group posted a statement claiming yesterday's rocket attack on Ain al-Asad air base."),
    ],
)
def test_rules_a_date_of_the_attack_noun_dates_the_attack_in_a_claim(language: str, text: str) -> None:
    (incident,) = _run(text, "2021-07-08", language).incidents
    assert incident.date is not None and incident.date.iso == "2021-07-07"


@pytest.mark.parametrize(
    ("language", "text", "person", "role"),
    [
        (
            "en",
            "Farhad Shami, head of the SDF media centre, said two drones hit the base.",
            "farhad-shami",
            "head",
        ),
        (
            "fr",
            "Ahmed Jassim Hamoudi, chef de la police locale, a confirmé l'attaque.",
            "ahmed-jassim-hamoudi",
            "chef",
        ),
    ],
)
def test_rules_a_name_with_its_title_in_apposition_is_a_person(
    language: str, text: str, person: str, role: str
) -> None:
    entities = _run(text, language=language).entities
    assert entities[person].kind == "Person"
    assert entities[person].role == role


def test_rules_a_title_alone_after_a_comma_names_no_person() -> None:
    text = "Three rockets hit the Tal Baydar base, the spokesman of the coalition said."
    assert not [e for e in _run(text, language="en").entities.values() if e.kind == "Person"]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Officials blamed Iranian militias for the drone attack on Harir base."),
        ("fr", "Washington accuse des milices iraniennes d'avoir visé la base de Harir."),
    ],
)
def test_rules_the_sponsor_s_nationality_beside_a_plural_group_noun_is_the_militias(
    language: str, text: str
) -> None:
    assert "iran-backed-militias" in _run(text, language=language).entities


@pytest.mark.parametrize(
    ("language", "text", "accused", "accuser"),
    [
        (
            "en",
            "Drones hit Harir base on Tuesday. Farhad Shami, head of the SDF media centre, said that "
            '"Iranian militias" were behind the drone attack.',
            ["iran-backed-militias"],
            "farhad-shami",
        ),
        (
            "fr",
            "Trois roquettes ont visé la base de Harir mardi. Selon un responsable kurde, les Kataëb "
            "Hezbollah et Harakat al-Nujaba seraient derrière l'attaque.",
            ["kataib-hezbollah", "harakat-al-nujaba"],
            None,
        ),
    ],
)
def test_rules_the_subject_of_being_behind_the_attack_is_blamed(
    language: str, text: str, accused: list[str], accuser: str | None
) -> None:
    (incident,) = _run(text, language=language).incidents
    assert [a.accused for a in incident.attributions] == accused
    assert {a.accuser for a in incident.attributions} == {accuser}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Three rockets hit Harir base on Tuesday. Kataib Hezbollah denied it was behind the attack."),
        (
            "fr",
            "Trois roquettes ont visé la base de Harir mardi. Les Kataëb Hezbollah étaient derrière la base.",
        ),
    ],
)
def test_rules_a_denial_or_a_place_behind_is_no_blame(language: str, text: str) -> None:
    (incident,) = _run(text, language=language).incidents
    assert incident.attributions == []


def test_rules_blame_for_a_campaign_goes_to_the_main_incident() -> None:
    text = (
        "A drone hit Ain al-Asad air base on Saturday. Separately, a drone hit Victory Base Complex "
        "near Baghdad airport on Sunday. We assess that Kataib Hezbollah is behind the drone campaign."
    )
    incidents = _run(text, language="en").incidents
    assert [a.accused for a in _one(incidents, "ain-al-asad-air-base").attributions] == ["kataib-hezbollah"]
    assert _one(incidents, "victory-base-complex").attributions == []


@pytest.mark.parametrize(
    ("language", "text", "killed", "injured"),
    [
        (
            "fr",
            "Un drone a frappé la base de Harir lundi. Huit militaires ont été légèrement blessés.",
            None,
            8,
        ),
        ("en", "A drone hit Harir base on Monday. Three soldiers were seriously wounded.", None, 3),
        (
            "en",
            "A drone hit Harir base on Monday. There were no fatalities; eight personnel were hurt.",
            0,
            8,
        ),
        ("en", "A drone hit Harir base on Monday, causing two fatalities.", 2, None),
    ],
)
def test_rules_casualty_adverbs_and_fatalities(
    language: str, text: str, killed: int | None, injured: int | None
) -> None:
    (incident,) = _run(text, language=language).incidents
    assert (incident.killed, incident.injured) == (killed, injured)
