"""Use cases of access: operators, API keys (shown once, stored hashed), authentication, the audit log.

An API key looks like ``evb_<prefix>_<secret>``: the prefix (12 hex characters) finds the key, the
secret (32 random bytes, URL-safe base64) proves it. Only SHA-256 of the whole key is stored; the
comparison is constant-time. A revoked or unknown key is refused with the same message, so a caller
cannot tell which keys exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from evbill.application.records import (
    Page,
    Services,
    audit,
    changed,
    check_version,
    checked_limit,
    page_of,
    require,
)
from evbill.domain import currency as currencies
from evbill.domain.access.keys import ApiKey, AuditAction, AuditEntry
from evbill.domain.access.operators import API_KEY_ROLES, Actor, Operator, Permission, Role
from evbill.domain.country import is_country
from evbill.domain.errors import DomainError, InvalidInput, NotFound, Problem
from evbill.domain.money import RoundingMode

KEY_SCHEME = "evb"
PLATFORM = "platform (command line)"


def platform_actor(operator_id: str) -> Actor:
    """Who acts when the platform itself (the CLI, the demo loader) changes an operator's data."""
    return Actor(operator_id=operator_id, role=Role.ADMIN, key_id="-", name=PLATFORM)


class Unauthenticated(DomainError):
    code = "unauthenticated"


def _operator_problems(operator: Operator) -> list[Problem]:
    problems = []
    for field in ("name", "legal_name"):
        if not getattr(operator, field).strip():
            problems.append(Problem(f"$.{field}", "must not be blank"))
    for field in ("country", "tax_country"):
        if not is_country(getattr(operator, field)):
            problems.append(
                Problem(f"$.{field}", f"{getattr(operator, field)!r} is not an ISO 3166-1 alpha-2 code")
            )
    if not currencies.is_known(operator.default_currency):
        problems.append(
            Problem("$.default_currency", f"{operator.default_currency!r} is not an ISO 4217 code")
        )
    return problems


def create_operator(
    services: Services,
    *,
    name: str,
    legal_name: str,
    country: str,
    default_currency: str,
    tax_country: str | None = None,
    rounding_mode: RoundingMode = RoundingMode.HALF_UP,
    vat_id: str | None = None,
) -> Operator:
    """Create a tenant (a platform action: the CLI, not an operator's API key)."""
    now = services.clock.now()
    operator = Operator(
        id=services.ids.new_id(),
        name=name,
        legal_name=legal_name,
        country=country,
        default_currency=default_currency,
        rounding_mode=rounding_mode,
        tax_country=tax_country or country,
        vat_id=vat_id,
        created_at=now,
        updated_at=now,
    )
    problems = _operator_problems(operator)
    if problems:
        raise InvalidInput("operator is invalid", tuple(problems))
    with services.uow() as uow:
        uow.operators.add(operator)
        audit(
            uow, platform_actor(operator.id), now, AuditAction.CREATE, "operator", operator.id, None, operator
        )
        uow.commit()
    return operator


def list_operators(services: Services) -> Sequence[Operator]:
    with services.uow(read_only=True) as uow:
        return uow.operators.list_all()


def get_operator(services: Services, actor: Actor) -> Operator:
    require(actor, Permission.READ)
    with services.uow(read_only=True) as uow:
        operator = uow.operators.get(actor.operator_id)
    if operator is None:
        raise NotFound("operator not found")
    return operator


def update_operator(
    services: Services, actor: Actor, changes: Mapping[str, Any], *, expected_version: int
) -> Operator:
    require(actor, Permission.MANAGE_OPERATOR)
    now = services.clock.now()
    with services.uow() as uow:
        before = uow.operators.get(actor.operator_id)
        if before is None:
            raise NotFound("operator not found")
        check_version(before, expected_version, "operator")
        after = changed(before, changes, now)
        problems = _operator_problems(after)
        if problems:
            raise InvalidInput("operator is invalid", tuple(problems))
        uow.operators.update(after, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, "operator", after.id, before, after)
        uow.commit()
    return after


def _digest(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


def create_api_key(
    services: Services, *, operator_id: str, role: Role, name: str, actor: Actor | None = None
) -> tuple[ApiKey, str]:
    """A new key for the operator; returns the record and the key itself, which is never shown again.

    ``actor`` is who asked (an admin key through the API); the platform when it is the command line.
    """
    problems = []
    if not name.strip():
        problems.append(Problem("$.name", "must not be blank"))
    if role not in API_KEY_ROLES:
        allowed = ", ".join(r.value for r in API_KEY_ROLES)
        problems.append(Problem("$.role", f"an API key's role is one of {allowed}"))
    if problems:
        raise InvalidInput("API key is invalid", tuple(problems))
    prefix = secrets.token_hex(6)
    presented = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=services.ids.new_id(),
        operator_id=operator_id,
        name=name,
        role=role,
        prefix=prefix,
        secret_hash=_digest(presented),
        created_at=services.clock.now(),
    )
    with services.uow() as uow:
        if uow.operators.get(operator_id) is None:
            raise NotFound(f"operator {operator_id!r} not found")
        uow.api_keys.add(key)
        who = actor or platform_actor(operator_id)
        audit(uow, who, key.created_at, AuditAction.CREATE, "api_key", key.id, None, key)
        uow.commit()
    return key, presented


def create_api_key_as(services: Services, actor: Actor, *, role: Role, name: str) -> tuple[ApiKey, str]:
    require(actor, Permission.MANAGE_KEYS)
    return create_api_key(services, operator_id=actor.operator_id, role=role, name=name, actor=actor)


def authenticate(services: Services, presented: str) -> Actor:
    """The actor behind a presented key, or Unauthenticated (same message whatever was wrong)."""
    refused = Unauthenticated("missing, unknown or revoked API key")
    scheme, _, rest = presented.partition("_")
    prefix, _, _ = rest.partition("_")
    if scheme != KEY_SCHEME or not prefix:
        raise refused
    with services.uow(read_only=True) as uow:
        key = uow.api_keys.find_by_prefix(prefix)
    if key is None or not key.active or not hmac.compare_digest(key.secret_hash, _digest(presented)):
        raise refused
    return Actor(operator_id=key.operator_id, role=key.role, key_id=key.id, name=key.name)


def list_api_keys(services: Services, actor: Actor) -> Sequence[ApiKey]:
    require(actor, Permission.MANAGE_KEYS)
    with services.uow(read_only=True) as uow:
        return uow.api_keys.list(actor.operator_id)


def revoke_api_key(services: Services, actor: Actor, key_id: str) -> None:
    require(actor, Permission.MANAGE_KEYS)
    now = services.clock.now()
    with services.uow() as uow:
        keys = {key.id: key for key in uow.api_keys.list(actor.operator_id)}
        before = keys.get(key_id)
        if before is None:
            raise NotFound(f"API key {key_id!r} not found")
        if uow.api_keys.revoke(actor.operator_id, key_id, now):  # a second revocation changes nothing
            audit(uow, actor, now, AuditAction.DELETE, "api_key", key_id, before, None)
        uow.commit()


def list_audit(
    services: Services, actor: Actor, *, filters: Mapping[str, object], cursor: str | None, limit: int
) -> Page[AuditEntry]:
    require(actor, Permission.READ_AUDIT)
    limit = checked_limit(limit)
    with services.uow(read_only=True) as uow:
        items = uow.audit.list(actor.operator_id, filters=filters, after=cursor, limit=limit + 1)
        return page_of(items, limit, uow.audit.cursor_of)
