"""ISO 4217 currencies that can be paid in, with their minor units.

Source: the ISO 4217 list one (current currency and funds code list) as
maintained by SIX on behalf of ISO, including amendments up to 2025 (ZWG
replacing ZWL, SLE, VED, XCG). Deliberately excluded: fund codes (BOV, CHE,
CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals (XAG, XAU, XPD, XPT),
special drawing rights and settlement units (XDR, XSU, XUA, XBA-XBD), and the
testing and "no currency" codes (XTS, XXX): none of them is a means of payment.

The exponent is the ISO "minor unit" column: the number of digits after the
decimal point an amount may carry (JPY 0, EUR 2, BHD 3).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
    "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)

MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        **{code: 0 for code in _ZERO_DECIMALS.split()},
        **{code: 2 for code in _TWO_DECIMALS.split()},
        **{code: 3 for code in _THREE_DECIMALS.split()},
    }
)
"""Alphabetic code -> number of decimal places, for every payable currency."""


def minor_units(currency: str) -> int | None:
    """The currency's exponent, or None when ``currency`` is not a payable ISO 4217 code."""
    return MINOR_UNITS.get(currency)
