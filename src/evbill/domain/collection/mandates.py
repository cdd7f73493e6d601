"""SEPA direct debit mandates: the customer's signed permission to collect from their account.

A mandate is identified by its reference (unique per creditor), names the debtor's IBAN and the day
it was signed. Its first collection is sent as ``FRST``; once a collection under it has been sent,
every later one is ``RCUR`` (SEPA Core rulebook).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime

from evbill.domain.errors import InvalidInput, Problem

# SEPA's character set for ids: letters, digits and + ? / - : ( ) . , ' and space, at most 35
_REFERENCE = re.compile(r"[A-Za-z0-9+?/\-:().,' ]{1,35}")


class SequenceType(enum.StrEnum):
    FIRST = "FRST"
    RECURRING = "RCUR"


@dataclass(frozen=True, slots=True)
class Mandate:
    id: str
    operator_id: str
    customer_id: str
    reference: str
    iban: str
    bic: str | None
    debtor_name: str
    signed_on: date
    first_collected_on: date | None
    revoked_at: datetime | None
    created_at: datetime

    @property
    def sequence_type(self) -> SequenceType:
        return SequenceType.FIRST if self.first_collected_on is None else SequenceType.RECURRING

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def check_reference(reference: str, signed_on: date, today: date) -> None:
    problems = []
    if not _REFERENCE.fullmatch(reference):
        problems.append(Problem("$.reference", "1 to 35 of SEPA's characters (letters, digits, +?/-:().,')"))
    if signed_on > today:
        problems.append(Problem("$.signed_on", "a mandate is signed before it is used, not in the future"))
    if problems:
        raise InvalidInput("invalid mandate", tuple(problems))
