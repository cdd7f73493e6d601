"""The journal for accounting systems: CSV, DATEV (EXTF Buchungsstapel) and Beancount.

Each writer turns entries (in the order posted) into lines of text; the caller writes them to a file
in the format's encoding (``ENCODING``: DATEV is cp1252 with CRLF, the others UTF-8). Amounts are exact:
integer minor units shown with the currency's decimals, never through a float.

* CSV: one row per posting (entry id, date, cause, reference, text, account, currency, amount as a
  decimal string, amount in minor units); the postings of an entry sum to zero per currency.
* DATEV: the header line (format 700, category 21 "Buchungsstapel", version 13), the column names, and
  one booking line per debit/credit pair: an entry's debits and credits are paired off greedily, so an
  entry of n postings becomes at most n - 1 lines, each with a positive amount, "S" (Soll) on ``Konto``
  against ``Gegenkonto``, the date as DDMM, a decimal comma. Belegfeld 1 is the document number of a
  document's entry (invoice, receipt, credit note, their void and write-off), else the id its
  reference names, in DATEV's characters (``A-Z a-z 0-9 $ & % * + - /``, at most 36); Belegfeld 2 the
  document's due date (DDMMYY, DATEV's convention for open items) or blank. Accounts map
  to SKR04-style numbers (``DATEV_ACCOUNTS``); only the first 14 of DATEV's columns are written.
  Every row is in the header's currency (the operator's): a Buchungsstapel books in its Mandant's
  currency, and a foreign amount needs its Kurs and Basis-Umsatz, which evbill does not know. An
  export with an entry in another currency is refused naming the entries (``check_datev_currency``).
* Beancount: ``open`` directives for every account, then one transaction per entry. Account codes
  become Beancount names (``receivable:cus-1`` -> ``Assets:Receivables:C-cus-1``).
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal

from evbill.domain import currency as currencies
from evbill.domain.errors import InvalidInput, Problem
from evbill.domain.ledger.accounts import AccountFamily, parse_account
from evbill.domain.ledger.entries import LedgerEntry, Posting


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    DATEV = "datev"
    BEANCOUNT = "beancount"


ENCODING = {ExportFormat.CSV: "utf-8", ExportFormat.DATEV: "cp1252", ExportFormat.BEANCOUNT: "utf-8"}
NEWLINE = {ExportFormat.CSV: "\r\n", ExportFormat.DATEV: "\r\n", ExportFormat.BEANCOUNT: "\n"}


def amount_text(minor_units: int, currency: str) -> str:
    """Minor units as an exact decimal string: (1234, "EUR") -> "12.34", (-5, "EUR") -> "-0.05"."""
    return f"{Decimal(minor_units).scaleb(-currencies.exponent(currency)):f}"


# --- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS = ("entry_id", "posted_at", "cause", "reference", "description", "account", "currency", "amount")


def csv_lines(entries: Iterable[LedgerEntry]) -> Iterator[str]:
    yield _csv_row([*CSV_COLUMNS, "amount_minor"])
    for entry in entries:
        for posting in entry.postings:
            yield _csv_row(
                [
                    entry.id,
                    entry.posted_at.isoformat(),
                    entry.cause.value,
                    entry.reference,
                    entry.description,
                    posting.account,
                    posting.currency,
                    amount_text(posting.amount, posting.currency),
                    str(posting.amount),
                ]
            )


def _csv_row(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


# --- DATEV -----------------------------------------------------------------------------------------

DATEV_ACCOUNTS: dict[AccountFamily, int] = {
    AccountFamily.RECEIVABLE: 1200,
    AccountFamily.GATEWAY_CLEARING: 1460,
    AccountFamily.BANK: 1800,
    AccountFamily.WALLET: 3250,
    AccountFamily.DEFERRED_REVENUE: 3900,
    AccountFamily.VAT_PAYABLE: 3800,
    AccountFamily.REVENUE: 4400,
    AccountFamily.REFUNDS: 4700,
    AccountFamily.GATEWAY_FEES: 6855,
    AccountFamily.WRITE_OFFS: 6930,
    AccountFamily.CHARGEBACK_LOSSES: 6931,
    AccountFamily.SUSPENSE: 1590,  # SKR03 "Durchlaufende Posten"
}
DATEV_REVENUE = {"energy": 4400, "time": 4401, "idle": 4402, "fees": 4403, "subscriptions": 4404}
DATEV_VAT = {"19": 3806, "7": 3801}
DATEV_COLUMNS = (
    "Umsatz (ohne Soll/Haben-Kz)",
    "Soll/Haben-Kennzeichen",
    "WKZ Umsatz",
    "Kurs",
    "Basis-Umsatz",
    "WKZ Basis-Umsatz",
    "Konto",
    "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel",
    "Belegdatum",
    "Belegfeld 1",
    "Belegfeld 2",
    "Skonto",
    "Buchungstext",
)


def datev_account(code: str) -> int:
    account = parse_account(code)
    if account.family is AccountFamily.REVENUE:
        return DATEV_REVENUE[account.qualifier or ""]
    if account.family is AccountFamily.VAT_PAYABLE:
        return DATEV_VAT.get(account.qualifier or "", DATEV_ACCOUNTS[account.family])
    return DATEV_ACCOUNTS[account.family]


def _datev_text(value: str, limit: int) -> str:
    return '"' + value[:limit].replace('"', '""') + '"'


def datev_header(*, created_at: datetime, first: datetime, last: datetime, currency: str) -> str:
    fields = [
        '"EXTF"',
        "700",
        "21",
        '"Buchungsstapel"',
        "13",
        created_at.strftime("%Y%m%d%H%M%S") + f"{created_at.microsecond // 1000:03d}",
        "",
        '"RE"',
        '"evbill"',
        '""',
        "1001",  # Beraternummer: set by the tax adviser on import
        "1",  # Mandantennummer
        first.strftime("%Y") + "0101",  # Wirtschaftsjahr-Beginn
        "4",  # Sachkontenlänge
        first.strftime("%Y%m%d"),
        last.strftime("%Y%m%d"),
        '"evbill ledger"',
        '""',
        "1",  # Buchungstyp: Finanzbuchführung
        "0",
        "0",  # not festgeschrieben: the adviser reviews before fixing
        f'"{currency}"',
        "",
        '""',
        "",
        "",
        '"04"',  # SKR04
        "",
        "",
        '""',
        '""',
    ]
    return ";".join(fields)


def datev_pairs(postings: Iterable[Posting]) -> Iterator[tuple[str, str, int, str]]:
    """(debit account, credit account, amount > 0, currency): the entry's debits and credits paired off."""
    sides: dict[str, tuple[list[tuple[str, int]], list[tuple[str, int]]]] = {}
    for posting in postings:
        debits, credits = sides.setdefault(posting.currency, ([], []))
        (debits if posting.amount > 0 else credits).append((posting.account, abs(posting.amount)))
    for currency, (debits, credits) in sides.items():
        i = j = 0
        debit_left, credit_left = debits[0][1], credits[0][1]
        while i < len(debits) and j < len(credits):
            amount = min(debit_left, credit_left)
            yield debits[i][0], credits[j][0], amount, currency
            debit_left -= amount
            credit_left -= amount
            if debit_left == 0:
                i += 1
                debit_left = debits[i][1] if i < len(debits) else 0
            if credit_left == 0:
                j += 1
                credit_left = credits[j][1] if j < len(credits) else 0


# DATEV's Belegfeld 1: at most 36 of these characters (anything else is refused on import)
_NOT_IN_BELEGFELD = re.compile(r"[^A-Za-z0-9$&%*+\-/]")
BELEGFELD_LENGTH = 36


def belegfeld_1(reference: str, documents: Mapping[str, tuple[str, date | None]]) -> str:
    """The document number of a document's entry (``AMS-2026-000003``), else the id the reference
    names (``capture:<id>`` -> ``<id>``), in DATEV's characters."""
    known = documents.get(reference)
    text = known[0] if known is not None else reference.rpartition(":")[2]
    return _NOT_IN_BELEGFELD.sub("-", text)[:BELEGFELD_LENGTH]


def belegfeld_2(reference: str, documents: Mapping[str, tuple[str, date | None]]) -> str:
    """DATEV's convention for open items: the document's due date as DDMMYY; blank otherwise."""
    known = documents.get(reference)
    return "" if known is None or known[1] is None else known[1].strftime("%d%m%y")


NAMED_AT_MOST = 20  # a refusal names this many entries, then says how many more


def check_datev_currency(entries: Iterable[LedgerEntry], currency: str) -> None:
    """Refuse (naming them) the entries with a posting in another currency than the header's."""
    foreign = [entry for entry in entries if any(p.currency != currency for p in entry.postings)]
    if not foreign:
        return
    problems = [
        Problem(
            f"entry {entry.id}",
            f"{entry.cause.value} {entry.reference} in "
            f"{', '.join(sorted({p.currency for p in entry.postings} - {currency}))}",
        )
        for entry in foreign[:NAMED_AT_MOST]
    ]
    if len(foreign) > NAMED_AT_MOST:
        problems.append(Problem("entries", f"and {len(foreign) - NAMED_AT_MOST} more"))
    raise InvalidInput(
        f"a DATEV export books in {currency} only: {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} "
        "in another currency need an exchange rate (Kurs, Basis-Umsatz) that evbill does not know; "
        "book them by hand or export with --format csv or beancount",
        tuple(problems),
    )


def datev_lines(
    entries: Iterable[LedgerEntry],
    *,
    created_at: datetime,
    currency: str,
    documents: Mapping[str, tuple[str, date | None]] | None = None,
) -> Iterator[str]:
    """DATEV needs its date range in the header: ``entries`` is read twice (give a list or a re-readable).
    ``documents``: by entry reference, the number and due date of the document it is about
    (``queries.document_numbers``), for Belegfeld 1 and 2."""
    documents = documents or {}
    materialised = list(entries)
    check_datev_currency(materialised, currency)
    if materialised:
        first, last = materialised[0].posted_at, materialised[-1].posted_at
    else:
        first = last = created_at
    yield datev_header(created_at=created_at, first=first, last=last, currency=currency)
    yield ";".join(_datev_text(name, 60) for name in DATEV_COLUMNS)
    for entry in materialised:
        for debit_account, credit_account, amount, entry_currency in datev_pairs(entry.postings):
            yield ";".join(
                [
                    amount_text(amount, entry_currency).replace(".", ","),
                    '"S"',
                    f'"{entry_currency}"',
                    "",
                    "",
                    '""',
                    str(datev_account(debit_account)),
                    str(datev_account(credit_account)),
                    '""',
                    entry.posted_at.strftime("%d%m"),
                    _datev_text(belegfeld_1(entry.reference, documents), BELEGFELD_LENGTH),
                    _datev_text(belegfeld_2(entry.reference, documents), 12),
                    "",
                    _datev_text(entry.description, 60),
                ]
            )


# --- Beancount -------------------------------------------------------------------------------------

BEANCOUNT_ROOTS: dict[AccountFamily, str] = {
    AccountFamily.RECEIVABLE: "Assets:Receivables",
    AccountFamily.GATEWAY_CLEARING: "Assets:GatewayClearing",
    AccountFamily.BANK: "Assets:Bank",
    AccountFamily.WALLET: "Liabilities:Wallets",
    AccountFamily.DEFERRED_REVENUE: "Liabilities:DeferredRevenue",
    AccountFamily.VAT_PAYABLE: "Liabilities:VAT",
    AccountFamily.REVENUE: "Income",
    AccountFamily.REFUNDS: "Expenses:Refunds",
    AccountFamily.GATEWAY_FEES: "Expenses:GatewayFees",
    AccountFamily.WRITE_OFFS: "Expenses:WriteOffs",
    AccountFamily.CHARGEBACK_LOSSES: "Expenses:ChargebackLosses",
    AccountFamily.SUSPENSE: "Liabilities:Suspense",
}
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9-]")


def beancount_account(code: str) -> str:
    account = parse_account(code)
    root = BEANCOUNT_ROOTS[account.family]
    if account.qualifier is None:
        return root
    if account.family is AccountFamily.REVENUE:
        return f"{root}:{account.qualifier.capitalize()}"
    prefix = {AccountFamily.RECEIVABLE: "C-", AccountFamily.WALLET: "W-", AccountFamily.VAT_PAYABLE: "R"}
    return f"{root}:{prefix.get(account.family, 'G-')}{_NOT_IN_NAME.sub('-', account.qualifier)}"


def _beancount_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def beancount_lines(entries: Iterable[LedgerEntry]) -> Iterator[str]:
    """Open directives must come first and carry a date: ``entries`` is read twice, as for DATEV."""
    materialised = list(entries)
    yield ";; evbill ledger export (Beancount v3)"
    if not materialised:
        return
    opened = sorted({beancount_account(p.account) for entry in materialised for p in entry.postings})
    opening_date = materialised[0].posted_at.date().isoformat()
    yield ""
    yield from (f"{opening_date} open {name}" for name in opened)
    for entry in materialised:
        yield ""
        yield f"{entry.posted_at.date().isoformat()} * {_beancount_string(entry.description)}"
        yield f"  entry: {_beancount_string(entry.id)}"
        yield f"  cause: {_beancount_string(entry.cause.value)}"
        yield f"  reference: {_beancount_string(entry.reference)}"
        for posting in entry.postings:
            amount = amount_text(posting.amount, posting.currency)
            yield f"  {beancount_account(posting.account)}  {amount} {posting.currency}"


def export_lines(
    export_format: ExportFormat,
    entries: Iterable[LedgerEntry],
    *,
    created_at: datetime,
    currency: str,
    documents: Mapping[str, tuple[str, date | None]] | None = None,
) -> Iterator[str]:
    if export_format is ExportFormat.CSV:
        return csv_lines(entries)
    if export_format is ExportFormat.DATEV:
        return datev_lines(entries, created_at=created_at, currency=currency, documents=documents)
    return beancount_lines(entries)
