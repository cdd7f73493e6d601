"""``evbill customer|token|plan|contract|promotion|import``: customers and what they are sold, by command.

Every command acts as the platform for one operator (``--operator ID``) and prints ids, one line per
record, or JSON with ``--json``. Bad input is a plain ``error:`` line and exit status 1:

    evbill import customers customers.csv --operator 0190...
    evbill plan create --operator 0190... --name "Plus 100" --kind SUBSCRIPTION --currency EUR \\
        --fee 9.99 --fee-vat 21 --included-kwh 100
    evbill contract bill 0190... --operator 0190... --cycle-start 2026-11-01 --json

An import stores every row of the file or none: with a bad row, every problem is printed with its
line and column and nothing is imported.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from evbill.application import records
from evbill.application.access.keys import get_operator, platform_actor
from evbill.application.billing import cycle as billing
from evbill.application.offers import imports as imports
from evbill.application.offers import plans as offers
from evbill.application.offers.customers import CUSTOMERS, TOKENS, create_customer
from evbill.application.records import RecordKind, Services
from evbill.bootstrap import Container
from evbill.domain.access.operators import Actor
from evbill.domain.billing.cycle import Bill
from evbill.domain.errors import DomainError
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.offers.contracts import ContractStatus, PaymentMethodKind
from evbill.domain.offers.customers import CustomerKind, TokenStatus, TokenType
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, PlanKind
from evbill.domain.offers.promotions import DiscountKind, Duration, PromotionKind
from evbill.entrypoints.cli.output import fail, fail_domain, write_json

T = TypeVar("T")
OperatorId = Annotated[
    str, typer.Option("--operator", help="The operator's id (act as the platform for it).")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Text = Annotated[str | None, typer.Option()]
Number = Annotated[str | None, typer.Option(help="A decimal number, e.g. 9.99.")]
Moment = Annotated[str | None, typer.Option(help="RFC 3339, e.g. 2026-11-01T00:00:00+01:00.")]
Tariffs = Annotated[list[str] | None, typer.Option(help="CLASS=TARIFF_ID, e.g. AC=0190...; repeatable.")]


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(_customer_app(container), name="customer")
    app.add_typer(_token_app(container), name="token")
    app.add_typer(_plan_app(container), name="plan")
    app.add_typer(_contract_app(container), name="contract")
    app.add_typer(_promotion_app(container), name="promotion")
    app.add_typer(_import_app(container), name="import")


# Shared helpers


def _acting(container: Container, operator_id: str) -> Actor:
    """The platform acting for an existing operator on a migrated database (else a plain error)."""
    try:
        current = container.schema_is_current()
    except Exception as error:  # an unreachable database: a plain message, not a traceback
        fail(f"cannot reach the database at {container.settings.database_url}: {error}")
    if not current:
        fail("the database schema is not current; run `evbill db upgrade` first")
    who = platform_actor(operator_id)
    _call(lambda: get_operator(container.services, who), f"operator {operator_id!r}")
    return who


def _call(action: Callable[[], T], context: str = "") -> T:
    try:
        return action()
    except DomainError as error:
        fail_domain(error, context)


def _decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        fail(f"{option} {text!r} is not a decimal number")
    if not value.is_finite():
        fail(f"{option} must be a finite number")
    return value


def _moment(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        fail(f"{option} {text!r} is not an RFC 3339 date-time with an offset, e.g. 2026-11-01T00:00:00Z")
    return value


def _optional_moment(text: str | None, option: str) -> datetime | None:
    return None if text is None else _moment(text, option)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-11-01")


def _tariffs(pairs: list[str] | None, option: str) -> dict[ConnectorClass, str]:
    result = {}
    for pair in pairs or []:
        name, _, tariff_id = pair.partition("=")
        if name.strip().upper() not in ConnectorClass.__members__ or not tariff_id.strip():
            fail(f"{option} {pair!r} is not CLASS=TARIFF_ID with CLASS one of AC, DC, HPC")
        result[ConnectorClass(name.strip().upper())] = tariff_id.strip()
    return result


def _plain(value: Any) -> Any:
    """A record as JSON-able data; decimals stay exact numbers (``output.write_json``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(_plain(key)): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _all(services: Services, who: Actor, kind: RecordKind, filters: Mapping[str, object]) -> Iterator[Any]:
    """Every record of a kind that matches, page by page."""
    cursor = None
    while True:
        page = _call(
            partial(records.list_records, services, who, kind, filters=filters, cursor=cursor, limit=200)
        )
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _show_created(record: Any, json: bool) -> None:
    if json:
        write_json(_plain(record))
    else:
        typer.echo(record.id)


def _show_list(items: Iterator[Any], json: bool, line: Callable[[Any], str]) -> None:
    if json:
        write_json([_plain(item) for item in items])
        return
    for item in items:
        typer.echo(line(item))


def _present(values: Mapping[str, object]) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}


# Customers and tokens


def _customer_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Customers: drivers and business accounts (fleets).", no_args_is_help=True)

    @app.command("create")
    def create(
        operator_id: OperatorId,
        name: Annotated[str, typer.Option(help="The customer's name.")],
        currency: Annotated[str, typer.Option(help="ISO 4217, e.g. EUR.")],
        country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2, e.g. NL.")],
        language: Annotated[str, typer.Option(help="ISO 639-1, e.g. nl.")] = "en",
        kind: Annotated[CustomerKind, typer.Option(help="INDIVIDUAL or BUSINESS.")] = CustomerKind.INDIVIDUAL,
        email: Text = None,
        address: Text = None,
        city: Text = None,
        postal_code: Text = None,
        vat_id: Annotated[
            str | None, typer.Option(help="Checked for the country, stored normalised.")
        ] = None,
        parent_id: Annotated[str | None, typer.Option(help="A fleet driver's business account.")] = None,
        json: Json = False,
    ) -> None:
        """Create a customer; prints its id."""
        who = _acting(container, operator_id)
        fields = {
            "kind": kind, "name": name, "email": email, "language": language, "currency": currency,
            "country": country, "address": address, "city": city, "postal_code": postal_code,
            "vat_id": vat_id, "parent_id": parent_id,
        }  # fmt: skip
        _show_created(_call(lambda: create_customer(container.services, who, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        kind: Annotated[CustomerKind | None, typer.Option()] = None,
        email: Text = None,
        name: Annotated[str | None, typer.Option(help="Part of the name.")] = None,
        parent_id: Text = None,
        json: Json = False,
    ) -> None:
        """List customers: id, kind, name, e-mail."""
        who = _acting(container, operator_id)
        filters = _present({"kind": kind, "email": email, "name": name, "parent_id": parent_id})
        items = _all(container.services, who, CUSTOMERS, filters)
        _show_list(items, json, lambda c: f"{c.id}  {c.kind.value}  {c.name}  {c.email or '-'}")

    return app


def _token_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Tokens: the RFID cards and app ids customers charge with.", no_args_is_help=True)

    @app.command("create")
    def create(
        operator_id: OperatorId,
        customer_id: Annotated[str, typer.Option(help="The customer the token belongs to.")],
        uid: Annotated[str, typer.Option(help="What the reader sees (unique per operator).")],
        contract_id: Annotated[str, typer.Option(help="The eMA id, e.g. NL-EVB-C12345678-X.")],
        type_: Annotated[TokenType, typer.Option("--type")] = TokenType.RFID,
        status: Annotated[TokenStatus, typer.Option()] = TokenStatus.ACTIVE,
        valid_until: Moment = None,
        json: Json = False,
    ) -> None:
        """Create a token; prints its id."""
        who = _acting(container, operator_id)
        fields = {
            "customer_id": customer_id, "uid": uid, "type": type_, "contract_id": contract_id,
            "status": status, "valid_until": _optional_moment(valid_until, "--valid-until"),
        }  # fmt: skip
        _show_created(_call(lambda: records.create(container.services, who, TOKENS, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        customer_id: Text = None,
        status: Annotated[TokenStatus | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List tokens: id, uid, status, customer."""
        who = _acting(container, operator_id)
        items = _all(
            container.services, who, TOKENS, _present({"customer_id": customer_id, "status": status})
        )
        _show_list(items, json, lambda t: f"{t.id}  {t.uid}  {t.status.value}  {t.customer_id}")

    return app


# Plans, contracts, promotions


def _plan_app(container: Container) -> typer.Typer:
    app = typer.Typer(
        help="Plans: pay per use, subscriptions, flat rates, memberships.", no_args_is_help=True
    )

    @app.command("create")
    def create(
        operator_id: OperatorId,
        name: Annotated[str, typer.Option()],
        kind: Annotated[PlanKind, typer.Option()],
        currency: Annotated[str, typer.Option(help="ISO 4217, e.g. EUR.")],
        fee: Number = None,
        fee_vat: Annotated[str | None, typer.Option(help="VAT percent of the fee; none: no VAT.")] = None,
        fee_cycle: Annotated[BillingCycle, typer.Option()] = BillingCycle.MONTHLY,
        included_kwh: Number = None,
        included_minutes: Annotated[int | None, typer.Option(min=0)] = None,
        fair_use_kwh: Number = None,
        tariff: Tariffs = None,
        effective_from: Moment = None,
        json: Json = False,
    ) -> None:
        """Create a plan with its first version; prints its id."""
        who = _acting(container, operator_id)
        version = {
            "fee": _decimal(fee, "--fee") or Decimal(0), "fee_vat": _decimal(fee_vat, "--fee-vat"),
            "fee_cycle": fee_cycle, "included_kwh": _decimal(included_kwh, "--included-kwh"),
            "included_minutes": included_minutes, "fair_use_kwh": _decimal(fair_use_kwh, "--fair-use-kwh"),
            "tariffs": _tariffs(tariff, "--tariff"),
            "effective_from": _optional_moment(effective_from, "--effective-from"),
        }  # fmt: skip
        plan, _ = _call(
            lambda: offers.create_plan(
                container.services, who, name=name, kind=kind, currency=currency, version=version
            )
        )
        _show_created(plan, json)

    @app.command("list")
    def list_(
        operator_id: OperatorId, kind: Annotated[PlanKind | None, typer.Option()] = None, json: Json = False
    ) -> None:
        """List plans: id, kind, currency, name."""
        who = _acting(container, operator_id)
        items = _all(container.services, who, offers.PLANS, _present({"kind": kind}))
        _show_list(items, json, lambda p: f"{p.id}  {p.kind.value}  {p.currency}  {p.name}")

    return app


def _contract_app(container: Container) -> typer.Typer:
    app = typer.Typer(
        help="Contracts: who is billed under which plan, and their bills.", no_args_is_help=True
    )

    @app.command("create")
    def create(
        operator_id: OperatorId,
        customer_id: Annotated[str, typer.Option()],
        plan_id: Annotated[str, typer.Option()],
        start: Annotated[str, typer.Option(help="RFC 3339, e.g. 2026-11-01T00:00:00+01:00.")],
        payment_method: Annotated[PaymentMethodKind, typer.Option()],
        end: Moment = None,
        billing_cycle: Annotated[BillingCycle, typer.Option()] = BillingCycle.MONTHLY,
        payment_due_days: Annotated[int, typer.Option(min=0, max=365)] = 14,
        grace_days: Annotated[int, typer.Option(min=0, max=365)] = 0,
        override: Tariffs = None,
        activate: Annotated[bool, typer.Option(help="Start ACTIVE instead of DRAFT.")] = False,
        json: Json = False,
    ) -> None:
        """Create a contract with its first terms; prints its id."""
        who = _acting(container, operator_id)
        terms = {
            "plan_id": plan_id, "billing_cycle": billing_cycle, "payment_method": payment_method,
            "payment_due_days": payment_due_days, "grace_days": grace_days, "credit_limit_minor": None,
            "overrides": _tariffs(override, "--override"),
        }  # fmt: skip
        begins = _moment(start, "--start")
        contract, _ = _call(
            lambda: offers.create_contract(
                container.services,
                who,
                customer_id=customer_id,
                start=begins,
                end=_optional_moment(end, "--end"),
                terms=terms,
                activate=activate,
            )  # fmt: skip
        )
        _show_created(contract, json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        customer_id: Text = None,
        status: Annotated[ContractStatus | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List contracts: id, status, customer, start."""
        who = _acting(container, operator_id)
        items = _all(
            container.services,
            who,
            offers.CONTRACTS,
            _present({"customer_id": customer_id, "status": status}),
        )
        _show_list(items, json, lambda c: f"{c.id}  {c.status.value}  {c.customer_id}  {c.start.isoformat()}")

    @app.command("activate")
    def activate(contract_id: Annotated[str, typer.Argument()], operator_id: OperatorId) -> None:
        """Make a DRAFT or SUSPENDED contract ACTIVE."""
        who = _acting(container, operator_id)
        contract, _ = _call(lambda: offers.contract_with_terms(container.services, who, contract_id))
        moved = _call(
            lambda: offers.move_contract(
                container.services, who, contract_id, ContractStatus.ACTIVE, expected_version=contract.version
            )
        )
        typer.echo(f"{moved.id}  {moved.status.value}")

    @app.command("bill")
    def bill(
        contract_id: Annotated[str, typer.Argument()],
        operator_id: OperatorId,
        cycle_start: Annotated[str, typer.Option(help="The cycle's first day, e.g. 2026-11-01.")],
        record: Annotated[bool, typer.Option(help="Record the promotions used (else a preview).")] = False,
        json: Json = False,
    ) -> None:
        """Show a cycle's bill: every line, the VAT categories and the totals."""
        who = _acting(container, operator_id)
        day = _day(cycle_start, "--cycle-start")
        result = _call(
            lambda: billing.bill_contract(container.services, who, contract_id, day, record=record)
        )
        _show_bill(result, get_operator(container.services, who).rounding_mode, json)

    return app


def _show_bill(bill: Bill, mode: RoundingMode, json: bool) -> None:
    excl_vat = settle(PreciseMoney(bill.total_excl_vat, bill.currency), mode).as_decimal()
    vat = settle(PreciseMoney(bill.total_vat, bill.currency), mode).as_decimal()
    if json:
        write_json(
            {
                **_plain(bill),
                "totals": {"excl_vat": bill.total_excl_vat, "vat": bill.total_vat,
                           "incl_vat": bill.total_excl_vat + bill.total_vat},
                "rounded_totals": {"excl_vat": excl_vat, "vat": vat, "incl_vat": excl_vat + vat},
            }
        )  # fmt: skip
        return
    typer.echo(f"bill of contract {bill.contract_id}, {bill.cycle_start} to {bill.cycle_end} (exclusive)")
    for line in bill.lines:
        rate = "no VAT" if line.vat is None else f"{line.vat}% VAT"
        typer.echo(f"  {line.excl_vat:>16f}  {rate:>10}  {line.kind.value}: {line.description}")
    for note in bill.notes:
        typer.echo(f"  note: {note}")
    typer.echo(f"total excl. VAT {excl_vat} {bill.currency}, VAT {vat}, incl. VAT {excl_vat + vat}")


def _promotion_app(container: Container) -> typer.Typer:
    app = typer.Typer(
        help="Promotions: coupons, loyalty, free kWh; give them to customers.", no_args_is_help=True
    )

    @app.command("create")
    def create(
        operator_id: OperatorId,
        name: Annotated[str, typer.Option()],
        kind: Annotated[PromotionKind, typer.Option()],
        code: Annotated[str | None, typer.Option(help="The coupon code customers enter.")] = None,
        discount_kind: Annotated[DiscountKind | None, typer.Option()] = None,
        value: Annotated[str | None, typer.Option(help="Percent, or an amount excl. VAT.")] = None,
        duration: Annotated[Duration, typer.Option()] = Duration.ONCE,
        cycles: Annotated[int | None, typer.Option(min=1)] = None,
        nth: Annotated[int | None, typer.Option(min=2)] = None,
        cap: Number = None,
        threshold_kwh: Number = None,
        price_per_kwh: Number = None,
        free_kwh: Number = None,
        starts_at: Moment = None,
        expires_at: Moment = None,
        max_redemptions: Annotated[int | None, typer.Option(min=1)] = None,
        per_customer_limit: Annotated[int | None, typer.Option(min=1)] = None,
        priority: Annotated[int, typer.Option(min=0, help="Lower applies first.")] = 100,
        exclusive: Annotated[bool, typer.Option(help="If it applies, it applies alone.")] = False,
        json: Json = False,
    ) -> None:
        """Create a promotion; prints its id."""
        who = _acting(container, operator_id)
        fields = {
            "name": name, "kind": kind, "code": code, "discount_kind": discount_kind,
            "value": _decimal(value, "--value"), "duration": duration, "cycles": cycles, "nth": nth,
            "cap": _decimal(cap, "--cap"), "threshold_kwh": _decimal(threshold_kwh, "--threshold-kwh"),
            "price_per_kwh": _decimal(price_per_kwh, "--price-per-kwh"),
            "free_kwh": _decimal(free_kwh, "--free-kwh"),
            "starts_at": _optional_moment(starts_at, "--starts-at"),
            "expires_at": _optional_moment(expires_at, "--expires-at"), "max_redemptions": max_redemptions,
            "per_customer_limit": per_customer_limit, "priority": priority, "exclusive": exclusive,
        }  # fmt: skip
        _show_created(_call(lambda: offers.create_promotion(container.services, who, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        kind: Annotated[PromotionKind | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List promotions: id, kind, code, name."""
        who = _acting(container, operator_id)
        items = _all(container.services, who, offers.PROMOTIONS, _present({"kind": kind}))
        _show_list(items, json, lambda p: f"{p.id}  {p.kind.value}  {p.code or '-'}  {p.name}")

    @app.command("give")
    def give(
        operator_id: OperatorId,
        customer_id: Annotated[str, typer.Option()],
        promotion_id: Text = None,
        code: Annotated[str | None, typer.Option(help="Redeem a coupon code for the customer.")] = None,
    ) -> None:
        """Give a customer a promotion (by id), or redeem a coupon code for them."""
        if (promotion_id is None) == (code is None):
            fail("give exactly one of --promotion-id and --code")
        who = _acting(container, operator_id)
        given = _call(
            lambda: offers.give_promotion(
                container.services, who, customer_id=customer_id, promotion_id=promotion_id, code=code
            )
        )
        typer.echo(f"{given.promotion.id}  {'given' if given.new else 'already given; nothing changed'}")

    return app


# Imports


def _import_app(container: Container) -> typer.Typer:
    app = typer.Typer(help="Import customers or tokens from CSV: every row, or none.", no_args_is_help=True)

    def run(path: Path, operator_id: str, json: bool, use_case: Any, what: str) -> None:
        who = _acting(container, operator_id)
        text = _read_csv(path)
        report: imports.ImportReport = _call(lambda: use_case(container.services, who, text), str(path))
        if json:
            problems = [{"line": p.line, "column": p.column, "message": p.message} for p in report.problems]
            write_json({"imported": report.imported, "problems": problems})
        elif report.ok:
            typer.echo(f"imported {report.imported} {what}")
        if not report.ok:
            if not json:
                typer.echo(
                    f"error: {path}: {len(report.problems)} problem(s); nothing was imported", err=True
                )
                for problem in report.problems:
                    typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1)

    @app.command("customers")
    def customers(
        path: Annotated[
            Path, typer.Argument(metavar="FILE.csv", help="Columns: see `evbill import --help`.")
        ],
        operator_id: OperatorId,
        json: Json = False,
    ) -> None:
        """Import customers (kind,name,email,language,currency,country,address,city,postal_code,vat_id,
        parent_email)."""
        run(path, operator_id, json, imports.import_customers_csv, "customers")

    @app.command("tokens")
    def tokens(
        path: Annotated[Path, typer.Argument(metavar="FILE.csv")], operator_id: OperatorId, json: Json = False
    ) -> None:
        """Import tokens (uid,type,contract_id,customer_email,status,valid_until)."""
        run(path, operator_id, json, imports.import_tokens_csv, "tokens")

    return app


def _read_csv(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        fail(f"CSV file {str(path)!r} does not exist")
    except IsADirectoryError:
        fail(f"CSV file {str(path)!r} is a directory")
    except UnicodeDecodeError as error:
        fail(f"CSV file {str(path)!r} is not UTF-8 text: {error}")
    except OSError as error:
        fail(f"cannot read CSV file {str(path)!r}: {error.strerror}")
