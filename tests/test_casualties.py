from __future__ import annotations

import pytest

from kg.extractors.casualties import CasualtyReader


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Deux civils ont été blessés dans une attaque à la roquette.", (None, 2)),
        ("Une femme et une fille auraient été blessées lors de cette frappe.", (None, 2)),
        ("Une roquette a frappé une maison et blessé un enfant.", (None, 1)),
        ("Deux soldats américains et un britannique sont morts après une attaque.", (3, None)),
        ("L'attaque a fait un mort parmi les gardes.", (1, None)),
        ("Il a souligné qu'aucun blessé n'a été enregistré.", (None, 0)),
        ("L'attaque n'a fait ni victime ni dommage.", (0, 0)),
        ("Aucune victime n'est à déplorer.", (0, 0)),
        ("On ne sait pas encore si l'attentat a fait des morts ou des blessés.", (None, None)),
        ("Il n'est pas clair si l'attaque a fait des victimes.", (None, None)),
        ("Le drone a causé des victimes mineures.", (None, None)),
        ("Trois gardes ont été tués et cinq autres blessés.", (3, 5)),
    ],
)
def test_casualties_french_phrases(fr_nlp, fr_lexicon, sentence: str, expected: tuple) -> None:
    doc = fr_nlp(sentence)
    assert CasualtyReader(fr_lexicon).read(doc[:], set()) == expected
