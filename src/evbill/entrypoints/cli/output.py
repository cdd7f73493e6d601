"""How the CLI talks: exact JSON on stdout, plain messages on stderr, no tracebacks for bad input.

Decimals are written as exact JSON numbers (``5.63``, never ``5.630000000000001`` and never a
string): orjson embeds the decimal's own digits as a raw fragment.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import orjson

from evbill.domain.errors import DomainError, Problem

EXIT_INVALID = 1


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    option = orjson.OPT_INDENT_2 if pretty else 0
    return orjson.dumps(value, default=_default, option=option)


def write_json(value: Any, *, pretty: bool = True) -> None:
    sys.stdout.buffer.write(dumps(value, pretty=pretty) + b"\n")
    sys.stdout.buffer.flush()


def say(text: str) -> None:
    """``typer.echo(text, err=True)`` without importing Typer (a batch does not load it): the line
    on stderr, flushed, with ANSI escapes removed when stderr is not a terminal, as click does."""
    stream = sys.stderr
    if "\x1b" in text and not _is_terminal(stream):
        import re

        text = re.sub(r"\033\[[;?0-9]*[a-zA-Z]", "", text)  # click's _ansi_re
    stream.write(text + "\n")
    stream.flush()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def exit_with(code: int) -> NoReturn:
    """End the command with this exit status: Typer's ``Exit``, which its commands raise (Typer is
    loaded here, when a command fails, if it was not yet)."""
    import typer

    raise typer.Exit(code)


def fail(message: str, problems: Iterable[Problem] = ()) -> NoReturn:
    """Print an error (and every problem under it) to stderr and exit non-zero."""
    say(f"error: {message}")
    for problem in problems:
        say(f"  {problem}")
    exit_with(EXIT_INVALID)


def fail_domain(error: DomainError, context: str = "") -> NoReturn:
    prefix = f"{context}: " if context else ""
    problems = getattr(error, "problems", ())
    fail(f"{prefix}{error.message} [{error.code}]", problems)


def read_json_file(path: Path, what: str) -> Any:
    """Read and decode a JSON file, turning every file or syntax problem into a clear message."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        fail(f"{what} file {str(path)!r} does not exist")
    except IsADirectoryError:
        fail(f"{what} file {str(path)!r} is a directory")
    except OSError as error:
        fail(f"cannot read {what} file {str(path)!r}: {error.strerror}")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        fail(f"{what} file {str(path)!r} is not valid JSON: {error}")
