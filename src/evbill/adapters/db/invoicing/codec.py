"""Documents and profiles as JSON documents and back, decimals exact, dates as ISO text."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from evbill.domain.invoicing.compose import Composed, DocumentLine, TaxBreakdown, Totals
from evbill.domain.invoicing.documents import Document, DocumentKind, DocumentStatus, Party
from evbill.domain.invoicing.profiles import InvoicingProfile
from evbill.domain.invoicing.tax import TaxMode, VatCategory
from evbill.domain.money import RoundingMode

# Values written as they are (exact types: an enum whose values are text is not text here).
_AS_THEY_ARE = frozenset({str, int, bool, float, Decimal, type(None)})
# Each dataclass's field names, found once: ``dataclasses.fields`` per value was most of the time a
# billing run spent writing its documents (about 650 values a document).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def plain(value: Any) -> Any:
    """The value as JSON-ready data: dataclasses as dicts of their fields, enums as their values,
    dates and times as ISO text, lists and tuples as lists; anything else as it is."""
    kind = type(value)
    if kind in _AS_THEY_ARE:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is tuple or kind is list:
        return [plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        _FIELD_NAMES[kind] = tuple(field.name for field in dataclasses.fields(value))
        return plain(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _components(pairs: Any) -> tuple[tuple[str, Decimal], ...]:
    """A line's components (a document stored before lines had them has none)."""
    return tuple((str(dimension), _decimal(amount)) for dimension, amount in pairs)


def party_of(data: dict[str, Any]) -> Party:
    return Party(**data)


def composed_of(data: dict[str, Any]) -> Composed:
    lines = tuple(
        DocumentLine(
            number=line["number"], description=line["description"], kind=line["kind"],
            net_precise=_decimal(line["net_precise"]), net_minor=line["net_minor"],
            category=VatCategory(line["category"]), rate=_decimal(line["rate"]),
            supply_date=_day(line["supply_date"]), session_id=line["session_id"],
            quantity=_decimal(line["quantity"]), unit=line["unit"],
            components=_components(line.get("components", ())),
        )
        for line in data["lines"]
    )  # fmt: skip
    breakdown = tuple(
        TaxBreakdown(VatCategory(b["category"]), _decimal(b["rate"]), _decimal(b["base_precise"]),
                     b["base_minor"], b["tax_minor"])
        for b in data["breakdown"]
    )  # fmt: skip
    return Composed(
        currency=data["currency"],
        tax_mode=TaxMode(data["tax_mode"]),
        lines=lines,
        breakdown=breakdown,
        totals=Totals(**data["totals"]),
        precise_incl_vat=_decimal(data["precise_incl_vat"]),
        rounding_difference=_decimal(data["rounding_difference"]),
    )


def document_of(data: dict[str, Any]) -> Document:
    return Document(
        id=data["id"], operator_id=data["operator_id"], kind=DocumentKind(data["kind"]),
        status=DocumentStatus(data["status"]), series=data["series"], number=data["number"],
        contract_id=data["contract_id"], customer_id=data["customer_id"], bill_id=data["bill_id"],
        seller=party_of(data["seller"]), buyer=party_of(data["buyer"]), language=data["language"],
        composed=composed_of(data["composed"]), rounding_mode=RoundingMode(data["rounding_mode"]),
        period_start=_day(data["period_start"]), period_end=_day(data["period_end"]),
        payment_due_days=data["payment_due_days"], notes=tuple(data["notes"]),
        issue_date=_day(data["issue_date"]), due_date=_day(data["due_date"]), paid_minor=data["paid_minor"],
        original_id=data["original_id"], original_number=data["original_number"], reason=data["reason"],
        credited_lines=tuple(data["credited_lines"]),
        created_at=datetime.fromisoformat(data["created_at"]) if data["created_at"] else None,
        version=data["version"], payment_reference=data.get("payment_reference"),
        credited_minor=data.get("credited_minor", 0),
    )  # fmt: skip


def profile_of(data: dict[str, Any]) -> InvoicingProfile:
    # a profile stored before profiles had versions is version 1 (it was saved once at least)
    return InvoicingProfile(
        **{
            **data,
            "seller": party_of(data["seller"]),
            "tax_mode": TaxMode(data["tax_mode"]),
            "version": data.get("version", 1),
        }
    )
