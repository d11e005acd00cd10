"""Where graphs live on disk: one way to read them, one way to write them.

Every command that takes a graph file (validate, reason, query, export) and
every command that writes one (build, reason, export) goes through this
module, so that they all accept the same formats, fail the same way on a bad
file (one line naming the file, and the line and column when the parser knows
them) and never leave a half-written output behind. Graphs are read into an
``rdflib.Dataset`` whose default graph is the union of its named graphs, so
SPARQL sees a Turtle file and a TriG file with one graph per article alike.
Output is deterministic: triples are copied in sorted order before
serialising and line-based formats are sorted, so rebuilding the same
articles gives byte-identical files that diff well.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO
from xml.sax import SAXParseException

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node

from kg.errors import GraphParseError, InputError, UsageError
from kg.ns import PREFIXES, bind_prefixes

__all__ = [
    "RDFFormat",
    "all_triples",
    "flatten",
    "format_for_path",
    "load",
    "parse_format",
    "remove_stale_temporaries",
    "save",
    "serialize",
    "union",
    "write_text_atomic",
]

Triple = tuple[Node, Node, Node]


class RDFFormat(StrEnum):
    """RDF serialisations kg reads and writes."""

    TURTLE = "turtle"
    NT = "nt"
    NQUADS = "nquads"
    TRIG = "trig"
    JSONLD = "jsonld"
    XML = "xml"


# Name of each format in rdflib's plugin registry, and for error messages.
_RDFLIB_NAME = {
    RDFFormat.TURTLE: "turtle",
    RDFFormat.NT: "nt",
    RDFFormat.NQUADS: "nquads",
    RDFFormat.TRIG: "trig",
    RDFFormat.JSONLD: "json-ld",
    RDFFormat.XML: "xml",
}
_DISPLAY_NAME = {
    RDFFormat.TURTLE: "Turtle",
    RDFFormat.NT: "N-Triples",
    RDFFormat.NQUADS: "N-Quads",
    RDFFormat.TRIG: "TriG",
    RDFFormat.JSONLD: "JSON-LD",
    RDFFormat.XML: "RDF/XML",
}
_EXTENSIONS = {
    ".ttl": RDFFormat.TURTLE,
    ".turtle": RDFFormat.TURTLE,
    ".nt": RDFFormat.NT,
    ".nq": RDFFormat.NQUADS,
    ".trig": RDFFormat.TRIG,
    ".jsonld": RDFFormat.JSONLD,
    ".json": RDFFormat.JSONLD,
    ".rdf": RDFFormat.XML,
    ".xml": RDFFormat.XML,
}
_ALIASES = {
    "ttl": RDFFormat.TURTLE,
    "n-triples": RDFFormat.NT,
    "ntriples": RDFFormat.NT,
    "nq": RDFFormat.NQUADS,
    "n-quads": RDFFormat.NQUADS,
    "json-ld": RDFFormat.JSONLD,
    "json": RDFFormat.JSONLD,
    "rdfxml": RDFFormat.XML,
    "rdf/xml": RDFFormat.XML,
    "pretty-xml": RDFFormat.XML,
}
QUAD_FORMATS = frozenset({RDFFormat.TRIG, RDFFormat.NQUADS})
_LINE_FORMATS = frozenset({RDFFormat.NT, RDFFormat.NQUADS})
_SNIFF_BYTES = 8192
_MAX_MESSAGE = 240
_CARET_CONTEXT = re.compile(r"\s+at \^ in (.*)\^(.*)$", re.DOTALL)
_GENERATED_PREFIX = re.compile(r"(ns|default)\d*")  # prefixes rdflib invents for unbound namespaces


def parse_format(name: str | RDFFormat) -> RDFFormat:
    """Resolve a format name or common alias (``ttl``, ``json-ld``, ``n-triples``...).

    Raises:
        UsageError: the name is not a known RDF format; the message lists them.

    >>> parse_format("ttl")
    <RDFFormat.TURTLE: 'turtle'>
    """
    if isinstance(name, RDFFormat):
        return name
    key = name.strip().lower()
    try:
        return RDFFormat(key)
    except ValueError:
        pass
    if key in _ALIASES:
        return _ALIASES[key]
    choices = ", ".join(f.value for f in RDFFormat)
    raise UsageError(f"unknown RDF format {name!r}; expected one of: {choices}")


def format_for_path(path: Path) -> RDFFormat:
    """Guess the RDF format of a file from its extension.

    Raises:
        InputError: the extension is not one kg knows; the message lists them.

    >>> format_for_path(Path("build/kg.trig"))
    <RDFFormat.TRIG: 'trig'>
    """
    suffix = Path(path).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    known = ", ".join(sorted(_EXTENSIONS))
    raise InputError(
        f"{path}: cannot tell the RDF format from the extension {suffix or '(none)'!r}; "
        f"use one of {known} or give the format explicitly"
    )


def load(path: Path, fmt: str | RDFFormat | None = None) -> Dataset:
    """Read an RDF file into a Dataset whose default graph is the union of all graphs.

    Args:
        path: the file to read.
        fmt: the format name; guessed from the extension when None.

    Returns:
        A ``Dataset`` with ``default_union=True``: triple formats land in its
        default graph, TriG/N-Quads keep their named graphs, and SPARQL over
        it sees every triple.

    Raises:
        InputError: missing file, directory, unreadable, empty, binary, not
            UTF-8, or a file that parses to no triples at all.
        GraphParseError: a syntax error, reported as ``file:line:col: ...``.
    """
    path = Path(path)
    _check_readable(path)
    rdf_format = parse_format(fmt) if fmt is not None else format_for_path(path)
    raw = _read_bytes(path)
    display = _DISPLAY_NAME[rdf_format]
    if not raw.strip():
        raise InputError(f"{path}: file is empty, expected {display} data")
    nul = raw.find(b"\x00", 0, _SNIFF_BYTES)
    if nul >= 0:
        raise InputError(f"{path}: binary content (NUL byte at offset {nul}), expected a {display} text file")
    # RDF/XML declares its own encoding; every other format is UTF-8 by definition.
    source: str | bytes = raw if rdf_format is RDFFormat.XML else _decode_utf8(path, raw)

    if rdf_format is RDFFormat.JSONLD:
        _refuse_external_contexts(path, source)
    dataset = Dataset(default_union=True)
    bind_prefixes(dataset)
    try:
        dataset.parse(data=source, format=_RDFLIB_NAME[rdf_format], publicID=path.resolve().as_uri())
    except Exception as exc:  # any parser plugin error becomes one readable line
        text = source if isinstance(source, str) else raw.decode("utf-8", errors="replace")
        raise GraphParseError(_describe_parse_error(path, rdf_format, exc, text)) from exc
    if len(dataset) == 0:
        raise InputError(f"{path}: parsed as {display} but contains no triples")
    return dataset


def _refuse_external_contexts(path: Path, source: str | bytes) -> None:
    """A JSON-LD ``@context`` or ``@import`` naming another document is refused, never fetched.

    rdflib would download it (or read any local file it names) while loading, so a hostile or merely
    offline file could hang kg until the network times out. Inline contexts are read as usual.
    """
    try:
        document = json.loads(source)
    except ValueError:
        return  # the parser reports malformed JSON with its line and column
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                refs = value if isinstance(value, list) else [value]
                if key in ("@context", "@import") and any(isinstance(ref, str) for ref in refs):
                    ref = next(ref for ref in refs if isinstance(ref, str))
                    raise InputError(
                        f"{path}: JSON-LD {key} refers to another document ({ref[:80]}); kg does not fetch "
                        "contexts, so put the context inline"
                    )
                stack.append(value)


def save(data: Graph, path: Path, fmt: str | RDFFormat) -> None:
    """Write a graph or dataset to a file, atomically and deterministically.

    Triple formats (turtle, nt, jsonld, xml) receive the union of all named
    graphs; quad formats (trig, nquads) keep them. The output is first
    serialised in memory, then written to a temporary file in the target
    folder and moved over the target, so a failure never leaves a partial
    file and never damages the previous one.

    Args:
        data: a ``Graph`` or ``Dataset``.
        path: the file to write; missing parent folders are created.
        fmt: ``turtle``, ``nt``, ``jsonld``, ``trig``, ``nquads`` or ``xml``.

    Raises:
        UsageError: unknown format.
        InputError: the format cannot express the graph, or the target
            cannot be written.
    """
    write_text_atomic(Path(path), serialize(data, fmt))


def serialize(data: Graph, fmt: str | RDFFormat) -> str:
    """Serialise a graph or dataset to text, deterministically (see ``save``).

    Raises:
        UsageError: unknown format.
        InputError: the format cannot express the graph (RDF/XML needs
            predicates that split into a namespace and an XML name).
    """
    rdf_format = parse_format(fmt)
    rdflib_name = _RDFLIB_NAME[rdf_format]
    try:
        if rdf_format in QUAD_FORMATS:
            output = _canonical_dataset(data).serialize(format=rdflib_name)
        elif rdf_format is RDFFormat.JSONLD:
            context = {prefix: str(ns) for prefix, ns in _output_prefixes(data)}
            output = union(data).serialize(format=rdflib_name, context=context, indent=1)
        else:
            output = union(data).serialize(format=rdflib_name)
    except Exception as exc:  # a serialiser that cannot express some triple, e.g. RDF/XML
        raise InputError(
            _one_line(f"cannot write the graph as {_DISPLAY_NAME[rdf_format]}: {exc}; try another format")
        ) from exc
    if rdf_format in _LINE_FORMATS:
        lines = sorted({line for line in output.splitlines() if line.strip()})
        output = "".join(f"{line}\n" for line in lines)
    return output


def flatten(data: Graph) -> Graph:
    """A fresh plain ``Graph`` with every triple of a graph or of all graphs of a dataset, unsorted.

    For work on a copy (validation, reasoning) where order does not matter and sorting would cost.
    """
    graph = Graph()
    _copy_prefixes(data, graph)
    for triple in all_triples(data):
        graph.add(triple)
    return graph


def union(data: Graph) -> Graph:
    """One plain ``Graph`` holding every triple of a graph or of all graphs of a dataset.

    The copy is filled in sorted triple order and carries the project prefixes,
    so serialisers that follow insertion order produce stable output.
    """
    graph = Graph()
    _copy_prefixes(data, graph)
    for triple in _sorted_triples(all_triples(data)):
        graph.add(triple)
    return graph


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) without ever exposing a partial file.

    The text is encoded first (so an unencodable text fails before the disk is
    touched), written to a temporary file next to the target, flushed to disk,
    then renamed over the target with ``os.replace`` (atomic on POSIX and
    Windows). On any failure the temporary file is removed and the previous
    content of ``path``, if any, is left untouched. A process killed outright
    (``kill -9``, power loss) cannot remove its temporary file, so the name
    carries the writer's process id and the next write of the same target
    removes temporaries whose writer is gone.

    Raises:
        InputError: ``path`` is a directory or cannot be written.
        UnicodeEncodeError: the text holds a lone surrogate (a bug upstream, not bad input).
    """
    path = Path(path)
    data = text.encode("utf-8")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_bytes(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files a killed kg left next to ``path``; returns what was removed.

    Only files named like kg's own temporaries for this target
    (``.NAME.kgPID-XXXX.tmp``) whose process no longer runs are removed, so a
    kg writing the same file at this moment is never disturbed.
    """
    path = Path(path)
    pattern = re.compile(rf"{re.escape(_temporary_prefix_base(path))}(\d+)-\w+\.tmp")
    removed: list[Path] = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match and not _process_alive(int(match.group(1)), candidate):
            try:
                candidate.unlink()
            except OSError:
                continue
            removed.append(candidate)
    return removed


def _temporary_prefix_base(path: Path) -> str:
    return f".{path.name}.kg"


def _temporary_prefix(path: Path) -> str:
    return f"{_temporary_prefix_base(path)}{os.getpid()}-"


def _write_bytes(handle: BinaryIO, data: bytes) -> None:
    """Write the whole output (a seam for the fault-injection tests, which stop a build mid-write)."""
    handle.write(data)


def _process_alive(pid: int, temporary: Path) -> bool:
    """Whether the process that created a temporary file may still be writing it."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no harmless liveness probe (os.kill would terminate): trust a day's age
        try:
            return time.time() - temporary.stat().st_mtime < 86400
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _sync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows it (best effort: some file systems refuse)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- reading


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected an RDF file ({', '.join(sorted(_EXTENSIONS))})")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def _decode_utf8(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col_bytes(raw, exc.start)
        raise InputError(
            f"{path}:{line}:{col}: not valid UTF-8 (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8"
        ) from exc


def _line_col_bytes(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def _line_col(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _describe_parse_error(path: Path, rdf_format: RDFFormat, exc: Exception, text: str) -> str:
    """One line: ``file:line:col: <Format> syntax error: <why>``, position when known."""
    display = _DISPLAY_NAME[rdf_format]
    line: int | None = None
    col: int | None = None
    why = str(exc)
    if isinstance(exc, BadSyntax):
        # BadSyntax keeps the whole document (UTF-8) and the offset of the fault.
        why = getattr(exc, "_why", why)
        offset = getattr(exc, "_i", -1)
        document = getattr(exc, "_str", b"")
        if isinstance(document, bytes) and 0 <= offset <= len(document):
            line, col = _line_col(document.decode("utf-8", errors="replace"), offset)
        else:  # the parser ran off the end of the document
            line = exc.lines + 1
            why = f"{why} (at end of file)"
    elif (caret := _CARET_CONTEXT.search(why)) is not None:
        # some notation3 errors (an unterminated string at end of file) show the fault as "before^after"
        why = why[: caret.start()].strip() or why
        before, after = caret.group(1), caret.group(2)
        offset = text.find(before + after)
        if before + after and offset >= 0 and text.find(before + after, offset + 1) < 0:
            line, col = _line_col(text, offset + len(before))
    elif isinstance(exc, json.JSONDecodeError):
        why, line, col = exc.msg, exc.lineno, exc.colno
    elif rdf_format is RDFFormat.JSONLD:
        # valid JSON that the JSON-LD processor cannot read; a bad @context is the usual culprit
        why = f"valid JSON but not valid JSON-LD ({type(exc).__name__}: {why})"
        context = re.search(r'"@context"\s*:', text)
        if context is not None and _raised_in(exc, "jsonld/context.py"):
            line, col = _line_col(text, context.start())
            why = f"invalid @context: {why}"
    elif isinstance(exc, SAXParseException):
        why, line, col = exc.getMessage(), exc.getLineNumber(), exc.getColumnNumber() + 1
    elif rdf_format in _LINE_FORMATS:
        line = _find_bad_line(text, rdf_format, why)
        if line is not None:
            why = f"cannot parse the statement {text.splitlines()[line - 1].strip()!r}"
    where = (
        f"{path}:{line}:{col}" if col is not None else (f"{path}:{line}" if line is not None else f"{path}")
    )
    return _one_line(f"{where}: {display} syntax error: {why}")


def _raised_in(exc: BaseException, module_path: str) -> bool:
    """Whether the traceback of ``exc`` passes through a file whose path ends with ``module_path``."""
    frames = traceback.extract_tb(exc.__traceback__)
    return any(frame.filename.replace("\\", "/").endswith(module_path) for frame in frames)


def _find_bad_line(text: str, rdf_format: RDFFormat, message: str) -> int | None:
    """Line number of the first unparsable line of an N-Triples/N-Quads document.

    rdflib's line parsers report the offending text but not its number, so the
    lines containing that text are re-parsed one at a time.
    """
    fragment = message.splitlines()[-1].strip().strip("'\"")
    fragment = re.sub(r"^Invalid line:\s*", "", fragment)
    if not fragment:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            try:
                Dataset().parse(data=line + "\n", format=_RDFLIB_NAME[rdf_format])
            except Exception:  # this is the line that does not parse
                return number
    return None


def _one_line(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


# ---------------------------------------------------------------- writing


def _file_mode(path: Path) -> int:
    """Permissions for the new file: those of the file replaced, else the umask default."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def all_triples(data: Graph) -> Iterator[Triple]:
    """Every triple of a graph, or of all graphs of a dataset, each once."""
    if isinstance(data, Dataset):
        seen: set[Triple] = set()
        for s, p, o, _ in data.quads((None, None, None, None)):
            if (s, p, o) not in seen:
                seen.add((s, p, o))
                yield s, p, o
    else:
        yield from data.triples((None, None, None))


def _term_key(term: Node) -> tuple[int, str, str, str]:
    if isinstance(term, URIRef):
        return 0, str(term), "", ""
    if isinstance(term, BNode):
        return 1, str(term), "", ""
    if isinstance(term, Literal):
        return 2, str(term), str(term.datatype or ""), term.language or ""
    return 3, str(term), "", ""


def _sorted_triples(triples: Iterable[Triple]) -> list[Triple]:
    return sorted(triples, key=lambda triple: tuple(_term_key(term) for term in triple))


def _canonical_dataset(data: Graph) -> Dataset:
    """A copy of the data with named graphs and triples inserted in sorted order."""
    dataset = Dataset(default_union=True)
    _copy_prefixes(data, dataset)
    if isinstance(data, Dataset):
        graphs = sorted(data.graphs(), key=lambda graph: _term_key(graph.identifier))
        for graph in graphs:
            triples = _sorted_triples(graph.triples((None, None, None)))
            if not triples:
                continue
            target = (
                dataset.default_graph
                if graph.identifier == DATASET_DEFAULT_GRAPH_ID
                else dataset.graph(graph.identifier)
            )
            for triple in triples:
                target.add(triple)
    else:
        for triple in _sorted_triples(data.triples((None, None, None))):
            dataset.default_graph.add(triple)
    return dataset


def _output_prefixes(data: Graph) -> list[tuple[str, str]]:
    prefixes = {prefix: str(ns) for prefix, ns in data.namespaces() if prefix}
    prefixes.update({prefix: str(ns) for prefix, ns in PREFIXES.items()})
    return sorted(prefixes.items())


def _copy_prefixes(source: Graph, target: Graph) -> None:
    taken = {str(ns) for ns in PREFIXES.values()}
    for prefix, namespace in sorted(source.namespaces()):
        if prefix and str(namespace) not in taken and not _GENERATED_PREFIX.fullmatch(prefix):
            target.bind(prefix, namespace, override=False)
    bind_prefixes(target)
