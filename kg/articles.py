"""Reading news articles from disk into normalised ``Article`` records.

Scraped articles arrive with optional header lines (`` date 2020-07``,
``published:``, ``url:``, ``title:``, ``language:``), typographic
apostrophes and non-breaking spaces that break the French tokenizer
(``l’ambassade`` is not split like ``l'ambassade``). Normalising here, with
one-to-one character replacements, keeps character offsets valid for
provenance while giving every later stage the same clean text.

Analysts feed kg whatever they scraped, so reading is defensive: empty,
binary, oversized and unreadable files raise ``ArticleError`` with the reason
(the build skips them and says why); text that is not UTF-8 is decoded as
Windows-1252 (a superset of Latin-1's printable characters) with a warning on
the ``kg.articles`` logger; a saved HTML page is reduced to its text, its
``<title>``, publication date, canonical URL and language becoming headers.
The size limits live in ``kg/limits.toml``.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path

from kg import resources
from kg.errors import ArticleError, InputError

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".text", ".md", ".html", ".htm")
_HTML_SUFFIXES = frozenset({".html", ".htm"})

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
        # control characters (a stray escape or form feed in scraped text) become spaces
        **{chr(c): " " for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]},
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

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the text, computed once: duplicate detection compares it across every article."""
        return hashlib.sha256(self.text.encode("utf-8", errors="surrogatepass")).hexdigest()

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
    limits = resources.limits()
    if not limits.first_year <= int(year) <= limits.last_year:
        return None, value  # "published: 0001" is a typo, and date arithmetic on it would overflow
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
    """Read one article file; raise ArticleError with the reason if it cannot be used.

    Whatever the file holds, the only exception is ``ArticleError``: missing,
    not a regular file, unreadable, above the size limits of
    ``kg/limits.toml``, empty, binary, or with no text once headers and
    markup are removed. Text that is not UTF-8 is read as Windows-1252 with a
    warning logged; HTML (by extension or content) is reduced to its text.
    """
    path = Path(path)
    limits = resources.limits()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ArticleError(f"{path}: no such file") from None
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ArticleError(f"{path}: is a directory, expected an article file")
    if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
        raise ArticleError(f"{path}: not a regular file, expected an article file")
    if info.st_size > limits.article_max_bytes:
        raise ArticleError(_too_large(path, info.st_size))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limits.article_max_bytes:  # grew since stat
        raise ArticleError(_too_large(path, len(data)))
    if not data.strip():
        raise ArticleError(f"{path}: file is empty")
    raw = decode(path, data)
    if looks_like_html(path, raw):
        raw = html_to_text(raw)
    if len(raw) > limits.article_max_chars:
        raise ArticleError(
            f"{path}: article text is {len(raw):,} characters, above kg's limit of "
            f"{limits.article_max_chars:,} per article (kg/limits.toml); "
            "if it is a dump of several articles, split it into one file per article"
        )
    return parse_article(path, raw)


def _too_large(path: Path, size: int) -> str:
    limit = resources.limits().article_max_bytes
    return (
        f"{path}: file is {size / 1e6:.1f} MB, above kg's limit of {limit / 1e6:g} MB per article "
        "(kg/limits.toml); if it is a dump of several articles, split it into one file per article"
    )


# ---------------------------------------------------------------- decoding

_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
_CONTROL_SHARE = 0.01  # above this share of control characters, a file is binary, not text
_SNIFF_CHARS = 65536


def _latin1_for_undefined(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: bytes Windows-1252 leaves undefined (0x81, 0x8d...) decode as Latin-1."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("kg-latin-1", _latin1_for_undefined)


def decode(path: Path, data: bytes) -> str:
    """The text of an article file's bytes.

    UTF-8 (with or without a byte-order mark) and UTF-16 with a byte-order
    mark are read as such. Anything else is read with the charset an HTML page
    declares, else as Windows-1252 (whose printable characters include all of
    Latin-1's), with a warning: such a file always decodes, and French text
    comes out right.

    Raises:
        ArticleError: the bytes are binary (NUL bytes, or mostly control characters).
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ArticleError(
                f"{path}: not valid UTF-16 (byte {exc.start}); re-save the file as UTF-8"
            ) from None
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            if _looks_like_utf16(data):
                raise ArticleError(
                    f"{path}: looks like UTF-16 without a byte-order mark; re-save it as UTF-8"
                )
            raise ArticleError(f"{path}: binary file (NUL byte at offset {nul}), expected UTF-8 text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            text, encoding = _decode_legacy(data)
            logger.warning(
                "%s: not valid UTF-8 (byte 0x%02x at offset %d); read as %s",
                path,
                data[exc.start],
                exc.start,
                encoding,
            )
    sample = text[:_SNIFF_CHARS]
    controls = sum(1 for char in sample if _is_control(char))
    if "\x00" in sample or controls > max(4, len(sample) * _CONTROL_SHARE):
        raise ArticleError(f"{path}: binary file ({controls} control characters), expected UTF-8 text")
    return text


def _decode_legacy(data: bytes) -> tuple[str, str]:
    """Decode non-UTF-8 bytes: the charset an HTML page declares, else Windows-1252."""
    declared = _CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii", errors="replace")
        try:
            codec = codecs.lookup(name).name
            if codec not in ("utf-8", "utf-8-sig"):
                return data.decode(codec), f"{name} (the charset the page declares)"
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("cp1252", errors="kg-latin-1"), "Windows-1252 (Latin-1)"


def _looks_like_utf16(data: bytes) -> bool:
    """NUL bytes on one parity only: UTF-16 text of Latin script saved without a byte-order mark."""
    head = data[:4096]
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    return len(head) >= 4 and max(even, odd) >= len(head) // 4 and min(even, odd) <= max(even, odd) // 10


def _is_control(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in "\t\n\r\x0c") or 0x7F <= code < 0xA0


# ---------------------------------------------------------------- HTML

_HTML_START = re.compile(
    r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAG = re.compile(
    r"</?(?:p|div|br|span|a|article|section|h[1-6]|li|ul|ol|table|tr|td|body|head|html|script|style|meta|"
    r"link|img|em|strong|b|i|figure|header|footer|nav)\b[^<>]{0,2000}>",
    re.I,
)
_HTML_MIN_TAGS = 5
_PUBLISHED_META = frozenset(
    {
        "article:published_time",
        "og:published_time",
        "datepublished",
        "pubdate",
        "publishdate",
        "publish-date",
        "date",
        "dc.date",
        "dc.date.issued",
        "dcterms.created",
        "dcterms.issued",
        "parsely-pub-date",
        "sailthru.date",
    }
)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def looks_like_html(path: Path, text: str) -> bool:
    """An HTML page: by extension, by its opening tag, or by a handful of HTML tags in the text."""
    if path.suffix.lower() in _HTML_SUFFIXES:
        return True
    head = text[:4096]
    if _HTML_START.match(head):
        return True
    return len(_HTML_TAG.findall(text[:_SNIFF_CHARS], 0)) >= _HTML_MIN_TAGS


class _HtmlText(HTMLParser):
    """Collects the readable text of a page, one paragraph per block element, and its metadata."""

    BLOCKS = frozenset(
        [
            "address",
            "article",
            "blockquote",
            "br",
            "dd",
            "div",
            "dl",
            "dt",
            "figcaption",
            "figure",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "main",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "td",
            "th",
            "tr",
            "ul",
        ]
    )
    # never article text: code, styling, menus, forms, page furniture
    SKIPPED = frozenset(
        [
            "script",
            "style",
            "noscript",
            "template",
            "svg",
            "iframe",
            "object",
            "nav",
            "footer",
            "aside",
            "form",
            "button",
            "select",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []
        self.in_title = False
        self.in_pre = 0
        self.title: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "html" and values.get("lang"):
            self.meta.setdefault("language", values["lang"])
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop") or "").lower()
            content = values.get("content", "").strip()
            if key in _PUBLISHED_META and _ISO_DAY.match(content) and _parse_date_value(content[:10])[0]:
                self.meta.setdefault("published", content[:10])  # a bad date would end the header block
            elif key in ("og:title", "twitter:title") and content:
                self.meta.setdefault("title", content)
            elif key == "og:url" and content:
                self.meta.setdefault("url", content)
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and values.get("href"):
            self.meta["url"] = values["href"]
        if tag in self.SKIPPED:
            self.skipping.append(tag)
        elif tag == "title":
            self.in_title = True
        elif tag == "pre":
            self.in_pre += 1
        if tag in self.BLOCKS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self.SKIPPED:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skipping:  # close it and anything left open inside it
            del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag) :]
        elif tag == "title":
            self.in_title = False
        elif tag == "pre":
            self.in_pre = max(0, self.in_pre - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.in_title:
            self.title.append(data)
        elif self.in_pre:
            self.parts.append(data)
        else:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = [line.strip() for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    r"""The readable text of an HTML page, with its metadata as kg header lines.

    Header lines already at the top of the file (``published: ...``) are kept.
    Paragraphs become blank-line separated; scripts, styles, menus, forms and
    footers are dropped; the page's ``<title>`` (or ``og:title``), publication
    date (``article:published_time`` and similar), canonical URL and
    ``<html lang>`` become ``title:``, ``published:``, ``url:`` and
    ``language:`` headers. Character offsets are those of this text.

    >>> html_to_text('<html lang="fr"><title>T</title><p>Une&nbsp;roquette.</p><script>x()</script></html>')
    'title: T\nlanguage: fr\n\nUne roquette.'
    """
    kept: list[str] = []
    lines = html.split("\n")
    while lines and _HEADER_LINE.match(lines[0]) and "<" not in lines[0]:
        kept.append(lines.pop(0).strip())
    parser = _HtmlText()
    try:
        parser.feed("\n".join(lines))
        parser.close()
        body = parser.text()
    except Exception:  # html.parser gives up on some broken markup: fall back to dropping tags
        body = re.sub(r"[ \t]+", " ", re.sub(r"<[^>]*>", " ", "\n".join(lines))).strip()
    meta = dict(parser.meta)
    title = " ".join("".join(parser.title).split())
    if title:
        meta.setdefault("title", title)
    headers = [*kept]
    for key in ("published", "url", "title", "language"):
        value = " ".join(meta.get(key, "").split())
        if value and not any(line.lower().startswith(key) for line in kept):
            headers.append(f"{key}: {value}")
    return "\n".join(headers) + ("\n\n" if headers else "") + body


def find_article_files(paths: Iterable[Path]) -> list[Path]:
    """Expand files and folders into a sorted list of article files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            # dangling links are listed so that reading reports them instead of dropping them silently
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in ARTICLE_SUFFIXES and (p.is_file() or p.is_symlink())
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    if not found:
        raise InputError(
            "no article files found in "
            + ", ".join(str(p) for p in paths)
            + f" (kg reads {', '.join(ARTICLE_SUFFIXES)} files)"
        )
    return sorted(set(found), key=lambda p: (p.name, str(p)))


def read_articles(paths: Iterable[Path]) -> Iterator[Article]:
    """Read every article under the given files and folders, in a stable order."""
    for path in find_article_files(paths):
        yield read_article(path)


def read_all(paths: Iterable[Path], strict: bool = False) -> tuple[list[Article], list[str]]:
    """Read every article once; bad ones are skipped with a reason unless ``strict``.

    A second file with the name or the content of one already read is skipped too (the same article
    saved twice). Returns the articles in a stable order and the reasons for each skip.
    """
    articles: dict[str, Article] = {}
    hashes: set[str] = set()
    skipped: list[str] = []
    for path in find_article_files(paths):
        try:
            article = read_article(path)
        except ArticleError as exc:
            if strict:
                raise
            skipped.append(str(exc))
            continue
        if article.id in articles or article.content_hash in hashes:
            skipped.append(f"{path}: same content or name as an article already read")
            continue
        articles[article.id] = article
        hashes.add(article.content_hash)
    return list(articles.values()), skipped


__all__ = [
    "Article",
    "decode",
    "detect_language",
    "html_to_text",
    "looks_like_html",
    "normalise",
    "parse_article",
    "read_all",
    "read_article",
    "read_articles",
]
