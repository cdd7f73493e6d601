"""SEPA direct debit: mandates with checked IBANs, and pain.008 files valid against the XSD that contain
each open invoice of a customer with a mandate exactly once (FRST, then RCUR); SQLite and PostgreSQL.

Invoices: 16.54 + 21 % (3.4734 -> 3.47) = 20.01 and 100.00 + 21.00 = 121.00: 141.01 in the first file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sepaxml
from lxml import etree

from evbill.application.collection.direct_debit import add_mandate, sepa_collection
from evbill.application.offers.customers import create_customer
from evbill.domain.errors import InvalidInput
from tests.integration.collection_support import Books

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
CREDITOR_ID = "NL98ZZZ999999999999"


def mandate(books: Books, **changes):
    fields = {"customer_id": books.customer_id, "reference": "MNDT-ANNA-1",
              "iban": "DE89 3704 0044 0532 0130 00", "signed_on": date(2026, 11, 20)} | changes  # fmt: skip
    return add_mandate(books.services, books.who, books.container.ibans, **fields)


def sepa_file(books: Books, collection_date: date = date(2026, 12, 10)) -> tuple[object, bytes | None]:
    written: list[bytes] = []
    made = sepa_collection(
        books.services, books.container.direct_debit_writer, books.who, collection_date=collection_date,
        creditor_id=CREDITOR_ID, deliver=written.append,
    )  # fmt: skip
    return made, (written[0] if written else None)


def test_a_collection_file_is_xsd_valid_and_holds_each_open_invoice_of_a_mandated_customer_once(
    books: Books,
) -> None:
    # Given Anna's mandate and two open invoices; Piet has an invoice and no mandate
    signed = mandate(books)
    piet = create_customer(books.services, books.who, {"kind": "INDIVIDUAL", "name": "Piet", "language": "nl",
                                                       "currency": "EUR", "country": "NL"})  # fmt: skip
    a, b = books.invoice("16.54"), books.invoice("100.00")
    books.invoice("10.00", customer_id=piet.id)

    # When the collection file is made
    made, data = sepa_file(books)

    # Then it is valid pain.008.001.08 with Anna's two invoices, first collection (FRST)
    assert signed.iban == "DE89370400440532013000"
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.fromstring(data))
    root = etree.fromstring(data)
    assert (made.invoices, made.total_minor) == (2, 14101)
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "141.01"
    transactions = root.findall(".//p:DrctDbtTxInf", NS)
    assert sorted(t.findtext("p:InstdAmt", namespaces=NS) for t in transactions) == ["121.00", "20.01"]
    assert {t.findtext(".//p:MndtId", namespaces=NS) for t in transactions} == {"MNDT-ANNA-1"}
    assert {t.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) for t in transactions} == {
        "DE89370400440532013000"
    }
    assert root.findtext(".//p:SeqTp", namespaces=NS) == "FRST"
    assert root.findtext(".//p:ReqdColltnDt", namespaces=NS) == "2026-12-10"
    assert root.findtext(".//p:CdtrSchmeId//p:Othr/p:Id", namespaces=NS) == CREDITOR_ID
    remittances = {t.findtext(".//p:Ustrd", namespaces=NS) for t in transactions}
    assert remittances == {f"Invoice {i.number} {i.payment_reference}" for i in (a, b)}

    # When it is made again: nothing new; a new invoice goes in the next file, as RCUR
    again, nothing = sepa_file(books)
    c = books.invoice("10.00")
    later, next_data = sepa_file(books, date(2026, 12, 20))
    assert (again.invoices, nothing) == (0, None)
    assert (later.invoices, later.total_minor) == (1, 1210)
    assert etree.fromstring(next_data).findtext(".//p:SeqTp", namespaces=NS) == "RCUR"
    assert c.number in etree.fromstring(next_data).findtext(".//p:Ustrd", namespaces=NS)


def test_a_file_that_cannot_be_delivered_records_nothing(books: Books) -> None:
    mandate(books)
    books.invoice("16.54")

    def broken(data: bytes) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        sepa_collection(
            books.services, books.container.direct_debit_writer, books.who,
            collection_date=date(2026, 12, 10), creditor_id=CREDITOR_ID, deliver=broken,
        )  # fmt: skip
    made, data = sepa_file(books)

    assert made.invoices == 1  # still to collect
    assert etree.fromstring(data).findtext(".//p:SeqTp", namespaces=NS) == "FRST"


def test_a_bad_iban_reference_date_or_creditor_id_is_refused_naming_the_field(books: Books) -> None:
    with pytest.raises(InvalidInput) as bad_iban:
        mandate(books, iban="DE89370400440532013001")
    with pytest.raises(InvalidInput) as bad_reference:
        mandate(books, reference="MNDT#1", signed_on=date(2027, 1, 1))
    with pytest.raises(InvalidInput) as bad_file:
        sepa_collection(
            books.services, books.container.direct_debit_writer, books.who, collection_date=date(2026, 12, 1),
            creditor_id="nope", deliver=lambda data: None,
        )  # fmt: skip

    assert [p.path for p in bad_iban.value.problems] == ["$.iban"]
    assert [p.path for p in bad_reference.value.problems] == ["$.reference", "$.signed_on"]
    assert [p.path for p in bad_file.value.problems] == ["--collection-date", "--creditor-id"]


def test_an_invoice_is_collected_one_way_only_card_or_direct_debit(books: Books) -> None:
    from datetime import timedelta

    from evbill.application.collection.charges import collect_issued_document, save_card
    from evbill.application.collection.dunning import run_collection

    # Given Anna has a mandate and a card that is declined; her first invoice was charged to the card
    mandate(books)
    save_card(books.services, books.who, books.customer_id, gateway="sandbox", payment_method="tok_declined")
    by_card = books.invoice("16.54")
    collect_issued_document(books.services, books.gateway, books.who, by_card.id)
    by_debit = books.invoice("10.00")

    # When the direct debit file is made, and the card retries fall due
    made, data = sepa_file(books)
    calls = len(books.gateway.calls)
    retried = run_collection(
        books.services, books.gateway, books.mailer, operator_ids=[books.who.operator_id],
        now=books.clock.now() + timedelta(days=1),
    )  # fmt: skip

    # Then the file holds only the invoice not on the card, and the card's is still retried
    assert made.invoices == 1
    assert by_debit.number in etree.fromstring(data).findtext(".//p:Ustrd", namespaces=NS)
    assert retried.declined == 1
    assert len(books.gateway.calls) > calls
