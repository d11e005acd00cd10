"""Entity rules: gazetteer names, head-noun names, coreference, collectives (texts composed for the tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.articles import Article, normalise
from kg.extractors import extract
from kg.records import ArticleExtraction


def _extract(fr_nlp, text: str) -> ArticleExtraction:
    article = Article(id="t", path=Path("t.txt"), text=normalise(text), published="2023-01-01")
    return extract(fr_nlp(article.text), article)


@pytest.mark.parametrize(
    ("text", "key", "kind"),
    [
        ("Des roquettes sont tombées sur le quartier de Zafraniya.", "zafaraniya", "District"),  # gazetteer
        ("Des roquettes sont tombées sur le quartier de Kassem Tarfi.", "kassem-tarfi", "District"),  # new
        ("Le village de Tell Abyad Sharqi a été visé.", "tell-abyad-sharqi", "City"),
        ("Une attaque a visé la base de Qasr al-Moukhtar dimanche.", "qasr-al-moukhtar", "MilitaryBase"),
        (
            "Les Brigades Thar al-Mouhandis ont revendiqué l'attaque.",
            "brigades-thar-al-mouhandis",
            "ArmedGroup",
        ),
        ("Le champ gazier de Conico a été touché.", "conoco-gas-field", "EnergyFacility"),
    ],
)
def test_entities_head_noun_rules(fr_nlp, text: str, key: str, kind: str) -> None:
    entities = _extract(fr_nlp, text).entities
    assert key in entities, sorted(entities)
    assert entities[key].kind == kind


def test_entities_spellings_resolve_to_one_gazetteer_entity(fr_nlp) -> None:
    text = (
        "La base aérienne d'Aïn al-Assad a été visée. Plus tard, Ain al-Asad a de nouveau été attaquée. "
        "Les Forces de mobilisation populaire (Hachd al-Chaabi) ont démenti."
    )
    entities = _extract(fr_nlp, text).entities
    assert "ain-al-asad-air-base" in entities
    assert "popular-mobilization-forces" in entities
    assert not [k for k in entities if "asad" in k and k != "ain-al-asad-air-base"]


def test_entities_titled_person_gets_role_and_short_name_corefers(fr_nlp) -> None:
    text = (
        "Le Premier ministre Ahmed Jassem al-Tamimi a condamné l'attaque. "
        "Selon al-Tamimi, l'enquête est en cours."
    )
    extraction = _extract(fr_nlp, text)
    persons = {k: r for k, r in extraction.entities.items() if r.kind == "Person"}
    assert list(persons) == ["ahmed-jassem-al-tamimi"]
    assert persons["ahmed-jassem-al-tamimi"].role == "Premier ministre"


def test_entities_bare_facility_refers_back(fr_nlp) -> None:
    text = "Une roquette a frappé l'ambassade des États-Unis à Bagdad. L'ambassade a activé ses sirènes."
    extraction = _extract(fr_nlp, text)
    keys = [m.key for m in extraction.mentions if m.text.lower().startswith("l'ambassade")]
    assert keys and set(keys) == {"us-embassy-baghdad"}


def test_entities_collective_iran_backed_groups(fr_nlp) -> None:
    text = "Des groupes armés irakiens, alignés sur l'Iran, ont menacé les forces américaines."
    assert "iran-backed-militias" in _extract(fr_nlp, text).entities


@pytest.mark.parametrize("junk", ["VIDEOS", "Partagez", "Paypal", "Vous", "Chloé"])
def test_entities_boilerplate_is_not_an_entity(fr_nlp, junk: str) -> None:
    text = (
        f"Deux roquettes ont visé la base de Balad ({junk})\n\nRT\n\n{junk}\n\n"
        "Vous pouvez partager cette histoire sur les réseaux sociaux : Partagez-le avec un ami !"
    )
    labels = {r.label.lower() for r in _extract(fr_nlp, text).entities.values()}
    assert junk.lower() not in labels
