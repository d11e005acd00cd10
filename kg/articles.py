"""Reading news articles from disk into normalised ``Article`` records.

Scraped articles arrive with optional header lines (`` date 2020-07``,
``published:``, ``url:``, ``title:``, ``language:``), typographic
apostrophes and non-breaking spaces that break the French tokenizer
(``l’ambassade`` is not split like ``l'ambassade``). Normalising here, with
one-to-one character replacements, keeps character offsets valid for
provenance while giving every later stage the same clean text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kg.errors import ArticleError, InputError

ARTICLE_SUFFIXES = (".txt", ".text", ".md")

# One-to-one replacements only: offsets in the normalised text equal offsets in the source.
_CHAR_MAP = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark
        "\u2018": "'",
        "\u02bc": "'",
        "\u00b4": "'",
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
        "\u2009": " ",  # thin space
        "\u2007": " ",
        "\u200b": " ",  # zero-width space (kept 1:1)
        "\ufeff": " ",
    }
)

_HEADER_LINE = re.compile(r"^\s*(published|date|url|title|language|lang)\s*:?\s+(.*)$", re.IGNORECASE)
_DATE_VALUE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\b\s*(.*)$", re.DOTALL)
_FR_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "des",
        "une",
        "du",
        "est",
        "et",
        "dans",
        "pour",
        "qui",
        "que",
        "sur",
        "au",
        "aux",
        "avec",
        "par",
        "ont",
        "été",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "was",
        "were",
        "that",
        "for",
        "on",
        "with",
        "by",
        "have",
        "has",
        "been",
        "from",
    ]
)


@dataclass(frozen=True)
class Article:
    """One article, its metadata and its normalised text.

    ``published`` is an ISO string at its known precision (``2020-07`` or
    ``2020-07-14``), or ``None``.
    """

    id: str
    path: Path
    text: str
    published: str | None = None
    language: str = "fr"
    title: str | None = None
    url: str | None = None

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def published_date(self) -> date | None:
        """The publication day, or the first day of the known month/year (for date arithmetic)."""
        if not self.published:
            return None
        parts = [int(p) for p in self.published.split("-")]
        while len(parts) < 3:
            parts.append(1)
        return date(*parts)

    @property
    def published_precision(self) -> str | None:
        if not self.published:
            return None
        return {1: "year", 2: "month", 3: "day"}[len(self.published.split("-"))]


def normalise(text: str) -> str:
    """Replace typographic apostrophes and exotic spaces one-for-one.

    >>> normalise("l’ambassade\u00a0américaine")
    "l'ambassade américaine"
    """
    return text.translate(_CHAR_MAP).replace("\r\n", "\n ").replace("\r", "\n")


def detect_language(text: str) -> str:
    """French or English, from function-word counts (the two languages kg reads)."""
    words = re.findall(r"[a-zà-ÿ]+", text[:5000].lower())
    french = sum(w in _FR_WORDS for w in words)
    english = sum(w in _EN_WORDS for w in words)
    return "en" if english > french else "fr"


def _parse_date_value(value: str) -> tuple[str | None, str]:
    """Split ``2020-07 rest of line`` into (``2020-07``, ``rest of line``)."""
    match = _DATE_VALUE.match(value.strip())
    if not match:
        return None, value
    year, month, day, rest = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None, value
    iso = "-".join(p for p in (year, month, day) if p)
    return iso, rest


def _blank(text: str, start: int, end: int) -> str:
    """Blank a header span with spaces so body offsets stay those of the file."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def parse_article(path: Path, raw: str) -> Article:
    """Build an Article from a file's decoded text: headers, title, language."""
    text = normalise(raw)
    meta: dict[str, str] = {}
    pos = 0
    while True:
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end == -1 else line_end
        line = text[pos:line_end]
        match = _HEADER_LINE.match(line)
        if not match or not line.strip():
            break
        key, value = match.group(1).lower(), match.group(2)
        if key in ("published", "date"):
            iso, rest = _parse_date_value(value)
            if iso is None:
                break
            meta["published"] = iso
            # The body may continue on the header's own line (" date 2020-07 Ils ont ...").
            body_start = line_end - len(rest) if rest.strip() else line_end
            text = _blank(text, pos, body_start)
            if rest.strip():
                break
        else:
            meta["language" if key == "lang" else key] = value.strip()
            text = _blank(text, pos, line_end)
        pos = line_end + 1
        if pos >= len(text):
            break
    if not text.strip():
        raise ArticleError(f"{path}: article has no text")
    title = meta.get("title") or _guess_title(text)
    language = meta.get("language", "").lower()[:2] or detect_language(text)
    return Article(
        id=path.stem,
        path=path,
        text=text,
        published=meta.get("published"),
        language=language if language in ("fr", "en") else detect_language(text),
        title=title,
        url=meta.get("url"),
    )


def _guess_title(text: str) -> str | None:
    """A short first paragraph without final punctuation reads as a headline."""
    first = text.strip().split("\n", 1)[0].strip()
    if first and len(first) <= 200 and not first.endswith((".", "!", "?", ":")) and "\n" in text.strip():
        return first
    return None


def read_article(path: Path) -> Article:
    """Read one article file; raise ArticleError with the reason if it cannot be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArticleError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ArticleError(f"{path}: is a directory, expected an article file") from None
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise ArticleError(f"{path}: file is empty")
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{path}: binary file, expected UTF-8 text")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{path}: not valid UTF-8 (byte {exc.start}); convert the file to UTF-8") from None
    return parse_article(path, raw)


def find_article_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and folders into a sorted list of article files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in ARTICLE_SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError("no article files found in " + ", ".join(str(p) for p in paths))
    return sorted(set(found), key=lambda p: (p.name, str(p)))


def read_articles(paths: Iterable[Path]) -> Iterator[Article]:
    """Read every article under the given files and folders, in a stable order."""
    for path in find_article_files(paths):
        yield read_article(path)


__all__ = ["Article", "detect_language", "normalise", "read_article", "read_articles"]
