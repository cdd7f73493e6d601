"""Which tariff applies to a session: one deterministic, documented resolution.

In order, the first that gives a tariff wins:

1. ``CONTRACT_OVERRIDE``: the customer's contract terms name a tariff for the connector's class;
2. ``PLAN_TARIFF``: the contract's plan names a tariff for the class (subscription, membership,
   per-minute plans);
3. ``EVSE``, ``STATION``, ``LOCATION``: the most specific tariff assigned where the car charges;
4. ``OPERATOR_DEFAULT``: the tariff assigned to the whole operator.

Without a contract (ad hoc: a payment card at the charger, an unknown token) only steps 3 and 4
apply. That is the public ad-hoc price, shown before the session starts and the same for everyone
(EU AFIR), and the rule is named ``AD_HOC``. Pay-per-use and flat-rate plans name no tariffs, so
their sessions get the public price too; a flat rate then covers it up to its fair-use cap in billing.

    >>> from evbill.domain.tariffs.catalog import AssignmentScope, TariffAssignment
    >>> public = [TariffAssignment("a", "op", AssignmentScope.LOCATION, "loc", "public-ac")]
    >>> choice = resolve_price(
    ...     overrides={}, plan_tariffs={ConnectorClass.AC: "member-ac"}, has_contract=True,
    ...     connector_class=ConnectorClass.AC, assignments=public,
    ...     location_id="loc", station_id="st", evse_id="ev",
    ... )
    >>> choice.tariff_id, choice.rule
    ('member-ac', <PriceRule.PLAN_TARIFF: 'PLAN_TARIFF'>)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evbill.domain.offers.plans import ConnectorClass
from evbill.domain.tariffs.catalog import AssignmentScope, TariffAssignment


class PriceRule(enum.StrEnum):
    CONTRACT_OVERRIDE = "CONTRACT_OVERRIDE"
    PLAN_TARIFF = "PLAN_TARIFF"
    EVSE = "EVSE"
    STATION = "STATION"
    LOCATION = "LOCATION"
    OPERATOR_DEFAULT = "OPERATOR_DEFAULT"
    AD_HOC = "AD_HOC"


@dataclass(frozen=True, slots=True)
class PriceChoice:
    tariff_id: str
    rule: PriceRule
    reason: str


_SCOPE_RULES = (
    (AssignmentScope.EVSE, PriceRule.EVSE),
    (AssignmentScope.STATION, PriceRule.STATION),
    (AssignmentScope.LOCATION, PriceRule.LOCATION),
    (AssignmentScope.OPERATOR, PriceRule.OPERATOR_DEFAULT),
)


def resolve_price(
    *,
    overrides: Mapping[ConnectorClass, str],
    plan_tariffs: Mapping[ConnectorClass, str],
    has_contract: bool,
    connector_class: ConnectorClass,
    assignments: Iterable[TariffAssignment],
    location_id: str,
    station_id: str,
    evse_id: str,
) -> PriceChoice | None:
    """The tariff for a session starting now, and the rule that chose it; None if nothing applies."""
    if connector_class in overrides:
        return PriceChoice(
            overrides[connector_class],
            PriceRule.CONTRACT_OVERRIDE,
            f"the contract's own price for {connector_class.value} charging",
        )
    if connector_class in plan_tariffs:
        return PriceChoice(
            plan_tariffs[connector_class],
            PriceRule.PLAN_TARIFF,
            f"the plan's tariff for {connector_class.value}",
        )
    scope_ids = {
        AssignmentScope.EVSE: evse_id,
        AssignmentScope.STATION: station_id,
        AssignmentScope.LOCATION: location_id,
        AssignmentScope.OPERATOR: None,
    }
    listed = list(assignments)
    for scope, rule in _SCOPE_RULES:
        for assignment in listed:
            if assignment.scope is scope and assignment.scope_id == scope_ids[scope]:
                where = (
                    "the operator's default tariff"
                    if scope is AssignmentScope.OPERATOR
                    else f"the {scope.value}'s tariff"
                )
                if not has_contract:
                    return PriceChoice(
                        assignment.tariff_id, PriceRule.AD_HOC, f"public ad-hoc price: {where}"
                    )
                return PriceChoice(assignment.tariff_id, rule, where)
    return None
