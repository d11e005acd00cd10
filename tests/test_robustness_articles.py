"""Issue 5, point 1: whatever an analyst scraped, reading articles says what is wrong and never crashes.

Every bad file must raise ``ArticleError`` (one line, naming the file); text in a
legacy encoding or saved as HTML must be read, not refused.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from kg import resources
from kg.articles import (
    Article,
    find_article_files,
    html_to_text,
    looks_like_html,
    normalise,
    parse_article,
    read_article,
)
from kg.errors import ArticleError, InputError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
LIMITS = resources.limits()

# name -> (file content, words the message must contain); see test_robustness_articles_bad_files
BAD_CONTENT: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "whitespace": (b" \n\t\r\n   \n", "empty"),
    "invisible-spaces": ("\u00a0\u200b\u202f\n\ufeff \n".encode(), "no text"),
    "headers-only": (b"published: 2024-01-28\ntitle: Attaque\nurl: https://e.org/x\n", "no text"),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary"),
    "nul-late": (b"Une roquette a frapp\xc3\xa9 la base." * 400 + b"\x00", "binary"),
    "control-characters": (bytes(range(1, 9)) * 300 + b"texte", "binary"),
    "utf16-without-bom": ("Trois roquettes ont frappé la base.".encode("utf-16-le"), "UTF-16"),
    "html-without-text": (b"<html><head><script>var a = 1;</script></head><body></body></html>", "no text"),
    "too-many-characters": (b"roquette " * (LIMITS.article_max_chars // 9 + 1), "characters"),
}


def one_line(error: pytest.ExceptionInfo[BaseException], path: Path) -> str:
    message = str(error.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("case", sorted(BAD_CONTENT))
def test_robustness_articles_bad_files(tmp_path: Path, case: str) -> None:
    content, words = BAD_CONTENT[case]
    path = tmp_path / f"{case}.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleError) as caught:
        read_article(path)
    assert words in one_line(caught, path)


def test_robustness_articles_bad_file_count() -> None:
    """The data-driven cases above, plus the path cases below: an empty table cannot pass silently."""
    assert len(BAD_CONTENT) == 10


def test_robustness_articles_too_large_file_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dump.txt"
    with path.open("wb") as handle:
        handle.truncate(LIMITS.article_max_bytes + 1)  # sparse: no time or disk spent
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("a too-large file was read"))
    with pytest.raises(ArticleError) as caught:
        read_article(path)
    message = one_line(caught, path)
    assert "MB" in message and "limits.toml" in message and "split" in message


def test_robustness_articles_missing_file_and_dangling_link(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such file") as caught:
        read_article(tmp_path / "nope.txt")
    one_line(caught, tmp_path / "nope.txt")
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "deleted.txt")
    with pytest.raises(ArticleError, match="no such file"):
        read_article(link)
    # listed from a folder, so the build reports it instead of dropping it silently
    assert link in find_article_files([tmp_path])


def test_robustness_articles_directory_and_pipe_are_not_articles(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.txt"
    folder.mkdir()
    with pytest.raises(ArticleError, match="is a directory"):
        read_article(folder)
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    with pytest.raises(ArticleError, match="not a regular file"):  # reading it would block forever
        read_article(pipe)


def test_robustness_articles_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("Une roquette a frappé la base.", encoding="utf-8")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod 000 does not stop root, who runs CI
    with pytest.raises(ArticleError, match=r"cannot read \(Permission denied\)") as caught:
        read_article(path)
    one_line(caught, path)


def test_robustness_articles_folder_without_articles_names_the_suffixes(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"no article files found in .*\.txt, .*\.html") as caught:
        find_article_files([tmp_path])
    assert "\n" not in str(caught.value)


WINDOWS_1252 = "L’armée a tiré 3 roquettes sur l’ambassade à Bagdad – coût estimé 20 000 €."


def test_robustness_articles_windows_1252_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cp1252.txt"
    path.write_bytes(WINDOWS_1252.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="kg.articles"):
        article = read_article(path)
    assert article.text == normalise(WINDOWS_1252)
    assert "l'ambassade à Bagdad" in article.text and "€" in article.text
    [record] = caplog.records
    assert str(path) in record.getMessage() and "Windows-1252" in record.getMessage()


def test_robustness_articles_latin1_with_bytes_windows_1252_lacks_never_fails(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    # 0x81 and 0x8d are undefined in Windows-1252: they decode as Latin-1 controls, then become spaces
    path.write_bytes("Frappe près de Qaïm, café détruit.".encode("latin-1") + b" \x81\x8d fin.")
    article = read_article(path)
    assert article.text.startswith("Frappe près de Qaïm, café détruit.")
    assert "\x81" not in article.text


def test_robustness_articles_utf8_and_utf16_with_byte_order_marks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "Trois roquettes ont frappé l'ambassade."
    for name, data in (("bom8.txt", text.encode("utf-8-sig")), ("bom16.txt", text.encode("utf-16"))):
        path = tmp_path / name
        path.write_bytes(data)
        with caplog.at_level(logging.WARNING, logger="kg.articles"):
            assert read_article(path).text == text
    assert caplog.records == []


HTML_PAGE = """<!DOCTYPE html>
<html lang="fr-FR">
<head>
  <meta charset="utf-8">
  <title>Roquettes sur Bagdad | Le Journal</title>
  <meta property="article:published_time" content="2024-01-28T21:04:00+01:00">
  <link rel="canonical" href="https://journal.example/roquettes">
  <style>p { color: red; }</style>
  <script>window.dataLayer = [{"page": "<p>not text</p>"}];</script>
</head>
<body>
  <nav><a href="/">Accueil</a> <a href="/monde">Monde</a></nav>
  <article>
    <h1>Roquettes sur Bagdad</h1>
    <p>Trois roquettes ont frappé dimanche soir l&#8217;ambassade des États-Unis&nbsp;à Bagdad.</p>
    <p>Aucun blessé n&apos;a été signalé, selon l&rsquo;armée irakienne.</p>
  </article>
  <footer>Abonnez-vous à notre newsletter</footer>
</body>
</html>
"""


def test_robustness_articles_html_saved_as_txt_keeps_text_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    path.write_text(HTML_PAGE, encoding="utf-8")
    article = read_article(path)
    text = " ".join(article.text.split())
    assert "Trois roquettes ont frappé dimanche soir l'ambassade des États-Unis à Bagdad." in text
    assert "Aucun blessé n'a été signalé, selon l'armée irakienne." in text
    for junk in ("<", "dataLayer", "color: red", "Accueil", "newsletter", "&nbsp;"):
        assert junk not in article.text, junk
    assert (article.published, article.url, article.language) == (
        "2024-01-28",
        "https://journal.example/roquettes",
        "fr",
    )
    assert article.title == "Roquettes sur Bagdad | Le Journal"
    # paragraphs stay apart: the NLP splits sentences on them
    assert "\n\n" in article.text.strip()


def test_robustness_articles_html_declared_charset_is_honoured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>L’armée a riposté.</p></body></html>'
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="kg.articles"):
        article = read_article(path)
    assert article.text.strip() == "L'armée a riposté."
    assert "windows-1252 (the charset the page declares)" in caplog.text
    assert find_article_files([tmp_path]) == [path]  # saved pages are articles too


def test_robustness_articles_headers_before_html_are_kept() -> None:
    text = html_to_text("published: 2020-07-14\nurl: https://e.org/a\n<p>Une roquette.</p><p>Deux.</p>")
    assert text.splitlines()[:2] == ["published: 2020-07-14", "url: https://e.org/a"]
    assert text.endswith("Une roquette.\n\nDeux.")


@pytest.mark.parametrize(
    "text",
    [
        "Bilan : moins de <5 morts & 3 blessés, selon un bilan <provisoire>.",
        "Les deux camps s'accusent (A<B) et le prix a baissé de 3 < 4.",
    ],
)
def test_robustness_articles_plain_text_with_angle_brackets_is_not_html(text: str) -> None:
    assert not looks_like_html(Path("a.txt"), text)


def test_robustness_articles_implausible_publication_year_is_not_a_date(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("published: 0001-01-01\n\nUne roquette a frappé la base jeudi.", encoding="utf-8")
    assert read_article(path).published is None  # date arithmetic on year 1 would overflow
    path.write_text(f"published: {LIMITS.last_year}-12-31\n\nUne roquette.", encoding="utf-8")
    assert read_article(path).published == f"{LIMITS.last_year}-12-31"


def test_robustness_articles_control_characters_become_spaces_keeping_offsets() -> None:
    text = "Une\x1broquette\x0c a\x85 frappé\x7f."
    assert normalise(text) == "Une roquette  a  frappé ."
    assert len(normalise(text)) == len(text)


def test_robustness_articles_duplicate_content_is_one_article(tmp_path: Path) -> None:
    from kg.articles import read_all

    seed = SEEDS / "003_b3b186272ba4e341.txt"
    shutil.copy(seed, tmp_path / "a.txt")
    shutil.copy(seed, tmp_path / "b.txt")
    articles, skipped = read_all([tmp_path])
    assert [a.id for a in articles] == ["a"]
    assert len(skipped) == 1 and "b.txt" in skipped[0] and "same content" in skipped[0]


def test_robustness_articles_content_hash_is_computed_once(tmp_path: Path) -> None:
    """Duplicate detection compares every article's hash with every other's: it must not rehash."""
    path = tmp_path / "a.txt"
    path.write_text("Une roquette a frappé la base.", encoding="utf-8")
    article = read_article(path)
    assert article.content_hash is article.content_hash


def test_robustness_articles_readme_states_the_limits() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"{LIMITS.article_max_bytes / 1e6:g} MB" in readme
    assert f"{LIMITS.article_max_chars:,} characters" in readme
    assert f"at most {LIMITS.table_rows:,} rows" in readme
    assert f"outside {LIMITS.first_year}-{LIMITS.last_year}" in readme


def test_robustness_articles_html_with_an_impossible_date_keeps_its_other_headers() -> None:
    page = (
        '<html lang="en"><head><title>Drone strike</title>'
        '<meta property="article:published_time" content="2024-13-45T10:00:00Z"></head>'
        "<body><p>A drone hit the base.</p></body></html>"
    )
    article = read_article_text(page)
    assert (article.published, article.title, article.language) == (None, "Drone strike", "en")
    assert article.text.strip() == "A drone hit the base."


def read_article_text(page: str) -> Article:
    return parse_article(Path("page.html"), html_to_text(page))
