"""Tables of paying for sessions: ad hoc starts at the charger, hold amounts, cards on file, reloads.

``adhoc_starts`` holds one row per driver's request to start and pay at an EVSE (its status moves
forwards only, under a lock); the money itself is in ``payments`` and ``payment_events``.
``hold_amounts`` is what an ad hoc start holds on the card, per operator (``location_id`` '') or
per location. ``cards_on_file`` (in ``payments.tables``, shared with collection) keeps a customer's
gateway token;
``wallet_reloads`` when and by how much a wallet is reloaded from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, UniqueConstraint

from evbill.adapters.db.schema import belongs_to_operator, child_of, id_column, metadata, operator_id_column
from evbill.adapters.db.types import UtcDateTime

adhoc_starts = Table(
    "adhoc_starts",
    metadata,
    id_column(),
    operator_id_column(),
    Column("evse_id", String(36), nullable=False),
    Column("station_id", String(36), nullable=False),
    Column("idempotency_key", String(150), nullable=False),
    Column("id_tag", String(20), nullable=False),
    Column("status", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("payment_id", String(36)),
    Column("session_id", String(36)),
    Column("deadline", UtcDateTime()),
    Column("failure", Text),
    Column("captured", BigInteger),
    Column("request_hash", String(64)),
    belongs_to_operator(),
    child_of("evse_id", "evses"),
    UniqueConstraint("operator_id", "idempotency_key"),
    UniqueConstraint("id_tag"),
    Index("ix_adhoc_starts_evse", "operator_id", "evse_id", "status"),
    Index("ix_adhoc_starts_session", "operator_id", "session_id"),
    Index("ix_adhoc_starts_status", "status", "deadline"),
)

hold_amounts = Table(
    "hold_amounts",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("location_id", String(36), primary_key=True),  # '' for the operator's own
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
)

wallet_reloads = Table(
    "wallet_reloads",
    metadata,
    Column("operator_id", String(36), primary_key=True),
    Column("wallet_id", String(36), primary_key=True),
    Column("threshold", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    belongs_to_operator(),
    child_of("wallet_id", "wallets"),
)


@dataclass(frozen=True, slots=True)
class HoldAmountRow:
    operator_id: str
    location_id: str
    amount: int
    currency: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WalletReloadRow:
    operator_id: str
    wallet_id: str
    threshold: int
    amount: int
    updated_at: datetime
