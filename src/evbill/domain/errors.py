"""The domain's small error vocabulary.

Every error has a stable ``code`` that the edges map to their own language (an exit status and a plain
message in the CLI, ``application/problem+json`` in the API, a CallError in OCPP). Validation never
stops at the first problem: it collects every one, each with the path of the offending field, e.g.::

    InvalidInput("tariff is invalid", problems=(
        Problem("$.elements[0].price_components[0].step_size", "must be a positive integer"),
        Problem("$.currency", "'EURO' is not an ISO 4217 currency code"),
    ))
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) with an input, located by a JSONPath-like ``path``."""

    path: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.path}: {self.message}"


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """Input failed validation; ``problems`` lists every problem found, not only the first."""

    code = "invalid_input"

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def __str__(self) -> str:
        lines = [self.message, *(f"  {problem}" for problem in self.problems)]
        return "\n".join(lines)


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined, or a CDR does not match its tariff."""

    code = "currency_mismatch"


class UnknownCurrency(DomainError):
    code = "unknown_currency"


class MeterDataError(DomainError):
    """Meter data that cannot be turned into charging periods (e.g. no usable samples)."""

    code = "meter_data_error"


class NotFound(DomainError):
    """No such record for this operator (another operator's record is 'not found' too)."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with stored state: a stale version, a duplicate key, a record in use."""

    code = "conflict"


class PermissionDenied(DomainError):
    """The actor's role does not allow this."""

    code = "forbidden"


class RequestInProgress(Conflict):
    """Another request with this Idempotency-Key is still running: retry after ``retry_after``
    seconds, and get its answer then (a finished request's answer is replayed, never run again)."""

    code = "request_in_progress"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StaleVersion(Conflict):
    """The record was changed since the caller read it (optimistic locking): reload and retry."""

    code = "stale_version"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_LONG_NUMBER = re.compile(r"\d{21,}")


def brief_numbers(text: str) -> str:
    """``text`` with every number of more than 20 digits named by its length instead of written out
    (a meter register of 1e400 is not echoed to its station as 401 digits)."""
    return _LONG_NUMBER.sub(lambda found: f"<a number of {len(found.group())} digits>", text)
