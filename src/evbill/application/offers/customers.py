"""Use cases of customers and tokens: drivers, fleets and the cards and apps they charge with.

Customers and tokens are records like sites (``records.RecordKind``), with their own checks: an
e-mail that looks like one, ISO language/currency/country codes, a VAT id valid for the country
(python-stdnum, stored normalised), a fleet driver's parent being a business account of the same
operator; a token's uid unique within the operator. ``authorize`` answers what a charger should be
told about a token right now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evbill.application.records import RecordKind, Services, create, get, require, update
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.country import is_country
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.offers.contracts import ContractStatus, PaymentMethodKind
from evbill.domain.offers.customers import AuthorizationStatus, Customer, CustomerKind, Token, authorization
from evbill.domain.payments.adhoc import AdhocStatus

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LANGUAGE = re.compile(r"[a-z]{2}")
TOKEN_UID = re.compile(r"[A-Za-z0-9\-_.:*]{1,36}")  # OCPI CiString(36)


def _customer_problems(customer: Customer) -> list[Problem]:
    problems = []
    if not customer.name.strip():
        problems.append(Problem("$.name", "must not be blank"))
    if customer.email is not None and EMAIL.fullmatch(customer.email) is None:
        problems.append(Problem("$.email", f"{customer.email!r} is not an e-mail address"))
    if LANGUAGE.fullmatch(customer.language) is None:
        problems.append(Problem("$.language", f"{customer.language!r} is not an ISO 639-1 code like 'nl'"))
    if not currencies.is_known(customer.currency):
        problems.append(Problem("$.currency", f"{customer.currency!r} is not an ISO 4217 code"))
    if not is_country(customer.country):
        problems.append(Problem("$.country", f"{customer.country!r} is not an ISO 3166-1 alpha-2 code"))
    if customer.parent_id is not None and customer.kind is CustomerKind.BUSINESS:
        problems.append(Problem("$.parent_id", "a business account cannot belong to another account"))
    return problems


def _token_problems(token: Token) -> list[Problem]:
    problems = []
    if TOKEN_UID.fullmatch(token.uid) is None:
        problems.append(Problem("$.uid", "must be 1 to 36 letters, digits or - _ . : *"))
    if not token.contract_id.strip() or len(token.contract_id) > 36:
        problems.append(Problem("$.contract_id", "must be 1 to 36 characters (eMA id)"))
    return problems


CUSTOMERS = RecordKind(
    "customer",
    Customer,
    Permission.MANAGE_CUSTOMERS,
    lambda uow: uow.customers,
    ("parent_id", "business account", lambda uow: uow.customers),
    _customer_problems,
    {"email": None, "address": None, "city": None, "postal_code": None, "vat_id": None, "parent_id": None},
)
TOKENS = RecordKind(
    "token",
    Token,
    Permission.MANAGE_TOKENS,
    lambda uow: uow.tokens,
    ("customer_id", "customer", lambda uow: uow.customers),
    _token_problems,
    {"valid_until": None},
)


def customer_fields(services: Services, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields with the VAT id checked for the country and normalised (raises InvalidInput)."""
    result = dict(fields)
    vat_id = result.get("vat_id")
    if vat_id:
        country = str(result.get("country", ""))
        try:
            result["vat_id"] = services.vat_ids.check(country, vat_id)
        except ValueError as error:
            raise InvalidInput("customer is invalid", (Problem("$.vat_id", str(error)),)) from None
    return result


def create_customer(services: Services, actor: Actor, fields: Mapping[str, Any]) -> Customer:
    parent_id = fields.get("parent_id")
    if parent_id is not None:
        with services.uow() as uow:
            parent = uow.customers.get(actor.operator_id, parent_id)
        if parent is not None and parent.kind is not CustomerKind.BUSINESS:
            raise InvalidInput("customer is invalid", (Problem("$.parent_id", "must be a business account"),))
    created: Customer = create(services, actor, CUSTOMERS, customer_fields(services, fields))
    return created


def update_customer(
    services: Services, actor: Actor, customer_id: str, changes: Mapping[str, Any], *, expected_version: int
) -> Customer:
    """Apply a change. The VAT id is checked again, for the country it will have, whenever it or the
    country changes; a new parent must be a business account."""
    fields = dict(changes)
    stored: Customer = get(services, actor, CUSTOMERS, customer_id)
    if fields.get("vat_id") is not None or "country" in fields:
        vat_id = fields.get("vat_id", stored.vat_id)
        if vat_id:
            country = fields.get("country", stored.country)
            fields["vat_id"] = customer_fields(services, {"country": country, "vat_id": vat_id})["vat_id"]
    if fields.get("parent_id") is not None:
        with services.uow() as uow:
            parent = uow.customers.get(actor.operator_id, fields["parent_id"])
        if parent is not None and parent.kind is not CustomerKind.BUSINESS:
            raise InvalidInput("customer is invalid", (Problem("$.parent_id", "must be a business account"),))
    updated: Customer = update(
        services, actor, CUSTOMERS, customer_id, fields, expected_version=expected_version
    )
    return updated


@dataclass(frozen=True, slots=True)
class Authorization:
    status: AuthorizationStatus
    token: Token | None
    customer: Customer | None
    contract_id: str | None


def authorize(services: Services, actor: Actor, uid: str) -> Authorization:
    """Accepted / Blocked / Expired / Invalid for a token uid, from the stored token and contract."""
    require(actor, Permission.READ)
    now = services.clock.now()
    with services.uow() as uow:
        token = uow.tokens.find_by_uid(actor.operator_id, uid)
        if token is None:
            # the idTag of an ad hoc payment whose station was asked to start (a station set to
            # authorise remote starts sends Authorize first): accepted, with no customer
            start = (
                uow.session_payments.start_by_id_tag(actor.operator_id, uid) if uid.startswith("AH") else None
            )
            waiting = start is not None and start.status is AdhocStatus.STARTING
            status = AuthorizationStatus.ACCEPTED if waiting else AuthorizationStatus.INVALID
            return Authorization(status, None, None, None)
        customer = uow.customers.get(actor.operator_id, token.customer_id)
        contract = active_contract(uow, actor.operator_id, customer)
        funded = contract is None or customer is None or _wallet_allows(uow, contract, customer, now)
    status = authorization(token.status, token.valid_until, contract_active=contract is not None, now=now)
    if status is AuthorizationStatus.ACCEPTED and not funded:
        status = AuthorizationStatus.BLOCKED
    return Authorization(status, token, customer, None if contract is None else contract.id)


def _wallet_allows(uow: Any, contract: Any, customer: Customer, now: Any) -> bool:
    """A contract paid from a prepaid wallet may start only with money in the wallet above its minimum."""
    terms = [
        t
        for t in uow.contract_terms.of_contract(contract.operator_id, contract.id)
        if t.effective_from <= now
    ]
    if (
        not terms
        or max(terms, key=lambda t: t.effective_from).payment_method is not PaymentMethodKind.PREPAID_WALLET
    ):
        return True
    wallet_id = uow.session_payments.wallet_of(contract.operator_id, contract.customer_id, customer.currency)
    wallet = uow.wallets.get(contract.operator_id, wallet_id) if wallet_id else None
    if wallet is None:
        return False
    return bool(uow.wallets.balance(contract.operator_id, wallet.id) > wallet.minimum_balance)


def active_contract(uow: Any, operator_id: str, customer: Customer | None) -> Any:
    """The customer's active contract (a fleet driver's is the business account's), or None."""
    if customer is None:
        return None
    payer = customer.parent_id or customer.id
    filters = {"customer_id": payer, "status": ContractStatus.ACTIVE}
    active = uow.contracts.list(operator_id, filters=filters, after=None, limit=50)
    return active[-1] if active else None


def payer_of(customer: Customer) -> str:
    return customer.parent_id or customer.id
