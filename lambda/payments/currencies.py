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
from decimal import Decimal
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


# The largest amount one payment may carry, in major units, by currency: about
# 10,000 US dollars at indicative late-2025 rates, rounded up to 1, 2 or 5 times
# a power of ten (so each cap is between 10,000 and 25,000 USD). A cap is an
# order-of-magnitude guard against a misplaced decimal point or a hostile
# request, not a risk limit: per-merchant limits belong to the acquirer. Rates
# drift; a currency that loses or gains an order of magnitude (ARS, VES, VED,
# IRR, SSP, ...) needs its line moved at a release. PAYMENT_LIMIT_MULTIPLIER
# scales every cap at once per deployment.
_CAPS_IN_MAJOR_UNITS = {
    5_000: "BHD KWD OMR",
    10_000: "BMD BSD CHF EUR FKP GBP GIP JOD KYD PAB SHP USD",
    20_000: "ANG AUD AWG AZN BAM BBD BGN BND BZD CAD NZD SGD XCG",
    50_000: "AED BYN FJD GEL ILS MYR PEN PGK PLN QAR RON SAR TMT TND TOP WST XCD",
    100_000: "BOB BRL CNY DKK GTQ HKD LYD MAD MOP SBD SEK SVC TJS TTD",
    200_000: "BWP ERN GHS LSL MDL MVR MXN NAD NOK SCR SZL ZAR",
    500_000: "CUP CZK EGP HNL MRU MUR NIO SLE SRD STN THB TRY TWD UAH UYU ZMW ZWG",
    1_000_000: "AFN ALL BTN CVE DOP GMD INR KGS MKD MZN PHP RUB",
    2_000_000: "BDT DJF DZD ETB HTG ISK JMD JPY KES LRD NPR RSD VUV XPF",
    5_000_000: "AMD CRC GYD HUF KMF LKR PKR VED VES YER",
    10_000_000: "AOA CLP KPW KZT SDG SOS XAF XOF",
    20_000_000: "ARS IQD KRW MWK NGN RWF",
    50_000_000: "BIF CDF COP KHR MGA MMK MNT SSP TZS UGX",
    100_000_000: "GNF PYG",
    200_000_000: "IDR SYP UZS",
    500_000_000: "LAK VND",
    1_000_000_000: "LBP",
    20_000_000_000: "IRR",
}

MAX_AMOUNT_MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        code: cap * 10 ** MINOR_UNITS[code]
        for cap, codes in _CAPS_IN_MAJOR_UNITS.items()
        for code in codes.split()
    }
)
"""Alphabetic code -> largest amount of one payment, in minor units (cents, yen, fils)."""


def max_amount_minor_units(currency: str, multiplier: Decimal = Decimal(1)) -> int:
    """The currency's cap in minor units, scaled by ``multiplier`` and rounded down
    (never below one minor unit). ``currency`` must be a payable code."""
    return max(1, int(MAX_AMOUNT_MINOR_UNITS[currency] * multiplier))
