"""Customers and their tokens, per operator, versioned like the sites (``VersionedRepository``).

A token is found by its uid (what the charger reads) within one operator: the uid is unique per
operator, so a second card with the same uid is refused as a Conflict naming it:

    a token with uid '04A2B3C4D5E6F7' already exists

A customer that still has tokens, contracts, fleet drivers or sessions cannot be deleted (Conflict:
"customer '...' is still referenced by tokens; remove those first").

List filters (None means "no filter"; an unknown name is a ValueError, a bad value InvalidInput):

    customers   kind, parent_id, email (exact, ignoring case), name (substring, ignoring case)
    tokens      customer_id, status, uid
"""

from __future__ import annotations

from sqlalchemy import select

from evbill.adapters.db.offers import tables as offer_tables
from evbill.adapters.db.records import CUSTOMERS, TOKENS
from evbill.adapters.db.repositories import (
    ConnectionSource,
    VersionedRepository,
    contains_ignoring_case,
    equals,
    equals_enum,
    equals_ignoring_case,
)
from evbill.domain.offers.customers import Customer, CustomerKind, Token, TokenStatus


def customer_repository(connection: ConnectionSource) -> VersionedRepository[Customer]:
    columns = offer_tables.customers.c
    filters = {
        "kind": equals_enum(columns.kind, CustomerKind),
        "parent_id": equals(columns.parent_id),
        "email": equals_ignoring_case(columns.email),
        "name": contains_ignoring_case(columns.name),
    }
    return VersionedRepository(connection, offer_tables.customers, CUSTOMERS, filters)


class SqlTokenRepository(VersionedRepository[Token]):
    def __init__(self, connection: ConnectionSource) -> None:
        columns = offer_tables.tokens.c
        filters = {
            "customer_id": equals(columns.customer_id),
            "status": equals_enum(columns.status, TokenStatus),
            "uid": equals(columns.uid),
        }
        super().__init__(connection, offer_tables.tokens, TOKENS, filters)

    def find_by_uid(self, operator_id: str, uid: str) -> Token | None:
        columns = offer_tables.tokens.c
        query = select(offer_tables.tokens).where(columns.operator_id == operator_id, columns.uid == uid)
        row = self._connection().execute(query).mappings().first()
        return None if row is None else TOKENS.from_row(row)
