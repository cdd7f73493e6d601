"""Plans with their versions, and contracts with their terms, per operator.

Plans and contracts are versioned records (``VersionedRepository``); a plan version and a contract's
terms are written once and never changed, like a tariff version, and come back in number order. Their
structured fields (the tariff per connector class, the service fees) are JSON with exact decimals
(``records``). A version number is taken once per plan or contract:

    a plan version with plan_id '0196...' and number 2 already exists

A plan's versions and a contract's terms go with it when it is deleted; a plan that any contract's
terms name stays (Conflict: "plan '...' is still referenced by contract terms versions ...").

List filters (None means "no filter"; an unknown name is a ValueError, a bad value InvalidInput):

    plans       kind, name (substring, ignoring case)
    contracts   customer_id, status
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from evbill.adapters.db.offers import tables as offer_tables
from evbill.adapters.db.records import CONTRACT_TERMS, CONTRACTS, PLAN_VERSIONS, PLANS
from evbill.adapters.db.repositories import (
    ConnectionSource,
    VersionedRepository,
    contains_ignoring_case,
    equals,
    equals_enum,
    insert_row,
)
from evbill.domain.offers.contracts import Contract, ContractStatus, ContractTerms
from evbill.domain.offers.plans import Plan, PlanKind, PlanVersion


def plan_repository(connection: ConnectionSource) -> VersionedRepository[Plan]:
    columns = offer_tables.plans.c
    filters = {"kind": equals_enum(columns.kind, PlanKind), "name": contains_ignoring_case(columns.name)}
    return VersionedRepository(connection, offer_tables.plans, PLANS, filters)


def contract_repository(connection: ConnectionSource) -> VersionedRepository[Contract]:
    columns = offer_tables.contracts.c
    filters = {
        "customer_id": equals(columns.customer_id),
        "status": equals_enum(columns.status, ContractStatus),
    }
    return VersionedRepository(connection, offer_tables.contracts, CONTRACTS, filters)


class SqlPlanVersionRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def of_plan(self, operator_id: str, plan_id: str) -> Sequence[PlanVersion]:
        columns = offer_tables.plan_versions.c
        query = (
            select(offer_tables.plan_versions)
            .where(columns.operator_id == operator_id, columns.plan_id == plan_id)
            .order_by(columns.number)
        )
        return [PLAN_VERSIONS.from_row(row) for row in self._connection().execute(query).mappings()]

    def add(self, version: PlanVersion) -> None:
        insert_row(self._connection(), offer_tables.plan_versions, PLAN_VERSIONS.to_row(version))


class SqlContractTermsRepository:
    def __init__(self, connection: ConnectionSource) -> None:
        self._connection = connection

    def of_contract(self, operator_id: str, contract_id: str) -> Sequence[ContractTerms]:
        columns = offer_tables.contract_terms.c
        query = (
            select(offer_tables.contract_terms)
            .where(columns.operator_id == operator_id, columns.contract_id == contract_id)
            .order_by(columns.number)
        )
        return [CONTRACT_TERMS.from_row(row) for row in self._connection().execute(query).mappings()]

    def of_contracts(self, operator_id: str, contract_ids: Sequence[str]) -> dict[str, list[ContractTerms]]:
        columns = offer_tables.contract_terms.c
        found: dict[str, list[ContractTerms]] = {contract_id: [] for contract_id in contract_ids}
        ids = list(found)
        for offset in range(0, len(ids), 500):  # bound the IN list
            query = (
                select(offer_tables.contract_terms)
                .where(
                    columns.operator_id == operator_id, columns.contract_id.in_(ids[offset : offset + 500])
                )
                .order_by(columns.contract_id, columns.number)
            )
            for row in self._connection().execute(query).mappings():
                terms = CONTRACT_TERMS.from_row(row)
                found[terms.contract_id].append(terms)
        return found

    def add(self, terms: ContractTerms) -> None:
        insert_row(self._connection(), offer_tables.contract_terms, CONTRACT_TERMS.to_row(terms))
