"""Use cases of what an operator offers: plans (versioned), contracts (versioned terms, lifecycle)
and promotions (given to customers, coupons redeemed by code).

Every change is audited and versioned the same way as sites and tariffs: a plan change adds a plan
version from a date; a contract change adds a terms version from a date; nothing is overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbill.application.ports import UnitOfWork
from evbill.application.records import RecordKind, Services, audit, check_version, get_or_404, require
from evbill.domain import currency as currencies
from evbill.domain.access.keys import AuditAction
from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import Conflict, InvalidInput, Problem
from evbill.domain.offers import bounds
from evbill.domain.offers.contracts import Contract, ContractStatus, ContractTerms, can_move
from evbill.domain.offers.plans import BillingCycle, ConnectorClass, Plan, PlanKind, PlanVersion
from evbill.domain.offers.promotions import DiscountKind, Duration, Promotion, PromotionKind

# The records of this module as record kinds, for the generic read verbs (get, list_records):
PLANS = RecordKind("plan", Plan, Permission.MANAGE_PLANS, lambda uow: uow.plans, None, lambda _: [], {})
CONTRACTS = RecordKind(
    "contract", Contract, Permission.MANAGE_CONTRACTS, lambda uow: uow.contracts, None, lambda _: [], {}
)
PROMOTIONS = RecordKind(
    "promotion", Promotion, Permission.MANAGE_PLANS, lambda uow: uow.promotions, None, lambda _: [], {}
)

# Plans


def _plan_problems(kind: PlanKind, currency: str, version: Mapping[str, Any], at: str = "$") -> list[Problem]:
    """What is wrong with a plan version's fields; ``at`` is where they sit in the request body."""
    problems = []
    if not currencies.is_known(currency):
        problems.append(Problem("$.currency", f"{currency!r} is not an ISO 4217 code"))
    fee = version.get("fee", Decimal(0))
    problems.extend(bounds.amount_problems(f"{at}.fee", fee))
    if kind is PlanKind.PAY_PER_USE and fee:
        problems.append(Problem(f"{at}.fee", "a pay-per-use plan has no periodic fee"))
    if kind is PlanKind.FLAT_RATE and version.get("fair_use_kwh") is None:
        problems.append(Problem(f"{at}.fair_use_kwh", "a flat rate needs its fair-use cap (kWh per cycle)"))
    if kind is not PlanKind.SUBSCRIPTION and (version.get("included_kwh") or version.get("included_minutes")):
        problems.append(Problem(f"{at}.included_kwh", "only subscriptions include kWh or minutes"))
    if kind in (PlanKind.MEMBERSHIP, PlanKind.PER_MINUTE) and not version.get("tariffs"):
        problems.append(
            Problem(f"{at}.tariffs", f"a {kind.value.lower()} plan names a tariff per connector class")
        )
    if fee and version.get("fee_cycle", BillingCycle.MONTHLY) is BillingCycle.PER_SESSION:
        problems.append(Problem(f"{at}.fee_cycle", "a periodic fee needs a WEEKLY or MONTHLY cycle"))
    return problems


def _check_tariffs(
    uow: UnitOfWork, actor: Actor, currency: str, tariffs: Mapping[ConnectorClass, str], path: str
) -> None:
    problems = []
    for connector_class, tariff_id in tariffs.items():
        tariff = uow.tariffs.get(actor.operator_id, tariff_id)
        if tariff is None:
            problems.append(Problem(f"{path}.{connector_class.value}", f"no tariff {tariff_id!r}"))
        elif tariff.currency != currency:
            problems.append(
                Problem(f"{path}.{connector_class.value}", f"tariff is in {tariff.currency}, not {currency}")
            )
    if problems:
        raise InvalidInput("plan is invalid", tuple(problems))


def create_plan(
    services: Services, actor: Actor, *, name: str, kind: PlanKind, currency: str, version: Mapping[str, Any]
) -> tuple[Plan, PlanVersion]:
    """A plan and its first version (fee, fee_vat, fee_cycle, allowances, tariffs, effective_from)."""
    require(actor, Permission.MANAGE_PLANS)
    problems = _plan_problems(kind, currency, version, "$.version")
    if not name.strip():
        problems.insert(0, Problem("$.name", "must not be blank"))
    if problems:
        raise InvalidInput("plan is invalid", tuple(problems))
    now = services.clock.now()
    plan = Plan(services.ids.new_id(), actor.operator_id, name, kind, currency, 1, now, now)
    first = _plan_version(services, actor, plan, 1, version, now)
    with services.uow() as uow:
        _check_tariffs(uow, actor, currency, first.tariffs, "$.version.tariffs")
        uow.plans.add(plan)
        uow.plan_versions.add(first)
        audit(uow, actor, now, AuditAction.CREATE, "plan", plan.id, None, first)
        uow.commit()
    return plan, first


def _plan_version(
    services: Services, actor: Actor, plan: Plan, number: int, fields: Mapping[str, Any], now: datetime
) -> PlanVersion:
    values = dict(fields)
    effective = values.pop("effective_from", None) or now
    return PlanVersion(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        plan_id=plan.id,
        number=number,
        effective_from=effective,
        fee=values.pop("fee", Decimal(0)),
        fee_vat=values.pop("fee_vat", None),
        fee_cycle=values.pop("fee_cycle", BillingCycle.MONTHLY),
        created_at=now,
        **values,
    )


def add_plan_version(
    services: Services, actor: Actor, plan_id: str, version: Mapping[str, Any], *, expected_version: int
) -> tuple[Plan, PlanVersion]:
    """New terms for a plan from ``effective_from`` on; sessions before keep the old version."""
    require(actor, Permission.MANAGE_PLANS)
    now = services.clock.now()
    with services.uow() as uow:
        plan = get_or_404(uow.plans, actor.operator_id, plan_id, "plan")
        check_version(plan, expected_version, f"plan {plan_id!r}")
        problems = _plan_problems(plan.kind, plan.currency, version)
        previous = max(uow.plan_versions.of_plan(actor.operator_id, plan_id), key=lambda v: v.number)
        effective = version.get("effective_from") or now
        if effective <= previous.effective_from:
            problems.append(Problem("$.effective_from", f"must be after version {previous.number}'s start"))
        if problems:
            raise InvalidInput("plan version is invalid", tuple(problems))
        added = _plan_version(services, actor, plan, previous.number + 1, version, now)
        _check_tariffs(uow, actor, plan.currency, added.tariffs, "$.tariffs")
        updated = replace(plan, current_version=added.number, updated_at=now, version=plan.version + 1)
        uow.plan_versions.add(added)
        uow.plans.update(updated, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, "plan", plan_id, previous, added)
        uow.commit()
    return updated, added


def plan_with_versions(services: Services, actor: Actor, plan_id: str) -> tuple[Plan, Sequence[PlanVersion]]:
    require(actor, Permission.READ)
    with services.uow() as uow:
        plan = get_or_404(uow.plans, actor.operator_id, plan_id, "plan")
        return plan, uow.plan_versions.of_plan(actor.operator_id, plan_id)


# Contracts


def _terms(
    services: Services,
    actor: Actor,
    contract: Contract,
    number: int,
    fields: Mapping[str, Any],
    now: datetime,
) -> ContractTerms:
    values = dict(fields)
    effective = values.pop("effective_from", None) or contract.start
    return ContractTerms(
        id=services.ids.new_id(),
        operator_id=actor.operator_id,
        contract_id=contract.id,
        number=number,
        effective_from=effective.astimezone(UTC),
        created_at=now,
        **values,
    )


def _check_terms(
    uow: UnitOfWork, actor: Actor, terms: ContractTerms, customer_currency: str, at: str = "$"
) -> None:
    """Check terms against the plan they name; ``at`` is where they sit in the request body."""
    plan = uow.plans.get(actor.operator_id, terms.plan_id)
    if plan is None:
        raise InvalidInput("contract is invalid", (Problem(f"{at}.plan_id", f"no plan {terms.plan_id!r}"),))
    problems = []
    if plan.currency != customer_currency:
        problems.append(
            Problem(
                f"{at}.plan_id", f"the plan is in {plan.currency}, the customer pays in {customer_currency}"
            )
        )
    versions = uow.plan_versions.of_plan(actor.operator_id, plan.id)
    first = min(versions, key=lambda v: v.effective_from, default=None)
    if first is not None and terms.effective_from < first.effective_from:
        problems.append(
            Problem(
                f"{at}.plan_id",
                f"plan {plan.name!r} starts on {first.effective_from.isoformat()}, after these terms "
                f"({terms.effective_from.isoformat()}): the days before could not be billed; start the "
                "contract later, or create the plan with an earlier effective_from",
            )
        )
    if any(v.fee for v in versions) and terms.billing_cycle is BillingCycle.PER_SESSION:
        problems.append(
            Problem(f"{at}.billing_cycle", "a plan with a periodic fee cannot be billed per session")
        )
    for name in ("payment_due_days", "grace_days"):
        if getattr(terms, name) < 0:
            problems.append(Problem(f"{at}.{name}", "must not be negative"))
    problems.extend(bounds.credit_limit_problems(f"{at}.credit_limit_minor", terms.credit_limit_minor))
    for index, fee in enumerate(terms.services):
        problems.extend(bounds.fee_problems(f"{at}.services[{index}]", fee.kind.value, fee.amount))
    if problems:
        raise InvalidInput("contract is invalid", tuple(problems))
    _check_tariffs(uow, actor, plan.currency, terms.overrides, f"{at}.overrides")


def create_contract(
    services: Services,
    actor: Actor,
    *,
    customer_id: str,
    start: datetime,
    end: datetime | None,
    terms: Mapping[str, Any],
    activate: bool = False,
) -> tuple[Contract, ContractTerms]:
    require(actor, Permission.MANAGE_CONTRACTS)
    now = services.clock.now()
    if end is not None and end <= start:
        raise InvalidInput("contract is invalid", (Problem("$.end", "must be after start"),))
    status = ContractStatus.ACTIVE if activate else ContractStatus.DRAFT
    # UTC inside, as every later read shows it (the request may carry any offset)
    start, end = start.astimezone(UTC), None if end is None else end.astimezone(UTC)
    contract = Contract(
        services.ids.new_id(), actor.operator_id, customer_id, status, start, end, 1, now, now
    )
    first = _terms(services, actor, contract, 1, terms, now)
    with services.uow() as uow:
        customer = uow.customers.get(actor.operator_id, customer_id)
        if customer is None:
            raise InvalidInput(
                "contract is invalid", (Problem("$.customer_id", f"no customer {customer_id!r}"),)
            )
        if customer.parent_id is not None:
            raise InvalidInput(
                "contract is invalid",
                (Problem("$.customer_id", "a fleet driver is billed through the business account"),),
            )
        _check_terms(uow, actor, first, customer.currency, "$.terms")
        _refuse_overlap(uow, contract)
        uow.contracts.add(contract)
        uow.contract_terms.add(first)
        audit(uow, actor, now, AuditAction.CREATE, "contract", contract.id, None, first)
        uow.commit()
    return contract, first


def _refuse_overlap(uow: UnitOfWork, contract: Contract) -> None:
    """One ACTIVE contract per customer at any moment: authorisation and billing then never have to
    choose between two. An ACTIVE contract whose period overlaps another ACTIVE one is refused (409)."""
    if contract.status is not ContractStatus.ACTIVE:
        return
    # Two activations of one customer's contracts at once would each see the other still DRAFT: the
    # customer's row is held until commit, so the second waits and then sees the first.
    uow.customers.lock(contract.operator_id, contract.customer_id)
    filters = {"customer_id": contract.customer_id, "status": ContractStatus.ACTIVE}
    for other in uow.contracts.list(contract.operator_id, filters=filters, after=None, limit=200):
        if other.id == contract.id:
            continue
        starts_before_other_ends = other.end is None or contract.start < other.end
        ends_after_other_starts = contract.end is None or other.start < contract.end
        if starts_before_other_ends and ends_after_other_starts:
            raise Conflict(
                f"the customer already has ACTIVE contract {other.id!r} for part of this period; "
                "end or suspend it first"
            )


def change_terms(
    services: Services, actor: Actor, contract_id: str, terms: Mapping[str, Any], *, expected_version: int
) -> tuple[Contract, ContractTerms]:
    """New terms from ``effective_from`` (after the current terms' start); the history is kept."""
    require(actor, Permission.MANAGE_CONTRACTS)
    now = services.clock.now()
    with services.uow() as uow:
        contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
        check_version(contract, expected_version, f"contract {contract_id!r}")
        if contract.status is ContractStatus.ENDED:
            raise Conflict("an ended contract cannot change")
        history = uow.contract_terms.of_contract(actor.operator_id, contract_id)
        current = max(history, key=lambda t: t.number)
        added = _terms(services, actor, contract, current.number + 1, {**_as_fields(current), **terms}, now)
        if added.effective_from <= current.effective_from:
            raise InvalidInput(
                "terms are invalid",
                (Problem("$.effective_from", f"must be after terms {current.number}'s start"),),
            )
        customer = get_or_404(uow.customers, actor.operator_id, contract.customer_id, "customer")
        _check_terms(uow, actor, added, customer.currency)
        updated = replace(contract, current_terms=added.number, updated_at=now, version=contract.version + 1)
        uow.contract_terms.add(added)
        uow.contracts.update(updated, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, "contract", contract_id, current, added)
        uow.commit()
    return updated, added


def _as_fields(terms: ContractTerms) -> dict[str, Any]:
    keep = (
        "plan_id",
        "billing_cycle",
        "payment_method",
        "payment_due_days",
        "grace_days",
        "credit_limit_minor",
    )
    return {name: getattr(terms, name) for name in keep} | {
        "overrides": terms.overrides,
        "services": terms.services,
    }


def move_contract(
    services: Services,
    actor: Actor,
    contract_id: str,
    target: ContractStatus,
    *,
    expected_version: int,
    end: datetime | None = None,
) -> Contract:
    """DRAFT -> ACTIVE <-> SUSPENDED -> ENDED; ending sets the end (now unless given)."""
    require(actor, Permission.MANAGE_CONTRACTS)
    now = services.clock.now()
    with services.uow() as uow:
        contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
        check_version(contract, expected_version, f"contract {contract_id!r}")
        if not can_move(contract.status, target):
            raise Conflict(f"a {contract.status.value} contract cannot become {target.value}")
        new_end = (end or now) if target is ContractStatus.ENDED else contract.end
        if new_end is not None and new_end <= contract.start:
            raise InvalidInput(
                "contract is invalid", (Problem("$.end", "must be after the contract's start"),)
            )
        updated = replace(contract, status=target, end=new_end, updated_at=now, version=contract.version + 1)
        _refuse_overlap(uow, updated)
        uow.contracts.update(updated, expected_version=expected_version)
        audit(uow, actor, now, AuditAction.UPDATE, "contract", contract_id, contract, updated)
        uow.commit()
    return updated


def contract_with_terms(
    services: Services, actor: Actor, contract_id: str
) -> tuple[Contract, Sequence[ContractTerms]]:
    require(actor, Permission.READ)
    with services.uow() as uow:
        contract = get_or_404(uow.contracts, actor.operator_id, contract_id, "contract")
        return contract, uow.contract_terms.of_contract(actor.operator_id, contract_id)


# Promotions


def _promotion_problems(promotion: Promotion) -> list[Problem]:
    p = promotion
    problems: list[Problem] = []
    needs = {
        PromotionKind.COUPON: ("code", "discount_kind", "value"),
        PromotionKind.FIRST_SESSION: ("discount_kind", "value"),
        PromotionKind.NTH_SESSION_FREE: ("nth",),
        PromotionKind.VOLUME_PRICE: ("threshold_kwh", "price_per_kwh"),
        PromotionKind.FREE_KWH: ("free_kwh",),
    }[p.kind]
    problems.extend(
        Problem(f"$.{name}", f"a {p.kind.value} promotion needs it")
        for name in needs
        if getattr(p, name) is None
    )
    if p.discount_kind is DiscountKind.PERCENT and p.value is not None and not 0 < p.value <= 100:
        problems.append(Problem("$.value", "a percentage is more than 0 and at most 100"))
    for name in ("value", "cap", "price_per_kwh"):
        problems.extend(bounds.amount_problems(f"$.{name}", getattr(p, name)))
    for name in ("threshold_kwh", "free_kwh"):
        amount = getattr(p, name)
        if amount is not None and amount < 0:
            problems.append(Problem(f"$.{name}", "must not be negative"))
    for name in ("max_redemptions", "per_customer_limit"):
        problems.extend(bounds.count_problems(f"$.{name}", getattr(p, name)))
    if p.duration is Duration.CYCLES and not p.cycles:
        problems.append(Problem("$.cycles", "a promotion for N cycles needs cycles >= 1"))
    if p.nth is not None and p.nth < 2:
        problems.append(Problem("$.nth", "every n-th session needs n >= 2"))
    if p.starts_at and p.expires_at and p.expires_at <= p.starts_at:
        problems.append(Problem("$.expires_at", "must be after starts_at"))
    return problems


def create_promotion(services: Services, actor: Actor, fields: Mapping[str, Any]) -> Promotion:
    require(actor, Permission.MANAGE_PLANS)
    now = services.clock.now()
    values = dict(fields)
    if values.get("code"):
        values["code"] = str(values["code"]).strip().upper()
    promotion = Promotion(
        id=services.ids.new_id(), operator_id=actor.operator_id, created_at=now, updated_at=now, **values
    )
    problems = _promotion_problems(promotion)
    if problems:
        raise InvalidInput("promotion is invalid", tuple(problems))
    with services.uow() as uow:
        uow.promotions.add(promotion)
        audit(uow, actor, now, AuditAction.CREATE, "promotion", promotion.id, None, promotion)
        uow.commit()
    return promotion


@dataclass(frozen=True, slots=True)
class Given:
    promotion: Promotion
    new: bool


def give_promotion(
    services: Services, actor: Actor, *, customer_id: str, promotion_id: str | None, code: str | None
) -> Given:
    """Give a customer a promotion (by id), or redeem a coupon code for them; giving twice changes nothing."""
    require(actor, Permission.MANAGE_PLANS)
    now = services.clock.now()
    with services.uow() as uow:
        customer = get_or_404(uow.customers, actor.operator_id, customer_id, "customer")
        if code is not None:  # a reference in the body: unknown is invalid input, not "not found"
            promotion = uow.promotions.find_by_code(actor.operator_id, code.strip().upper())
            if promotion is None:
                raise InvalidInput(
                    "promotion is invalid", (Problem("$.code", f"no promotion with code {code!r}"),)
                )
        elif promotion_id is not None:
            promotion = uow.promotions.get(actor.operator_id, promotion_id)
            if promotion is None:
                raise InvalidInput(
                    "promotion is invalid", (Problem("$.promotion_id", f"no promotion {promotion_id!r}"),)
                )
        else:
            raise InvalidInput("give a promotion_id or a code", (Problem("$", "give promotion_id or code"),))
        if not promotion.active_at(now):
            raise Conflict(f"promotion {promotion.name!r} is not active now")
        new = uow.customer_promotions.add(actor.operator_id, customer.id, promotion.id, now)
        if new:
            audit(
                uow,
                actor,
                now,
                AuditAction.CREATE,
                "customer_promotion",
                customer.id,  # the promotion is the entry's "after"; "id/id" overflows entity_id (64)
                None,
                promotion,
            )
        uow.commit()
    return Given(promotion, new)
