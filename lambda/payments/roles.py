"""Database roles with least privilege: the functions never connect as the master user.

Three roles, three secrets (Secrets Manager generates every password; the template never
sees one):

* the **master** user (``<prefix>-<env>/aurora/master``): only the migrate function reads it,
  to create the two roles below and keep their passwords equal to their secrets;
* ``payments_migrator`` (``.../aurora/migrator``): owns the schema and runs the migrations
  (DDL never runs as the master user);
* ``payments_app`` (``.../aurora/app``): what the processor and health functions use. It
  has no table privilege at all, only EXECUTE on the migrator's functions (record a
  payment, read one, write its own region's heartbeat, list the applied migrations, ask how
  far the other region has confirmed the log: ``lambda/schema/004_*.sql``, ``005_*.sql``),
  CONNECT on the payments database only (no TEMPORARY: no temporary tables or functions)
  and USAGE on its schema.

What PostgreSQL grants every role (PUBLIC) by default is taken back here, on every deploy:
CONNECT and TEMPORARY on every database the master owns (the payments database, and also
``postgres`` and ``template1``), CREATE on schema ``public``. And a role may change two things
about itself that outlast its session: its password and its settings (``ALTER ROLE ... SET
default_transaction_read_only = on`` would make every new connection read only). Every
deploy sets the password from the secret again and resets every setting of both roles
(``ALTER ROLE ... RESET ALL``, in every database).

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # database imports session_settings, which imports the role names here
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
    secret may have been rotated, or the role changed its own) and its settings reset; the
    database privileges are set as described in the module docstring.
    """
    created = []
    database = _identifier(database_name)
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
            _reset_settings(run, role.name)
        # PUBLIC has CONNECT and TEMPORARY on every new database (PostgreSQL "Privileges",
        # Table 5.2); "Controlling user access to the PostgreSQL database" (Aurora User Guide)
        # revokes them. Earlier versions of this step granted TEMPORARY to both roles.
        run(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC")
        run(f"REVOKE TEMPORARY ON DATABASE {database} FROM {migrator.name}, {app.name}")
        run(f"GRANT CONNECT ON DATABASE {database} TO {migrator.name}, {app.name}")
        for other in _other_databases_we_own(run, database_name):
            run(f"REVOKE ALL ON DATABASE {other} FROM PUBLIC")
        run("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        run(f"GRANT USAGE, CREATE ON SCHEMA public TO {migrator.name}")
        run(f"GRANT USAGE ON SCHEMA public TO {app.name}")
        if not run("SELECT to_regproc('aurora_global_db_status') IS NOT NULL")[0][0]:
            # Plain PostgreSQL (the local model): replication_progress() (migration 005)
            # reads the standbys' flush positions in pg_stat_replication as the migrator,
            # and non-members of pg_read_all_stats see NULL there.
            run(f"GRANT pg_read_all_stats TO {migrator.name}")
        # The master must be a member to hand objects over (RDS's master is not a superuser).
        run(f"GRANT {migrator.name} TO CURRENT_USER")
        for table in _tables_not_owned_by(run, migrator.name):
            run(f"ALTER TABLE {table} OWNER TO {migrator.name}")
    return created


def databases_open_to_every_role(master: Database, database_name: str) -> list[str]:
    """Other databases any role may still connect to (those the master does not own, which
    :func:`ensure_roles` cannot close): the migrate step reports them."""
    rows = master.run("SELECT datname FROM pg_database WHERE datallowconn AND datname <> :name "
                      "AND has_database_privilege('public', oid, 'CONNECT') ORDER BY datname",
                      name=database_name)
    return [name for (name,) in rows]


def _reset_settings(run, role: str) -> None:
    """Forget what the role set for itself, everywhere (``pg_db_role_setting``)."""
    run(f"ALTER ROLE {role} RESET ALL")
    rows = run("SELECT quote_ident(d.datname) FROM pg_db_role_setting AS s "
               "JOIN pg_database AS d ON d.oid = s.setdatabase "
               "JOIN pg_roles AS r ON r.oid = s.setrole WHERE r.rolname = :role", role=role)
    for (database,) in rows:
        run(f"ALTER ROLE {role} IN DATABASE {database} RESET ALL")


def _other_databases_we_own(run, database_name: str) -> Iterable[str]:
    rows = run("SELECT quote_ident(datname) FROM pg_database WHERE datallowconn "
               "AND datname <> :name AND pg_has_role(datdba, 'MEMBER')", name=database_name)
    return [name for (name,) in rows]


def _tables_not_owned_by(run, owner: str) -> Iterable[str]:
    rows = run("SELECT quote_ident(tablename) FROM pg_tables "
               "WHERE schemaname = 'public' AND tableowner <> :owner", owner=owner)
    return [name for (name,) in rows]


def _identifier(name: str) -> str:
    if not _ROLE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} is not a plain lower-case identifier")
    return name
