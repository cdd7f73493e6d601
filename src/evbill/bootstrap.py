"""The one wiring root: builds adapters from settings and hands them to the entrypoints.

Nothing is built at import time; entrypoints call ``bootstrap(settings)`` once and keep the result.
Nothing heavy is imported at import time either: each adapter (SQLAlchemy and Alembic, the OCPP
server, argon2) is imported when the container first builds it, so a command that needs no database
(``evbill rate``, ``evbill --help``) starts without loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from evbill.config import Settings

if TYPE_CHECKING:  # the use cases' interfaces load with the first thing built, not with the CLI
    from sqlalchemy.engine import Engine

    from evbill.adapters.banking import SchwiftyIbanChecker
    from evbill.adapters.banking.sepa import SepaXmlWriter
    from evbill.adapters.banking.statements import StatementFileReader
    from evbill.adapters.charts.vega import VegaChartRenderer
    from evbill.adapters.documents.renderer import DocumentRenderer
    from evbill.adapters.exports.parquet import ParquetReportWriter
    from evbill.adapters.ocpp.commands import OcppStationCommands
    from evbill.adapters.ocpp.server import OcppEndpoint
    from evbill.adapters.payments.stripe import StripeGateway
    from evbill.adapters.queue import HueyQueue
    from evbill.application.payments.adhoc import PayAtCharger
    from evbill.application.ports import (
        IdempotencyStore,
        Limiter,
        Mailer,
        OcpiCodec,
        PaymentGateway,
        QrRenderer,
    )
    from evbill.application.records import Services


@dataclass
class Container:
    settings: Settings
    create_database: bool = True  # False (the CLI): a missing SQLite file is an error, never made empty

    @cached_property
    def ocpi(self) -> OcpiCodec:
        from evbill.adapters.ocpi.codec import Ocpi221Codec

        return Ocpi221Codec()

    @cached_property
    def engine(self) -> Engine:
        from evbill.adapters.db.engine import create_database_engine

        return create_database_engine(self.settings.database_url, create=self.create_database)

    @cached_property
    def services(self) -> Services:
        from evbill.adapters.db.uow import SqlAlchemyUnitOfWorkFactory
        from evbill.adapters.passwords import Argon2Hasher
        from evbill.adapters.system import SystemClock, Uuid7Generator
        from evbill.adapters.vat import StdnumVatChecker
        from evbill.application.records import Services
        from evbill.domain.metering.plausibility import PlausibilityRules

        return Services(
            uow=SqlAlchemyUnitOfWorkFactory(self.engine),
            clock=SystemClock(),
            ids=Uuid7Generator(),
            ocpi=self.ocpi,
            passwords=Argon2Hasher(),
            vat_ids=StdnumVatChecker(),
            plausibility=PlausibilityRules(
                clock_skew=timedelta(seconds=self.settings.ocpp_clock_skew_seconds),
                max_offline=timedelta(days=self.settings.ocpp_max_offline_days),
            ),
        )

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from evbill.adapters.db.idempotency.store import SqlIdempotencyStore

        return SqlIdempotencyStore(self.engine)

    @cached_property
    def limiter(self) -> Limiter:
        """Request rates and failed logins, counted in this process or shared (EVBILL_LIMITER)."""
        from evbill.adapters.limits import build_limiter

        return build_limiter(self.settings.limiter_url)

    @cached_property
    def payment_gateway(self) -> PaymentGateway:
        """EVBILL_PAYMENT_GATEWAY: the built-in sandbox (test tokens, in memory per process), or Stripe
        (EVBILL_STRIPE_SECRET_KEY, EVBILL_STRIPE_WEBHOOK_SECRET, EVBILL_STRIPE_API_BASE)."""
        from evbill.adapters.system import SystemClock

        if self.settings.payment_gateway == "stripe":
            return self.stripe_gateway
        from evbill.adapters.payments.sandbox import SandboxGateway

        return SandboxGateway(SystemClock().now)

    @cached_property
    def stripe_gateway(self) -> StripeGateway:
        """The Stripe gateway (also what checks and reads POST /webhooks/stripe)."""
        from evbill.adapters.payments.stripe import StripeGateway
        from evbill.adapters.system import SystemClock

        settings = self.settings
        return StripeGateway(
            secret_key=settings.stripe_secret_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
            clock=SystemClock().now,
        )

    @cached_property
    def mailer(self) -> Mailer:
        """SMTP (EVBILL_SMTP_URL, EVBILL_MAIL_FROM); unset, sending is refused naming the setting."""
        from evbill.adapters.mail import build_mailer

        return build_mailer(self.settings.smtp_url, self.settings.mail_from)

    @cached_property
    def demo_mailer(self) -> Mailer:
        """The demo's reminders: the configured SMTP server, or kept in memory when none is set."""
        from evbill.adapters.mail import build_mailer

        return build_mailer(self.settings.smtp_url or "memory", self.settings.mail_from)

    @cached_property
    def ibans(self) -> SchwiftyIbanChecker:
        from evbill.adapters.banking import SchwiftyIbanChecker

        return SchwiftyIbanChecker()

    @cached_property
    def statement_reader(self) -> StatementFileReader:
        """Bank statements: camt.053 (001.02, 001.08) and evbill's CSV."""
        from evbill.adapters.banking.statements import StatementFileReader

        return StatementFileReader()

    @cached_property
    def direct_debit_writer(self) -> SepaXmlWriter:
        """SEPA direct debit collection files (pain.008.001.08, XSD-checked) with sepaxml."""
        from evbill.adapters.banking.sepa import SepaXmlWriter

        return SepaXmlWriter()

    @cached_property
    def documents(self) -> DocumentRenderer:
        from evbill.adapters.documents.renderer import DocumentRenderer

        return DocumentRenderer()

    @cached_property
    def queue(self) -> HueyQueue:
        """The job queue (EVBILL_QUEUE_URL): huey on an SQLite file beside the database, or Redis."""
        from evbill.adapters.queue import build_queue

        settings = self.settings
        return build_queue(settings.queue_url, database_url=settings.database_url, name=settings.queue_name)

    @cached_property
    def charts(self) -> VegaChartRenderer:
        from evbill.adapters.charts.vega import VegaChartRenderer

        return VegaChartRenderer()

    @cached_property
    def report_files(self) -> ParquetReportWriter:
        from evbill.adapters.exports.parquet import ParquetReportWriter

        return ParquetReportWriter()

    @cached_property
    def qr_codes(self) -> QrRenderer:
        from evbill.adapters.qr import SegnoQrRenderer

        return SegnoQrRenderer()

    @cached_property
    def station_commands(self) -> OcppStationCommands:
        """Remote start and stop of the stations connected to this process's OCPP endpoint."""
        from evbill.adapters.ocpp.commands import OcppStationCommands

        return OcppStationCommands(self.ocpp_endpoint, timeout=self.settings.ocpp_command_timeout)

    @cached_property
    def pay_at_charger(self) -> PayAtCharger:
        """Ad hoc payment at the charger (AFIR), cards on file and wallets per session."""
        from evbill.application.collection.session_receipts import ReceiptsPerSession
        from evbill.application.payments.adhoc import AdhocConfig, PayAtCharger

        mailer = self.mailer if self.settings.smtp_url else None  # unset: receipts are issued, not sent
        return PayAtCharger(
            self.services,
            self.payment_gateway,
            self.station_commands,
            AdhocConfig(
                default_hold=self.settings.adhoc_hold,
                start_timeout=timedelta(seconds=self.settings.adhoc_start_timeout),
            ),
            receipts=ReceiptsPerSession(self.services, mailer, self.documents),
        )

    @cached_property
    def ocpp_endpoint(self) -> OcppEndpoint:
        from evbill.adapters.db.charging.journal import GroupCommitJournal
        from evbill.adapters.ocpp.server import OcppEndpoint
        from evbill.adapters.ocpp.station import StationSettings
        from evbill.application.payments.adhoc import settle_due
        from evbill.application.payments.session_funding import SessionPayments

        settings = self.settings
        return OcppEndpoint(
            self.services,
            GroupCommitJournal(self.engine),
            StationSettings(
                heartbeat_interval=settings.ocpp_heartbeat_interval,
                cost_interval=settings.ocpp_cost_interval,
                messages_per_second=settings.ocpp_messages_per_second,
                burst=settings.ocpp_burst,
                max_frame_bytes=settings.ocpp_max_frame_bytes,
            ),
            settings.ocpp_unknown_stations,
            limiter=self.limiter,
            failures_per_minute=settings.auth_failures_per_minute,
            money=SessionPayments(lambda: self.pay_at_charger),
            sweep=lambda: settle_due(self.pay_at_charger),
            sweep_interval=settings.payments_sweep_interval,
        )

    def schema_is_current(self) -> bool:
        from evbill.adapters.db import migrate

        return migrate.is_up_to_date(self.engine)

    def upgrade_schema(self) -> None:
        from evbill.adapters.db import migrate

        migrate.upgrade(self.settings.database_url)

    def grant_app_role(self, role: str) -> None:
        from evbill.adapters.db import migrate

        migrate.grant_app_role(self.engine, role)

    def start(self) -> None:
        """The app begins to serve (its lifespan's start): background work may start again."""
        if "ocpp_endpoint" in self.__dict__:
            self.ocpp_endpoint.reopen()

    async def stop(self) -> None:
        """What runs in the background of a serving app, stopped at its end (the app's lifespan)
        before the database goes: the OCPP endpoint's payment sweep, if the endpoint was built."""
        if "ocpp_endpoint" in self.__dict__:
            await self.ocpp_endpoint.stop_sweeping()

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(settings: Settings, *, create_database: bool = True) -> Container:
    return Container(settings=settings, create_database=create_database)
