"""Who may call what: the one table that gives every API route the action it performs.

A role allows a set of actions (``domain.access.operators``: the role x action matrix, written out in
the README); this module says which action each route is. The ``actor`` dependency, which every
route but ``/health`` goes through, looks the route up here and refuses with 403 when the caller's
role does not allow it, before the route's code runs. A route missing from the table is refused for
everyone (and ``tests/e2e/api/test_permissions.py`` fails), so a new route cannot be forgotten.

The use cases check the same actions again (``application.records.require``), for the CLI and OCPP
callers; the two agree because both name the same ``Permission``.
"""

from __future__ import annotations

import re

from evbill.domain.access.operators import Actor, Permission
from evbill.domain.errors import PermissionDenied

READ = Permission.READ

ROUTE_ACTIONS: dict[tuple[str, str], Permission] = {
    ("GET", "/api/v1/operators"): READ,
    ("GET", "/api/v1/operators/{operator_id}"): READ,
    ("PATCH", "/api/v1/operators/{operator_id}"): Permission.MANAGE_OPERATOR,
    ("GET", "/api/v1/api-keys"): Permission.MANAGE_KEYS,
    ("POST", "/api/v1/api-keys"): Permission.MANAGE_KEYS,
    ("DELETE", "/api/v1/api-keys/{key_id}"): Permission.MANAGE_KEYS,
    ("GET", "/api/v1/audit-log"): Permission.READ_AUDIT,
    # sites
    **{
        (method, f"/api/v1/{kind}{suffix}"): permission
        for kind in ("locations", "stations", "evses", "connectors")
        for method, suffix, permission in (
            ("GET", "", READ),
            ("GET", "/{record_id}", READ),
            ("POST", "", Permission.MANAGE_SITES),
            ("PATCH", "/{record_id}", Permission.MANAGE_SITES),
            ("DELETE", "/{record_id}", Permission.MANAGE_SITES),
        )
    },
    # tariffs
    ("GET", "/api/v1/tariffs"): READ,
    ("POST", "/api/v1/tariffs"): Permission.MANAGE_TARIFFS,
    ("GET", "/api/v1/tariffs/{tariff_id}"): READ,
    ("PUT", "/api/v1/tariffs/{tariff_id}"): Permission.MANAGE_TARIFFS,
    ("GET", "/api/v1/tariffs/{tariff_id}/versions"): READ,
    ("GET", "/api/v1/tariffs/{tariff_id}/versions/{number}"): READ,
    ("POST", "/api/v1/tariffs/validate"): READ,  # computes only, stores nothing
    ("POST", "/api/v1/tariffs/preview"): READ,  # computes only, stores nothing
    ("GET", "/api/v1/tariff-assignments"): READ,
    ("GET", "/api/v1/tariff-assignments/{assignment_id}"): READ,
    ("POST", "/api/v1/tariff-assignments"): Permission.MANAGE_TARIFFS,
    ("DELETE", "/api/v1/tariff-assignments/{assignment_id}"): Permission.MANAGE_TARIFFS,
    ("GET", "/api/v1/evses/{evse_id}/tariff"): READ,
    ("GET", "/api/v1/price"): READ,
    # sessions
    ("GET", "/api/v1/sessions"): READ,
    ("GET", "/api/v1/sessions/{session_id}"): READ,
    ("GET", "/api/v1/sessions/{session_id}/cdr"): READ,
    ("GET", "/api/v1/sessions/{session_id}/evidence"): READ,
    ("GET", "/api/v1/sessions/{session_id}/review"): READ,
    ("POST", "/api/v1/sessions/{session_id}/close"): Permission.MANAGE_SESSIONS,  # with ended_at: BILL
    ("POST", "/api/v1/sessions/{session_id}/rerate"): Permission.BILL,
    ("POST", "/api/v1/sessions/{session_id}/energy-correction"): Permission.BILL,
    ("POST", "/api/v1/sessions/{session_id}/void"): Permission.BILL,
    # analytics
    ("GET", "/api/v1/analytics/report"): READ,
    ("GET", "/api/v1/analytics/report.csv"): READ,
    ("GET", "/api/v1/analytics/heatmap"): READ,
    ("GET", "/api/v1/analytics/heatmap.{output}"): READ,
    ("GET", "/api/v1/analytics/revenue.{output}"): READ,
    ("GET", "/api/v1/analytics/report.parquet"): READ,
    ("GET", "/api/v1/analytics/margin"): READ,
    ("GET", "/api/v1/analytics/booked-revenue"): READ,
    ("GET", "/api/v1/analytics/booked-revenue.{output}"): READ,
    ("PUT", "/api/v1/analytics/energy-purchases/{location_id}"): Permission.MANAGE_SITES,  # a location's cost
    ("PUT", "/api/v1/analytics/energy-prices/{location_id}"): Permission.MANAGE_SITES,
    ("POST", "/api/v1/backtests"): READ,  # computes only, stores nothing
    ("GET", "/api/v1/reports/utilisation"): READ,
    ("GET", "/api/v1/reports/utilisation.csv"): READ,
    ("GET", "/api/v1/reports/faults"): READ,
    ("GET", "/api/v1/reports/occupancy"): READ,
    ("GET", "/api/v1/reports/occupancy.{output}"): READ,
    # invoices, receipts, credit notes: what customers receive (issuing and correcting is billing's)
    ("GET", "/api/v1/invoices"): READ,
    ("GET", "/api/v1/invoices/{invoice_id}"): READ,
    ("GET", "/api/v1/invoices/{invoice_id}/pdf"): READ,
    ("GET", "/api/v1/invoices/{invoice_id}/ubl"): READ,
    ("GET", "/api/v1/invoices/{invoice_id}/cii"): READ,
    ("POST", "/api/v1/invoices/{invoice_id}/credit-notes"): Permission.BILL,
    ("POST", "/api/v1/invoices/{invoice_id}/void"): Permission.BILL,
    ("POST", "/api/v1/invoices/{invoice_id}/send"): Permission.BILL,
    ("POST", "/api/v1/sessions/{session_id}/receipt"): Permission.BILL,
    ("GET", "/api/v1/contracts/{contract_id}/invoice-preview"): READ,  # computes only, stores nothing
    ("GET", "/api/v1/invoicing-profile"): READ,
    ("PUT", "/api/v1/invoicing-profile"): Permission.MANAGE_OPERATOR,
    # payments, refunds, wallets: moving money is billing's
    ("POST", "/api/v1/payments"): Permission.BILL,
    ("POST", "/api/v1/payments/statements"): Permission.BILL,
    ("GET", "/api/v1/payments"): READ,
    ("GET", "/api/v1/payments/{payment_id}"): READ,
    ("POST", "/api/v1/payments/{payment_id}/capture"): Permission.BILL,
    ("POST", "/api/v1/payments/{payment_id}/confirm"): Permission.BILL,
    ("POST", "/api/v1/payments/{payment_id}/release"): Permission.BILL,
    ("POST", "/api/v1/refunds"): Permission.BILL,
    ("POST", "/api/v1/wallets"): Permission.MANAGE_CUSTOMERS,  # opens an empty wallet
    ("GET", "/api/v1/wallets/{wallet_id}"): READ,
    ("POST", "/api/v1/wallets/{wallet_id}/top-ups"): Permission.BILL,
    ("POST", "/api/v1/wallets/{wallet_id}/payments"): Permission.BILL,
    ("POST", "/api/v1/wallets/{wallet_id}/refunds"): Permission.BILL,
    ("POST", "/api/v1/wallets/{wallet_id}/authorisations"): READ,  # answers, holds nothing
    # paying for sessions: the payment link's QR code, the ad hoc hold, cards on file, wallet reloads
    ("GET", "/api/v1/evses/{evse_id}/payment-qr.{output}"): READ,
    ("PUT", "/api/v1/hold-amounts"): Permission.BILL,
    # a card on file is charged for sessions, reloads and invoices: billing's, not support's
    ("PUT", "/api/v1/customers/{customer_id}/card-on-file"): Permission.BILL,
    ("GET", "/api/v1/customers/{customer_id}/card-on-file"): READ,
    ("PATCH", "/api/v1/customers/{customer_id}/card-on-file"): Permission.BILL,
    ("DELETE", "/api/v1/customers/{customer_id}/card-on-file"): Permission.BILL,
    ("GET", "/api/v1/payments/cards-on-file"): READ,
    ("POST", "/api/v1/customers/{customer_id}/card-setup"): Permission.BILL,
    ("POST", "/api/v1/customers/{customer_id}/card-setup/{setup_id}/confirm"): Permission.BILL,
    # SEPA mandates and the collection policy: collecting is billing's, the policy the operator's
    ("POST", "/api/v1/payments/mandates"): Permission.BILL,
    ("GET", "/api/v1/payments/mandates"): READ,
    ("GET", "/api/v1/payments/mandates/{mandate_id}"): READ,
    ("POST", "/api/v1/payments/mandates/{mandate_id}/revoke"): Permission.BILL,
    ("GET", "/api/v1/payments/collection-policy"): READ,
    ("PUT", "/api/v1/payments/collection-policy"): Permission.MANAGE_OPERATOR,
    ("PUT", "/api/v1/wallets/{wallet_id}/reload"): Permission.BILL,
    # the ledger
    ("GET", "/api/v1/ledger/trial-balance"): READ,
    ("GET", "/api/v1/ledger/accounts/{account}/statement"): READ,
    ("GET", "/api/v1/ledger/entries"): READ,
    # customers and tokens
    ("GET", "/api/v1/customers"): READ,
    ("GET", "/api/v1/customers/{record_id}"): READ,
    ("POST", "/api/v1/customers"): Permission.MANAGE_CUSTOMERS,
    ("PATCH", "/api/v1/customers/{record_id}"): Permission.MANAGE_CUSTOMERS,
    ("DELETE", "/api/v1/customers/{record_id}"): Permission.MANAGE_CUSTOMERS,
    ("POST", "/api/v1/imports/customers"): Permission.MANAGE_CUSTOMERS,
    ("GET", "/api/v1/tokens"): READ,
    ("GET", "/api/v1/tokens/{record_id}"): READ,
    ("POST", "/api/v1/tokens"): Permission.MANAGE_TOKENS,
    ("PATCH", "/api/v1/tokens/{record_id}"): Permission.MANAGE_TOKENS,  # blocking and unblocking too
    ("DELETE", "/api/v1/tokens/{record_id}"): Permission.MANAGE_TOKENS,
    ("POST", "/api/v1/imports/tokens"): Permission.MANAGE_TOKENS,
    ("POST", "/api/v1/tokens/authorize"): READ,  # answers, stores nothing
    # plans, contracts, promotions, bills
    ("GET", "/api/v1/plans"): READ,
    ("GET", "/api/v1/plans/{plan_id}"): READ,
    ("POST", "/api/v1/plans"): Permission.MANAGE_PLANS,
    ("POST", "/api/v1/plans/{plan_id}/versions"): Permission.MANAGE_PLANS,
    ("GET", "/api/v1/contracts"): READ,
    ("GET", "/api/v1/contracts/{contract_id}"): READ,
    ("POST", "/api/v1/contracts"): Permission.MANAGE_CONTRACTS,
    ("POST", "/api/v1/contracts/{contract_id}/terms"): Permission.MANAGE_CONTRACTS,
    ("POST", "/api/v1/contracts/{contract_id}/status"): Permission.MANAGE_CONTRACTS,
    ("GET", "/api/v1/contracts/{contract_id}/bill"): READ,  # a preview: nothing is recorded
    ("POST", "/api/v1/contracts/{contract_id}/bill"): Permission.BILL,
    # billing runs (issue 13): starting one bills; following one reads
    ("POST", "/api/v1/billing-runs"): Permission.BILL,
    ("GET", "/api/v1/billing-runs"): READ,
    ("GET", "/api/v1/billing-runs/{run_id}"): READ,
    ("GET", "/api/v1/promotions"): READ,
    ("GET", "/api/v1/promotions/{promotion_id}"): READ,
    ("POST", "/api/v1/promotions"): Permission.MANAGE_PLANS,
    ("POST", "/api/v1/customers/{customer_id}/promotions"): Permission.MANAGE_PLANS,
}


# Routes open without an API key, each with what authenticates it instead (``/health`` says nothing
# about anyone). They are not in ROUTE_ACTIONS: no role is asked, so none can be wrong.
PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/webhooks/stripe"): "the Stripe-Signature header, checked with EVBILL_STRIPE_WEBHOOK_SECRET",
    # a driver paying at the charger has no key (AFIR); per-address limits, the card's own checks
    ("GET", "/pay/{evse}"): "none: the price and place of a public EVSE",
    ("POST", "/pay/{evse}/start"): "the payment method token, held at the gateway before any start",
    ("GET", "/pay/{evse}/starts/{start_id}"): "the start's unguessable id",
    ("GET", "/pay/{evse}/starts/{start_id}/receipt"): "the start's unguessable id: the driver's own receipt",
    (
        "POST",
        "/pay/{evse}/starts/{start_id}/confirm",
    ): "the start's unguessable id and the gateway's 3-D Secure",
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$")


# Per method and number of path segments: (literal segments, pattern, action), literal routes first,
# so /tariffs/validate is not read as /tariffs/{tariff_id}.
_ROUTES: dict[tuple[str, int], list[tuple[int, re.Pattern[str], Permission]]] = {}
for (_method, _template), _action in ROUTE_ACTIONS.items():
    _ROUTES.setdefault((_method, _template.count("/")), []).append(
        (_template.count("{"), _pattern(_template), _action)
    )
for _candidates in _ROUTES.values():
    _candidates.sort(key=lambda candidate: candidate[0])


def action_of(method: str, path: str) -> Permission | None:
    """The action of the route a request reaches (HEAD is a GET). None: the route is not in the table."""
    method = "GET" if method == "HEAD" else method
    for _, pattern, action in _ROUTES.get((method, path.rstrip("/").count("/")), ()):
        if pattern.match(path):
            return action
    return None


def check_route(actor: Actor, method: str, path: str) -> None:
    """Refuse (403) unless the actor's role allows what the route does; unknown routes are refused."""
    action = action_of(method, path)
    if action is None:
        raise PermissionDenied(f"{method} {path} is not open to API keys")
    if not actor.may(action):
        raise PermissionDenied(f"role {actor.role.value!r} may not {action.value.replace('_', ' ')}")
