"""Database roles with least privilege: the functions never connect as the master user.

Three roles, three secrets (Secrets Manager generates every password; the template never
sees one):

* the **master** user (``<prefix>-<env>/aurora/master``): only the migrate function reads it,
  to create the two roles below and keep their passwords equal to their secrets;
* ``payments_migrator`` (``.../aurora/migrator``): owns the schema and runs the migrations
  (DDL never runs as the master user);
* ``payments_app`` (``.../aurora/app``): what the processor and health functions use. It may
  read and insert ledger rows, write heartbeats and read the migration table; it cannot
  delete, truncate or change the schema (migration 003 grants exactly this).

Passwords go to the server as SCRAM-SHA-256 verifiers computed here (RFC 5802 / RFC 7677,
the format PostgreSQL stores), never as text: the cluster logs DDL (``log_statement=ddl``),
and a logged ``ALTER ROLE ... PASSWORD`` must not carry a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .database import Database

MIGRATOR_ROLE = "payments_migrator"
APP_ROLE = "payments_app"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Role:
    name: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _ROLE_NAME.fullmatch(self.name):
            raise ValueError(f"role name {self.name!r} is not a plain lower-case identifier")


def scram_verifier(password: str, *, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``, as pg_authid stores it."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def ensure_roles(master: Database, database_name: str, migrator: Role, app: Role) -> list[str]:
    """Create or update the two roles (as the master user); returns the roles created.

    Idempotent: run after every deploy. A role that exists gets its password set again (the
    secret may have been rotated) and nothing else changes.
    """
    created = []
    with master.transaction() as run:
        for role in (migrator, app):
            exists = run("SELECT 1 FROM pg_roles WHERE rolname = :name", name=role.name)
            verb = "ALTER" if exists else "CREATE"
            # Identifiers cannot be bound as parameters; the name is checked above, and the
            # verifier contains only base64 and '$:' characters.
            run(f"{verb} ROLE {role.name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"PASSWORD '{scram_verifier(role.password)}'")
            if not exists:
                created.append(role.name)
        run(f"GRANT CONNECT, TEMPORARY ON DATABASE {_identifier(database_name)} "
            f"TO {migrator.name}, {app.name}")
        run(f"GRANT USAGE, CREATE ON SCHEMA public TO {migrator.name}")
        run(f"GRANT USAGE ON SCHEMA public TO {app.name}")
        # The master must be a member to hand objects over (RDS's master is not a superuser).
        run(f"GRANT {migrator.name} TO CURRENT_USER")
        for table in _tables_not_owned_by(run, migrator.name):
            run(f"ALTER TABLE {table} OWNER TO {migrator.name}")
    return created


def _tables_not_owned_by(run, owner: str) -> Iterable[str]:
    rows = run("SELECT quote_ident(tablename) FROM pg_tables "
               "WHERE schemaname = 'public' AND tableowner <> :owner", owner=owner)
    return [name for (name,) in rows]


def _identifier(name: str) -> str:
    if not _ROLE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} is not a plain lower-case identifier")
    return name
