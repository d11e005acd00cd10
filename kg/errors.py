"""Errors kg raises on purpose.

The CLI maps each subclass to an exit code and prints ``str(error)`` as one
line; library code raises these instead of calling ``sys.exit`` so that the
same failures are testable and reusable. Messages name the file, line or term
at fault and what was expected.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from threading import Thread

E = TypeVar("E", bound=Enum)


class KGError(Exception):
    """Base class: a problem kg can explain in one line."""

    exit_code = 2


class InputError(KGError):
    """Bad input given by the user: missing, unreadable, empty or malformed file."""


class ArticleError(InputError):
    """An article that cannot be read as text."""


class GraphParseError(InputError):
    """An RDF file that does not parse."""


class QueryError(InputError):
    """A stored or given SPARQL query that is unknown, malformed or mis-parameterised."""


class ShapesError(InputError):
    """A shapes graph that is itself not valid SHACL."""


class UsageError(KGError):
    """A combination of options that makes no sense."""


class QueryTimeout(KGError):
    """A query ran longer than the ``--timeout`` it was given and was abandoned.

    Its own exit code (3) lets a script tell "too slow, narrow the query or
    raise the timeout" apart from bad input. ``worker`` is the thread that was
    evaluating the query, so the CLI can end the process when the evaluator is
    in native code (Oxigraph, a socket read) that cannot be interrupted.
    """

    exit_code = 3

    def __init__(self, message: str, worker: Thread | None = None) -> None:
        super().__init__(message)
        self.worker = worker


class ValidationFailed(KGError):
    """The data graph does not conform to the shapes."""

    exit_code = 1


def choice(options: type[E], value: object, what: str) -> E:
    """``value`` as a member of ``options``, or a UsageError naming ``what`` and the accepted values."""
    try:
        return options(value)
    except ValueError:
        accepted = ", ".join(str(option.value) for option in options)
        raise UsageError(f"unknown {what} {value!r}; expected one of: {accepted}") from None
