"""API keys and the audit log.

An API key is shown once, when it is created; evbill keeps only its SHA-256 (the secret is 32 random
bytes, so a fast hash is enough: nothing to brute-force) and a short public prefix to find it.
The audit log is append-only: every change records who, when, what, and the record before and after.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evbill.domain.access.operators import Role


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    operator_id: str
    name: str
    role: Role
    prefix: str
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AuditAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int | None  # assigned by the log, in order
    operator_id: str
    at: datetime
    actor: str
    action: AuditAction
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    # What callers see and page by: random, so it says nothing of other operators' entries (the
    # counter ``id`` orders the log on the database's side and is never shown).
    entry_id: str | None = None
