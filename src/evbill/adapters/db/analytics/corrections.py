"""Credit notes and voids for the revenue reports, read where the ledger posted them.

The ledger entries of cause ``credit_note_issued`` and ``document_voided`` posted in the report's
window (by the partial ``ix_ledger_entries_corrections``: a range of the few corrections, never the
operator's whole journal) name their documents (``credit_note:<id>``, ``invoice:<id>``,
``receipt:<id>``); each document's session lines become corrections
(``domain.analytics.corrections``), and each corrected session's keys come from its report fact row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from evbill.adapters.db.analytics.tables import session_report_facts
from evbill.adapters.db.invoicing.codec import document_of
from evbill.adapters.db.invoicing.tables import invoices
from evbill.adapters.db.ledger.tables import CORRECTION_CAUSES, ledger_entries
from evbill.adapters.db.repositories import ConnectionSource
from evbill.domain.analytics.corrections import CorrectedSession, Correction, CorrectionKind, split_document
from evbill.domain.analytics.facts import GroupBy, SessionFilter
from evbill.domain.ledger.entries import EntryCause

KINDS = {
    EntryCause.CREDIT_NOTE_ISSUED.value: CorrectionKind.CREDITED,
    EntryCause.DOCUMENT_VOIDED.value: CorrectionKind.VOIDED,
}
# A fact row's column for each key a correction can be grouped by.
_KEY_COLUMNS = {
    GroupBy.LOCATION: "location_id", GroupBy.STATION: "station_id", GroupBy.EVSE: "evse_id",
    GroupBy.CONNECTOR_CLASS: "connector_class", GroupBy.PLAN: "plan_id", GroupBy.TARIFF: "tariff_id",
    GroupBy.SEGMENT: "segment", GroupBy.CUSTOMER: "customer_id", GroupBy.PAYMENT_METHOD: "payment_method",
}  # fmt: skip
# The filter's fields, as the fact row's columns.
_FILTERS = ("location_id", "station_id", "evse_id", "connector_class", "tariff_id", "customer_id")
CHUNK = 500


def read_corrections(
    connection: Connection, operator_id: str, query: SessionFilter
) -> list[tuple[Correction, CorrectedSession]]:
    e = ledger_entries.c
    # the partial index's own condition, as text: a bound list would not prove it to the planner
    where = [e.operator_id == operator_id, text(CORRECTION_CAUSES)]
    if query.start is not None:
        where.append(e.posted_at >= query.start)
    if query.end is not None:
        where.append(e.posted_at < query.end)
    posted = connection.execute(select(e.cause, e.reference, e.posted_at).where(*where)).all()
    if not posted:
        return []
    documents = _documents(connection, operator_id, [row.reference.partition(":")[2] for row in posted])
    corrections: list[Correction] = []
    for row in sorted(posted, key=lambda row: (row.posted_at, row.reference)):
        document = documents.get(row.reference.partition(":")[2])
        if document is None:
            continue
        tax: dict[Any, int] = {}
        for part in document.composed.breakdown:
            tax[part.category, part.rate] = tax.get((part.category, part.rate), 0) + part.tax_minor
        lines = [
            (line.session_id, line.net_minor, (line.category, line.rate)) for line in document.composed.lines
        ]
        corrections.extend(
            split_document(lines, tax, kind=KINDS[row.cause], at=row.posted_at, currency=document.currency)
        )
    sessions = _sessions(connection, operator_id, sorted({c.session_id for c in corrections}))
    wanted = {name: getattr(query, name) for name in _FILTERS if getattr(query, name) is not None}
    found = []
    for correction in corrections:
        fact = sessions.get(correction.session_id)
        if fact is None:  # not a finished session's (no fact row): only an unfiltered report has it
            if wanted:
                continue
            found.append((correction, CorrectedSession("UTC", {})))
            continue
        if any(fact[name] != value for name, value in wanted.items()):
            continue
        keys = {group_by: fact[column] for group_by, column in _KEY_COLUMNS.items()}
        found.append((correction, CorrectedSession(fact["zone"], keys)))
    return found


def _documents(connection: Connection, operator_id: str, ids: Sequence[str]) -> dict[str, Any]:
    found = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), CHUNK):
        statement = select(invoices.c.id, invoices.c.document).where(
            invoices.c.operator_id == operator_id, invoices.c.id.in_(unique[start : start + CHUNK])
        )
        for row in connection.execute(statement):
            found[row.id] = document_of(row.document)
    return found


def _sessions(connection: Connection, operator_id: str, ids: Sequence[str]) -> dict[str, Any]:
    f = session_report_facts.c
    columns = [f.session_id, f.zone, *(f[name] for name in _KEY_COLUMNS.values())]
    found = {}
    for start in range(0, len(ids), CHUNK):
        statement = select(*columns).where(
            f.operator_id == operator_id, f.session_id.in_(ids[start : start + CHUNK])
        )
        for row in connection.execute(statement).mappings():
            found[row["session_id"]] = row
    return found


class SqlReportCorrections:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def report_corrections(
        self, operator_id: str, query: SessionFilter
    ) -> list[tuple[Correction, CorrectedSession]]:
        return read_corrections(self._connection(), operator_id, query)
