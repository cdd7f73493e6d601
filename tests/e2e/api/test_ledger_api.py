"""/api/v1/ledger: the trial balance, statements and the journal, per operator."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from evbill.application.ledger.posting import Receivable, post_invoice_issued
from evbill.domain.ledger.accounts import RevenueKind
from evbill.domain.money import SettledMoney


def issue(api, tenant, invoice_id: str, total: int, energy: int, vat: int) -> None:
    services = api.container.services
    with services.uow() as uow:
        post_invoice_issued(
            uow,
            services.ids,
            operator_id=tenant.operator_id,
            receivable_=Receivable("invoice", invoice_id, "cus-1", SettledMoney(total, "EUR")),
            revenue_by_kind={RevenueKind.ENERGY: energy},
            vat_by_rate={Decimal("21"): vat},
            at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        )
        uow.commit()


def test_the_trial_balance_shows_each_account_and_sums_to_zero(api):
    alpha = api.tenant("Alpha")
    issue(api, alpha, "INV-1", 1210, 1000, 210)
    issue(api, alpha, "INV-2", 605, 500, 105)

    response = alpha.get("/ledger/trial-balance")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "accounts": [
            {
                "account": "receivable:cus-1",
                "currency": "EUR",
                "debit": "18.15",
                "credit": "0.00",
                "balance": "18.15",
            },
            {
                "account": "revenue:energy",
                "currency": "EUR",
                "debit": "0.00",
                "credit": "15.00",
                "balance": "-15.00",
            },
            {
                "account": "vat_payable:21",
                "currency": "EUR",
                "debit": "0.00",
                "credit": "3.15",
                "balance": "-3.15",
            },
        ],
        "totals": [{"currency": "EUR", "total": "0.00"}],
    }


def test_a_statement_lists_postings_with_the_running_balance(api):
    alpha = api.tenant("Alpha")
    issue(api, alpha, "INV-1", 1210, 1000, 210)
    issue(api, alpha, "INV-2", 605, 500, 105)

    response = alpha.get("/ledger/accounts/receivable:cus-1/statement", params={"currency": "EUR"})

    assert response.status_code == 200, response.text
    assert [(line["reference"], line["amount"], line["balance"]) for line in response.json()["items"]] == [
        ("invoice:INV-1", "12.10", "12.10"),
        ("invoice:INV-2", "6.05", "18.15"),
    ]
    assert response.json()["next_cursor"] is None


def test_a_statement_comes_in_cursor_pages_and_the_balance_runs_on_across_them(api):
    """Tester finding 15: a statement of 554 lines came as one bare list."""
    alpha = api.tenant("Alpha")
    for number, total in enumerate((1210, 605, 121, 242, 363), start=1):
        issue(api, alpha, f"INV-{number}", total, total * 100 // 121, total - total * 100 // 121)
    path, lines, cursor, pages = "/ledger/accounts/receivable:cus-1/statement", [], None, 0

    while True:
        params = {"currency": "EUR", "limit": 2} | ({} if cursor is None else {"cursor": cursor})
        page = alpha.get(path, params=params).json()
        lines += [(line["reference"], line["balance"]) for line in page["items"]]
        pages, cursor = pages + 1, page["next_cursor"]
        if cursor is None or pages > 5:
            break
    unknown = alpha.get(path, params={"currency": "EUR", "cursor": "999999999"}).json()
    too_many = alpha.get(path, params={"currency": "EUR", "limit": 201})

    assert pages == 3
    assert lines == [
        ("invoice:INV-1", "12.10"),
        ("invoice:INV-2", "18.15"),
        ("invoice:INV-3", "19.36"),
        ("invoice:INV-4", "21.78"),
        ("invoice:INV-5", "25.41"),
    ]
    assert unknown == {"items": [], "next_cursor": None}
    assert too_many.status_code == 422
    journal = alpha.get("/ledger/entries", params={"limit": 3}).json()
    rest = alpha.get("/ledger/entries", params={"limit": 3, "cursor": journal["next_cursor"]}).json()
    assert [len(journal["items"]), len(rest["items"]), rest["next_cursor"]] == [3, 2, None]


def test_another_operators_ledger_is_never_shown(api):
    alpha, beta = api.tenant("Alpha"), api.tenant("Beta")
    issue(api, alpha, "INV-1", 1210, 1000, 210)

    assert beta.get("/ledger/trial-balance").json() == {"accounts": [], "totals": []}
    assert beta.get("/ledger/entries").json() == {"items": [], "next_cursor": None}


def test_an_account_outside_the_chart_is_a_problem_naming_it(api):
    response = api.tenant("Alpha").get("/ledger/accounts/cash/statement", params={"currency": "EUR"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "path.account"
