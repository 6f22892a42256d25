"""Versioned schema migrations from ``lambda/schema/NNN_name.sql``, applied idempotently.

Each file is applied once, in version order, and recorded in
``schema_migrations`` with its SHA-256; a file edited after it was applied is
an error, not a silent divergence. The whole run is one transaction
(PostgreSQL DDL is transactional) under an advisory lock, so two deploy steps
racing each other apply nothing twice and a failed file leaves no trace.

Runs on the writer only, as the migrator role: the migrate function
(``payments.handlers.migrate``) first creates the roles as the master user
(``payments.roles``), then applies the files as ``payments_migrator``. The
payment functions only check (:func:`missing`) and refuse to take payments on a
schema that is behind.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from pg8000.exceptions import DatabaseError

from .database import Database, sqlstate as _sqlstate

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
_FILE_NAME = re.compile(r"(\d{3})_[a-z0-9_]+\.sql")
# Any constant will do; it only has to be the same for every deploy step.
_ADVISORY_LOCK_ID = 4_210_001

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    name        text        NOT NULL,
    checksum    char(64)    NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str = field(repr=False)

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(directory: Path = SCHEMA_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_snake_case.sql")
        migrations.append(Migration(match.group(1), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return migrations


def apply(database: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = load() if migrations is None else migrations
    with database.transaction() as run:
        run("SELECT pg_advisory_xact_lock(:lock_id)", lock_id=_ADVISORY_LOCK_ID)
        run(_CREATE_TABLE)
        applied = dict(run("SELECT version, checksum FROM schema_migrations"))
        names = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(f"{migration.name} changed after it was applied")
                continue
            run(migration.sql)
            run(
                "INSERT INTO schema_migrations (version, name, checksum) "
                "VALUES (:version, :name, :checksum)",
                version=migration.version,
                name=migration.name,
                checksum=migration.checksum,
            )
            names.append(migration.name)
    return names


def missing(database: Database, migrations: list[Migration] | None = None) -> list[str]:
    """The shipped migrations the connected database has not applied. Empty when the schema
    is current.

    The functions' role reads no table: it asks ``applied_migrations()`` (004). Before that
    migration the function does not exist, and every migration counts as missing (the
    answer the functions act on, "not current", is the same)."""
    migrations = load() if migrations is None else migrations
    try:
        applied = {version for (version,) in database.run("SELECT public.applied_migrations()")}
    except DatabaseError as error:
        # undefined_function: 004 not applied; undefined_table: nothing was ever applied
        if _sqlstate(error) in ("42883", "42P01"):
            return [m.name for m in migrations]
        raise
    return [m.name for m in migrations if m.version not in applied]
