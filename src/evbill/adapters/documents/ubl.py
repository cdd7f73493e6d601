"""EN 16931 invoices and credit notes in UBL 2.1, in the shape of Peppol BIS Billing 3.0, with lxml.

The Python UBL libraries are immature; the elements are written here in the order the UBL 2.1 XSD
requires. A credit note is a ``CreditNote`` (type 381) whose ``BillingReference`` names the invoice.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from evbill.adapters.documents.amounts import (
    EXEMPTION_CODES,
    check_writable,
    exemption_reason,
    money,
    percent,
    quantity_and_price,
    shown_totals,
)
from evbill.domain.invoicing.documents import Document, DocumentKind, Party
from evbill.domain.invoicing.tax import VatCategory

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
ROOTS = {
    False: ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"),
    True: ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"),
}
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def _add(
    parent: etree._Element, namespace: str, name: str, text: object = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{namespace}}}{name}", attributes)
    if text is not None:
        element.text = str(text)
    return element


def _cbc(parent: etree._Element, name: str, text: object = None, **attributes: str) -> etree._Element:
    return _add(parent, CBC, name, text, **attributes)


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return _add(parent, CAC, name)


def _party(parent: etree._Element, role: str, party: Party) -> None:
    node = _cac(_cac(parent, role), "Party")
    if party.email:
        _cbc(node, "EndpointID", party.email, schemeID="EM")
    address = _cac(node, "PostalAddress")
    if party.address:
        _cbc(address, "StreetName", party.address)
    if party.city:
        _cbc(address, "CityName", party.city)
    if party.postal_code:
        _cbc(address, "PostalZone", party.postal_code)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.country)
    if party.vat_id:
        scheme = _cac(node, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_id)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(node, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.registration:
        _cbc(legal, "CompanyID", party.registration)


def _category(
    parent: etree._Element, name: str, category: VatCategory, rate: Decimal, *, reasons: bool
) -> None:
    node = _cac(parent, name)
    _cbc(node, "ID", category.value)
    if category is not VatCategory.OUTSIDE_SCOPE:
        _cbc(node, "Percent", percent(rate))
    if reasons and category in EXEMPTION_CODES:
        _cbc(node, "TaxExemptionReasonCode", EXEMPTION_CODES[category])
    if reasons and exemption_reason(category):
        _cbc(node, "TaxExemptionReason", exemption_reason(category))
    _cbc(_cac(node, "TaxScheme"), "ID", "VAT")


def write_ubl(document: Document, *, paid_by_card: bool = False) -> bytes:
    """``paid_by_card``: the invoice was charged to the customer's card (payment means 48, bank card,
    no account to transfer to)."""
    check_writable(document)
    credit = document.kind is DocumentKind.CREDIT_NOTE
    namespace, root_name = ROOTS[credit]
    currency = document.currency
    root = etree.Element(f"{{{namespace}}}{root_name}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    _cbc(root, "CustomizationID", CUSTOMIZATION)
    _cbc(root, "ProfileID", PROFILE)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", document.issue_date)
    if not credit and document.due_date:
        _cbc(root, "DueDate", document.due_date)
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", document.kind.type_code)
    for note in document.notes:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", currency)
    _cbc(root, "BuyerReference", document.contract_id or document.buyer.name)
    if document.period_start and document.period_end:
        period = _cac(root, "InvoicePeriod")
        _cbc(period, "StartDate", document.period_start)
        _cbc(period, "EndDate", document.period_end)
    if credit and document.original_number:
        _cbc(_cac(_cac(root, "BillingReference"), "InvoiceDocumentReference"), "ID", document.original_number)
    _party(root, "AccountingSupplierParty", document.seller)
    _party(root, "AccountingCustomerParty", document.buyer)
    means = _cac(root, "PaymentMeans")
    transfer = bool(document.seller.iban) and not paid_by_card
    _cbc(means, "PaymentMeansCode", "48" if paid_by_card else "58" if transfer else "1")
    if document.payment_reference:
        _cbc(means, "PaymentID", document.payment_reference)  # BT-83, the RF creditor reference
    if transfer:
        _cbc(_cac(means, "PayeeFinancialAccount"), "ID", document.seller.iban)
    if credit:
        _cbc(_cac(root, "PaymentTerms"), "Note", "Credited to the customer's account")
    totals = shown_totals(document)
    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", money(totals.vat_minor, currency), currencyID=currency)
    for part in document.composed.breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", money(part.base_minor, currency), currencyID=currency)
        _cbc(subtotal, "TaxAmount", money(part.tax_minor, currency), currencyID=currency)
        _category(subtotal, "TaxCategory", part.category, part.rate, reasons=True)
    monetary = _cac(root, "LegalMonetaryTotal")
    _cbc(monetary, "LineExtensionAmount", money(totals.lines_minor, currency), currencyID=currency)
    _cbc(monetary, "TaxExclusiveAmount", money(totals.excl_vat_minor, currency), currencyID=currency)
    _cbc(monetary, "TaxInclusiveAmount", money(totals.incl_vat_minor, currency), currencyID=currency)
    if totals.prepaid_minor:
        _cbc(monetary, "PrepaidAmount", money(totals.prepaid_minor, currency), currencyID=currency)
    _cbc(monetary, "PayableAmount", money(totals.payable_minor, currency), currencyID=currency)
    for line in document.composed.lines:
        quantity, price = quantity_and_price(line, currency)
        node = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(node, "ID", line.number)
        _cbc(node, "CreditedQuantity" if credit else "InvoicedQuantity", quantity, unitCode="C62")
        _cbc(node, "LineExtensionAmount", money(line.net_minor, currency), currencyID=currency)
        item = _cac(node, "Item")
        _cbc(item, "Name", line.description)
        _category(item, "ClassifiedTaxCategory", line.category, line.rate, reasons=False)
        _cbc(_cac(node, "Price"), "PriceAmount", price, currencyID=currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
