"""Detection of primary account numbers (PANs) in request data.

The API takes vault tokens only. Anything that looks like a card number is
refused before it is stored or logged (PCI DSS requirement 3: do not store PAN
where it is not needed). "Looks like" is deliberately broad, because the cost
of a miss (card data in the ledger, the global table, the replicated bucket
and the logs, in two regions) is far higher than the cost of a refusal:

1. The text is normalised with NFKC, so fullwidth (``４１１１``), superscript
   and circled digits become ASCII digits; any other Unicode decimal digit
   (Arabic-Indic, Devanagari, ...) counts as its value too.
2. A *digit run* is a sequence of digits in which every gap is made only of
   separators (:func:`is_separator`): characters that are neither letters nor
   digits (spaces of any kind, dots, dashes, underscores, slashes, commas,
   quotes, brackets, combining marks, format and control characters...), and
   the letters that render as nothing. Gaps are dropped. Any other letter ends
   the run. So ``4111.1111  1111_1111``, ``4111/1111/1111/1111``,
   four groups joined by Hangul fillers (U+3164) and
   ``"4111111111111111 12/27 123"`` are one run each.
3. Every window of 13 to 19 consecutive digits of a run is Luhn-checked, so a
   PAN after or before other digits (an order number, an expiry date, a CVV)
   is found.

The one exception to step 2 is an RFC 9562 UUID (8-4-4-4-12 hex digits with
the variant bits 10): its groups are never joined, with each other or with the
digits around it, so an idempotency key or a reference that is a UUID always
passes, and so does a date before one (``receipts/2026/12/04/<uuid>.json``, the
receipt key the status item stores: about 1 in 35 joined a date with an
all-digit first group into a Luhn-valid run). Without it, about one UUID in a
few hundred would be refused (joined all-digit groups pass Luhn by chance).

The price of this breadth is false positives on free text: a run of 13 or
more digits passes some window's Luhn check most of the time (10 windows for
16 digits, 35 for 20), so timestamps with fractions, IBANs, long phone number
lists or a random hex string with a long digit stretch are refused as card
numbers. The API's fields never need such text; docs/payment-api.md says so.
"""

from __future__ import annotations

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
    """True when any 13-19 digit window of any digit run of ``text`` passes Luhn."""
    return any(_has_luhn_window(run) for run in digit_runs(text))


def digit_runs(text: str) -> Iterator[list[int]]:
    """The digit runs of ``text`` (see the module docstring), as lists of digit values,
    only those long enough to hold a PAN."""
    normal = _UUID.sub(_unjoin_uuid, unicodedata.normalize("NFKC", text))
    run: list[int] = []
    for char in normal:
        value = unicodedata.decimal(char, None)
        if value is not None:
            run.append(value)
        elif not is_separator(char):
            if len(run) >= MIN_PAN_DIGITS:
                yield run
            run = []
    if len(run) >= MIN_PAN_DIGITS:
        yield run


def is_separator(char: str) -> bool:
    """True for a character that is dropped between two digits of a run.

    The set is derived from Unicode properties, not listed: every character that
    is neither a letter nor a digit (``not str.isalnum()``): that takes in all of
    White_Space (Zs, Zl, Zp and the controls ``str.isspace()`` knows), every
    format character (Cf: zero-width space and joiners, soft hyphen, word
    joiner...), variation selectors and other combining marks (Mn, Me), controls,
    punctuation, symbols and unassigned code points, and so all of
    Default_Ignorable_Code_Point except four code points. Unicode derives that
    property (DerivedCoreProperties.txt) as Other_Default_Ignorable_Code_Point + Cf
    + Variation_Selector - White_Space - a few visible format characters; the only
    code points of it that Unicode classes as *letters* are the Hangul fillers
    (Other_Default_Ignorable_Code_Point, Lo: U+115F, U+1160, U+3164, U+FFA0), which
    render as nothing. :mod:`unicodedata` exposes neither property, so those are
    recognised by what they are, a letter (Lo) named ``... FILLER``; any filler a
    later Unicode version adds is taken in the same way. Every other letter ends a
    run (see docs/payment-api.md, "No card data", for why letters are not dropped).
    """
    if not char.isalnum():
        return True
    return unicodedata.category(char) == "Lo" and unicodedata.name(char, "").endswith("FILLER")


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
