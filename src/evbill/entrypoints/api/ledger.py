"""/api/v1/ledger: the trial balance, an account's statement, and the journal.

Amounts are decimal strings in the currency's own decimals ("12.10"), computed from the ledger's
integer minor units; debit positive, credit negative, as stored.
"""

# No `from __future__ import annotations`: FastAPI resolves these signatures at runtime.

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from evbill.application.ledger import queries
from evbill.application.records import Services
from evbill.domain import currency as currencies
from evbill.domain.access.operators import Actor
from evbill.entrypoints.api.common import Cursor, Exact, Limit, PageOut
from evbill.entrypoints.api.security import actor, services

router = APIRouter(prefix="/ledger", tags=["ledger"])


def money(minor_units: int, currency: str) -> Decimal:
    return Decimal(minor_units).scaleb(-currencies.exponent(currency))


class AccountBalanceOut(BaseModel):
    account: str
    currency: str
    debit: Exact
    credit: Exact
    balance: Exact = Field(description="Debit minus credit.")


class CurrencyTotalOut(BaseModel):
    currency: str
    total: Exact = Field(description="Sum of every balance: 0 in a sound ledger.")


class TrialBalanceOut(BaseModel):
    accounts: list[AccountBalanceOut]
    totals: list[CurrencyTotalOut]


class StatementLineOut(BaseModel):
    entry_id: str
    posted_at: datetime
    cause: str
    reference: str
    description: str
    amount: Exact
    balance: Exact = Field(description="The account's running balance after this posting.")


class PostingOut(BaseModel):
    account: str
    currency: str
    amount: Exact


class EntryOut(BaseModel):
    id: str
    posted_at: datetime
    cause: str
    reference: str
    description: str
    postings: list[PostingOut]


@router.get("/trial-balance", response_model=TrialBalanceOut, summary="Every account's balance per currency")
def trial_balance(who: Actor = Depends(actor), svc: Services = Depends(services)) -> TrialBalanceOut:
    result = queries.trial_balance(svc, who)
    return TrialBalanceOut(
        accounts=[
            AccountBalanceOut(
                account=b.account,
                currency=b.currency,
                debit=money(b.debit, b.currency),
                credit=money(b.credit, b.currency),
                balance=money(b.balance, b.currency),
            )
            for b in result.accounts
        ],
        totals=[CurrencyTotalOut(currency=c, total=money(t, c)) for c, t in result.totals.items()],
    )


@router.get(
    "/accounts/{account}/statement",
    response_model=PageOut[StatementLineOut],
    summary="An account's postings in one currency, with the running balance, a page at a time",
)
def statement(
    account: str,
    currency: Annotated[str, Query(min_length=3, max_length=3, description="ISO 4217, e.g. EUR.")],
    limit: Limit = 50,
    cursor: Cursor = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> PageOut[StatementLineOut]:
    lines = queries.account_statement(svc, who, account, currency, after=cursor, limit=limit + 1)
    kept = lines[:limit]
    next_cursor = kept[-1].posting_id if len(lines) > limit else None
    items = [
        StatementLineOut(
            entry_id=line.entry_id,
            posted_at=line.posted_at,
            cause=line.cause,
            reference=line.reference,
            description=line.description,
            amount=money(line.amount, currency),
            balance=money(line.running_balance, currency),
        )
        for line in kept
    ]
    return PageOut[StatementLineOut](items=items, next_cursor=next_cursor)


@router.get("/entries", response_model=PageOut[EntryOut], summary="The journal, in the order posted")
def entries(
    limit: Limit = 50,
    cursor: Cursor = None,
    who: Actor = Depends(actor),
    svc: Services = Depends(services),
) -> PageOut[EntryOut]:
    page = queries.journal(svc, who, after=cursor, limit=limit)
    items = [
        EntryOut(
            id=entry.id,
            posted_at=entry.posted_at,
            cause=entry.cause.value,
            reference=entry.reference,
            description=entry.description,
            postings=[
                PostingOut(account=p.account, currency=p.currency, amount=money(p.amount, p.currency))
                for p in entry.postings
            ],
        )
        for entry in page
    ]
    return PageOut[EntryOut](items=items, next_cursor=page[-1].id if len(page) == limit else None)
