"""Bank statements read into entries: ISO 20022 camt.053 (001.02 and 001.08) with lxml, and a CSV.

camt.053: every booked entry (``Sts`` BOOK) of every statement in the file; an entry booking several
transactions at once (a batch) gives one entry per transaction (``TxDtls``), each with its own amount,
references and remittance. The key that identifies an entry at the bank is the transaction's
``AcctSvcrRef``, else the entry's ``AcctSvcrRef`` or ``NtryRef`` (with the transaction's position in
a batch), else (an entry with no reference at all) its content: the statement id, the entry's position,
booking date, amount, counterparty and remittance, hashed, so a different statement's entry is never
taken for one imported already. Such an entry also carries the key older versions gave it (the statement
id and the entry's position, ``S-1#2``, ``S-1#2/3`` in a batch) so that an entry stored under it before is
still recognised as imported. A statement without ``Id`` (the camt.053 XSD requires it) is refused,
as is a ``CdtDbtInd`` other than CRDT or DBIT.

CSV (UTF-8, comma-separated, a header row; the columns by name, in any order)::

    entry_id,booked_on,amount,currency,name,iban,reference,remittance
    2026-12-01-0001,2026-12-01,20.01,EUR,Anna de Vries,NL91ABNA0417164300,RF94INV2026000001,

``entry_id`` (the bank's unique id of the line), ``booked_on`` (YYYY-MM-DD), ``amount`` (a plain decimal
with a point, never ``1e3``; negative for a debit) and ``currency`` are required; ``name``, ``iban``,
``reference`` (a structured RF reference) and ``remittance`` (free text) may be empty or absent; so may
``CdtDbtInd`` (CRDT or DBIT: then the amount is not negative, DBIT makes it a debit). Any other column is
refused. The same ``entry_id`` twice in one file with different content refuses the file, naming both
lines (twice the same line is read once; the second is a duplicate).

The statement's account currency is camt.053's ``Stmt/Acct/Ccy`` (a CSV does not say it: the
operator's currency); the import skips entries in any other currency. A booking date before
2000-01-01 is refused (the import refuses one in the future as well).

Every problem is reported with where it is (``line 3.amount``, ``Ntry[2].Amt``); nothing is read from a
file that has one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from evbill.domain import currency as currencies
from evbill.domain.collection.statements import StatementEntry, StatementFormat
from evbill.domain.errors import InvalidInput, Problem

CAMT_NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
}
MAX_BYTES = 50 * 1024 * 1024
# An amount's minor units as the payments API takes them: 18 digits fit every database's 64-bit integer.
MAX_DIGITS = 18
MAX_MINOR = 10**MAX_DIGITS
# a plain decimal with a point: no exponent ("1e3"), no thousands separator, no spaces inside
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
EARLIEST = date(2000, 1, 1)  # a booking date before it is a mistake, not a bank statement


class StatementFileReader:
    def read(self, data: bytes, statement_format: StatementFormat) -> list[StatementEntry]:
        if len(data) > MAX_BYTES:
            raise InvalidInput("statement too large", (Problem("$.file", f"at most {MAX_BYTES} bytes"),))
        if statement_format is StatementFormat.CAMT053:
            return read_camt053(data)
        return read_csv(data)


def _minor(text: str | None, currency: str | None, where: str, problems: list[Problem]) -> int | None:
    if currency is None or not currencies.is_known(currency):
        problems.append(Problem(f"{where}.currency", f"{currency!r} is not an ISO 4217 currency"))
        return None
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        problems.append(Problem(where, f"{text!r} is not an amount"))
        return None
    if not value.is_finite():
        problems.append(Problem(where, f"{text!r} is not an amount"))
        return None
    if not PLAIN_DECIMAL.fullmatch((text or "").strip()):
        problems.append(
            Problem(where, f"{text!r} is not a plain decimal: digits and a decimal point, no exponent")
        )
        return None
    scaled = value.scaleb(currencies.exponent(currency))
    if scaled != scaled.to_integral_value():
        problems.append(Problem(where, f"{text!r} has more decimals than {currency} has"))
        return None
    if abs(scaled) >= MAX_MINOR:
        problems.append(
            Problem(where, f"{text!r} is too large: at most {MAX_DIGITS} digits in {currency}'s minor unit")
        )
        return None
    return int(scaled)


def _day(text: str | None, where: str, problems: list[Problem]) -> date | None:
    try:
        day = date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        problems.append(Problem(where, f"{text!r} is not a date (YYYY-MM-DD)"))
        return None
    if day < EARLIEST:
        problems.append(Problem(where, f"{day.isoformat()} is before {EARLIEST.isoformat()}"))
        return None
    return day


# --- camt.053 ---------------------------------------------------------------------------------------


def read_camt053(data: bytes) -> list[StatementEntry]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise InvalidInput("not a camt.053 file", (Problem("$.file", f"not XML: {error}"),)) from None
    namespace = etree.QName(root).namespace
    if namespace not in CAMT_NAMESPACES:
        raise InvalidInput(
            "not a camt.053 file",
            (Problem("$.file", f"namespace {namespace!r}; camt.053.001.02 or .08 is read"),),
        )
    ns = {"c": namespace}
    problems: list[Problem] = []
    entries: list[StatementEntry] = []
    for statement_number, statement in enumerate(root.iterfind("c:BkToCstmrStmt/c:Stmt", ns), 1):
        statement_id = _text(statement, "c:Id", ns)
        if statement_id is None:
            problems.append(Problem(f"Stmt[{statement_number}].Id", "required (the statement's id)"))
            continue
        account_currency = _text(statement, "c:Acct/c:Ccy", ns)
        for entry_number, entry in enumerate(statement.iterfind("c:Ntry", ns), 1):
            where = f"Stmt[{statement_number}].Ntry[{entry_number}]"
            read = _camt_entry(entry, ns, f"{statement_id}#{entry_number}", where, problems)
            entries.extend(replace(found, account_currency=account_currency) for found in read)
    if problems:
        raise InvalidInput("the statement cannot be read", tuple(problems))
    return entries


def _text(element: etree._Element, path: str, ns: dict[str, str]) -> str | None:
    found = element.findtext(path, namespaces=ns)
    return found.strip() if found and found.strip() else None


def _camt_entry(
    entry: etree._Element, ns: dict[str, str], fallback_key: str, where: str, problems: list[Problem]
) -> Iterator[StatementEntry]:
    status = _text(entry, "c:Sts", ns) or _text(entry, "c:Sts/c:Cd", ns)
    if status != "BOOK":
        return  # pending or informational: not money on the account yet
    amount_element = entry.find("c:Amt", ns)
    currency = None if amount_element is None else amount_element.get("Ccy")
    total = _minor(
        None if amount_element is None else amount_element.text, currency, f"{where}.Amt", problems
    )
    indicator = _text(entry, "c:CdtDbtInd", ns)
    if indicator not in ("CRDT", "DBIT"):
        problems.append(Problem(f"{where}.CdtDbtInd", f"{indicator!r}: CRDT or DBIT"))
    sign = -1 if indicator == "DBIT" else 1
    booked = _day(
        _text(entry, "c:BookgDt/c:Dt", ns) or _text(entry, "c:BookgDt/c:DtTm", ns),
        f"{where}.BookgDt",
        problems,
    )
    bank_key = _text(entry, "c:AcctSvcrRef", ns) or _text(entry, "c:NtryRef", ns)
    details = entry.findall("c:NtryDtls/c:TxDtls", ns)
    if total is None or booked is None or currency is None or indicator not in ("CRDT", "DBIT"):
        return
    if not details:
        entry_key = bank_key or _content_key(fallback_key, booked, sign * total, currency, None, "")
        legacy = None if bank_key else fallback_key
        yield StatementEntry(entry_key, booked, sign * total, currency, where=where, legacy_key=legacy)
        return
    for number, transaction in enumerate(details, 1):
        amount = total
        if len(details) > 1:
            text = _text(transaction, "c:Amt", ns) or _text(transaction, "c:AmtDtls/c:TxAmt/c:Amt", ns)
            found = _minor(text, currency, f"{where}.TxDtls[{number}].Amt", problems)
            if found is None:
                continue
            amount = found
        own_key = _text(transaction, "c:Refs/c:AcctSvcrRef", ns)
        name = _party_name(transaction, ns, sign)
        iban = _text(transaction, f"c:RltdPties/c:{_side(sign)}Acct/c:Id/c:IBAN", ns)
        reference = _text(transaction, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)
        remittance = " ".join(
            (line.text or "").strip() for line in transaction.iterfind("c:RmtInf/c:Ustrd", ns)
        ).strip()
        position = fallback_key if len(details) == 1 else f"{fallback_key}/{number}"
        entry_key = bank_key or _content_key(
            position, booked, sign * amount, currency, f"{name}|{iban}|{reference}", remittance
        )
        key = own_key or (entry_key if len(details) == 1 or not bank_key else f"{entry_key}/{number}")
        # the key this entry had before content keys (``<Stmt/Id>#<n>``, ``/<m>`` in a batch)
        legacy = None if own_key or bank_key else (fallback_key if len(details) == 1 else position)
        yield StatementEntry(
            entry_key=key,
            booked_on=booked,
            amount_minor=sign * amount,
            currency=currency,
            counterparty_name=name,
            counterparty_iban=iban,
            reference=reference,
            remittance=remittance,
            end_to_end_id=_text(transaction, "c:Refs/c:EndToEndId", ns),
            where=where if len(details) == 1 else f"{where}.TxDtls[{number}]",
            legacy_key=legacy,
        )


def _content_key(
    position: str, booked: date, amount_minor: int, currency: str, party: str | None, remittance: str
) -> str:
    """The key of an entry without any bank reference: where it is (statement id and position) and
    what it says, so the same entry of the same statement imported again is a duplicate and any
    other is not. At most 100 characters (the position is cut to 60)."""
    content = "\x1f".join(
        (position, booked.isoformat(), str(amount_minor), currency, party or "", remittance)
    )
    digest = hashlib.sha256(content.encode()).hexdigest()[:32]
    return f"{position[:60]}~{digest}"


def _side(sign: int) -> str:
    return "Dbtr" if sign > 0 else "Cdtr"  # a credit's counterparty paid it: the debtor


def _party_name(transaction: etree._Element, ns: dict[str, str], sign: int) -> str | None:
    side = _side(sign)
    # 001.02: RltdPties/Dbtr/Nm; 001.08: RltdPties/Dbtr/Pty/Nm
    return _text(transaction, f"c:RltdPties/c:{side}/c:Nm", ns) or _text(
        transaction, f"c:RltdPties/c:{side}/c:Pty/c:Nm", ns
    )


# --- CSV --------------------------------------------------------------------------------------------

REQUIRED = ("entry_id", "booked_on", "amount", "currency")
OPTIONAL = ("name", "iban", "reference", "remittance", "CdtDbtInd")


def read_csv(data: bytes) -> list[StatementEntry]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("not a CSV statement", (Problem("$.file", "not UTF-8 text"),)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or ())]
    unknown = [name for name in reader.fieldnames or () if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise InvalidInput(
            "not a CSV statement",
            tuple(Problem(f"header.{name}", "required column missing") for name in missing)
            + tuple(
                Problem(f"header.{name}", f"unknown column; the columns are {', '.join(REQUIRED + OPTIONAL)}")
                for name in unknown
            ),
        )
    problems: list[Problem] = []
    entries: list[StatementEntry] = []
    first_line: dict[str, tuple[int, StatementEntry]] = {}
    for line_number, row in enumerate(reader, 2):
        where = f"line {line_number}"
        key = (row.get("entry_id") or "").strip()
        if not key or len(key) > 100:
            problems.append(Problem(f"{where}.entry_id", "required, at most 100 characters"))
        currency = (row.get("currency") or "").strip().upper()
        amount = _minor(row.get("amount"), currency, f"{where}.amount", problems)
        booked = _day(row.get("booked_on"), f"{where}.booked_on", problems)
        indicator = (row.get("CdtDbtInd") or "").strip()
        if indicator and indicator not in ("CRDT", "DBIT"):
            problems.append(Problem(f"{where}.CdtDbtInd", f"{indicator!r}: CRDT or DBIT (or empty)"))
            continue
        if amount is None or booked is None or not key:
            continue
        if indicator and amount < 0:
            problems.append(Problem(f"{where}.amount", "not negative when CdtDbtInd says which it is"))
            continue
        if indicator == "DBIT":
            amount = -amount
        read = StatementEntry(
            entry_key=key,
            booked_on=booked,
            amount_minor=amount,
            currency=currency,
            counterparty_name=(row.get("name") or "").strip() or None,
            counterparty_iban=(row.get("iban") or "").replace(" ", "").upper() or None,
            reference=(row.get("reference") or "").strip() or None,
            remittance=(row.get("remittance") or "").strip(),
            where=where,
        )
        if key in first_line:
            earlier_line, earlier = first_line[key]
            if replace(earlier, where=where) != read:
                problems.append(
                    Problem(
                        f"{where}.entry_id",
                        f"{key!r} is on line {earlier_line} as well, with different content",
                    )
                )
                continue
        else:
            first_line[key] = (line_number, read)
        entries.append(read)
    if problems:
        raise InvalidInput("the statement cannot be read", tuple(problems))
    return entries
