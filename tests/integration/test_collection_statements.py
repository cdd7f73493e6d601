"""Bank statements imported: credits matched to invoices by RF reference or number, partial and
over-payments, what could not be matched, duplicates; exact ledger entries; SQLite and PostgreSQL.

The invoices (one line each, VAT 21 %, rounded half up):
    A  16.54 + 3.4734 -> 3.47  = 20.01
    B 100.00 + 21.00           = 121.00
    C  50.00 + 10.50           = 60.50
    D  10.00 +  2.10           = 12.10
"""

from __future__ import annotations

import pytest
from lxml import etree

from evbill.adapters.documents.cii import write_cii
from evbill.adapters.documents.ubl import write_ubl
from evbill.application.collection.reconciliation import check_all_books
from evbill.application.collection.statements import import_statement
from evbill.application.invoicing.references import creditor_reference
from evbill.domain.collection.statements import MatchedBy, Outcome, StatementFormat
from evbill.domain.errors import InvalidInput
from evbill.domain.invoicing.documents import DocumentStatus
from tests.einvoices import cii_problems, ubl_problems
from tests.integration.collection_support import Books

CAMT08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CAMT02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def entry(
    key: str,
    amount: str,
    *,
    name: str,
    reference: str = "",
    text: str = "",
    debit: bool = False,
    version: str = CAMT08,
) -> str:
    party = f"<Pty><Nm>{name}</Nm></Pty>" if version == CAMT08 else f"<Nm>{name}</Nm>"
    side = "Cdtr" if debit else "Dbtr"
    structured = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
        f"<Ref>{reference}</Ref></CdtrRefInf></Strd>"
        if reference
        else ""
    )
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version == CAMT08 else "<Sts>BOOK</Sts>"
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>{'DBIT' if debit else 'CRDT'}</CdtDbtInd>{status}"
        f"<BookgDt><Dt>2026-12-02</Dt></BookgDt><AcctSvcrRef>{key}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"<RltdPties><{side}>{party}</{side}><{side}Acct><Id><IBAN>NL02RABO0123456789</IBAN></Id>"
        f"</{side}Acct></RltdPties><RmtInf>{f'<Ustrd>{text}</Ustrd>' if text else ''}{structured}</RmtInf>"
        f"</TxDtls></NtryDtls></Ntry>"
    )  # fmt: skip


def statement(*entries: str, version: str = CAMT08) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Document xmlns='{version}'><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-02T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S-2026-12-02</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id></Acct>"
        + "".join(entries)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def camt(books: Books, data: bytes):
    reader = books.container.statement_reader
    return import_statement(books.services, reader, books.who, data, StatementFormat.CAMT053)


def test_an_issued_invoice_carries_a_checked_rf_reference_in_its_e_invoices(books: Books) -> None:
    invoice = books.invoice("16.54")

    assert invoice.payment_reference == creditor_reference(invoice.number)
    assert invoice.payment_reference.startswith("RF")
    cii, ubl = write_cii(invoice), write_ubl(invoice)
    assert f"<ram:PaymentReference>{invoice.payment_reference}</ram:PaymentReference>".encode() in cii
    assert f"<cbc:PaymentID>{invoice.payment_reference}</cbc:PaymentID>".encode() in ubl
    assert cii_problems(cii) == []
    assert ubl_problems(ubl) == []


def test_a_statement_pays_in_full_in_part_and_over_and_reports_what_it_could_not_match(books: Books) -> None:
    # Given four open invoices of Anna de Vries
    a, b, c, d = (books.invoice(net) for net in ("16.54", "100.00", "50.00", "10.00"))
    assert [i.total_minor for i in (a, b, c, d)] == [2001, 12100, 6050, 1210]

    # When the bank's statement brings six entries
    report = camt(books, statement(
        entry("E1", "20.01", name="Anna de Vries", reference=a.payment_reference),  # A by its reference
        entry("E2", "50.00", name="A. de Vries", text=f"invoice {b.number} part 1"),  # B by its number
        entry("E3", "70.00", name="Anna de Vries", text=f"pay {c.payment_reference} thanks"),  # C, 9.50 over
        entry("E4", "12.10", name="ANNA DE VRIES", text="charging december"),  # D: amount + name, suggested
        entry("E5", "5.00", name="Someone Else", text="what is this"),  # nothing
        entry("E6", "99.00", name="Landlord", debit=True),  # money out: not a payment
    ))  # fmt: skip

    # Then each entry says what became of it
    lines = {line.entry_key: line for line in report.lines}
    assert [(k, line.outcome) for k, line in lines.items()] == [
        ("E1", Outcome.MATCHED), ("E2", Outcome.PARTIAL), ("E3", Outcome.OVERPAID), ("E4", Outcome.UNMATCHED),
        ("E5", Outcome.UNMATCHED), ("E6", Outcome.IGNORED),
    ]  # fmt: skip
    assert (lines["E1"].matched_by, lines["E2"].matched_by, lines["E3"].matched_by) == (
        MatchedBy.REFERENCE, MatchedBy.INVOICE_NUMBER, MatchedBy.REFERENCE,
    )  # fmt: skip
    assert (lines["E2"].applied_minor, lines["E2"].excess_minor) == (5000, 0)
    assert (lines["E3"].applied_minor, lines["E3"].excess_minor) == (6050, 950)  # 70.00 - 60.50
    assert lines["E4"].suggested_invoice_number == d.number  # a suggestion, not applied
    assert lines["E5"].suggested_invoice_number is None
    assert [line.entry_key for line in report.unmatched] == ["E4", "E5"]
    # and the invoices are paid as far as the money goes
    assert [(books.get(i).status, books.get(i).paid_minor) for i in (a, b, c, d)] == [
        (DocumentStatus.PAID, 2001), (DocumentStatus.PARTIALLY_PAID, 5000), (DocumentStatus.PAID, 6050),
        (DocumentStatus.ISSUED, 0),
    ]  # fmt: skip
    # the ledger: bank 20.01 + 50.00 + 70.00 + 12.10 + 5.00 = 157.11; Anna's receivable credited
    # 20.01 + 50.00 + 70.00 = 140.01 (9.50 of it her credit); 12.10 + 5.00 = 17.10 in suspense
    assert books.balances() == {
        "bank": 15711, f"receivable:{books.customer_id}": -14001, "suspense": -1710,
    }  # fmt: skip
    assert check_all_books(books.services).ok


def test_the_same_statement_imported_twice_changes_nothing(books: Books) -> None:
    a = books.invoice("16.54")
    data = statement(entry("E1", "10.00", name="Anna", reference=a.payment_reference))
    camt(books, data)
    before = (books.balances(), books.get(a))

    again = camt(books, data)

    assert [line.outcome for line in again.lines] == [Outcome.DUPLICATE]
    assert (books.balances(), books.get(a)) == before
    assert books.get(a).paid_minor == 1000


def test_a_payment_for_a_paid_invoice_is_all_credit_to_the_customer(books: Books) -> None:
    a = books.invoice("16.54")
    books.import_csv(
        f"entry_id,booked_on,amount,currency,reference\nX1,2026-12-02,20.01,EUR,{a.payment_reference}\n"
    )

    report = books.import_csv(
        f"entry_id,booked_on,amount,currency,reference\nX2,2026-12-03,20.01,EUR,{a.payment_reference}\n"
    )

    assert [(line.outcome, line.applied_minor, line.excess_minor) for line in report.lines] == [
        (Outcome.OVERPAID, 0, 2001)
    ]
    assert books.balances() == {"bank": 4002, f"receivable:{books.customer_id}": -4002}


def test_camt_053_001_02_batches_are_read_per_transaction(books: Books) -> None:
    a, b = books.invoice("16.54"), books.invoice("10.00")
    batch = statement(entry("B1", "32.11", name="Anna", reference=a.payment_reference, version=CAMT02),
                      version=CAMT02)  # fmt: skip
    # two transactions booked as one entry of 20.01 + 12.10 = 32.11
    tx = batch.split(b"<TxDtls>")[1].split(b"</TxDtls>")[0]
    second = tx.replace(a.payment_reference.encode(), b.payment_reference.encode())
    tx_a = tx.replace(b"<Refs>", b"<Refs><AcctSvcrRef>B1-1</AcctSvcrRef>") + b"<Amt Ccy='EUR'>20.01</Amt>"
    tx_b = second.replace(b"<Refs>", b"<Refs><AcctSvcrRef>B1-2</AcctSvcrRef>") + b"<Amt Ccy='EUR'>12.10</Amt>"
    batch = batch.replace(
        b"<TxDtls>" + tx + b"</TxDtls>", b"<TxDtls>" + tx_a + b"</TxDtls><TxDtls>" + tx_b + b"</TxDtls>"
    )

    report = camt(books, batch)

    assert [(line.entry_key, line.outcome, line.amount_minor) for line in report.lines] == [
        ("B1-1", Outcome.MATCHED, 2001), ("B1-2", Outcome.MATCHED, 1210),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "paths"),
    [
        (b"not xml", ["$.file"]),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.02'/>", ["$.file"]),
        (statement(entry("E1", "1.234", name="x")), ["Stmt[1].Ntry[1].Amt"]),
    ],
)
def test_a_bad_camt_file_is_refused_naming_where_and_nothing_is_stored(
    books: Books, data: bytes, paths
) -> None:
    with pytest.raises(InvalidInput) as refused:
        camt(books, data)

    assert [problem.path for problem in refused.value.problems] == paths
    assert books.balances() == {}


def test_a_bad_csv_line_is_refused_naming_line_and_column(books: Books) -> None:
    with pytest.raises(InvalidInput) as refused:
        books.import_csv("entry_id,booked_on,amount,currency\nA,2026-12-02,1.00,EUR\nB,2026-13-01,x,EUR\n")

    assert [p.path for p in refused.value.problems] == ["line 3.amount", "line 3.booked_on"]
    assert books.balances() == {}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            "99999999999999999999999.00",
            "'99999999999999999999999.00' is too large: at most 18 digits in EUR's minor unit",
        ),
        ("NaN", "'NaN' is not an amount"),
        ("Infinity", "'Infinity' is not an amount"),
    ],
)
def test_an_absurd_amount_is_refused_naming_it_not_a_crash(books: Books, amount: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        books.import_csv(f"entry_id,booked_on,amount,currency\nH-1,2026-12-01,{amount},EUR\n")
    assert [(p.path, p.message) for p in refused.value.problems] == [("line 2.amount", message)]
    with pytest.raises(InvalidInput) as refused_camt:
        camt(books, statement(entry("E1", "99999999999999999999.00", name="x")))
    assert [p.path for p in refused_camt.value.problems] == ["Stmt[1].Ntry[1].Amt"]
    assert books.balances() == {}


def test_camt_with_an_external_entity_is_not_resolved(books: Books) -> None:
    evil = (
        b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        + statement(entry("E1", "1.00", name="&x;")).split(b"?>", 1)[1]
    )
    report = camt(books, evil)

    assert "root:" not in (report.lines[0].counterparty_name or "")


def test_parsed_namespaces_are_the_two_supported_versions() -> None:
    from evbill.adapters.banking.statements import CAMT_NAMESPACES

    assert CAMT_NAMESPACES == {CAMT02, CAMT08}
    assert etree  # lxml is what reads them


def test_two_imports_of_one_statement_at_once_store_and_apply_each_entry_once(books: Books) -> None:
    import threading

    a, b = books.invoice("16.54"), books.invoice("100.00")
    data = statement(
        entry("E1", "20.01", name="Anna", reference=a.payment_reference),
        entry("E2", "21.00", name="Anna", reference=b.payment_reference),
    )
    start, reports, errors = threading.Barrier(2), [], []

    def import_once() -> None:
        start.wait()
        try:
            reports.append(camt(books, data))
        except Exception as error:  # a lost race may be refused (and retried); never applied twice
            errors.append(error)

    threads = [threading.Thread(target=import_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    outcomes = sorted(line.outcome for report in reports for line in report.lines)
    assert (outcomes.count(Outcome.MATCHED), outcomes.count(Outcome.PARTIAL)) == (1, 1)
    assert set(outcomes) - {Outcome.MATCHED, Outcome.PARTIAL} <= {Outcome.DUPLICATE}
    assert len(reports) + len(errors) == 2
    assert (books.get(a).paid_minor, books.get(b).paid_minor) == (2001, 2100)
    assert books.balances() == {"bank": 4101, f"receivable:{books.customer_id}": -4101}  # 20.01 + 21.00


def test_updating_many_invoices_at_once_is_refused_whole_when_one_was_changed_meanwhile(books: Books) -> None:
    from dataclasses import replace

    from evbill.domain.errors import Conflict

    a, b = books.invoice("16.54"), books.invoice("10.00")
    stale = replace(b, paid_minor=1, version=b.version + 1)
    with books.services.uow() as uow:
        uow.invoices.update_many([(replace(a, paid_minor=1, version=a.version + 1), a.version)])
        uow.commit()

    with pytest.raises(Conflict), books.services.uow() as uow:  # a's version moved on
        uow.invoices.update_many([(stale, b.version), (replace(a, paid_minor=2), a.version)])

    assert (books.get(a).paid_minor, books.get(b).paid_minor) == (1, 0)


def without_references(data: bytes, key: str) -> bytes:
    return data.replace(f"<AcctSvcrRef>{key}</AcctSvcrRef>".encode(), b"")


def test_a_camt_statement_without_an_id_is_refused(books: Books) -> None:
    data = statement(entry("E1", "5.00", name="Anna")).replace(b"<Id>S-2026-12-02</Id><Acct>", b"<Acct>")

    with pytest.raises(InvalidInput) as refused:
        camt(books, data)

    assert [problem.path for problem in refused.value.problems] == ["Stmt[1].Id"]
    assert books.balances() == {}


def test_entries_without_references_are_keyed_on_their_content_not_taken_for_duplicates(books: Books) -> None:
    b = books.invoice("10.00")  # 12.10
    first = without_references(statement(entry("E1", "5.00", name="Anna")), "E1")
    # another statement of the same shape (same id, first entry) paying b by its number
    second = without_references(statement(entry("E1", "12.10", name="Bob", text=b.number)), "E1")

    one = camt(books, first)
    two = camt(books, second)
    again = camt(books, first)

    assert [line.outcome for line in one.lines] == [Outcome.UNMATCHED]
    assert [(line.outcome, line.applied_minor) for line in two.lines] == [(Outcome.MATCHED, 1210)]
    assert one.lines[0].entry_key != two.lines[0].entry_key
    assert one.lines[0].entry_key.startswith("S-2026-12-02#1~")
    assert [line.outcome for line in again.lines] == [Outcome.DUPLICATE]
    assert books.balances() == {"bank": 1710, "suspense": -500, f"receivable:{books.customer_id}": -1210}
    assert books.get(b).status is DocumentStatus.PAID


def test_an_entry_imported_under_its_legacy_key_is_a_duplicate_when_imported_again(books: Books) -> None:
    b = books.invoice("10.00")  # 12.10
    paying = entry("E1", "12.10", name="Bob", text=b.number)
    # the older import keyed an entry without references "<Stmt/Id>#<n>": stored as it stored it (the
    # same row and ledger entry), here by an entry whose bank reference is that very key
    legacy = camt(books, statement(paying.replace("<AcctSvcrRef>E1<", "<AcctSvcrRef>S-2026-12-02#1<")))
    assert [(line.entry_key, line.outcome) for line in legacy.lines] == [("S-2026-12-02#1", Outcome.MATCHED)]
    before = (books.balances(), books.get(b))

    again = camt(books, without_references(statement(paying), "E1"))

    assert [line.outcome for line in again.lines] == [Outcome.DUPLICATE]
    assert again.lines[0].entry_key.startswith("S-2026-12-02#1~")
    assert (books.balances(), books.get(b)) == before
    assert books.balances() == {"bank": 1210, f"receivable:{books.customer_id}": -1210}
    with books.services.uow(read_only=True) as uow:
        assert len(uow.collection.bank_transactions(books.who.operator_id)) == 1


def test_a_batch_entry_imported_under_its_legacy_keys_is_a_duplicate_again(books: Books) -> None:
    tx = (
        "<TxDtls><RltdPties><Dbtr><Pty><Nm>{0}</Nm></Pty></Dbtr></RltdPties><Amt Ccy='EUR'>{1}</Amt></TxDtls>"
    )
    ntry = (
        "<Ntry><Amt Ccy='EUR'>7.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        "<BookgDt><Dt>2026-12-02</Dt></BookgDt><NtryDtls>{0}{1}</NtryDtls></Ntry>"
    )
    legacy_tx = "<TxDtls><Refs><AcctSvcrRef>{2}</AcctSvcrRef></Refs>" + tx.removeprefix("<TxDtls>")
    # the older import: "S-2026-12-02#1/1" and "/2", stored as it stored them
    old = ntry.format(legacy_tx.format("Anna", "3.00", "S-2026-12-02#1/1"),
                      legacy_tx.format("Bob", "4.00", "S-2026-12-02#1/2"))  # fmt: skip
    camt(books, statement(old))
    before = books.balances()

    again = camt(books, statement(ntry.format(tx.format("Anna", "3.00"), tx.format("Bob", "4.00"))))

    assert [line.outcome for line in again.lines] == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert books.balances() == before == {"bank": 700, "suspense": -700}


def test_the_same_csv_entry_id_twice_with_different_content_refuses_the_file_naming_both_lines(
    books: Books,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        books.import_csv(
            "entry_id,booked_on,amount,currency\nH-1,2026-12-02,5.00,EUR\nH-2,2026-12-02,1.00,EUR\n"
            "H-1,2026-12-02,77.00,EUR\n"
        )

    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("line 4.entry_id", "'H-1' is on line 2 as well, with different content")
    ]
    assert books.balances() == {}


def test_the_same_csv_line_twice_is_read_once(books: Books) -> None:
    report = books.import_csv(
        "entry_id,booked_on,amount,currency\nH-1,2026-12-02,5.00,EUR\nH-1,2026-12-02,5.00,EUR\n"
    )

    assert [line.outcome for line in report.lines] == [Outcome.UNMATCHED, Outcome.DUPLICATE]
    assert books.balances() == {"bank": 500, "suspense": -500}


def test_a_credit_debit_indicator_other_than_crdt_or_dbit_is_refused(books: Books) -> None:
    data = statement(entry("E1", "5.00", name="Anna")).replace(b">CRDT<", b">XXX<")

    with pytest.raises(InvalidInput) as refused:
        camt(books, data)

    assert [(p.path, p.message) for p in refused.value.problems] == [
        ("Stmt[1].Ntry[1].CdtDbtInd", "'XXX': CRDT or DBIT")
    ]


@pytest.mark.parametrize(
    ("day", "message"),
    [("1900-01-01", "1900-01-01 is before 2000-01-01"), ("9999-12-31", "9999-12-31 is in the future"),
     ("2026-12-09", "2026-12-09 is in the future")],
)  # fmt: skip
def test_absurd_booking_dates_are_refused(books: Books, day: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        books.import_csv(f"entry_id,booked_on,amount,currency\nA,2026-12-08,1.00,EUR\nB,{day},1.00,EUR\n")

    assert [(p.path, p.message) for p in refused.value.problems] == [("line 3.booked_on", message)]
    assert books.balances() == {}


def test_a_csv_credit_debit_column_must_say_crdt_or_dbit_and_other_columns_are_refused(books: Books) -> None:
    with pytest.raises(InvalidInput) as indicator:
        books.import_csv("entry_id,booked_on,amount,currency,CdtDbtInd\nA,2026-12-02,5.00,EUR,XXX\n")
    with pytest.raises(InvalidInput) as extra:
        books.import_csv("entry_id,booked_on,amount,currency,memo\nA,2026-12-02,5.00,EUR,hello\n")
    report = books.import_csv(
        "entry_id,booked_on,amount,currency,CdtDbtInd\nA,2026-12-02,5.00,EUR,DBIT\nB,2026-12-02,2.00,EUR,CRDT\n"
    )

    assert [(p.path, p.message) for p in indicator.value.problems] == [
        ("line 2.CdtDbtInd", "'XXX': CRDT or DBIT (or empty)")
    ]
    assert [p.path for p in extra.value.problems] == ["header.memo"]
    assert [(line.outcome, line.amount_minor) for line in report.lines] == [
        (Outcome.IGNORED, -500), (Outcome.UNMATCHED, 200),
    ]  # fmt: skip
    assert books.balances() == {"bank": 200, "suspense": -200}


def test_camt_entries_in_another_currency_than_the_accounts_are_skipped_never_posted(books: Books) -> None:
    # Given an EUR account's statement with a EUR, a USD and a JPY credit
    data = statement(
        entry("E1", "20.00", name="Anna"), entry("U1", "100.00", name="Bob"), entry("J1", "5", name="Jun")
    ).replace(b"</Id></Acct>", b"</Id><Ccy>EUR</Ccy></Acct>")
    data = data.replace(b"<Amt Ccy='EUR'>100.00", b"<Amt Ccy='USD'>100.00").replace(
        b"<Amt Ccy='EUR'>5<", b"<Amt Ccy='JPY'>5<"
    )

    # When it is imported
    report = camt(books, data)

    # Then the foreign entries are skipped with their reason; only the 20.00 EUR is booked
    assert [(line.entry_key, line.outcome, line.reason, line.where) for line in report.lines] == [
        ("E1", Outcome.UNMATCHED, None, "Stmt[1].Ntry[1]"),
        ("U1", Outcome.SKIPPED, "in USD, not the account's EUR", "Stmt[1].Ntry[2]"),
        ("J1", Outcome.SKIPPED, "in JPY, not the account's EUR", "Stmt[1].Ntry[3]"),
    ]
    assert report.skipped_reasons() == {
        "in USD, not the account's EUR": 1,
        "in JPY, not the account's EUR": 1,
    }
    assert books.balances() == {"bank": 2000, "suspense": -2000}
    assert check_all_books(books.services).ok


def test_a_csv_line_in_another_currency_than_the_operators_is_skipped(books: Books) -> None:
    report = books.import_csv(
        "entry_id,booked_on,amount,currency\nE1,2026-12-02,20.00,EUR\nU1,2026-12-02,100.00,USD\n"
        "J1,2026-12-02,5,JPY\n"
    )

    assert [line.outcome for line in report.lines] == [Outcome.UNMATCHED, Outcome.SKIPPED, Outcome.SKIPPED]
    assert report.count(Outcome.SKIPPED) == 2
    assert books.balances() == {"bank": 2000, "suspense": -2000}
    assert check_all_books(books.services).ok


@pytest.mark.parametrize("amount", ["1e3", "1E3", "1.5e2", "+1_000.00"])
def test_an_amount_not_written_as_a_plain_decimal_is_refused_naming_line_and_column(
    books: Books, amount: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        books.import_csv(f"entry_id,booked_on,amount,currency\nE1,2026-12-02,{amount},EUR\n")
    with pytest.raises(InvalidInput) as refused_camt:
        camt(books, statement(entry("E1", amount, name="x")))

    assert [p.path for p in refused.value.problems] == ["line 2.amount"]
    assert [p.path for p in refused_camt.value.problems] == ["Stmt[1].Ntry[1].Amt"]
    assert books.balances() == {}
