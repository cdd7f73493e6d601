"""An operator's invoicing profile: the seller's legal data and how its documents are made.

EN 16931 needs the seller's name, address, VAT id, and for bank transfers the account (IBAN). The
profile also names the series and number format, the time zone of its calendar (issue and due
dates), the tax mode, and the country whose VAT rates apply by date.

An issued document never changes, so a profile must be complete before anything is issued under it
(``seller_problems``; issuing is refused otherwise, before a number is taken). Complete means what the
EN 16931 rules and the VAT directive ask of the seller on what evbill writes:

* ``name`` (BR-06) and ``country`` (BR-09, ISO 3166-1 alpha-2);
* the postal address: ``address``, ``city`` and ``postal_code``. EN 16931 itself only demands the
  address group with its country (BR-08); the full address is what Art. 226(5) of Directive
  2006/112/EC asks of every invoice, and what national CIUS rules (XRechnung BR-DE-3/4) check;
* VAT mode: ``vat_id``, with its country prefix (BR-CO-09). Every taxed, zero-rated, exempt or reverse
  charge line needs it (BR-S-02, BR-Z-02, BR-E-02, BR-AE-02); it also identifies the seller (BR-CO-26);
* sales-tax mode (US): no VAT id (there is none); the seller is identified by a ``registration``
  (e.g. the EIN) or a VAT id (BR-CO-26).

The account (IBAN, BR-61) is not demanded: evbill writes the credit-transfer payment means (code 58)
only when the IBAN is there, and "not defined" without it.

    >>> seller = Party("Volt B.V.", "NL", "Parnassusweg 10", "Amsterdam", "1077 DC", "NL123456782B90")
    >>> seller_problems(InvoicingProfile("op", seller))
    ()
    >>> [p.path for p in seller_problems(InvoicingProfile("op", Party("Volt B.V.", "NL")))]
    ['$.seller.address', '$.seller.city', '$.seller.postal_code', '$.seller.vat_id']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evbill.domain.errors import InvalidInput, Problem
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


PROFILE_HINT = "save the seller's legal data with PUT /api/v1/invoicing-profile"
_VAT_PREFIX = re.compile(r"[A-Z]{2}[0-9A-Za-z+*.]{2,}")


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def seller_problems(profile: InvoicingProfile) -> tuple[Problem, ...]:
    """What the seller's legal data lacks for an EN 16931 document (see the module); () if complete."""
    seller = profile.seller
    problems = []
    if _blank(seller.name):
        problems.append(Problem("$.seller.name", "the seller's legal name is required (BR-06)"))
    if not re.fullmatch(r"[A-Z]{2}", seller.country or ""):
        problems.append(Problem("$.seller.country", "an ISO 3166-1 alpha-2 country code is required (BR-09)"))
    for field, what in (("address", "street and number"), ("city", "city"), ("postal_code", "postal code")):
        if _blank(getattr(seller, field)):
            why = f"the seller's {what} is required (BR-08; Art. 226(5) VAT directive)"
            problems.append(Problem(f"$.seller.{field}", why))
    vat_id = (seller.vat_id or "").replace(" ", "")
    if profile.tax_mode is TaxMode.VAT:
        if not vat_id:
            why = "the seller's VAT id is required to charge VAT (BR-S-02, BR-CO-26)"
            problems.append(Problem("$.seller.vat_id", why))
        elif not _VAT_PREFIX.fullmatch(vat_id):
            why = "must start with its ISO 3166-1 country prefix, e.g. NL (BR-CO-09)"
            problems.append(Problem("$.seller.vat_id", why))
    elif not vat_id and _blank(seller.registration):
        why = "a registration (e.g. the EIN) or a VAT id is required (BR-CO-26)"
        problems.append(Problem("$.seller.registration", why))
    return tuple(problems)


class IncompleteSeller(InvalidInput):
    """Issuing refused: the seller's legal data is incomplete (``problems`` names each field)."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        fields = ", ".join(problem.path for problem in problems)
        super().__init__(f"the seller's legal data is incomplete ({fields}): {PROFILE_HINT}", problems)


def check_seller(profile: InvoicingProfile) -> None:
    """IncompleteSeller unless the profile's seller data is complete."""
    problems = seller_problems(profile)
    if problems:
        raise IncompleteSeller(problems)
