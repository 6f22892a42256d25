"""Constraints a migration added NOT VALID, validated after the migrations commit.

A CHECK added to a table with rows scans the whole table, and ``ALTER TABLE ... ADD
CONSTRAINT`` holds an ACCESS EXCLUSIVE lock while it does: on the ledger, every payment would
wait for the scan. So a migration adds a constraint ``NOT VALID`` (new rows are checked from its
commit on; the lock is held only as long as the migration transaction), and this step validates
it afterwards, one constraint per transaction: ``VALIDATE CONSTRAINT`` takes a SHARE UPDATE
EXCLUSIVE lock, which lets inserts and updates in ("ALTER TABLE", PostgreSQL).

A constraint that existing rows break stays NOT VALID (it still guards every new row) and is
reported, as is one whose scan outlasted the migrate step's statement timeout; the next deploy
tries again. Idempotent: a validated constraint is never scanned again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pg8000.exceptions import DatabaseError

from .database import sqlstate
from .errors import DependencyUnavailable

if TYPE_CHECKING:
    from .database import Database

_NOT_VALID = ("SELECT CAST(c.conrelid AS regclass)::text, quote_ident(c.conname) "
              "FROM pg_catalog.pg_constraint AS c "
              "WHERE c.connamespace = CAST('public' AS regnamespace) AND NOT c.convalidated "
              "ORDER BY 1, 2")
_CHECK_VIOLATION = "23514"


@dataclass(frozen=True)
class Validation:
    validated: tuple[str, ...]
    not_validated: tuple[str, ...]
    """``<constraint>: <why>`` for each constraint left NOT VALID."""


def validate(database: Database) -> Validation:
    """Validate every NOT VALID constraint of the schema (as its owner, the migrator)."""
    validated, not_validated = [], []
    for table, name in database.run(_NOT_VALID):  # catalog names, quoted by the server
        try:
            with database.transaction() as run:
                run(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
            validated.append(name)
        except DatabaseError as error:
            if sqlstate(error) != _CHECK_VIOLATION:
                raise
            not_validated.append(f"{name}: existing rows break it")
        except DependencyUnavailable as error:
            if not error.reason.startswith("timed out"):
                raise
            not_validated.append(f"{name}: {error.reason} (validate it by hand, or at the "
                                 "next deploy)")
    return Validation(tuple(validated), tuple(not_validated))
