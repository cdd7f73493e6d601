"""The partial index of corrections and the revenue reports' query name the same causes (migration 0029)."""

from __future__ import annotations

import importlib
import re

from evbill.adapters.db.analytics.corrections import KINDS
from evbill.adapters.db.ledger.tables import CORRECTION_CAUSES, ledger_entries
from evbill.domain.ledger.entries import EntryCause


def _causes(condition: str) -> set[str]:
    return set(re.findall(r"'([a-z_]+)'", condition))


def test_the_index_the_reports_and_the_migration_name_the_same_correcting_causes():
    migration = importlib.import_module(
        "evbill.adapters.db.migrations.versions.0029_corrections_partial_index"
    )
    expected = {EntryCause.CREDIT_NOTE_ISSUED.value, EntryCause.DOCUMENT_VOIDED.value}
    assert _causes(CORRECTION_CAUSES) == set(KINDS) == expected
    assert migration.CORRECTIONS == CORRECTION_CAUSES
    index = next(i for i in ledger_entries.indexes if i.name == "ix_ledger_entries_corrections")
    assert [c.name for c in index.columns] == ["operator_id", "posted_at"]
    assert str(index.dialect_options["postgresql"]["where"]) == CORRECTION_CAUSES
    assert str(index.dialect_options["sqlite"]["where"]) == CORRECTION_CAUSES
