"""Currencies and their minor units, from ISO 4217.

The exponent says how many decimal places a settled amount has: EUR 2 (cents), JPY 0, KWD 3. Codes not
listed here are refused: an invoice in an unknown currency cannot be rounded correctly.

    >>> exponent("EUR"), exponent("JPY"), exponent("KWD")
    (2, 0, 3)
"""

from __future__ import annotations

from decimal import Decimal

from evbill.domain.errors import UnknownCurrency

# Active ISO 4217 codes whose minor unit is not 2 (list of 2025; funds codes included).
_EXPONENT_0 = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
_EXPONENT_3 = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_EXPONENT_4 = frozenset("CLF UYW".split())
_EXPONENT_2 = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
    LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD
    PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW
    ZWG
    """.split()
)

_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2, 2),
    **dict.fromkeys(_EXPONENT_0, 0),
    **dict.fromkeys(_EXPONENT_3, 3),
    **dict.fromkeys(_EXPONENT_4, 4),
}

# The quantum of one minor unit, per currency: Decimal("0.01") for EUR.
_MINOR_UNIT: dict[str, Decimal] = {code: Decimal(1).scaleb(-places) for code, places in _EXPONENTS.items()}


def is_known(code: str) -> bool:
    return code in _EXPONENTS


def exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    try:
        return _EXPONENTS[code]
    except KeyError:
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code") from None


def minor_unit(code: str) -> Decimal:
    """The smallest settled amount of the currency, e.g. Decimal('0.01') for EUR."""
    try:
        return _MINOR_UNIT[code]
    except KeyError:
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code") from None
