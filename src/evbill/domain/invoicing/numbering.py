"""Invoice numbers: gapless per operator and series, in the operator's own format.

The storage hands out the next counter value under a database lock, in the transaction that issues
the document; this module only writes it. A format is a Python format string with the fields
``series``, ``year`` and ``number``:

    >>> format_number("{series}-{year}-{number:06d}", series="AMS", year=2026, number=123)
    'AMS-2026-000123'
    >>> check_format("{series}/{number:05d}")
    >>> check_format("{series}-{customer}")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    evbill.domain.errors.InvalidInput: invalid number format...
"""

from __future__ import annotations

import string

from evbill.domain.errors import InvalidInput, Problem

DEFAULT_FORMAT = "{series}-{year}-{number:06d}"
FIELDS = frozenset({"series", "year", "number"})


def format_number(template: str, *, series: str, year: int, number: int) -> str:
    return template.format(series=series, year=year, number=number)


def check_format(template: str) -> None:
    """``{number}`` and ``{series}`` are required: each series (invoices, credit notes, receipts) has
    its own counter, never reset (not yearly either), so a number is unique only with its series;
    ``{year}`` is optional (the counter runs on across years)."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        unknown = names - FIELDS
        if "number" not in names or unknown:
            raise ValueError(f"use {{number}} and only {sorted(FIELDS)}")
        if "series" not in names:
            raise ValueError(
                "use {series} too: invoices, credit notes and receipts are numbered by their own "
                "counters, so without it two documents would show the same number"
            )
        format_number(template, series="X", year=2026, number=1)
    except (ValueError, KeyError, IndexError) as error:
        raise InvalidInput("invalid number format", (Problem("$.number_format", str(error)),)) from None


def check_series(series: str, credit_series: str, receipt_series: str) -> None:
    """Invoices, credit notes and receipts each need a series of their own (their own counter)."""
    problems = []
    if credit_series == series:
        problems.append(Problem("$.credit_series", "must differ from series (the invoices' series)"))
    if receipt_series in (series, credit_series):
        problems.append(Problem("$.receipt_series", "must differ from series and credit_series"))
    if problems:
        raise InvalidInput("invalid numbering", tuple(problems))
