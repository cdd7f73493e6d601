"""Rows to domain records and back, by hand: each column is named after its record's field.

A record becomes a row field by field, enums as their values (``OcppVersion.V201`` -> ``"2.0.1"``,
``SecurityProfile.TLS_BASIC`` -> ``2``); a row becomes the frozen record again with its enums rebuilt.
Decimals, aware datetimes and documents pass through as they are: the column types keep them exact.

A few fields hold small structures, stored as JSON (``JsonDocument`` keeps their decimals exact) and
rebuilt into the record's own types on the way back:

    PlanVersion.tariffs    {ConnectorClass.AC: "t1"}  <->  {"AC": "t1"}
    ContractTerms.services (ServiceFee(RFID_CARD, "Card", Decimal("-5.00"), None, ONCE),)
                           <->  [{"kind": "RFID_CARD", "description": "Card", "amount": -5.00,
                                  "vat": null, "recurrence": "ONCE"}]
    ChargingSession.parts  (ChargePart(ENERGY, Decimal("21"), Decimal("4.8148144200")),)
                           <->  [{"dimension": "ENERGY", "vat": 21, "excl_vat": 4.8148144200}]

A JSON number without a point comes back as an ``int``; it becomes the equal ``Decimal`` again, never
a float.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import RowMapping, Table

from evbill.adapters.db.access import tables as access_tables
from evbill.adapters.db.analytics import tables as analytics_tables
from evbill.adapters.db.billing import tables as billing_tables
from evbill.adapters.db.charging import tables as charging_tables
from evbill.adapters.db.charging_state import tables as charging_state_tables
from evbill.adapters.db.collection import tables as collection_tables
from evbill.adapters.db.idempotency import tables as idempotency_tables
from evbill.adapters.db.invoicing import tables as invoicing_tables
from evbill.adapters.db.ledger import tables as ledger_tables
from evbill.adapters.db.offers import tables as offer_tables
from evbill.adapters.db.payments import tables as payment_tables
from evbill.adapters.db.runs import tables as run_tables
from evbill.adapters.db.session_payments import tables as session_payment_tables
from evbill.adapters.db.sites import tables as site_tables
from evbill.adapters.db.tariffs import tables as tariff_tables
from evbill.domain.access.idempotency import IdempotentRequest
from evbill.domain.access.keys import ApiKey, AuditAction, AuditEntry
from evbill.domain.access.operators import Operator, Role
from evbill.domain.charging.connectors import ConnectorState
from evbill.domain.charging.frames import Direction, RefusalReason
from evbill.domain.charging.review import ReviewAction, ReviewEvent
from evbill.domain.charging.sessions import ChargePart, ChargingSession, SessionStatus
from evbill.domain.collection.dunning import (
    CardOnFile,
    CardSetup,
    ChargeAttempt,
    DirectDebit,
    Reminder,
    Suspension,
)
from evbill.domain.collection.mandates import Mandate, SequenceType
from evbill.domain.collection.statements import BankTransaction, MatchedBy, Outcome
from evbill.domain.invoicing.deliveries import Delivery
from evbill.domain.metering.cleaning import ChargingState, ReadingContext
from evbill.domain.money import RoundingMode
from evbill.domain.offers.contracts import (
    Contract,
    ContractStatus,
    ContractTerms,
    FeeRecurrence,
    PaymentMethodKind,
    ServiceFee,
    ServiceKind,
)
from evbill.domain.offers.customers import Customer, CustomerKind, Token, TokenStatus, TokenType
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind, Redemption
from evbill.domain.payments.adhoc import AdhocStart, AdhocStatus
from evbill.domain.payments.model import (
    InFlight,
    Payment,
    PaymentPurpose,
    Wallet,
    WalletTransaction,
    WalletTransactionKind,
)
from evbill.domain.sites.model import (
    ChargingStation,
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    Location,
    OcppVersion,
    PowerType,
    SecurityProfile,
    StationRequest,
)
from evbill.domain.tariffs.catalog import AssignmentScope, TariffAssignment, TariffRecord, TariffVersion
from evbill.domain.tariffs.model import TariffDimension

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class JsonField:
    """How a structured field becomes a JSON document and back."""

    to_document: Callable[[Any], Any]
    from_document: Callable[[Any], Any]


class RecordMapping(Generic[R]):
    """How one kind of record maps to its table: the record class, its enum and its JSON fields."""

    def __init__(
        self,
        record_type: type[R],
        *,
        enums: Mapping[str, type[enum.Enum]],
        documents: Mapping[str, JsonField] | None = None,
    ) -> None:
        self.record_type = record_type
        self.field_names = tuple(field.name for field in fields(record_type))  # type: ignore[arg-type]
        self.enums = dict(enums)
        self.documents = dict(documents or {})

    def to_row(self, record: R) -> dict[str, Any]:
        row = {name: _plain(getattr(record, name)) for name in self.field_names}
        for name, codec in self.documents.items():
            row[name] = codec.to_document(row[name])
        return row

    def reader(self, columns: Sequence[str]) -> Callable[[Sequence[Any]], R]:
        """``from_row`` for rows whose values come in the order of ``columns`` (a ``select(table)``'s):
        the same record, without a mapping per row (lists read fifty rows per request)."""
        take = itemgetter(*(list(columns).index(name) for name in self.field_names))
        converters: list[tuple[int, Callable[[Any], Any], bool]] = [
            (self.field_names.index(name), enum_type, True) for name, enum_type in self.enums.items()
        ]
        converters += [
            (self.field_names.index(name), codec.from_document, False)
            for name, codec in self.documents.items()
        ]
        record_type = self.record_type

        def read(row: Sequence[Any]) -> R:
            values = list(take(row))
            for index, convert, skip_none in converters:
                value = values[index]
                if value is not None or not skip_none:
                    values[index] = convert(value)
            return record_type(*values)

        return read

    def from_row(self, row: RowMapping) -> R:
        values = {name: row[name] for name in self.field_names}
        for name, enum_type in self.enums.items():
            if values[name] is not None:
                values[name] = enum_type(values[name])
        for name, codec in self.documents.items():
            values[name] = codec.from_document(values[name])
        return self.record_type(**values)


def _plain(value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def _exact(value: object, name: str) -> Decimal | None:
    """A decimal bound for JSON: None or a Decimal (an int is taken as the equal Decimal), never a float."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{name} must be an exact Decimal, not {type(value).__name__} ({value!r})")


def _required(value: object, name: str) -> Decimal:
    exact = _exact(value, name)
    if exact is None:
        raise TypeError(f"{name} must be a Decimal, not None")
    return exact


def _tariffs_to_document(tariffs: Mapping[ConnectorClass, str]) -> dict[str, str]:
    return {
        ConnectorClass(connector_class).value: tariff_id for connector_class, tariff_id in tariffs.items()
    }


def _tariffs_from_document(document: Mapping[str, str]) -> dict[ConnectorClass, str]:
    return {ConnectorClass(connector_class): tariff_id for connector_class, tariff_id in document.items()}


def _services_to_document(services: tuple[ServiceFee, ...]) -> list[dict[str, Any]]:
    return [
        {
            "kind": ServiceKind(fee.kind).value,
            "description": fee.description,
            "amount": _required(fee.amount, "a service fee amount"),
            "vat": _exact(fee.vat, "a service fee VAT rate"),
            "recurrence": FeeRecurrence(fee.recurrence).value,
        }
        for fee in services
    ]


def _services_from_document(document: list[dict[str, Any]]) -> tuple[ServiceFee, ...]:
    return tuple(
        ServiceFee(
            kind=ServiceKind(fee["kind"]),
            description=fee["description"],
            amount=_required(fee["amount"], "a service fee amount"),
            vat=_exact(fee["vat"], "a service fee VAT rate"),
            recurrence=FeeRecurrence(fee["recurrence"]),
        )
        for fee in document
    )


def _parts_to_document(parts: tuple[ChargePart, ...]) -> list[dict[str, Any]]:
    return [
        {
            "dimension": TariffDimension(part.dimension).value,
            "vat": _exact(part.vat, "a price part's VAT rate"),
            "excl_vat": _required(part.excl_vat, "a price part's amount"),
        }
        for part in parts
    ]


def _parts_from_document(document: list[dict[str, Any]]) -> tuple[ChargePart, ...]:
    return tuple(
        ChargePart(
            dimension=TariffDimension(part["dimension"]),
            vat=_exact(part["vat"], "a price part's VAT rate"),
            excl_vat=_required(part["excl_vat"], "a price part's amount"),
        )
        for part in document
    )


TARIFF_PER_CLASS = JsonField(_tariffs_to_document, _tariffs_from_document)
SERVICE_FEES = JsonField(_services_to_document, _services_from_document)
CHARGE_PARTS = JsonField(_parts_to_document, _parts_from_document)


@dataclass(frozen=True, slots=True)
class CustomerPromotion:
    """A row of customer_promotions: a promotion given to a customer (the port speaks in ids)."""

    operator_id: str
    customer_id: str
    promotion_id: str
    given_at: datetime


@dataclass(frozen=True, slots=True)
class FrameRow:
    """A row of ocpp_frames: a domain Frame with its place in the log."""

    id: int | None
    operator_id: str
    station_id: str
    charge_point_id: str
    direction: Direction
    at: datetime
    message_type: int | None
    unique_id: str | None
    action: str | None
    raw: str
    session_id: str | None


@dataclass(frozen=True, slots=True)
class MeterSampleRow:
    """A row of meter_samples: a domain MeterSample as the charger sent it, with its session."""

    id: int | None
    operator_id: str
    session_id: str
    timestamp: datetime
    energy: Decimal | None
    energy_unit: str
    multiplier: int
    power: Decimal | None
    power_unit: str
    current: Decimal | None
    state: ChargingState | None
    seq_no: int | None
    context: ReadingContext | None
    offline: bool
    signed_data: str | None
    frame_id: int | None


@dataclass(frozen=True, slots=True)
class RefusedFramesRow:
    """A row of ocpp_refused_frames: a station's frames refused unread in one window, counted."""

    id: int | None
    operator_id: str
    station_id: str
    charge_point_id: str
    reason: RefusalReason
    window_start: datetime
    window_seconds: int
    frames: int
    bytes: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True, slots=True)
class FramePurge:
    """A row of ocpp_frame_purges: one run of the retention command (open only inside its transaction)."""

    id: int | None
    at: datetime
    cutoff: datetime
    open: bool
    frames: int
    archive: str | None


@dataclass(frozen=True, slots=True)
class SessionEvidence:
    session_id: str
    operator_id: str
    start_key: str | None
    details: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SessionUsageRow:
    """The periods a session was rated on, as analytics/tables.py stores them."""

    session_id: str
    operator_id: str
    periods: str


@dataclass(frozen=True, slots=True)
class EnergyPurchaseRow:
    """How a location buys energy, as analytics/tables.py stores it (windows: JSON text)."""

    location_id: str
    operator_id: str
    currency: str
    kind: str
    fixed_price: Decimal | None
    windows: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EnergyPriceRow:
    """One imported purchase price per kWh for a location's UTC quarter hour."""

    location_id: str
    starts_at: datetime
    operator_id: str
    price: Decimal


OPERATORS = RecordMapping(Operator, enums={"rounding_mode": RoundingMode})
LOCATIONS = RecordMapping(Location, enums={})
STATIONS = RecordMapping(
    ChargingStation, enums={"ocpp_version": OcppVersion, "security_profile": SecurityProfile}
)
EVSES = RecordMapping(Evse, enums={})
CONNECTORS = RecordMapping(
    Connector, enums={"standard": ConnectorStandard, "format": ConnectorFormat, "power_type": PowerType}
)
TARIFFS = RecordMapping(TariffRecord, enums={})
TARIFF_VERSIONS = RecordMapping(TariffVersion, enums={})
ASSIGNMENTS = RecordMapping(TariffAssignment, enums={"scope": AssignmentScope})
IDEMPOTENCY_KEYS = RecordMapping(IdempotentRequest, enums={})
SESSIONS = RecordMapping(
    ChargingSession,
    enums={"status": SessionStatus, "connector_class": ConnectorClass},
    documents={"parts": CHARGE_PARTS},
)
API_KEYS = RecordMapping(ApiKey, enums={"role": Role})
AUDIT_ENTRIES = RecordMapping(AuditEntry, enums={"action": AuditAction})
CUSTOMERS = RecordMapping(Customer, enums={"kind": CustomerKind})
TOKENS = RecordMapping(Token, enums={"type": TokenType, "status": TokenStatus})
PLANS = RecordMapping(Plan, enums={"kind": PlanKind})
PLAN_VERSIONS = RecordMapping(
    PlanVersion, enums={"fee_cycle": BillingCycle}, documents={"tariffs": TARIFF_PER_CLASS}
)
CONTRACTS = RecordMapping(Contract, enums={"status": ContractStatus})
CONTRACT_TERMS = RecordMapping(
    ContractTerms,
    enums={"billing_cycle": BillingCycle, "payment_method": PaymentMethodKind},
    documents={"overrides": TARIFF_PER_CLASS, "services": SERVICE_FEES},
)
PROMOTIONS = RecordMapping(
    Promotion, enums={"kind": PromotionKind, "discount_kind": DiscountKind, "duration": Duration}
)
CUSTOMER_PROMOTIONS = RecordMapping(CustomerPromotion, enums={})
REDEMPTIONS = RecordMapping(Redemption, enums={})
FRAMES = RecordMapping(FrameRow, enums={"direction": Direction})
METER_SAMPLES = RecordMapping(MeterSampleRow, enums={"state": ChargingState, "context": ReadingContext})
SESSION_EVIDENCE = RecordMapping(SessionEvidence, enums={})
REFUSED_FRAMES = RecordMapping(RefusedFramesRow, enums={"reason": RefusalReason})
FRAME_PURGES = RecordMapping(FramePurge, enums={})
STATION_REQUESTS = RecordMapping(StationRequest, enums={})
SESSION_REVIEWS = RecordMapping(
    ReviewEvent, enums={"action": ReviewAction, "status_before": SessionStatus, "status_after": SessionStatus}
)
CONNECTOR_STATES = RecordMapping(ConnectorState, enums={})
SESSION_USAGE = RecordMapping(SessionUsageRow, enums={})
ENERGY_PURCHASES = RecordMapping(EnergyPurchaseRow, enums={})
ENERGY_PRICES = RecordMapping(EnergyPriceRow, enums={})

# Which table holds which records; a test checks every table's columns are its record's fields.
BANK_TRANSACTIONS = RecordMapping(BankTransaction, enums={"outcome": Outcome, "matched_by": MatchedBy})
MANDATES = RecordMapping(Mandate, enums={})
DIRECT_DEBITS = RecordMapping(DirectDebit, enums={"sequence_type": SequenceType})
CARDS_ON_FILE = RecordMapping(CardOnFile, enums={})
CARD_SETUPS = RecordMapping(CardSetup, enums={})
CHARGE_ATTEMPTS = RecordMapping(ChargeAttempt, enums={})
REMINDERS = RecordMapping(Reminder, enums={})
SUSPENSIONS = RecordMapping(Suspension, enums={}, documents={"token_ids": JsonField(list, tuple)})

TABLE_OF: dict[str, tuple[Table, RecordMapping[Any]]] = {
    "idempotency_keys": (idempotency_tables.idempotency_keys, IDEMPOTENCY_KEYS),
    "operators": (access_tables.operators, OPERATORS),
    "locations": (site_tables.locations, LOCATIONS),
    "charging_stations": (site_tables.charging_stations, STATIONS),
    "evses": (site_tables.evses, EVSES),
    "connectors": (site_tables.connectors, CONNECTORS),
    "tariffs": (tariff_tables.tariffs, TARIFFS),
    "tariff_versions": (tariff_tables.tariff_versions, TARIFF_VERSIONS),
    "tariff_assignments": (tariff_tables.tariff_assignments, ASSIGNMENTS),
    "charging_sessions": (charging_tables.charging_sessions, SESSIONS),
    "api_keys": (access_tables.api_keys, API_KEYS),
    "audit_log": (access_tables.audit_log, AUDIT_ENTRIES),
    "customers": (offer_tables.customers, CUSTOMERS),
    "tokens": (offer_tables.tokens, TOKENS),
    "plans": (offer_tables.plans, PLANS),
    "plan_versions": (offer_tables.plan_versions, PLAN_VERSIONS),
    "contracts": (offer_tables.contracts, CONTRACTS),
    "contract_terms": (offer_tables.contract_terms, CONTRACT_TERMS),
    "promotions": (offer_tables.promotions, PROMOTIONS),
    "customer_promotions": (offer_tables.customer_promotions, CUSTOMER_PROMOTIONS),
    "redemptions": (offer_tables.redemptions, REDEMPTIONS),
    "ocpp_frames": (charging_tables.ocpp_frames, FRAMES),
    "meter_samples": (charging_tables.meter_samples, METER_SAMPLES),
    "session_evidence": (charging_tables.session_evidence, SESSION_EVIDENCE),
    "ocpp_refused_frames": (charging_tables.ocpp_refused_frames, REFUSED_FRAMES),
    "ocpp_frame_purges": (charging_tables.ocpp_frame_purges, FRAME_PURGES),
    "session_usage": (analytics_tables.session_usage, SESSION_USAGE),
    "energy_purchases": (analytics_tables.energy_purchases, ENERGY_PURCHASES),
    "energy_prices": (analytics_tables.energy_prices, ENERGY_PRICES),
    "location_fees": (
        analytics_tables.location_fees,
        RecordMapping(analytics_tables.LocationFeesRow, enums={}),
    ),
    "operator_fees": (
        analytics_tables.operator_fees,
        RecordMapping(analytics_tables.OperatorFeesRow, enums={}),
    ),
    "session_report_facts": (
        analytics_tables.session_report_facts,
        RecordMapping(analytics_tables.ReportFactRow, enums={}),
    ),
    "report_refresh_queue": (
        analytics_tables.report_refresh_queue,
        RecordMapping(analytics_tables.RefreshQueueRow, enums={}),
    ),
    "report_day_sums": (
        analytics_tables.report_day_sums,
        RecordMapping(analytics_tables.ReportDaySumsRow, enums={}),
    ),
    "report_place_sums": (
        analytics_tables.report_place_sums,
        RecordMapping(analytics_tables.ReportPlaceSumsRow, enums={}),
    ),
    "report_place_totals": (
        analytics_tables.report_place_totals,
        RecordMapping(analytics_tables.ReportPlaceTotalsRow, enums={}),
    ),
    "report_customer_sums": (
        analytics_tables.report_customer_sums,
        RecordMapping(analytics_tables.ReportCustomerSumsRow, enums={}),
    ),
    "report_customer_totals": (
        analytics_tables.report_customer_totals,
        RecordMapping(analytics_tables.ReportCustomerTotalsRow, enums={}),
    ),
    "report_heat_sums": (
        analytics_tables.report_heat_sums,
        RecordMapping(analytics_tables.ReportHeatSumsRow, enums={}),
    ),
    "report_key_customers": (
        analytics_tables.report_key_customers,
        RecordMapping(analytics_tables.ReportKeyCustomersRow, enums={}),
    ),
    "report_rollup_state": (
        analytics_tables.report_rollup_state,
        RecordMapping(analytics_tables.ReportRollupStateRow, enums={}),
    ),
    "station_requests": (charging_tables.station_requests, STATION_REQUESTS),
    "session_reviews": (charging_state_tables.session_reviews, SESSION_REVIEWS),
    "connector_states": (charging_state_tables.connector_states, CONNECTOR_STATES),
    "connector_status_history": (
        charging_state_tables.connector_status_history,
        RecordMapping(charging_state_tables.StatusHistoryRow, enums={}),
    ),
    "ledger_entries": (ledger_tables.ledger_entries, RecordMapping(ledger_tables.EntryRow, enums={})),
    "ledger_postings": (ledger_tables.ledger_postings, RecordMapping(ledger_tables.PostingRow, enums={})),
    "ledger_period_sums": (
        ledger_tables.ledger_period_sums,
        RecordMapping(ledger_tables.PeriodSumRow, enums={}),
    ),
    "payments": (payment_tables.payments, RecordMapping(Payment, enums={"purpose": PaymentPurpose})),
    "payments_in_flight": (payment_tables.payments_in_flight, RecordMapping(InFlight, enums={})),
    "payment_events": (
        payment_tables.payment_events,
        RecordMapping(payment_tables.PaymentEventRow, enums={}),
    ),
    "gateway_webhooks": (
        payment_tables.gateway_webhooks,
        RecordMapping(payment_tables.WebhookRow, enums={}),
    ),
    "wallets": (payment_tables.wallets, RecordMapping(Wallet, enums={})),
    "wallet_transactions": (
        payment_tables.wallet_transactions,
        RecordMapping(WalletTransaction, enums={"kind": WalletTransactionKind}),
    ),
    "bills": (billing_tables.bills, RecordMapping(billing_tables.BillRow, enums={})),
    "invoices": (invoicing_tables.invoices, RecordMapping(invoicing_tables.InvoiceRow, enums={})),
    "invoice_counters": (
        invoicing_tables.invoice_counters,
        RecordMapping(invoicing_tables.CounterRow, enums={}),
    ),
    "invoicing_profiles": (
        invoicing_tables.invoicing_profiles,
        RecordMapping(invoicing_tables.ProfileRow, enums={}),
    ),
    "adhoc_starts": (
        session_payment_tables.adhoc_starts,
        RecordMapping(AdhocStart, enums={"status": AdhocStatus}),
    ),
    "hold_amounts": (
        session_payment_tables.hold_amounts,
        RecordMapping(session_payment_tables.HoldAmountRow, enums={}),
    ),
    "cards_on_file": (payment_tables.cards_on_file, RecordMapping(payment_tables.CardOnFileRow, enums={})),
    "wallet_reloads": (
        session_payment_tables.wallet_reloads,
        RecordMapping(session_payment_tables.WalletReloadRow, enums={}),
    ),
    "billing_runs": (run_tables.billing_runs, RecordMapping(run_tables.RunRow, enums={})),
    "billing_run_items": (run_tables.billing_run_items, RecordMapping(run_tables.RunItemRow, enums={})),
    "document_files": (run_tables.document_files, RecordMapping(run_tables.DocumentFileRow, enums={})),
    "session_receipts": (
        invoicing_tables.session_receipts,
        RecordMapping(invoicing_tables.SessionReceiptRow, enums={}),
    ),
    "document_deliveries": (invoicing_tables.document_deliveries, RecordMapping(Delivery, enums={})),
    "bank_transactions": (collection_tables.bank_transactions, BANK_TRANSACTIONS),
    "sepa_mandates": (collection_tables.sepa_mandates, MANDATES),
    "direct_debits": (collection_tables.direct_debits, DIRECT_DEBITS),
    "charge_attempts": (collection_tables.charge_attempts, CHARGE_ATTEMPTS),
    "payment_reminders": (collection_tables.payment_reminders, REMINDERS),
    "suspensions": (collection_tables.suspensions, SUSPENSIONS),
    "card_setups": (collection_tables.card_setups, CARD_SETUPS),
    "collection_policies": (
        collection_tables.collection_policies,
        RecordMapping(collection_tables.PolicyRow, enums={}),
    ),
}
