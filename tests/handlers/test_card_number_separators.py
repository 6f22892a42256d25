"""Which characters join digit groups into one run: every code point of the Unicode properties
White_Space and Default_Ignorable_Code_Point, checked exhaustively.

Python's :mod:`unicodedata` exposes neither property; the ``regex`` module (Matthew Barnett's,
compiled from the Unicode Character Database) does, and serves as the independent oracle:
``payments.cardnumbers`` derives its separators from general categories and names, and
this test holds that derivation against the properties themselves, over every code point.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

import pytest
import regex
from payments import cardnumbers

VISA_GROUPS = ("4111", "1111", "1111", "1111")

_DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_WHITE_SPACE = regex.compile(r"\p{White_Space}")


@functools.cache
def every_character() -> tuple[str, ...]:
    """Every code point but the surrogates (which no well-formed text holds)."""
    return tuple(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


@functools.cache
def property_characters() -> dict[str, tuple[str, ...]]:
    """The code points docs/payment-api.md promises are dropped between digits, by property."""
    chars = every_character()
    return {
        "Default_Ignorable_Code_Point": tuple(c for c in chars if _DEFAULT_IGNORABLE.match(c)),
        "White_Space": tuple(c for c in chars if _WHITE_SPACE.match(c)),
        "Zs/Zl/Zp": tuple(c for c in chars if unicodedata.category(c) in ("Zs", "Zl", "Zp")),
        "str.isspace": tuple(c for c in chars if c.isspace()),
    }


def missed(separators: tuple[str, ...]) -> list[str]:
    """Code points that, between the groups of a Visa test number, hide it from the scan."""
    return [f"U+{ord(c):04X}" for c in separators
            if not cardnumbers.contains_card_number(c.join(VISA_GROUPS))]


@pytest.mark.parametrize("name", ["Default_Ignorable_Code_Point", "White_Space", "Zs/Zl/Zp",
                                  "str.isspace"])
def test_every_code_point_of_the_property_joins_digit_groups(name: str) -> None:
    separators = property_characters()[name]
    assert separators  # the oracle knows the property
    assert missed(separators) == []
    assert all(cardnumbers.is_separator(c) for c in separators)


def test_the_hangul_fillers_of_the_issue_are_separators() -> None:
    for filler in ("\u3164", "\uffa0", "\u115f", "\u1160"):
        assert cardnumbers.contains_card_number(filler.join(VISA_GROUPS)), f"U+{ord(filler):04X}"


def test_the_only_letters_that_are_separators_are_the_default_ignorable_ones() -> None:
    """The derivation by name (a letter named ``... FILLER``) finds exactly the letters Unicode
    calls default-ignorable, no more: every other letter still ends a run."""
    letters = [c for c in every_character() if c.isalnum() and unicodedata.decimal(c, None) is None]
    separating = {c for c in letters if cardnumbers.is_separator(c)}
    ignorable = {c for c in letters if _DEFAULT_IGNORABLE.match(c)}
    assert separating == ignorable
    assert {f"U+{ord(c):04X}" for c in separating} >= {"U+115F", "U+1160", "U+3164", "U+FFA0"}


@pytest.mark.parametrize("letter", ["a", "Z", "\u3131", "\u00e9", "\u05d0", "\u4e00"],
                         ids=["latin", "latin-upper", "hangul-letter", "accented", "hebrew",
                              "han"])
def test_a_visible_letter_still_ends_a_run(letter: str) -> None:
    assert not cardnumbers.contains_card_number(letter.join(VISA_GROUPS))
