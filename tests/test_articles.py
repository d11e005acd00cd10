from __future__ import annotations

from pathlib import Path

import pytest

from kg.articles import detect_language, normalise, read_article, read_articles
from kg.errors import ArticleError, InputError


def test_articles_header_on_same_line_as_body(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(" date 2020-07 Ils ont lancé une fusée vers l'ambassade.\n\nSuite.", encoding="utf-8")
    article = read_article(path)
    assert article.published == "2020-07"
    assert article.published_precision == "month"
    assert article.text.strip().startswith("Ils ont lancé")
    # offsets of the body are those of the file
    assert article.text.index("Ils") == path.read_text(encoding="utf-8").index("Ils")


def test_articles_key_value_headers(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_text(
        "published: 2024-01-28\nurl: https://example.org/x\ntitle: Attaque\nlanguage: en\n\n"
        "Three rockets hit the base.",
        encoding="utf-8",
    )
    article = read_article(path)
    assert (article.published, article.url, article.title, article.language) == (
        "2024-01-28",
        "https://example.org/x",
        "Attaque",
        "en",
    )
    assert article.published_date is not None and article.published_date.day == 28


def test_articles_normalise_keeps_length() -> None:
    text = "l’ambassade\u00a0des États\u202fUnis"
    assert normalise(text) == "l'ambassade des États Unis"
    assert len(normalise(text)) == len(text)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"   \n  ", "empty"), (b"\x00\x01binary", "binary")],
)
def test_articles_bad_files_raise_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleError, match=message):
        read_article(path)


def test_articles_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such file"):
        read_article(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="no article files"):
        list(read_articles([tmp_path]))


def test_articles_folder_is_read_in_sorted_order(tmp_path: Path) -> None:
    for name in ("b.txt", "a.txt", "c.md"):
        (tmp_path / name).write_text("Une roquette a frappé la base.", encoding="utf-8")
    (tmp_path / "ignored.json").write_text("{}", encoding="utf-8")
    assert [a.id for a in read_articles([tmp_path])] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Deux roquettes ont frappé la base et les soldats ont été évacués.", "fr"),
        ("Two rockets hit the base and the soldiers were evacuated from the area.", "en"),
    ],
)
def test_articles_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language
