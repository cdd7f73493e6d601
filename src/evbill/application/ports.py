"""The interfaces use cases need from outside, as Protocols; adapters implement them.

Persistence is a unit of work holding one repository per kind of record. Every repository method
takes the operator id: tenant isolation is part of the signature, not a filter to remember. Lists
use keyset (cursor) pagination: ``after`` is the last id of the previous page; ids sort by creation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from evbill.domain.access.keys import ApiKey, AuditEntry
from evbill.domain.access.operators import Operator
from evbill.domain.billing.records import RecordedBill
from evbill.domain.charging.frames import Frame
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.errors import Problem
from evbill.domain.invoicing.documents import Document
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import RoundingMode
from evbill.domain.offers.contracts import Contract, ContractTerms
from evbill.domain.offers.customers import Customer, Token
from evbill.domain.offers.plans import Plan, PlanVersion
from evbill.domain.offers.promotions import Promotion, Redemption
from evbill.domain.rating import RatedSession
from evbill.domain.sites.model import ChargingStation, Connector, Evse, Location, StationRequest
from evbill.domain.tariffs.catalog import TariffAssignment, TariffRecord, TariffVersion
from evbill.domain.tariffs.model import Tariff

T = TypeVar("T")
Filters = Mapping[str, object]


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class Repository(Protocol[T]):
    """Records of one kind, each belonging to one operator, with optimistic versioning."""

    def get(self, operator_id: str, record_id: str) -> T | None: ...

    def list(self, operator_id: str, *, filters: Filters, after: str | None, limit: int) -> Sequence[T]: ...

    def add(self, record: T) -> None: ...

    def update(self, record: T, *, expected_version: int) -> None:
        """Store ``record`` (whose version is expected_version + 1); Conflict if the stored one moved on."""
        ...

    def delete(self, operator_id: str, record_id: str, *, expected_version: int | None) -> None: ...


class OperatorRepository(Protocol):
    def get(self, operator_id: str) -> Operator | None: ...

    def add(self, operator: Operator) -> None: ...

    def update(self, operator: Operator, *, expected_version: int) -> None: ...

    def list_all(self) -> Sequence[Operator]: ...


class TariffVersionRepository(Protocol):
    def get(self, operator_id: str, version_id: str) -> TariffVersion | None: ...

    def of_tariff(self, operator_id: str, tariff_id: str) -> Sequence[TariffVersion]: ...

    def find(self, operator_id: str, tariff_id: str, number: int) -> TariffVersion | None: ...

    def add(self, version: TariffVersion) -> None: ...


class AssignmentRepository(Protocol):
    def list(self, operator_id: str) -> Sequence[TariffAssignment]: ...

    def add(self, assignment: TariffAssignment) -> None: ...

    def delete(self, operator_id: str, assignment_id: str) -> None: ...


class SessionRepository(Protocol):
    def get(self, operator_id: str, session_id: str) -> ChargingSession | None: ...

    def list(
        self, operator_id: str, *, filters: Filters, after: str | None, limit: int
    ) -> Sequence[ChargingSession]:
        """Newest first; filters: location_id, evse_id, status, started_from, started_to."""
        ...

    def add(self, session: ChargingSession) -> None: ...

    def cursor_of(self, session: ChargingSession) -> str:
        """The cursor that continues a listing after ``session`` (the repository owns its format)."""
        ...

    def of_customers(
        self, operator_id: str, customer_ids: Sequence[str], *, started_from: datetime, started_to: datetime
    ) -> Sequence[ChargingSession]:
        """Every session of these customers started in [started_from, started_to), oldest first."""
        ...

    def count_before(self, operator_id: str, customer_ids: Sequence[str], before: datetime) -> int:
        """How many sessions these customers started before ``before`` (for loyalty ordinals)."""
        ...


class TokenRepository(Repository[Token], Protocol):
    def find_by_uid(self, operator_id: str, uid: str) -> Token | None: ...


class PlanVersionRepository(Protocol):
    def of_plan(self, operator_id: str, plan_id: str) -> Sequence[PlanVersion]: ...

    def add(self, version: PlanVersion) -> None: ...


class ContractTermsRepository(Protocol):
    def of_contract(self, operator_id: str, contract_id: str) -> Sequence[ContractTerms]: ...

    def add(self, terms: ContractTerms) -> None: ...


class PromotionRepository(Repository[Promotion], Protocol):
    def find_by_code(self, operator_id: str, code: str) -> Promotion | None: ...


class CustomerPromotionRepository(Protocol):
    """Which promotions a customer has (a coupon code entered, a loyalty scheme joined)."""

    def of_customer(self, operator_id: str, customer_id: str) -> Sequence[str]:
        """The promotion ids, in the order they were given."""
        ...

    def add(self, operator_id: str, customer_id: str, promotion_id: str, at: datetime) -> bool:
        """Give a promotion to a customer; False if the customer already had it."""
        ...


@dataclass(frozen=True, slots=True)
class RedemptionCounts:
    total: int  # by every customer
    customer: int  # by this customer
    contract_cycles: int  # cycles of this contract it was applied to
    free_kwh_used: Decimal  # by this customer


class RedemptionRepository(Protocol):
    def of_contract_cycle(
        self, operator_id: str, contract_id: str, cycle_start: datetime
    ) -> Sequence[Redemption]: ...

    def counts(
        self, operator_id: str, promotion_id: str, customer_id: str, contract_id: str
    ) -> RedemptionCounts: ...

    def record(
        self, redemption: Redemption, *, max_redemptions: int | None, per_customer_limit: int | None
    ) -> bool:
        """Store a redemption once per (promotion, contract, cycle start); False if it is already stored.

        The limits are checked and the row inserted under a lock on the promotion, so concurrent
        billing runs can never pass ``max_redemptions`` or ``per_customer_limit``: the run that would
        is refused with Conflict.
        """
        ...


class BillRepository(Protocol):
    """Recorded bills, one per (contract, cycle start)."""

    def get(self, operator_id: str, bill_id: str) -> RecordedBill | None: ...

    def of_contract(self, operator_id: str, contract_id: str) -> Sequence[RecordedBill]: ...

    def add(self, recorded: RecordedBill) -> None:
        """Conflict if the contract's cycle is already recorded (the transaction is then done)."""
        ...

    def mark_invoiced(self, operator_id: str, bill_id: str, invoice_id: str) -> None: ...


class InvoiceRepository(Protocol):
    """Invoices, receipts and credit notes, their per-series counters, and invoicing profiles."""

    def get(self, operator_id: str, document_id: str) -> Document | None: ...

    def find_by_bill(self, operator_id: str, bill_id: str) -> Document | None: ...

    def list(
        self, operator_id: str, *, filters: Filters, after: str | None, limit: int
    ) -> Sequence[Document]: ...

    def credited(self, operator_id: str, original_id: str) -> dict[int, Decimal]:
        """What credit notes (not void) took from each line of the original so far (precise)."""
        ...

    def add(self, document: Document) -> None:
        """Conflict if the document's bill already has one (the transaction is then done)."""
        ...

    def update(self, document: Document, *, expected_version: int, sequence: int | None = None) -> None: ...

    def next_number(self, operator_id: str, series: str) -> int:
        """The series' next number, its counter locked until the transaction ends (gapless)."""
        ...

    def profile(self, operator_id: str) -> InvoicingProfile | None: ...

    def save_profile(self, profile: InvoicingProfile, at: datetime) -> None: ...


class ApiKeyRepository(Protocol):
    def find_by_prefix(self, prefix: str) -> ApiKey | None: ...

    def list(self, operator_id: str) -> Sequence[ApiKey]: ...

    def add(self, key: ApiKey) -> None: ...

    def revoke(self, operator_id: str, key_id: str, at: datetime) -> bool:
        """True if this call revoked the key; False if it was revoked already."""
        ...


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> None: ...

    def list(
        self, operator_id: str, *, filters: Filters, after: str | None, limit: int
    ) -> Sequence[AuditEntry]:
        """Oldest first; ``after`` is a cursor from ``cursor_of``."""
        ...

    def cursor_of(self, entry: AuditEntry) -> str:
        """The opaque cursor after ``entry`` (it reveals nothing of other operators' entries)."""
        ...


class StationDirectory(Protocol):
    def find_by_charge_point_id(self, charge_point_id: str) -> ChargingStation | None:
        """Any operator's station by its OCPP identity (unique on the platform: it is the URL path)."""
        ...


class StationRequestLog(Protocol):
    """Unknown stations that asked to connect (platform-wide: they belong to no operator yet)."""

    def note(self, request: StationRequest) -> None:
        """Record a connection (or a boot) of the station: first time, or one more attempt."""
        ...

    def all(self) -> Sequence[StationRequest]: ...


class LiveSessionRepository(Protocol):
    """Sessions as the central system opens, feeds and closes them."""

    def find_by_transaction(
        self, operator_id: str, station_id: str, transaction_id: str
    ) -> ChargingSession | None: ...

    def find_by_start_key(self, operator_id: str, station_id: str, start_key: str) -> ChargingSession | None:
        """OCPP 1.6 has no transaction id in StartTransaction: a resent one is found by its content."""
        ...

    def active_of_token(self, operator_id: str, token_uid: str) -> Sequence[ChargingSession]: ...

    def next_transaction_number(self) -> int:
        """A platform-wide increasing integer for OCPP 1.6 transactionIds."""
        ...

    def open(self, session: ChargingSession, *, transaction_id: str, start_key: str | None) -> None: ...

    def close(self, session: ChargingSession, *, details: Mapping[str, Any]) -> None:
        """Store the finished session (status, end, totals, parts) with its evidence ``details``
        (anomalies, signed meter values, explanation, OCPI CDR)."""
        ...

    def details(self, operator_id: str, session_id: str) -> Mapping[str, Any] | None: ...


class MeterSampleRepository(Protocol):
    def add_many(self, operator_id: str, session_id: str, samples: Sequence[MeterSample]) -> None: ...

    def of_session(self, operator_id: str, session_id: str) -> Sequence[MeterSample]:
        """Every sample stored for the session, in the order received (duplicates included)."""
        ...

    def of_session_after(
        self, operator_id: str, session_id: str, mark: int
    ) -> tuple[Sequence[MeterSample], int]:
        """The samples stored after ``mark`` (0: from the first), in the order received, and the mark
        to pass next time. A live session's samples come from one writer in order, so reading on
        from the mark misses none."""
        ...


class FrameLog(Protocol):
    def add_many(self, frames: Sequence[Frame]) -> None: ...


class OcppJournal(Protocol):
    """Append-only writes of the busiest messages, committed in groups: ``append`` returns once the
    samples and frames are durable (so the charger is acknowledged only then)."""

    async def append(self, frames: Sequence[Frame], samples: Sequence[tuple[str, str, MeterSample]]) -> None:
        """``samples`` as (operator_id, session_id, sample)."""
        ...


class UnitOfWork(Protocol):
    """One transaction: use cases enter it, work through the repositories, and commit once."""

    operators: OperatorRepository
    locations: Repository[Location]
    stations: Repository[ChargingStation]
    evses: Repository[Evse]
    connectors: Repository[Connector]
    tariffs: Repository[TariffRecord]
    tariff_versions: TariffVersionRepository
    assignments: AssignmentRepository
    sessions: SessionRepository
    api_keys: ApiKeyRepository
    audit: AuditLog
    customers: Repository[Customer]
    tokens: TokenRepository
    plans: Repository[Plan]
    plan_versions: PlanVersionRepository
    contracts: Repository[Contract]
    contract_terms: ContractTermsRepository
    promotions: PromotionRepository
    customer_promotions: CustomerPromotionRepository
    redemptions: RedemptionRepository
    station_directory: StationDirectory
    station_requests: StationRequestLog
    live_sessions: LiveSessionRepository
    meter_samples: MeterSampleRepository
    frames: FrameLog
    bills: BillRepository
    invoices: InvoiceRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A fresh unit of work. ``read_only``: the use case only reads, and each of its reads stands
        alone: it never waits for writers (on SQLite it does not queue for the write lock), and two of
        its reads may see different moments (on PostgreSQL each statement commits on its own)."""
        ...


class TariffReading(Protocol):
    @property
    def tariff(self) -> Tariff: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class CdrReading(Protocol):
    @property
    def usage(self) -> SessionUsage: ...

    @property
    def warnings(self) -> tuple[Problem, ...]: ...


class OcpiCodec(Protocol):
    """OCPI 2.2.1 documents (decoded JSON) in and out; readers raise InvalidInput with every problem."""

    def read_tariff(self, document: object) -> TariffReading: ...

    def read_cdr(self, document: object) -> CdrReading: ...

    def write_tariff(self, tariff: Tariff) -> dict[str, Any]: ...

    def write_session_cdr(
        self,
        *,
        cdr_id: str,
        country_code: str,
        party_id: str,
        token_uid: str | None,
        contract_id: str | None,
        place: Mapping[str, Any],
        usage: SessionUsage,
        rated: RatedSession,
        tariff_document: Mapping[str, Any],
        rounding: RoundingMode,
        last_updated: datetime,
    ) -> dict[str, Any]:
        """The OCPI CDR of a finished session; ``place`` holds the CdrLocation facts."""
        ...

    def write_priced_cdr(
        self,
        document: Mapping[str, Any],
        rated: RatedSession,
        *,
        tariff_document: Mapping[str, Any] | None,
        rounding: RoundingMode,
    ) -> dict[str, Any]: ...
