"""The interfaces use cases need from outside, as Protocols; adapters implement them.

Persistence is a unit of work holding one repository per kind of record. Every repository method
takes the operator id: tenant isolation is part of the signature, not a filter to remember. Lists
use keyset (cursor) pagination: ``after`` is the last id of the previous page; ids sort by creation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from evbill.domain.access.idempotency import Decision, IdempotentRequest
from evbill.domain.access.keys import ApiKey, AuditEntry
from evbill.domain.access.operators import Operator
from evbill.domain.analytics.backtest import StoredSession
from evbill.domain.analytics.corrections import CorrectedSession, Correction
from evbill.domain.analytics.costs import EnergyPurchase, PricePoint
from evbill.domain.analytics.facts import GroupBy, SessionFact, SessionFilter
from evbill.domain.analytics.fees import FeeBook, LocationFees, OperatorFees
from evbill.domain.analytics.rollup import GroupSums, QuarterSums
from evbill.domain.analytics.utilisation import EvsePlace
from evbill.domain.analytics.utilisation_sums import Reading
from evbill.domain.billing.records import RecordedBill
from evbill.domain.charging.connectors import ConnectorState
from evbill.domain.charging.frames import Frame, StoredFrame, StoredSample
from evbill.domain.charging.review import ReviewEvent
from evbill.domain.charging.sessions import ChargingSession
from evbill.domain.charging.status_history import StatusReport
from evbill.domain.collection import dunning
from evbill.domain.collection.dunning import ChargeAttempt, DirectDebit, Reminder, Suspension
from evbill.domain.collection.mandates import Mandate
from evbill.domain.collection.policy import CollectionPolicy
from evbill.domain.collection.statements import BankTransaction
from evbill.domain.errors import Problem
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.invoicing.documents import Document
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.runs import BillingRun, ItemStatus, RunCounts, RunItem, RunStatus
from evbill.domain.ledger.balances import AccountBalance, PeriodSum, StatementLine
from evbill.domain.ledger.entries import LedgerEntry
from evbill.domain.metering.cleaning import MeterSample
from evbill.domain.metering.usage import SessionUsage
from evbill.domain.money import RoundingMode, SettledMoney
from evbill.domain.offers.contracts import Contract, ContractTerms
from evbill.domain.offers.customers import Customer, Token
from evbill.domain.offers.plans import Plan, PlanVersion
from evbill.domain.offers.promotions import Promotion, Redemption
from evbill.domain.payments.adhoc import AdhocStart, AdhocStatus, CommandAnswer
from evbill.domain.payments.events import EventKind, PaymentEvent
from evbill.domain.payments.model import InFlight, Payment, PaymentPurpose, Wallet, WalletTransaction
from evbill.domain.rating import RatedSession
from evbill.domain.rating.fast import FastTotals
from evbill.domain.rating.fixed_point import FixedTotals
from evbill.domain.rating.fixed_point import Period as FixedPeriod
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

    def where_in(self, operator_id: str, column: str, values: Sequence[str]) -> Sequence[T]:
        """The operator's records whose ``column`` (e.g. ``id``, ``parent_id``) is one of ``values``, in
        one look (a billing run's chunk reads its contracts and customers so), ordered by id."""
        ...

    def add(self, record: T) -> None: ...

    def update(self, record: T, *, expected_version: int) -> None:
        """Store ``record`` (whose version is expected_version + 1); Conflict if the stored one moved on."""
        ...

    def delete(self, operator_id: str, record_id: str, *, expected_version: int | None) -> None: ...

    def lock(self, operator_id: str, record_id: str) -> None:
        """Hold the record's row until the transaction ends, so checks that span several records about
        it (a customer's overlapping contracts) run one at a time."""
        ...


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

    def lock(self, operator_id: str) -> None:
        """Serialise the operator's assignment changes until the transaction ends."""
        ...

    def delete(self, operator_id: str, assignment_id: str) -> None: ...


class SessionRepository(Protocol):
    def get(self, operator_id: str, session_id: str, *, lock: bool = False) -> ChargingSession | None:
        """``lock``: hold the session row until commit (SELECT ... FOR UPDATE), so two payments of
        one session are checked one after the other."""
        ...

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
        self,
        operator_id: str,
        customer_ids: Sequence[str],
        *,
        started_from: datetime,
        started_to: datetime,
        without_receipt: bool = False,
    ) -> Sequence[ChargingSession]:
        """Every session of these customers started in [started_from, started_to), oldest first;
        ``without_receipt``: only those without a receipt of their own (paid by themselves)."""
        ...

    def count_before(self, operator_id: str, customer_ids: Sequence[str], before: datetime) -> int:
        """How many sessions these customers started before ``before`` (for loyalty ordinals)."""
        ...

    def counts_before(
        self, operator_id: str, customer_ids: Sequence[str], before: datetime
    ) -> Mapping[str, int]:
        """``count_before`` of each customer on its own, in one look: every id a key."""
        ...

    def started_at(self, operator_id: str, session_ids: Sequence[str]) -> Mapping[str, datetime]:
        """When each of these sessions started (one query; ids not found are left out)."""
        ...


class TokenRepository(Repository[Token], Protocol):
    def find_by_uid(self, operator_id: str, uid: str) -> Token | None: ...


class PlanVersionRepository(Protocol):
    def of_plan(self, operator_id: str, plan_id: str) -> Sequence[PlanVersion]: ...

    def add(self, version: PlanVersion) -> None: ...


class ContractTermsRepository(Protocol):
    def of_contract(self, operator_id: str, contract_id: str) -> Sequence[ContractTerms]: ...

    def of_contracts(self, operator_id: str, contract_ids: Sequence[str]) -> dict[str, list[ContractTerms]]:
        """``of_contract`` for many contracts in one look (a billing run); every id is a key."""
        ...

    def add(self, terms: ContractTerms) -> None: ...


class PromotionRepository(Repository[Promotion], Protocol):
    def find_by_code(self, operator_id: str, code: str) -> Promotion | None: ...


class CustomerPromotionRepository(Protocol):
    """Which promotions a customer has (a coupon code entered, a loyalty scheme joined)."""

    def of_customer(self, operator_id: str, customer_id: str) -> Sequence[str]:
        """The promotion ids, in the order they were given."""
        ...

    def of_customers(self, operator_id: str, customer_ids: Sequence[str]) -> Mapping[str, Sequence[str]]:
        """``of_customer`` of many customers in one look: every id a key."""
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

    def of_contracts(self, operator_id: str, contract_ids: Sequence[str]) -> dict[str, list[RecordedBill]]:
        """``of_contract`` for many contracts in one look (a billing run's chunk); every id is a key."""
        ...

    def add(self, recorded: RecordedBill) -> None:
        """Conflict if the contract's cycle is already recorded (the transaction is then done)."""
        ...

    def mark_invoiced(self, operator_id: str, bill_id: str, invoice_id: str) -> None: ...


class InvoiceRepository(Protocol):
    """Invoices, receipts and credit notes, their per-series counters, and invoicing profiles."""

    def get(self, operator_id: str, document_id: str, *, lock: bool = False) -> Document | None:
        """``lock``: the row is locked till the transaction ends (``FOR UPDATE``; SQLite's write
        transaction already serialises), so a decision on it (credit, void, payment) is not raced."""
        ...

    def find_by_bill(self, operator_id: str, bill_id: str) -> Document | None: ...

    def customers_of(self, operator_id: str, document_ids: Sequence[str]) -> Mapping[str, str | None]:
        """The customer of each document found (None: an anonymous buyer), by id; no document decoded."""
        ...

    def list(
        self, operator_id: str, *, filters: Filters, after: str | None, limit: int
    ) -> Sequence[Document]: ...

    def find_by_payment_reference(self, operator_id: str, reference: str) -> Document | None: ...

    def numbers(self, operator_id: str, document_ids: Sequence[str]) -> Mapping[str, tuple[str, date | None]]:
        """The number and due date of each of the documents that has a number (issued), by id; for the
        accounting export, without reading the documents."""
        ...

    def open_documents(self, operator_id: str, *, currency: str | None = None) -> Sequence[Document]:
        """Issued invoices and receipts with something still to pay, oldest first."""
        ...

    def credit_notes(self, operator_id: str, original_id: str) -> Sequence[Document]:
        """The credit notes of the original (not void), in the order issued."""
        ...

    def add(self, document: Document, *, sequence: int | None = None) -> None:
        """Conflict if the document's bill already has one (the transaction is then done)."""
        ...

    def update(self, document: Document, *, expected_version: int, sequence: int | None = None) -> None: ...

    def update_many(self, changes: Sequence[tuple[Document, int]]) -> None:
        """Several ``update``s at once: (document, expected version); Conflict if any was changed."""
        ...

    def next_number(self, operator_id: str, series: str) -> int:
        """The series' next number, its counter locked until the transaction ends (gapless)."""
        ...

    def next_numbers(self, operator_id: str, series: str, count: int) -> range:
        """The series' next ``count`` numbers, consecutive, in one step (a billing run's chunk); the
        counter locked until the transaction ends (gapless: rolled back with it)."""
        ...

    def profile(self, operator_id: str) -> InvoicingProfile | None: ...

    def save_profile(
        self, profile: InvoicingProfile, at: datetime, *, expected_version: int | None = None
    ) -> InvoicingProfile:
        """Store it as the next version; StaleVersion if ``expected_version`` is not the stored one
        (0: none stored). Returns the profile as stored (its new version)."""
        ...

    def receipt_of_session(self, operator_id: str, session_id: str) -> Document | None: ...

    def add_session_receipt(self, operator_id: str, session_id: str, document_id: str, at: datetime) -> None:
        """Conflict when the session has its receipt already."""
        ...

    def deliveries(self, operator_id: str, document_id: str) -> Sequence[Delivery]:
        """The document's deliveries, first attempt first."""
        ...

    def claim_delivery(self, delivery: Delivery) -> None:
        """Conflict when that attempt of the document is claimed already."""
        ...

    def complete_delivery(
        self, operator_id: str, delivery_id: str, *, sent_at: datetime, message_id: str
    ) -> None: ...

    def drop_delivery(self, operator_id: str, delivery_id: str) -> None:
        """Forget a claim whose mail the server refused (nothing was sent)."""
        ...


class BillingRunRepository(Protocol):
    """Billing runs and their items (issue 13): counts are read from the items."""

    def add(self, run: BillingRun) -> None: ...

    def get(self, operator_id: str, run_id: str) -> BillingRun | None: ...

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[BillingRun]: ...

    def counts(self, run_id: str, *, collects: bool = False) -> RunCounts: ...

    def running(self, operator_id: str | None = None, period: str | None = None) -> Sequence[BillingRun]: ...

    def last_progress(self, run_id: str) -> datetime | None: ...

    def set_status(
        self, operator_id: str, run_id: str, status: RunStatus, *, at: datetime, planned: bool = False
    ) -> None: ...

    def add_items(self, items: Sequence[RunItem]) -> None:
        """Insert the items not there yet (planning twice adds nothing)."""
        ...

    def items(self, run_id: str, *, status: ItemStatus | None = None) -> Sequence[RunItem]: ...

    def item(self, run_id: str, contract_id: str, cycle_start: date) -> RunItem | None: ...

    def items_of(self, run_id: str, keys: Sequence[tuple[str, date]]) -> Sequence[RunItem]:
        """The run's items of these (contract, cycle start) keys that exist, in the keys' order."""
        ...

    def has_pending(self, run_id: str) -> bool: ...

    def has_uncollected(self, run_id: str) -> bool:
        """Whether an item of the run has an invoice not yet through collection at issue."""
        ...

    def uncollected(self, run_id: str) -> Sequence[RunItem]:
        """The run's items with an invoice not yet through collection at issue."""
        ...

    def mark_collected(
        self,
        operator_id: str,
        invoice_ids: Sequence[str],
        contract_ids: Sequence[str] | None,
        *,
        at: datetime,
    ) -> Sequence[str]:
        """Mark the items of these invoices (of these contracts, in the same order, when known) in the
        operator's RUNNING runs that collect as collected, each once; the ids of the runs holding any."""
        ...

    def finish_item(self, item: RunItem) -> None: ...

    def finish_items(self, items: Sequence[RunItem]) -> None:
        """``finish_item`` for many (a billing run's chunk), in one batch."""
        ...


class DocumentFiles(Protocol):
    """Documents rendered once (PDF, Factur-X ...), so a download does not render them again."""

    def get(self, operator_id: str, document_id: str, document_format: str) -> bytes | None: ...

    def put(
        self, operator_id: str, document_id: str, document_format: str, content: bytes, at: datetime
    ) -> bool:
        """Keep the file; False if it was there already."""
        ...


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

    def next_transaction_number(self, station_id: str) -> int:
        """A random positive integer for an OCPP 1.6 transactionId that no session of the station has."""
        ...

    def open(
        self,
        session: ChargingSession,
        *,
        transaction_id: str,
        start_key: str | None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """``details``: evidence known at the open (a 2.0.1 session opened before its Started arrived)."""
        ...

    def release_start_key(self, operator_id: str, session_id: str) -> None:
        """A finished 1.6 session's start key is free for a new transaction with the same content."""
        ...

    def close(self, session: ChargingSession, *, details: Mapping[str, Any]) -> None:
        """Store the finished session (status, end, totals, parts) with its evidence ``details``
        (anomalies, signed meter values, explanation, OCPI CDR)."""
        ...

    def details(self, operator_id: str, session_id: str) -> Mapping[str, Any] | None: ...

    def amend(self, session: ChargingSession, *, details: Mapping[str, Any] | None) -> None:
        """Store a session still open with what a late event taught (its token, price, start)."""
        ...


class SessionReviewLog(Protocol):
    """Append-only: sessions sent to review and what operators decided (domain.charging.review)."""

    def add(self, event: ReviewEvent) -> None: ...

    def of_session(self, operator_id: str, session_id: str) -> Sequence[ReviewEvent]: ...


class ConnectorStates(Protocol):
    """The last OCPP 1.6 status of each connector, kept across reconnects and restarts."""

    def put(self, state: ConnectorState) -> None: ...

    def of_station(self, operator_id: str, station_id: str) -> Sequence[ConnectorState]: ...


class MeterSampleRepository(Protocol):
    def add_many(
        self,
        operator_id: str,
        session_id: str,
        samples: Sequence[MeterSample],
        *,
        frame_id: int | None = None,
    ) -> None:
        """Store samples the frame ``frame_id`` carried; ``Unstorable`` if one cannot be stored."""
        ...

    def stored_of_session(self, operator_id: str, session_id: str) -> Sequence[StoredSample]:
        """The session's samples as stored, in the order received, each with the frame that carried it."""
        ...

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
    def add_many(self, frames: Sequence[Frame], *, session_id: str | None = None) -> Sequence[int]:
        """Store frames (about the session ``session_id``, if given); their ids in the log, in order.
        ``Unstorable`` if one cannot be stored."""
        ...

    def by_ids(self, operator_id: str, ids: Sequence[int]) -> Sequence[StoredFrame]:
        """The operator's frames with these ids, in log order."""
        ...


class FrameRetention(Protocol):
    """The retention command's view of the frame log (platform-wide)."""

    def id_range(self) -> tuple[int, int]:
        """The first and last frame id (0, 0 when there are none)."""
        ...

    def old_frames(self, *, after: int, upto: int, cutoff: datetime) -> Sequence[StoredFrame] | None:
        """The frames with ids in (after, upto] older than ``cutoff`` that belong to no session; None
        when the range holds frames and every one of them is newer than the cutoff."""
        ...

    def purge(self, ids: Sequence[int], *, cutoff: datetime, at: datetime, archive: str | None) -> int:
        """Delete those of ``ids`` that are older than ``cutoff`` and of no session, as one recorded
        purge run; how many were deleted."""
        ...


class OcppJournal(Protocol):
    """Append-only writes of the busiest messages, committed in groups: ``append`` returns once the
    samples and frames are durable (so the charger is acknowledged only then)."""

    async def append(self, frames: Sequence[Frame], samples: Sequence[tuple[str, str, MeterSample]]) -> None:
        """``samples`` as (operator_id, session_id, sample)."""
        ...


class StatusHistoryRepository(Protocol):
    """Connector/EVSE statuses as stations reported them (append-only; OCPP writes through the journal)."""

    def add(self, reports: Sequence[StatusReport]) -> None: ...

    def places(
        self,
        operator_id: str,
        *,
        location_id: str | None = None,
        station_id: str | None = None,
        evse_id: str | None = None,
        connector_class_name: str | None = None,
    ) -> list[EvsePlace]:
        """The operator's EVSEs matching the filters, with location, zone and connector class."""
        ...

    def reports(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> list[StatusReport]:
        """Reports received in [start - margin, end + margin), plus the last one before of each connector."""
        ...

    def charging_intervals(
        self, operator_id: str, evse_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        """EVSE id -> the periods its sessions were charging, in time order."""
        ...

    def readings(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> dict[str, list[Reading]]:
        """The same reports as ``reports`` as integer microseconds (what summing walks): station id ->
        its reports in arrival order (received time, then storage order)."""
        ...

    def readings_ahead(
        self, operator_id: str, station_ids: Sequence[str], start: datetime, end: datetime, margin: timedelta
    ) -> AbstractContextManager[Mapping[str, Sequence[Reading]]]:
        """``readings`` that may still be arriving while the block runs (a station's wait for it): walk
        them inside the block, and use no other method of the unit of work until it ends."""
        ...


class AnalyticsRepository(Protocol):
    def session_facts(self, operator_id: str, query: SessionFilter) -> Iterator[SessionFact]:
        """Finished sessions matching the filter, oldest first (consume inside the unit of work)."""
        ...

    def refresh_report_facts(self, operator_id: str, after: int) -> int | None:
        """Fold one batch of the queued sessions (queue ids past ``after``) into the report facts;
        the last queue id done, None when none is left."""
        ...

    def queued_for_reports(self, operator_id: str) -> int:
        """How many sessions wait in the refresh queue."""
        ...

    def forget_report_rollups(self, operator_id: str) -> None:
        """Stop keeping the report rollups (reports read the facts until they are built again)."""
        ...

    def build_report_rollups(self, operator_id: str, now: datetime) -> bool:
        """Build the report rollups from the facts unless they are built; True if it did."""
        ...

    def report_sums(
        self, operator_id: str, query: SessionFilter, group_by: GroupBy, *, limit: int | None = None
    ) -> tuple[list[GroupSums], list[GroupSums], int]:
        """The database's sums of the report facts per group and currency, per currency, and how many
        groups there are. ``limit``: at least the ``limit`` groups of highest gross revenue
        (``rollup.top_order``), perhaps not the others."""
        ...

    def report_corrections(
        self, operator_id: str, query: SessionFilter
    ) -> list[tuple[Correction, CorrectedSession]]:
        """The credit notes and voids the ledger posted in the filter's window, per corrected session
        line, with the session's keys (only sessions matching the filter's fields)."""
        ...

    def heatmap_sums(
        self, operator_id: str, query: SessionFilter
    ) -> tuple[dict[int, int], dict[str, QuarterSums], dict[int, int]]:
        """Starts per local hour of the week, per zone the starts and ends per UTC quarter hour of
        some sessions, and seconds occupied per local hour of the week of the others."""
        ...

    def add_usage(self, operator_id: str, session_id: str, usage: SessionUsage) -> None:
        """Keep the periods a finished session was rated on (once per session)."""
        ...

    def stored_sessions(self, operator_id: str, query: SessionFilter) -> Iterator[StoredSession]:
        """Finished, settled sessions matching the filter with their stored periods (or None)."""
        ...

    def set_purchase(self, operator_id: str, purchase: EnergyPurchase, now: datetime) -> None:
        """Keep how a location buys energy (replacing what was there)."""
        ...

    def purchases(self, operator_id: str) -> dict[str, EnergyPurchase]:
        """Every location's purchase price, by location id."""
        ...

    def replace_prices(self, operator_id: str, location_id: str, points: tuple[PricePoint, ...]) -> None:
        """Store a checked, ordered price series; it replaces the prices of the span it covers."""
        ...

    def price_series(
        self, operator_id: str, location_ids: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, dict[datetime, Decimal]]:
        """Per location, the prices whose quarter hour overlaps [start, end]."""
        ...

    def set_location_fees(self, operator_id: str, fees: LocationFees, now: datetime) -> None:
        """A location's grid and demand fees (replacing those it had)."""
        ...

    def set_operator_fees(self, operator_id: str, fees: OperatorFees, now: datetime) -> None:
        """The operator's gateway and roaming fees (replacing those it had)."""
        ...

    def fee_book(self, operator_id: str, session_ids: Sequence[str]) -> FeeBook:
        """The fees, and the sessions' own payments and token contract ids."""
        ...


@dataclass(frozen=True, slots=True)
class Imbalance:
    """An entry whose postings do not sum to zero in ``currency`` (or that has fewer than two)."""

    entry_id: str
    currency: str
    total: int
    postings: int


class LedgerRepository(Protocol):
    """The append-only journal: entries and their postings, written in the caller's transaction."""

    def append(self, entry: LedgerEntry) -> None: ...

    def append_many(self, entries: Sequence[LedgerEntry]) -> None:
        """Many entries at once (bulk loads, benchmarks); each already checked by ``make_entry``."""
        ...

    def batched(self) -> AbstractContextManager[None]:
        """Entries appended inside are written when it ends, all in one ``append_many`` (a billing
        run's chunk: two statements, COPY on PostgreSQL, instead of two per invoice); nothing is
        written if it ends by an error (the transaction is rolled back anyway)."""
        ...

    def entries(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[LedgerEntry]:
        """In the order posted; ``after`` is the id of the last entry of the previous page."""
        ...

    def balances(self, operator_id: str) -> Sequence[AccountBalance]:
        """Every account's debit, credit and balance per currency (the trial balance)."""
        ...

    def statement(
        self,
        operator_id: str,
        account: str,
        currency: str,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> Sequence[StatementLine]:
        """The account's postings in that currency, in the order posted, with the running balance:
        those after the line whose ``posting_id`` is ``after`` (the balance runs on from it), at most
        ``limit``."""
        ...

    def imbalances(self, operator_id: str) -> Sequence[Imbalance]:
        """Entries that do not balance per currency or have fewer than two postings (none, when sound)."""
        ...

    def count(self, operator_id: str) -> int: ...

    def sums_by_reference(
        self, operator_id: str, account_prefix: str, *, reference_prefix: str | tuple[str, ...] = ""
    ) -> Mapping[tuple[str, str], int]:
        """(reference, currency) -> sum of the postings on accounts whose code starts with the prefix,
        of the entries whose reference starts with ``reference_prefix`` (with one of them, if several)."""
        ...

    def posted_span(
        self, operator_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        """When the first and the last entry in [since, until) were posted (None: no entry there)."""
        ...

    def period_sums(
        self,
        operator_id: str,
        periods: Sequence[tuple[datetime, datetime]],
        *,
        account_prefixes: tuple[str, ...],
    ) -> Sequence[PeriodSum]:
        """Per period [start, end) (by its index in ``periods``), account and currency: the sum of the
        postings on accounts whose code starts with one of the prefixes, of the entries posted in it.
        Only the sums of postings that exist (a period without any has none)."""
        ...

    def period_sum_totals(self, operator_id: str) -> Mapping[tuple[str, str], int]:
        """(account, currency) -> the quarter-hour rollup's total over all time (the accounts of
        ``domain.ledger.balances.QUARTER_SUMMED_PREFIXES``): what ``evbill ledger check`` holds
        against the postings."""
        ...


class PaymentRepository(Protocol):
    """Payment heads and their append-only gateway events."""

    def add(self, payment: Payment) -> None: ...

    def get(self, operator_id: str, payment_id: str, *, lock: bool = False) -> Payment | None:
        """``lock``: hold the payment until commit (SELECT ... FOR UPDATE), so money-moving use cases
        on one payment run one at a time."""
        ...

    def find_by_reference(self, gateway: str, reference: str, *, lock: bool = False) -> Payment | None: ...

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[Payment]: ...

    def events(self, operator_id: str, payment_id: str) -> Sequence[PaymentEvent]:
        """In the order they happened (the gateway's time, then the order stored)."""
        ...

    def record_event(
        self, payment: Payment, event: PaymentEvent, *, idempotency_key: str | None, recorded_at: datetime
    ) -> bool:
        """Store the event once per (gateway, event id); False if it was stored already."""
        ...

    def in_flight(self, operator_id: str, payment_id: str) -> InFlight | None:
        """The payment's money move sent to the gateway and not yet recorded, if any."""
        ...

    def set_in_flight(self, move: InFlight) -> None:
        """Note the move before the gateway is called (replacing a stale one of the payment's)."""
        ...

    def clear_in_flight(self, operator_id: str, payment_id: str) -> None:
        """The move is recorded (or the gateway refused it): nothing of the payment's is in flight."""
        ...

    def set_invoice_applied(self, operator_id: str, payment_id: str, amount: int) -> None:
        """Keep what the invoice payment's capture paid of its invoice (``Payment.invoice_applied``)."""
        ...

    def find_by_idempotency_key(self, operator_id: str, key: str) -> str | None:
        """The payment an earlier request with this key acted on."""
        ...

    def of_operator(self, operator_id: str) -> Sequence[tuple[Payment, Sequence[PaymentEvent]]]:
        """Every payment with its events (for reconciliation)."""
        ...

    def of_subject(
        self, operator_id: str, purpose: PaymentPurpose, subject: str
    ) -> Sequence[tuple[Payment, Sequence[PaymentEvent]]]:
        """Every payment of this purpose naming ``subject`` (``session:<id>``), with its events in order."""
        ...

    def with_events(
        self, operator_id: str, payment_ids: Sequence[str]
    ) -> Mapping[str, tuple[Payment, Sequence[PaymentEvent]]]:
        """The payments found of ``payment_ids``, each with its events in order, by payment id."""
        ...

    def record_webhook(self, webhook: ReceivedWebhook) -> bool:
        """Keep a gateway's webhook once per (gateway, event id); False if it was received before."""
        ...


class WalletRepository(Protocol):
    def add(self, wallet: Wallet) -> None: ...

    def get(self, operator_id: str, wallet_id: str, *, lock: bool = False) -> Wallet | None: ...

    def find(self, operator_id: str, customer_id: str, currency: str) -> Wallet | None:
        """The customer's wallet in ``currency`` (one at most)."""
        ...

    def list(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[Wallet]: ...

    def balance(self, operator_id: str, wallet_id: str) -> int:
        """The sum of the wallet's transactions (recomputed, never stored)."""
        ...

    def balances(self, operator_id: str) -> Mapping[str, int]:
        """Every wallet's balance (for reconciliation)."""
        ...

    def transactions(self, operator_id: str, wallet_id: str) -> Sequence[WalletTransaction]: ...

    def transactions_of(self, operator_id: str, references: Sequence[str]) -> Sequence[WalletTransaction]:
        """Every transaction of any wallet of the operator naming one of ``references`` (``session:<id>``,
        ``spend:<id>``), in order."""
        ...

    def find_transaction(self, operator_id: str, idempotency_key: str) -> WalletTransaction | None: ...

    def add_transaction(self, transaction: WalletTransaction) -> None: ...


@dataclass(frozen=True, slots=True)
class WalletReload:
    """Reload a wallet from its customer's card on file by ``amount`` when it falls below ``threshold``."""

    wallet_id: str
    threshold: int
    amount: int


@dataclass(frozen=True, slots=True)
class CardOnFile:
    """A customer's stored payment method (a gateway token, never card data)."""

    customer_id: str
    payment_method: str
    charge_sessions: bool  # charge each session at its end (contracts paying by CARD_ON_FILE)
    gateway: str = "sandbox"  # the gateway whose token it is (the configured one when it was saved)


class SessionPaymentRepository(Protocol):
    """Ad hoc starts (pay at the charger), hold amounts, cards on file and wallet reload rules."""

    def operator_of_evse(self, evse_id: str) -> str | None:
        """The operator of an EVSE, on the whole platform (a payment link names the EVSE alone)."""
        ...

    def wallet_of(self, operator_id: str, customer_id: str, currency: str) -> str | None:
        """The id of the customer's wallet in that currency (the oldest, if several)."""
        ...

    def add_start(self, start: AdhocStart) -> None:
        """Conflict if the operator already has a start with this idempotency key."""
        ...

    def get_start(self, operator_id: str, start_id: str, *, lock: bool = False) -> AdhocStart | None: ...

    def start_by_key(self, operator_id: str, idempotency_key: str) -> AdhocStart | None: ...

    def start_by_id_tag(self, operator_id: str, id_tag: str, *, lock: bool = False) -> AdhocStart | None: ...

    def start_of_session(self, operator_id: str, session_id: str) -> AdhocStart | None: ...

    def open_start_at(
        self, operator_id: str, evse_id: str, *, other_than: str | None = None
    ) -> AdhocStart | None:
        """A start that reserves the EVSE (``adhoc.RESERVING``: placing its hold, waiting for its
        station, charging), other than ``other_than``; one waiting for 3-D Secure reserves nothing."""
        ...

    def update_start(self, start: AdhocStart, *, expected: frozenset[AdhocStatus]) -> bool:
        """Store ``start`` if the stored one's status is one of ``expected``; False if it moved on."""
        ...

    def due_starts(self, now: datetime, *, limit: int) -> Sequence[AdhocStart]:
        """Every operator's starts to finish: those not charging yet past their deadline, CHARGING
        ones whose session is no longer active."""
        ...

    def hold_amount(self, operator_id: str, location_id: str) -> tuple[int, str] | None:
        """The hold for ad hoc sessions at the location: its own, else the operator's (None: default)."""
        ...

    def set_hold_amount(
        self, operator_id: str, location_id: str | None, amount: int, currency: str, at: datetime
    ) -> None: ...

    def card_on_file(self, operator_id: str, customer_id: str) -> CardOnFile | None: ...

    def wallet_reload(self, operator_id: str, wallet_id: str) -> WalletReload | None: ...

    def set_wallet_reload(self, operator_id: str, reload: WalletReload, at: datetime) -> None: ...


class QrRenderer(Protocol):
    def render(self, text: str, output: str) -> bytes:
        """The QR code of ``text`` as an image: ``png`` or ``svg``."""
        ...


class SessionReceipts(Protocol):
    """Told by the payment side each time money was taken for one session by itself (a capture at
    the charger, a card on file charged, a wallet spend): issues that session's receipt, once, and
    sends it where it can (``application.collection.session_receipts``). Called again after a retry
    or a crash, it changes nothing more."""

    def after_payment(self, operator_id: str, session_id: str) -> None: ...


class StationCommands(Protocol):
    """Calls from the central system to a connected station (OCPP remote start and stop).

    Synchronous, for use cases in worker threads: each waits for the station's answer (or the
    timeout) and says what it was."""

    def remote_start(self, *, charge_point_id: str, evse_number: int, id_tag: str) -> CommandAnswer: ...

    def remote_stop(self, *, charge_point_id: str, transaction_id: str) -> CommandAnswer: ...


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    """Something the gateway says happened to one of its payments (in a reply or a webhook)."""

    reference: str  # the gateway's payment reference (a PaymentIntent id)
    event_id: str  # the gateway's id of the event: the same in the reply and in its webhook
    kind: EventKind
    amount: int
    currency: str
    occurred_at: datetime
    detail: str | None = None
    # the idempotency key of the gateway request that caused it ("<operator id>:<key>"), where the
    # gateway says (Stripe: the event's request.idempotency_key): a retry after the webhook replays
    request_key: str | None = None
    # the operator the gateway's own record names (Stripe: metadata), checked against the payment
    operator_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """A webhook as received, signature checked (append-only, one per gateway event id)."""

    gateway: str
    event_id: str
    event_type: str
    operator_id: str | None  # the operator of the payment it concerns, when evbill knows one
    payment_id: str | None
    outcome: str  # what evbill did with it: "applied", "unknown payment", "operator mismatch", ...
    payload: str  # the body as received (gateway objects: tokens and ids, never card numbers)
    received_at: datetime


@dataclass(frozen=True, slots=True)
class GatewayResult:
    reference: str
    events: tuple[GatewayEvent, ...]
    next_action_url: str | None = None  # 3-D Secure: where the customer authenticates


@dataclass(frozen=True, slots=True)
class GatewayCardSetup:
    """A card setup at the gateway (a Stripe SetupIntent) as the gateway says it is now."""

    reference: str  # seti_...
    status: str  # requires_payment_method, requires_action (3-D Secure), succeeded, canceled ...
    client_secret: str | None = None  # for the customer's browser (Stripe.js): never stored
    payment_method: str | None = None  # the token the card became, once succeeded (never card data)
    operator_id: str | None = None  # the operator the gateway's record names (Stripe: metadata)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded" and bool(self.payment_method)


class PaymentGateway(Protocol):
    """A payment gateway. Every call carries an idempotency key: the same key gives the same result
    (and moves money at most once), so a call retried after a crash reconciles instead of repeating."""

    name: str

    def authorise(
        self, *, amount: SettledMoney, payment_method: str, idempotency_key: str, description: str
    ) -> GatewayResult:
        """A hold of ``amount`` on the payment method (a gateway token, never card data)."""
        ...

    def confirm(self, *, reference: str, idempotency_key: str) -> GatewayResult:
        """After the customer's authentication (3-D Secure): authorised or declined."""
        ...

    def capture(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult:
        """Capture ``amount`` (<= the hold); the rest of the hold is released."""
        ...

    def release(self, *, reference: str, idempotency_key: str) -> GatewayResult: ...

    def refund(self, *, reference: str, amount: SettledMoney, idempotency_key: str) -> GatewayResult: ...

    def start_card_setup(
        self, *, operator_id: str, customer_id: str, idempotency_key: str
    ) -> GatewayCardSetup:
        """A card setup for the customer to save a card for later (off-session) charges in their own
        browser: the gateway's reference and the client secret its page needs. No card data passes
        through evbill; the setup's outcome is read with ``card_setup`` (or told by webhook)."""
        ...

    def card_setup(self, *, reference: str) -> GatewayCardSetup:
        """What the gateway says of a card setup now (succeeded: the token the card became)."""
        ...


@dataclass(frozen=True, slots=True)
class MailAttachment:
    filename: str
    content_type: str  # e.g. "application/pdf"
    data: bytes


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message to send: plain text (and an optional HTML alternative), with attachments."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[MailAttachment, ...] = ()
    reply_to: str | None = None


class Mailer(Protocol):
    """Sends e-mail. ``send`` returns the Message-ID it gave the message; it raises on a refusal."""

    def send(self, mail: OutgoingMail) -> str: ...


class CollectionRepository(Protocol):
    """Getting paid: bank transactions, SEPA mandates and direct debits, cards on file, charge attempts,
    reminders, suspensions and each operator's collection policy."""

    def add_bank_transactions(self, transactions: Sequence[BankTransaction]) -> set[str]:
        """Store those whose (operator, entry key) is not stored yet; the entry keys stored."""
        ...

    def bank_transaction_keys(self, operator_id: str, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` stored already."""
        ...

    def bank_transactions(self, operator_id: str) -> Sequence[BankTransaction]: ...

    def add_mandate(self, mandate: Mandate) -> None: ...

    def mandates(self, operator_id: str, customer_id: str | None = None) -> Sequence[Mandate]: ...

    def revoke_mandate(self, operator_id: str, mandate_id: str, at: datetime) -> None:
        """Mark the mandate revoked (once: a revoked one keeps its first revocation time)."""
        ...

    def mark_first_collected(self, operator_id: str, mandate_id: str, on: date) -> None:
        """The mandate's first collection was sent (its next ones are RCUR); once only."""
        ...

    def add_direct_debit(self, debit: DirectDebit) -> None: ...

    def debited_invoices(self, operator_id: str) -> set[str]:
        """Ids of the invoices already in a collection file."""
        ...

    def save_card(self, card: dunning.CardOnFile) -> None:
        """Save the customer's card on file (replacing the one saved before)."""
        ...

    def card_of(self, operator_id: str, customer_id: str) -> dunning.CardOnFile | None: ...

    def cards(self, operator_id: str, *, after: str | None, limit: int) -> Sequence[dunning.CardOnFile]:
        """The operator's cards on file, by customer id (cursor: the last customer id seen)."""
        ...

    def set_charge_sessions(
        self,
        operator_id: str,
        customer_id: str,
        charge_sessions: bool,
        *,
        expected: dunning.CardOnFile | None = None,
    ) -> bool:
        """Whether the card also pays each session; False if the customer has no card on file (or,
        with ``expected``, if the stored card is no longer that one: token or switch changed)."""
        ...

    def remove_card(self, operator_id: str, customer_id: str) -> bool:
        """Forget the customer's card on file; False if there was none."""
        ...

    def add_card_setup(self, setup: dunning.CardSetup) -> bool:
        """Keep a card setup started at the gateway; False if it was kept before (a replayed start)."""
        ...

    def card_setup(self, gateway: str, reference: str, *, lock: bool = False) -> dunning.CardSetup | None:
        """The setup evbill started under this gateway reference (any operator's: the caller checks)."""
        ...

    def mark_card_setup_saved(self, gateway: str, reference: str, at: datetime) -> None:
        """The card the setup gave is saved on file."""
        ...

    def add_attempt(self, attempt: ChargeAttempt) -> None:
        """Conflict if the invoice's attempt of that number is stored already."""
        ...

    def attempts(self, operator_id: str, invoice_id: str) -> Sequence[ChargeAttempt]: ...

    def first_attempts(self, operator_id: str, invoice_ids: Sequence[str]) -> Mapping[str, ChargeAttempt]:
        """Attempt 1 of each of the invoices that has one, by invoice id (a run's summary)."""
        ...

    def add_reminder(self, reminder: Reminder) -> None:
        """Conflict if the invoice's reminder of that number is stored already."""
        ...

    def reminders(self, operator_id: str, invoice_id: str) -> Sequence[Reminder]: ...

    def add_suspension(self, suspension: Suspension) -> None: ...

    def active_suspensions(
        self, operator_id: str, customer_id: str | None = None
    ) -> Sequence[Suspension]: ...

    def lift_suspension(self, operator_id: str, suspension_id: str, at: datetime) -> None: ...

    def policy(self, operator_id: str) -> CollectionPolicy | None: ...

    def save_policy(self, policy: CollectionPolicy, at: datetime) -> None: ...


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
    session_reviews: SessionReviewLog
    connector_states: ConnectorStates
    frame_retention: FrameRetention
    analytics: AnalyticsRepository
    status_history: StatusHistoryRepository
    ledger: LedgerRepository
    payments: PaymentRepository
    wallets: WalletRepository
    bills: BillRepository
    invoices: InvoiceRepository
    session_payments: SessionPaymentRepository
    billing_runs: BillingRunRepository
    document_files: DocumentFiles
    collection: CollectionRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self, *, give_way: bool = False) -> None:
        """``give_way``: a long batch (a billing run's chunk) that will write again at once pauses a
        moment after committing, so other processes' writers get their turn on SQLite (whose busy wait
        polls every 100 ms at the slowest: back-to-back transactions would starve them)."""
        ...


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

    def read_cdr_usage(self, document: object) -> SessionUsage:
        """``read_cdr(document).usage``, faster for a well-formed CDR (a batch's hot path)."""
        ...

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

    def write_priced_cdr_line(
        self,
        document: Mapping[str, Any],
        totals: FastTotals,
        *,
        currency: str,
        tariff_json: bytes,
        rounding: RoundingMode,
    ) -> bytes:
        """``write_priced_cdr`` from a session's totals, as one JSON line (``tariffs``: the tariff's JSON)."""
        ...

    def read_cdr_periods(self, document: object, currency: str) -> tuple[list[FixedPeriod], datetime] | None:
        """A well-formed CDR in ``currency`` as fixed-point periods and its end; None for anything
        else (``read_cdr_usage`` reads it, naming every problem)."""
        ...

    def priced_line_writer(
        self, *, currency: str, tariff_json: bytes, rounding: RoundingMode
    ) -> PricedLineWriting:
        """Writes ``write_priced_cdr_line`` from fixed-point totals (``rating.fixed_point``)."""
        ...


class PricedLineWriting(Protocol):
    def line(self, document: Mapping[str, Any], totals: FixedTotals) -> bytes:
        """The priced CDR as one JSON line, byte for byte what ``write_priced_cdr_line`` writes."""
        ...


class Limiter(Protocol):
    """Counts events per key and says when there were too many: a rate of ``limit`` per ``period``
    seconds with bursts of up to ``limit`` (a token bucket, kept as GCRA). One limiter is shared by
    every API process and the OCPP server when it lives in Redis; in-process on the embedded default.

    Used for the per-key request rate and for throttling failed authentication (per client address,
    per API key prefix, per charge point id): check ``refuses`` before the costly check, ``take``
    after a failure.
    """

    async def take(self, key: str, *, limit: int, period: float) -> float | None:
        """Count one event: None while within the rate, else the seconds until one is allowed
        (the event is then not counted)."""
        ...

    async def refuses(self, key: str, *, limit: int, period: float) -> float | None:
        """Whether the next event would be refused (seconds to wait), without counting one."""
        ...


class IdempotencyStore(Protocol):
    """The first answer to each (operator, Idempotency-Key)."""

    def claim(
        self,
        reservation: IdempotentRequest,
        decide: Callable[[IdempotentRequest | None], Decision],
    ) -> tuple[Decision, IdempotentRequest | None]:
        """Decide on the stored record (under a lock) and, on RESERVE, store ``reservation``."""
        ...

    def complete(self, operator_id: str, key: str, status: int, headers: str, body: str) -> None: ...

    def release(self, operator_id: str, key: str) -> None:
        """Forget a reservation whose request failed (a server error): a retry runs again."""
        ...
