"""What getting paid needs from outside besides its repository (``ports.CollectionRepository``):
reading bank statement files and writing SEPA direct debit files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from evbill.domain.collection.mandates import SequenceType
from evbill.domain.collection.statements import StatementEntry, StatementFormat


class StatementReader(Protocol):
    def read(self, data: bytes, statement_format: StatementFormat) -> list[StatementEntry]:
        """Every entry of the file; InvalidInput naming each problem (and nothing read) otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class Creditor:
    name: str
    iban: str
    bic: str | None
    creditor_id: str  # the SEPA creditor identifier, e.g. NL98ZZZ999999999999
    currency: str


@dataclass(frozen=True, slots=True)
class DebitLine:
    end_to_end_id: str
    amount_minor: int
    debtor_name: str
    iban: str
    bic: str | None
    mandate_reference: str
    mandate_signed_on: date
    sequence_type: SequenceType
    collection_date: date
    description: str


class DirectDebitFileWriter(Protocol):
    schema: str

    def write(self, creditor: Creditor, lines: Sequence[DebitLine]) -> tuple[str, bytes]:
        """(the file's message id, the pain.008 file), validated against its XSD."""
        ...
