"""The game day's adapter asks moto again only for moto's own race, never for an AWS answer."""

from __future__ import annotations

import pytest

from rehearsal.gameday.local_adapter import _while_clients_write


def flaky(failures: list[BaseException], answer: dict) -> tuple[list[int], object]:
    calls: list[int] = []

    def describe() -> dict:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return answer
    return calls, describe


def test_a_describe_that_races_the_writers_is_asked_again() -> None:
    race = RuntimeError("dictionary changed size during iteration")
    calls, describe = flaky([race, race], {"Table": {"TableStatus": "ACTIVE"}})

    assert _while_clients_write(describe) == {"Table": {"TableStatus": "ACTIVE"}}
    assert len(calls) == 3


def test_a_race_that_persists_and_any_other_error_are_raised() -> None:
    races = [RuntimeError("dictionary changed size during iteration") for _ in range(5)]
    calls, describe = flaky(races, {})
    with pytest.raises(RuntimeError, match="changed size"):
        _while_clients_write(describe)
    assert len(calls) == 5

    calls, describe = flaky([RuntimeError("something else")], {})
    with pytest.raises(RuntimeError, match="something else"):
        _while_clients_write(describe)
    assert len(calls) == 1
