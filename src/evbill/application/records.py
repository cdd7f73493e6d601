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

from evbill.application.ports import (
    Clock,
    Filters,
    IdGenerator,
    OcpiCodec,
    Repository,
    UnitOfWork,
    UnitOfWorkFactory,
)
from evbill.domain.access.keys import AuditAction, AuditEntry
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import InvalidInput, NotFound, PermissionDenied, Problem, StaleVersion
from evbill.domain.metering.plausibility import PlausibilityRules

T = TypeVar("T")
SECRET_FIELDS = frozenset({"password_hash", "secret_hash"})
MAX_PAGE = 200


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class VatIdChecker(Protocol):
    def check(self, country: str, vat_id: str) -> str:
        """The normalised VAT number; ValueError saying why it is not valid for the country."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    ocpi: OcpiCodec
    passwords: PasswordHasher
    vat_ids: VatIdChecker
    plausibility: PlausibilityRules = PlausibilityRules()  # what a charger may report (README, OCPP)


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
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return snapshot(value)  # e.g. a session's price parts
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


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A kind of operator-owned record and how to keep it: its type, who may change it, where it is
    stored, the parent that must exist in the same operator, its validation, and its optional fields."""

    name: str
    record_type: Callable[..., Any]
    permission: Permission
    repository: Callable[[UnitOfWork], Repository[Any]]
    parent: tuple[str, str, Callable[[UnitOfWork], Repository[Any]]] | None  # (field, name, repository)
    validate: Callable[[Any], list[Problem]]
    defaults: Mapping[str, Any]  # optional fields a caller may leave out


def validated(kind: RecordKind, record: Any) -> None:
    problems = kind.validate(record)
    if problems:
        raise InvalidInput(f"{kind.name} is invalid", tuple(problems))


def check_parent(kind: RecordKind, uow: UnitOfWork, record: Any) -> None:
    if kind.parent is None:
        return
    field, name, repository = kind.parent
    parent_id = getattr(record, field)
    if parent_id is None:  # an optional parent left out (a customer without a business account)
        return
    if repository(uow).get(record.operator_id, parent_id) is None:
        raise InvalidInput(f"{kind.name} is invalid", (Problem(f"$.{field}", f"no {name} {parent_id!r}"),))


def create(services: Services, actor: Actor, kind: RecordKind, fields: Mapping[str, Any]) -> Any:
    """Create a record of ``kind`` for the actor's operator from validated API/CLI fields."""
    require(actor, kind.permission)
    now = services.clock.now()
    record = kind.record_type(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        created_at=now,
        updated_at=now,
        **{**kind.defaults, **fields},
    )
    validated(kind, record)
    with services.uow() as uow:
        check_parent(kind, uow, record)
        kind.repository(uow).add(record)
        audit(uow, actor, now, AuditAction.CREATE, kind.name, record.id, None, record)
        uow.commit()
    return record


def get(services: Services, actor: Actor, kind: RecordKind, record_id: str) -> Any:
    require(actor, Permission.READ)
    with services.uow() as uow:
        return get_or_404(kind.repository(uow), actor.operator_id, record_id, kind.name)


def list_records(
    services: Services, actor: Actor, kind: RecordKind, *, filters: Filters, cursor: str | None, limit: int
) -> Page[Any]:
    require(actor, Permission.READ)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        items = kind.repository(uow).list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
    return page_of(items, limit, lambda record: record.id)


def update(
    services: Services,
    actor: Actor,
    kind: RecordKind,
    record_id: str,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
) -> Any:
    """Apply ``changes`` if the stored record is still at ``expected_version`` (else Conflict)."""
    require(actor, kind.permission)
    now = services.clock.now()
    with services.uow() as uow:
        repository = kind.repository(uow)
        before = get_or_404(repository, actor.operator_id, record_id, kind.name)
        check_version(before, expected_version, f"{kind.name} {record_id!r}")
        after = changed(before, changes, now)
        validated(kind, after)
        check_parent(kind, uow, after)
        repository.update(after, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, kind.name, record_id, before, after)
        uow.commit()
    return after


def delete(
    services: Services, actor: Actor, kind: RecordKind, record_id: str, *, expected_version: int
) -> None:
    require(actor, kind.permission)
    now = services.clock.now()
    with services.uow() as uow:
        repository = kind.repository(uow)
        before = get_or_404(repository, actor.operator_id, record_id, kind.name)
        check_version(before, expected_version, f"{kind.name} {record_id!r}")
        repository.delete(actor.operator_id, record_id, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.DELETE, kind.name, record_id, before, None)
        uow.commit()
