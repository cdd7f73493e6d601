"""The words of a customer's document in English and German; other languages fall back to English.

>>> label("total_incl", "de"), label("total_incl", "fr")
('Gesamtbetrag inkl. USt.', 'Total incl. VAT')
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice", "receipt": "Receipt", "credit_note": "Credit note", "number": "Number",
        "issued": "Issued", "due": "Due", "period": "Period", "to": "Bill to",
        "total_excl": "Total excl. VAT",
        "vat": "VAT", "sales_tax": "Sales tax", "total_incl": "Total incl. VAT", "pay": "Amount due",
        "paid": "Paid", "paid_card": "Paid by card", "by": "by", "account": "Pay to",
        "lines": "Charging sessions, fees and discounts",
        "description": "Description", "rate": "Rate", "amount": "Amount (excl. VAT)", "notes": "Notes",
        "rounding": (
            "Amounts are rounded once for this document; the exact sum of its lines differs by {0}."
        ),
        "credits": "Corrects invoice {0}: {1}", "category": "Category {0}", "vat_id": "VAT id",
        "draft": "DRAFT", "draft_title": "Draft {0} (not issued, no number)",
        "draft_note": "A preview of the current billing cycle: amounts may still change. Do not pay.",
        "sessions": "Charging sessions in detail", "evse": "EVSE", "energy": "Energy",
        "charging_time": "Charging", "idle_time": "Idle", "local_time": "Times are local ({0}).",
        "when": "Time", "component": "Component", "quantity": "Quantity", "unit_price": "Unit price",
        "why": "Why this price (time of use)", "ENERGY": "Energy", "TIME": "Charging time",
        "PARKING_TIME": "Idle time", "FLAT": "Start fee", "MIN_PRICE": "Minimum price adjustment",
        "MAX_PRICE": "Maximum price adjustment",
        "MIN_PRICE_why": "the session cost less than the tariff's minimum price, which is charged instead",
        "MAX_PRICE_why": "the session cost more than the tariff's maximum price, which caps it",
        "free": "Not charged", "priced_by": "Price", "signed": "Signed meter data (OCMF)",
        "meter": "Meter", "begin": "Start", "end": "End",
        "eichrecht_title": "Checking the signed meter data (German calibration law, Eichrecht)",
        "eichrecht": (
            "The energy of a session marked above was measured and signed by the calibrated meter of the "
            "charger. To check it, open a transparency software (for example the S.A.F.E. "
            "Transparenzsoftware, safe-ev.de), paste the OCMF record printed here together with the meter's "
            "public key (on the charger's label or from the operator), and compare the readings it shows "
            "with this document. A record that does not verify must not be trusted."
        ),
        "net": "Net", "session_price": "price {0} excl. VAT (exact)",
        "fees": "Plan and service fees, allowances and promotions are lines of their own above.",
    },
    "de": {
        "invoice": "Rechnung", "receipt": "Quittung", "credit_note": "Gutschrift", "number": "Nummer",
        "issued": "Datum", "due": "Fällig", "period": "Zeitraum", "to": "Rechnungsempfänger",
        "total_excl": "Summe netto", "vat": "USt.", "sales_tax": "Umsatzsteuer",
        "total_incl": "Gesamtbetrag inkl. USt.", "pay": "Zu zahlen", "paid": "Bezahlt",
        "paid_card": "Bezahlt per Karte", "by": "bis",
        "account": "Bankverbindung",
        "lines": "Ladevorgänge, Gebühren und Rabatte", "description": "Beschreibung", "rate": "Satz",
        "amount": "Betrag (netto)", "notes": "Hinweise",
        "rounding": (
            "Beträge werden für dieses Dokument einmal gerundet; die exakte Summe weicht um {0} ab."
        ),
        "credits": "Korrigiert Rechnung {0}: {1}", "category": "Kategorie {0}", "vat_id": "USt-IdNr.",
        "draft": "ENTWURF", "draft_title": "Entwurf {0} (nicht ausgestellt, ohne Nummer)",
        "draft_note": "Vorschau des laufenden Abrechnungszeitraums: Beträge können sich noch ändern. "
        "Bitte nicht zahlen.",
        "sessions": "Ladevorgänge im Einzelnen", "evse": "Ladepunkt", "energy": "Energie",
        "charging_time": "Laden", "idle_time": "Standzeit", "local_time": "Ortszeit ({0}).",
        "when": "Zeit", "component": "Bestandteil", "quantity": "Menge", "unit_price": "Preis je Einheit",
        "why": "Warum dieser Preis (Tarifzeit)", "ENERGY": "Energie", "TIME": "Ladezeit",
        "PARKING_TIME": "Standzeit", "FLAT": "Startgebühr", "MIN_PRICE": "Ausgleich auf Mindestpreis",
        "MAX_PRICE": "Begrenzung auf Höchstpreis",
        "MIN_PRICE_why": (
            "der Ladevorgang kostete weniger als der Mindestpreis des Tarifs, der stattdessen gilt"
        ),
        "MAX_PRICE_why": "der Ladevorgang kostete mehr als der Höchstpreis des Tarifs, der ihn begrenzt",
        "free": "Nicht berechnet", "priced_by": "Preis", "signed": "Signierte Messwerte (OCMF)",
        "meter": "Zähler", "begin": "Beginn", "end": "Ende",
        "eichrecht_title": "Prüfung der signierten Messwerte (Eichrecht)",
        "eichrecht": (
            "Die Energie der oben gekennzeichneten Ladevorgänge wurde vom geeichten Zähler der Ladestation "
            "gemessen und signiert. Zur Prüfung öffnen Sie eine Transparenzsoftware (z. B. die "
            "S.A.F.E. Transparenzsoftware, safe-ev.de), fügen den hier gedruckten OCMF-Datensatz und den "
            "öffentlichen Schlüssel des Zählers (auf dem Typenschild der Ladestation oder beim Betreiber) "
            "ein und vergleichen die angezeigten Werte mit diesem Dokument. Ein Datensatz, der sich nicht "
            "prüfen lässt, ist nicht vertrauenswürdig."
        ),
        "net": "Netto", "session_price": "Preis {0} netto (exakt)",
        "fees": "Grund- und Servicegebühren, Inklusivleistungen und Aktionen stehen oben als eigene Zeilen.",
    },
}  # fmt: skip


def label(key: str, language: str) -> str:
    return LABELS.get(language, LABELS["en"])[key]
