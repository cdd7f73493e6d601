"""What every write use case does the same way: check the role, work in one transaction, keep versions
honest, and leave an audit entry with the record before and after.

``Services`` bundles the ports a use case needs (unit of work, clock, ids); use cases take it plus the
``Actor`` and commit exactly once.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar

from evbill.application.ports import Clock, IdGenerator, OcpiCodec, Repository, UnitOfWork, UnitOfWorkFactory
from evbill.domain.access import AuditAction, AuditEntry
from evbill.domain.errors import InvalidInput, NotFound, PermissionDenied, Problem, StaleVersion
from evbill.domain.operators import Actor, Permission

T = TypeVar("T")
SECRET_FIELDS = frozenset({"password_hash", "secret_hash"})
MAX_PAGE = 200


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    ocpi: OcpiCodec
    passwords: PasswordHasher


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise PermissionDenied(f"role {actor.role.value!r} may not {permission.value.replace('_', ' ')}")


def snapshot(record: object) -> dict[str, Any]:
    """The record as plain JSON-able data for the audit log, without secrets."""
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        raise TypeError(f"cannot audit a {type(record).__name__}")
    return {
        field.name: _plain(getattr(record, field.name))
        for field in dataclasses.fields(record)
        if field.name not in SECRET_FIELDS
    }


def _plain(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return value


def audit(
    uow: UnitOfWork,
    actor: Actor,
    at: datetime,
    action: AuditAction,
    entity_type: str,
    entity_id: str,
    before: object | None,
    after: object | None,
) -> None:
    uow.audit.append(
        AuditEntry(
            id=None,
            operator_id=actor.operator_id,
            at=at,
            actor=f"{actor.name} ({actor.role.value}, key {actor.key_id})",
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=None if before is None else snapshot(before),
            after=None if after is None else snapshot(after),
        )
    )


def page_of(items: Sequence[T], limit: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """Repositories are asked for limit + 1 items: the extra one says whether another page exists."""
    if len(items) > limit:
        kept = items[:limit]
        return Page(kept, cursor_of(kept[-1]))
    return Page(items, None)


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("invalid page size", (Problem("$.limit", f"must be between 1 and {MAX_PAGE}"),))
    return limit


def get_or_404(repository: Repository[T], operator_id: str, record_id: str, what: str) -> T:
    record = repository.get(operator_id, record_id)
    if record is None:
        raise NotFound(f"{what} {record_id!r} not found")
    return record


def changed(record: T, changes: Mapping[str, Any], now: datetime) -> T:
    """A copy with ``changes`` applied, the version counted up and updated_at set."""
    unknown = set(changes) - {field.name for field in dataclasses.fields(record)}  # type: ignore[arg-type]
    if unknown:
        raise InvalidInput(
            "unknown fields", tuple(Problem(f"$.{name}", "unknown field") for name in sorted(unknown))
        )
    version = record.version  # type: ignore[attr-defined]
    return dataclasses.replace(record, **changes, version=version + 1, updated_at=now)  # type: ignore[type-var]


def check_version(record: object, expected_version: int, what: str) -> None:
    version = record.version  # type: ignore[attr-defined]
    if version != expected_version:
        raise StaleVersion(
            f"{what} was changed by someone else (now version {version}, you have {expected_version})"
        )
