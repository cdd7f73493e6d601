"""An operator's invoicing profile: the seller's legal data and how its documents are made.

EN 16931 needs the seller's name, address, VAT id, and for bank transfers the account (IBAN). The
profile also names the series and number format, the time zone of its calendar (issue and due
dates), the tax mode, and the country whose VAT rates apply by date.
"""

from __future__ import annotations

from dataclasses import dataclass

from evbill.domain.invoicing.documents import Party
from evbill.domain.invoicing.numbering import DEFAULT_FORMAT
from evbill.domain.invoicing.tax import GERMANY, NETHERLANDS, RateSchedule, TaxMode

SCHEDULES = {schedule.country: schedule for schedule in (GERMANY, NETHERLANDS)}


@dataclass(frozen=True, slots=True)
class InvoicingProfile:
    operator_id: str
    seller: Party
    series: str = "INV"
    credit_series: str = "CN"
    number_format: str = DEFAULT_FORMAT
    time_zone: str = "UTC"
    tax_mode: TaxMode = TaxMode.VAT
    use_rate_schedule: bool = False  # tax each taxed line at its country's rate on its date
    receipt_series: str = "RCP"
    logo: str | None = None  # the operator's logo on its documents: PNG or JPEG, base64
    accent_colour: str = "#005C82"  # the colour of headings and the totals band, "#RRGGBB"
    version: int = 0  # 0 until first saved; each save adds one (the API's ETag, If-Match on PUT)

    @property
    def schedule(self) -> RateSchedule | None:
        return SCHEDULES.get(self.seller.country) if self.use_rate_schedule else None
