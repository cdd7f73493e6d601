"""SEPA Core direct debit collection files (ISO 20022 pain.008.001.08) written with ``sepaxml``.

``sepaxml`` batches the transactions by sequence type (FRST/RCUR) and collection date, fills the
control sums, and validates the file against the pain.008 XSD it ships before handing it out: a file
that would not validate is never written.
"""

from __future__ import annotations

from collections.abc import Sequence

from sepaxml import SepaDD

from evbill.application.collection.ports import Creditor, DebitLine

SCHEMA = "pain.008.001.08"


class SepaXmlWriter:
    schema = SCHEMA

    def write(self, creditor: Creditor, lines: Sequence[DebitLine]) -> tuple[str, bytes]:
        config = {
            "name": creditor.name,
            "IBAN": creditor.iban,
            "batch": True,
            "creditor_id": creditor.creditor_id,
            "currency": creditor.currency,
            "instrument": "CORE",
        }
        if creditor.bic:
            config["BIC"] = creditor.bic
        document = SepaDD(config, schema=SCHEMA, clean=True)
        for line in lines:
            payment = {
                "name": line.debtor_name,
                "IBAN": line.iban,
                "amount": line.amount_minor,  # sepaxml takes cents as an int
                "type": line.sequence_type.value,
                "collection_date": line.collection_date,
                "mandate_id": line.mandate_reference,
                "mandate_date": line.mandate_signed_on,
                "description": line.description,
                "endtoend_id": line.end_to_end_id,
            }
            if line.bic:
                payment["BIC"] = line.bic
            document.add_payment(payment)
        return str(document.msg_id), bytes(document.export(validate=True))
