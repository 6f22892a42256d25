"""Which characters are digits and which join digit groups into one run, checked exhaustively
over every code point.

Digits: every code point with a Unicode digit value (Numeric_Type Decimal or Digit), in any
position of a card number, and the zeros named as digits. Separators: every code point of the
Unicode properties White_Space and Default_Ignorable_Code_Point, every modifier letter that
NFKC leaves a modifier letter, and the letters named as tones, clicks, marks or syllabics
finals; every other letter ends a run.

Python's :mod:`unicodedata` exposes neither property nor a Numeric_Type; the ``regex`` module
(Matthew Barnett's, compiled from the Unicode Character Database) does, and serves as the
independent oracle: ``payments.cardnumbers`` derives its digits and separators from digit and
numeric values, general categories and names, and these tests hold that derivation against
the properties themselves. ``regex`` may know a newer Unicode version than the interpreter;
the oracle is read only over the code points the interpreter's Unicode assigns.
"""

from __future__ import annotations

import functools
import sys
import unicodedata

import pytest
import regex
from payments import cardnumbers

from .test_card_data import with_check_digit

VISA_GROUPS = ("4111", "1111", "1111", "1111")

_DEFAULT_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
_WHITE_SPACE = regex.compile(r"\p{White_Space}")
_LETTER = regex.compile(r"\p{L}")
_MODIFIER_LETTER = regex.compile(r"\p{Lm}")
_OTHER_LETTER = regex.compile(r"\p{Lo}")
_DIGIT_TYPE = regex.compile(r"\p{Numeric_Type=Decimal}|\p{Numeric_Type=Digit}")
_VALUE = {value: regex.compile(rf"\p{{Numeric_Value={value}}}") for value in range(10)}


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


@functools.cache
def assigned() -> tuple[str, ...]:
    """The code points the interpreter's Unicode version assigns (the oracle's may be newer)."""
    return tuple(c for c in every_character() if unicodedata.category(c) != "Cn")


def joins(char: str) -> bool:
    return cardnumbers.contains_card_number(char.join(VISA_GROUPS))


def named_wordless(char: str) -> bool:
    """An uncased letter (Lo) Unicode names as a filler, tone, click, mark or syllabics final
    (cased letters so named, such as ``Ƅ`` LATIN CAPITAL LETTER TONE SIX, write words)."""
    return _OTHER_LETTER.match(char) is not None and bool(regex.search(
        r"\b(?:FILLER|TONE|CLICK|MARK)\b|\bSYLLABICS FINAL\b", unicodedata.name(char, "")))


def test_the_letters_that_join_groups_are_exactly_the_wordless_ones() -> None:
    """Review 18 (F2): over every letter, as the scan sees it after NFKC. A letter joins
    groups exactly when it is default-ignorable (the Hangul fillers), a modifier letter, or a
    letter named as a filler, tone, click, mark or syllabics final; every other letter ends
    the run."""
    def wordless(normal: str) -> bool:
        return all(_DEFAULT_IGNORABLE.match(n) or _MODIFIER_LETTER.match(n) or named_wordless(n)
                   for n in normal if _LETTER.match(n))

    letters = {c for c in assigned() if _LETTER.match(c)}
    expected = {c for c in letters if wordless(unicodedata.normalize("NFKC", c))}
    assert {c for c in letters if joins(c)} == expected
    hex_of = {f"U+{ord(c):04X}" for c in expected}
    assert {"U+115F", "U+1160", "U+3164", "U+FFA0"} <= hex_of  # the fillers
    assert {"U+A4F8", "U+A4F9", "U+0640", "U+30FC", "U+02BC", "U+07FA"} <= hex_of  # Lm
    assert {"U+01C0", "U+1427"} <= hex_of  # a click letter, a syllabics final
    kept = [c for c in letters if _MODIFIER_LETTER.match(c)
            and all(_MODIFIER_LETTER.match(n) for n in unicodedata.normalize("NFKC", c))]
    assert len(kept) > 100 and all(c in expected for c in kept)  # every modifier letter NFKC keeps


def test_a_modifier_letter_nfkc_turns_into_a_letter_is_read_as_that_letter() -> None:
    """Superscript and small-capital modifier letters (``ʰ``, ``ᴬ``) are letters after NFKC,
    so they end a run like the letters they stand for (and join, like it, when that letter
    is wordless: U+107B6 MODIFIER LETTER DENTAL CLICK becomes ``ǀ``)."""
    turned = {c: unicodedata.normalize("NFKC", c) for c in assigned() if _MODIFIER_LETTER.match(c)
              and any(_LETTER.match(n) and not _MODIFIER_LETTER.match(n)
                      for n in unicodedata.normalize("NFKC", c))}
    assert len(turned) > 150
    wrong = [f"U+{ord(c):04X}" for c, normal in turned.items()
             if joins(c) != all(named_wordless(n) for n in normal if _LETTER.match(n))]
    assert wrong == []
    assert not joins("\u02b0") and joins("\U000107b6")


@functools.cache
def digit_characters() -> dict[int, tuple[str, ...]]:
    """Every assigned code point with a Unicode digit value, by value, from the oracle."""
    return {value: tuple(c for c in assigned() if _DIGIT_TYPE.match(c) and pattern.match(c))
            for value, pattern in _VALUE.items()}


def test_every_code_point_with_a_digit_value_counts_as_its_digit() -> None:
    """Review 18 (F1): over every code point with a digit value (788 in Unicode 14, 69 of them
    left alone by NFKC: ``➀``, ``⓵``, ``❶``, Ethiopic ``፩``...), placed at any position of a
    Visa test number, the number is found; and its digit is the oracle's value."""
    digits = digit_characters()
    assert sum(map(len, digits.values())) >= 788
    missed, misread = [], []
    for value, chars in digits.items():
        pan = with_check_digit("4" + str(value) * 14)
        for position, char in enumerate(chars):
            at = 1 + position % 14  # every position but the first and the check digit
            styled = pan[:at] + char + pan[at + 1:]
            grouped = " ".join(styled[i:i + 4] for i in range(0, len(styled), 4))
            if not cardnumbers.contains_card_number(grouped):
                missed.append(f"U+{ord(char):04X}")
            read = [cardnumbers.digit_value(n) for n in unicodedata.normalize("NFKC", char)]
            if [d for d in read if d is not None] != [value]:
                misread.append(f"U+{ord(char):04X}")
    assert missed == [] and misread == []


def test_the_zeros_named_as_digits_count_as_zero() -> None:
    """The zeros Unicode gives a numeric value but no digit value: the dingbat circled
    sans-serif zeros beside ``➀``-``➈`` and ``➊``-``➒``, and the ideographic ``〇``."""
    zeros = {c for c in assigned() if unicodedata.digit(c, None) is None
             and cardnumbers.digit_value(c) == 0}
    assert {"\U0001f10b", "\U0001f10c", "\u3007"} <= zeros
    assert all(_VALUE[0].match(c) for c in zeros)
    for zero in ("\U0001f10b", "\U0001f10c", "\u3007"):
        pan = with_check_digit("4" + "0" * 14)
        assert cardnumbers.contains_card_number(pan.replace("0", zero))
        assert cardnumbers.contains_card_number(" ".join([zero * 4] * 4))  # 16 zeros pass Luhn


@pytest.mark.parametrize("letter", ["a", "Z", "\u3131", "\u00e9", "\u05d0", "\u4e00"],
                         ids=["latin", "latin-upper", "hangul-letter", "accented", "hebrew",
                              "han"])
def test_a_visible_letter_still_ends_a_run(letter: str) -> None:
    assert not cardnumbers.contains_card_number(letter.join(VISA_GROUPS))
