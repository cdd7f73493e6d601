"""``evbill plan|contract|promotion``: what an operator sells, to whom, and the bill of a cycle.

Every command acts as the platform for one operator (``--operator ID``) and prints ids, one line per
record, or JSON with ``--json``. Bad input is a plain ``error:`` line and exit status 1:

    evbill plan create --operator 0190... --name "Plus 100" --kind SUBSCRIPTION --currency EUR \\
        --fee 9.99 --fee-vat 21 --included-kwh 100
    evbill contract bill 0190... --operator 0190... --cycle-start 2026-11-01 --json
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer

from evbill.application.access.keys import get_operator
from evbill.application.offers import imports as imports
from evbill.application.offers import plans as offers
from evbill.bootstrap import Container
from evbill.domain.money import PreciseMoney, RoundingMode, settle
from evbill.domain.offers.contracts import ContractStatus, PaymentMethodKind
from evbill.domain.offers.plans import BillingCycle, PlanKind
from evbill.domain.offers.promotions import DiscountKind, Duration, PromotionKind
from evbill.entrypoints.cli.output import fail, write_json
from evbill.entrypoints.cli.records import (
    Json,
    Moment,
    Number,
    OperatorId,
    Tariffs,
    Text,
    acting,
    all_records,
    call,
    parse_day,
    parse_decimal,
    parse_moment,
    parse_optional_moment,
    parse_tariffs,
    plain,
    present,
    show_created,
    show_list,
)

if TYPE_CHECKING:
    from evbill.domain.billing.cycle import Bill


def register(app: typer.Typer, container: Container) -> None:
    app.add_typer(_plan_app(container), name="plan")
    app.add_typer(_contract_app(container), name="contract")
    app.add_typer(_promotion_app(container), name="promotion")


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
        who = acting(container, operator_id)
        version = {
            "fee": parse_decimal(fee, "--fee") or Decimal(0), "fee_vat": parse_decimal(fee_vat, "--fee-vat"),
            "fee_cycle": fee_cycle, "included_kwh": parse_decimal(included_kwh, "--included-kwh"),
            "included_minutes": included_minutes,
            "fair_use_kwh": parse_decimal(fair_use_kwh, "--fair-use-kwh"),
            "tariffs": parse_tariffs(tariff, "--tariff"),
            "effective_from": parse_optional_moment(effective_from, "--effective-from"),
        }  # fmt: skip
        plan, _ = call(
            lambda: offers.create_plan(
                container.services, who, name=name, kind=kind, currency=currency, version=version
            )
        )
        show_created(plan, json)

    @app.command("list")
    def list_(
        operator_id: OperatorId, kind: Annotated[PlanKind | None, typer.Option()] = None, json: Json = False
    ) -> None:
        """List plans: id, kind, currency, name."""
        who = acting(container, operator_id)
        items = all_records(container.services, who, offers.PLANS, present({"kind": kind}))
        show_list(items, json, lambda p: f"{p.id}  {p.kind.value}  {p.currency}  {p.name}")

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
        who = acting(container, operator_id)
        terms = {
            "plan_id": plan_id, "billing_cycle": billing_cycle, "payment_method": payment_method,
            "payment_due_days": payment_due_days, "grace_days": grace_days, "credit_limit_minor": None,
            "overrides": parse_tariffs(override, "--override"),
        }  # fmt: skip
        begins = parse_moment(start, "--start")
        contract, _ = call(
            lambda: offers.create_contract(
                container.services,
                who,
                customer_id=customer_id,
                start=begins,
                end=parse_optional_moment(end, "--end"),
                terms=terms,
                activate=activate,
            )  # fmt: skip
        )
        show_created(contract, json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        customer_id: Text = None,
        status: Annotated[ContractStatus | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List contracts: id, status, customer, start."""
        who = acting(container, operator_id)
        items = all_records(
            container.services,
            who,
            offers.CONTRACTS,
            present({"customer_id": customer_id, "status": status}),
        )
        show_list(items, json, lambda c: f"{c.id}  {c.status.value}  {c.customer_id}  {c.start.isoformat()}")

    @app.command("activate")
    def activate(contract_id: Annotated[str, typer.Argument()], operator_id: OperatorId) -> None:
        """Make a DRAFT or SUSPENDED contract ACTIVE."""
        who = acting(container, operator_id)
        contract, _ = call(lambda: offers.contract_with_terms(container.services, who, contract_id))
        moved = call(
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
        from evbill.application.billing import cycle as billing  # loaded by the command that bills

        who = acting(container, operator_id)
        day = parse_day(cycle_start, "--cycle-start")
        result = call(lambda: billing.bill_contract(container.services, who, contract_id, day, record=record))
        _show_bill(result, get_operator(container.services, who).rounding_mode, json)

    return app


def _show_bill(bill: Bill, mode: RoundingMode, json: bool) -> None:
    excl_vat = settle(PreciseMoney(bill.total_excl_vat, bill.currency), mode).as_decimal()
    vat = settle(PreciseMoney(bill.total_vat, bill.currency), mode).as_decimal()
    if json:
        write_json(
            {
                **plain(bill),
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
        who = acting(container, operator_id)
        fields = {
            "name": name, "kind": kind, "code": code, "discount_kind": discount_kind,
            "value": parse_decimal(value, "--value"), "duration": duration, "cycles": cycles, "nth": nth,
            "cap": parse_decimal(cap, "--cap"),
            "threshold_kwh": parse_decimal(threshold_kwh, "--threshold-kwh"),
            "price_per_kwh": parse_decimal(price_per_kwh, "--price-per-kwh"),
            "free_kwh": parse_decimal(free_kwh, "--free-kwh"),
            "starts_at": parse_optional_moment(starts_at, "--starts-at"),
            "expires_at": parse_optional_moment(expires_at, "--expires-at"),
            "max_redemptions": max_redemptions,
            "per_customer_limit": per_customer_limit, "priority": priority, "exclusive": exclusive,
        }  # fmt: skip
        show_created(call(lambda: offers.create_promotion(container.services, who, fields)), json)

    @app.command("list")
    def list_(
        operator_id: OperatorId,
        kind: Annotated[PromotionKind | None, typer.Option()] = None,
        json: Json = False,
    ) -> None:
        """List promotions: id, kind, code, name."""
        who = acting(container, operator_id)
        items = all_records(container.services, who, offers.PROMOTIONS, present({"kind": kind}))
        show_list(items, json, lambda p: f"{p.id}  {p.kind.value}  {p.code or '-'}  {p.name}")

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
        who = acting(container, operator_id)
        given = call(
            lambda: offers.give_promotion(
                container.services, who, customer_id=customer_id, promotion_id=promotion_id, code=code
            )
        )
        typer.echo(f"{given.promotion.id}  {'given' if given.new else 'already given; nothing changed'}")

    return app
