"""Detection of primary account numbers (PANs) in request data.

The API takes vault tokens only. Anything that looks like a card number is
refused before it is stored or logged (PCI DSS requirement 3: do not store PAN
where it is not needed). "Looks like" is deliberately broad, because the cost
of a miss (card data in the ledger, the global table, the replicated bucket
and the logs, in two regions) is far higher than the cost of a refusal:

1. The text is normalised with NFKC, so fullwidth (``４１１１``), superscript
   and circled digits become ASCII digits. Every character that still reads as
   a digit counts as its value (:func:`digit_value`): every character with a
   Unicode digit value (Arabic-Indic, Devanagari, the dingbat and double or
   negative circled digits NFKC leaves alone: ``➀``, ``⓵``, ``❶``, Ethiopic
   ``፩``...), and every character Unicode names a DIGIT (or a NUMBER ZERO) with a
   numeric value 0-9, which gives the zeros of those sets (``🄋``, ``🄌``, the
   ideographic ``〇``) and a few digit sets without a digit value.
2. A *digit run* is a sequence of digits in which every gap is made only of
   separators (:func:`is_separator`): characters that are neither letters nor
   digits (spaces of any kind, dots, dashes, underscores, slashes, commas,
   quotes, brackets, combining marks, format and control characters...), and
   the letters that do not write a word: modifier letters (``ʼ``, ``ー``, the
   Arabic tatweel, the Lisu tone letters that render as ``.`` and ``,``) and
   the letters Unicode names as fillers, tone letters, click letters, marks or
   syllabics finals (``ǀ``, ``ᐧ``). Gaps are dropped. Any other letter ends
   the run. So ``4111.1111  1111_1111``, ``4111/1111/1111/1111``,
   ``4111ꓸ1111ꓸ1111ꓸ1111``, four groups joined by Hangul fillers (U+3164) and
   ``"4111111111111111 12/27 123"`` are one run each.
3. Every window of 13 to 19 consecutive digits of a run is Luhn-checked, so a
   PAN after or before other digits (an order number, an expiry date, a CVV)
   is found.

Where a UUID is expected (:func:`contains_card_number_outside_uuids`: the
Idempotency-Key, a vault token, and the ids the system generates, such as
payment and correlation ids and the receipt key ``receipts/2026/12/04/<uuid>.json``),
an RFC 9562 UUID (8-4-4-4-12 hex digits with the variant bits 10) is an id: its
groups are never joined, with each other or with the digits around it. Without
that, about one random UUID in 135 would be refused (joined all-digit
groups pass Luhn by chance), and about 1 receipt key in 35 (the date joined an
all-digit first group). Everywhere else (free text such as a description) a
UUID-shaped string is scanned like any text: ``"ref 41111111-1111-1111-8000-..."``
holds a card number.

The price of this breadth is false positives on free text: a run of 13 or
more digits passes some window's Luhn check most of the time (10 windows for
16 digits, 35 for 20), so timestamps with fractions, IBANs, long phone number
lists, a random hex string with a long digit stretch or about 1 UUID in 135
are refused as card numbers. The API's fields never need such text;
docs/payment-api.md says so.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

REDACTED_KEY = "<redacted>"
"""Stands in a reported path for an object key that cannot be shown as sent."""

MIN_PAN_DIGITS = 13
MAX_PAN_DIGITS = 19

_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_REPORTABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_card_number(text: str) -> bool:
    """True when any 13-19 digit window of any digit run of ``text`` passes Luhn: the scan
    for free text, where nothing is exempt."""
    return any(_has_luhn_window(run) for run in digit_runs(text))


def contains_card_number_outside_uuids(text: str) -> bool:
    """:func:`contains_card_number` for a value in which a UUID is expected (see the module
    docstring): the groups of each RFC 9562 UUID are never joined."""
    return contains_card_number(unjoin_uuids(text))


def unjoin_uuids(text: str) -> str:
    """``text`` (NFKC-normalised) with a letter between the groups of each RFC 9562 UUID and
    at both its ends, so that no digit run crosses one."""
    return _UUID.sub(_unjoin_uuid, unicodedata.normalize("NFKC", text))


def digit_runs(text: str) -> Iterator[list[int]]:
    """The digit runs of ``text`` (see the module docstring), as lists of digit values,
    only those long enough to hold a PAN."""
    run: list[int] = []
    for char in unicodedata.normalize("NFKC", text):
        value = digit_value(char)
        if value is not None:
            run.append(value)
        elif not is_separator(char):
            if len(run) >= MIN_PAN_DIGITS:
                yield run
            run = []
    if len(run) >= MIN_PAN_DIGITS:
        yield run


_DIGIT_VALUES = frozenset(float(value) for value in range(10))
_NAMED_DIGIT = re.compile(r"\bDIGIT\b|\bNUMBER ZERO\b")


# Both classifications are pure functions of one character: cached, so a body of 16 KiB costs
# a dictionary lookup per character (bounded: a hostile body may hold thousands of distinct
# characters, and a warm container sees many bodies).
_CACHED = functools.lru_cache(maxsize=8192)


@_CACHED
def digit_value(char: str) -> int | None:
    """The digit a reader reads in ``char`` (one character of NFKC-normalised text), or None.

    Derived from the Unicode Character Database, not listed: the character's digit value
    (``unicodedata.digit``: Numeric_Type Decimal or Digit, 788 code points in Unicode 14,
    69 of which NFKC leaves alone, such as ``➀``, ``⓵``, ``❶`` and Ethiopic ``፩``), or else a
    numeric value 0-9 on a character whose name calls it a DIGIT or a NUMBER ZERO. The second
    rule gives the zeros that Unicode added to digit sets after it stopped assigning digit
    values (U+1F10B and U+1F10C beside ``➀``-``➈`` and ``➊``-``➒``), the ideographic zero
    ``〇`` written among digits, and a few digit sets with numeric values only (Coptic epact,
    Sinhala archaic, Medefaidrin, Mende Kikakui digits, counting-rod units).
    """
    value = unicodedata.digit(char, None)
    if value is not None:
        return value
    number = unicodedata.numeric(char, None)
    if number in _DIGIT_VALUES and _NAMED_DIGIT.search(unicodedata.name(char, "")):
        return int(number)
    return None


_WORDLESS_LETTER = re.compile(r"\b(?:FILLER|TONE|CLICK|MARK)\b|\bSYLLABICS FINAL\b")


@_CACHED
def is_separator(char: str) -> bool:
    """True for a character (of NFKC-normalised text, not a digit) that is dropped between two
    digits of a run.

    The set is derived from Unicode properties, not listed: every character that is neither
    a letter nor a digit (``not str.isalnum()``): that takes in all of White_Space (Zs, Zl,
    Zp and the controls ``str.isspace()`` knows), every format character (Cf: zero-width
    space and joiners, soft hyphen, word joiner...), variation selectors and other combining
    marks (Mn, Me), controls, punctuation, symbols and unassigned code points, and so all of
    Default_Ignorable_Code_Point except four code points. Then the letters that do not write
    a word:

    * every modifier letter (general category Lm) NFKC leaves a modifier letter: apostrophes
      and primes (``ʼ``), length and tone marks (``ː``, the Lisu tone letters that render as
      ``.`` and ``,``), the Arabic tatweel (a stroke), iteration and prolonged sound
      marks (``々``, ``ー``). The modifier letters that NFKC turns into ordinary letters
      (superscript ``ʰ`` becomes ``h``) are letters like any other;
    * other letters (Lo) that Unicode names as a FILLER (the Hangul fillers, which render as
      nothing: the only letters of Default_Ignorable_Code_Point), a TONE letter, a CLICK letter
      (``ǀ ǁ ǂ ǃ``, drawn as bars and an exclamation mark), a MARK, or a Canadian SYLLABICS
      FINAL (small raised signs such as ``ᐧ``, a middle dot).

    :mod:`unicodedata` exposes no property for "looks like punctuation", so names stand in for
    one, as they do for the fillers; a letter a later Unicode version adds with such a name is
    taken in the same way. Every other letter ends a run (see docs/payment-api.md, "No card
    data", for why letters are not dropped).
    """
    if not char.isalnum():
        return True
    category = unicodedata.category(char)
    if category == "Lm":
        return True
    return category == "Lo" and bool(_WORDLESS_LETTER.search(unicodedata.name(char, "")))


def _unjoin_uuid(match: re.Match[str]) -> str:
    """A letter between the groups and at both ends: nothing joins across them."""
    return "x" + match.group().replace("-", "x") + "x"


# Luhn contribution of a digit when doubled: 2d, minus 9 when that exceeds 9.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _has_luhn_window(run: list[int]) -> bool:
    """Luhn over every window in O(1) each, from two prefix sums.

    The rightmost digit of a window is never doubled, so whether a digit is
    doubled depends only on the parity of its distance to the window's end.
    ``even[k]`` sums digits before index k with even indices plain and odd
    ones doubled; ``odd[k]`` the reverse. A window ending at index ``end - 1``
    uses ``even`` when that index is even, else ``odd``. A 16 KiB body of
    digits costs about 100,000 additions, not 16 million.
    """
    even = [0]
    odd = [0]
    for index, digit in enumerate(run):
        plain, doubled = digit, _DOUBLED[digit]
        even.append(even[-1] + (plain if index % 2 == 0 else doubled))
        odd.append(odd[-1] + (doubled if index % 2 == 0 else plain))
    for end in range(MIN_PAN_DIGITS, len(run) + 1):
        sums = even if (end - 1) % 2 == 0 else odd
        for length in range(MIN_PAN_DIGITS, min(MAX_PAN_DIGITS, end) + 1):
            if (sums[end] - sums[end - length]) % 10 == 0:
                return True
    return False


def reportable_name(name: str) -> str:
    """An object key as it may appear in an error and a log line: plain identifiers
    as sent; anything else (a card number, markup, a lone surrogate, 10 KB of
    junk) as :data:`REDACTED_KEY`."""
    if _REPORTABLE_NAME.fullmatch(name) and not contains_card_number(name):
        return name
    return REDACTED_KEY


def paths_with_card_numbers(document: Any) -> Iterator[str]:
    """JSON paths (``source.token``) of every key or value that looks like a PAN."""
    for path, key, value in walk(document):
        text = key if key is not None else value
        if isinstance(text, str) and contains_card_number(text):
            yield path


def walk(document: Any) -> Iterator[tuple[str, str | None, Any]]:
    """Every object key and scalar of a parsed JSON document, with its path:
    ``(path, key, None)`` for a key (the path ends with the key's reportable
    name), ``(path, None, text)`` for a string or a number.

    Paths are built from :func:`reportable_name`, so a path never carries what
    was sent in a key. Iterative rather than recursive: the input is untrusted
    and may be nested as deeply as the JSON parser allowed.
    """
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                name = reportable_name(key)
                child_path = f"{path}.{name}" if path else name
                yield child_path, key, None
                stack.append((child_path, child))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(value))
        elif isinstance(value, str):
            yield path, None, value
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            yield path, None, str(value)
