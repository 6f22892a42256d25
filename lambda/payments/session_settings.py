"""What a database session of the functions may not inherit from the role it logs in as.

PostgreSQL lets every role give itself session defaults that outlast the session (``ALTER ROLE
<self> [IN DATABASE ...] SET ...``, "ALTER ROLE"), and both regions' functions log in as the
same role with one replicated secret. Set once, by a compromised function or a mistake, such a
default breaks or silently weakens every new connection in both regions until the next deploy:

* ``synchronous_commit = off`` acknowledges every payment before its commit is flushed: a crash
  loses payments the clients were told are recorded, and nothing fails;
* ``search_path = ''`` hides the schema's functions (every payment 503 "schema not migrated");
  ``client_encoding = 'SQL_ASCII'`` makes a non-ASCII description a 500;
  ``idle_session_timeout = 1`` kills the session before its first statement;
* ``TimeZone``, ``DateStyle`` and ``IntervalStyle`` change how timestamps read back (the receipt
  key is dated by the ledger row's UTC date), ``default_transaction_isolation`` the ledger's
  concurrency (``record_payment`` relies on read committed: a racing duplicate waits for the
  first commit and returns its row).

Two defences, both at connection time (:func:`check`, called from ``Database._open``):

1. :data:`STARTUP_PARAMETERS` pins those settings in the startup message. A setting sent there
   is a session default that wins over the role's, the database's and the server's defaults
   (PostgreSQL "Frontend/Backend Protocol", StartupMessage: "any run-time parameter that can be
   set at backend start time ... will act as session defaults"; "Setting Parameters": ALTER
   ROLE and ALTER DATABASE values are defaults "obtained from the configuration files or server
   command line" that a client's own settings override). So the session is sound even while
   the role carries a default, and the check below can run.
2. A role the migrate step manages (``payments_app``, ``payments_migrator``) may carry no
   defaults at all: the migrate step resets them on every deploy (``roles.ensure_roles``), so
   any row of ``pg_db_role_setting`` for the session user (a catalog every role can read) is
   tampering or a mistake. The connection is refused with :data:`ROLE_SETTINGS_REFUSED`, which
   ``DatabaseRoleRefusedAlarm`` counts (templates/database_role_alarm.py): a failover cannot
   help, the migrate function does. The master user is not checked: its settings are the
   operator's, and the migrate function, which resets the others, logs in as it.

Not pinned: ``default_transaction_read_only`` (an operator may freeze writes with ``ALTER
DATABASE ... SET``; a read-only primary is reported as such, ``database.ServerRole``), the
statement, lock and idle-in-transaction limits (set per session, ``database.SessionLimits``),
and ``transaction_timeout``, which only PostgreSQL 17 knows (the startup message of an older
server would fail on it; a role default of it is refused by the check like any other).
"""

from __future__ import annotations

import re
from typing import Any

from .errors import DependencyUnavailable
from .roles import APP_ROLE, MIGRATOR_ROLE

MANAGED_ROLES = (APP_ROLE, MIGRATOR_ROLE)
"""The roles whose settings the migrate step resets on every deploy."""

DEPENDENCY = "database"

STARTUP_PARAMETERS: dict[str, str] = {
    "synchronous_commit": "on",
    # pg_catalog is searched first anyway when it is not listed ("The Schema Search Path"),
    # and the migrations create their objects in the first schema listed.
    "search_path": "public",
    "client_encoding": "UTF8",
    "idle_session_timeout": "0",
    "default_transaction_isolation": "read committed",
    "TimeZone": "UTC",
    "DateStyle": "ISO, MDY",
    "IntervalStyle": "postgres",
}
"""Sent in every connection's startup message (pg8000 ``startup_params``)."""

ROLE_SETTINGS_REFUSED = "role has settings of its own"
"""The start of the refusal's reason: the role alarm's metric filter matches it."""

_ROLE_SETTINGS = (
    "SELECT session_user = ANY(CAST(:managed AS text[])), "
    "coalesce(array_agg(DISTINCT split_part(c.setting, '=', 1)) "
    "FILTER (WHERE c.setting IS NOT NULL), '{}') "
    "FROM pg_catalog.pg_db_role_setting AS s "
    "CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting) "
    "WHERE s.setrole = (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = session_user)"
)
_SHOWN = 5
_PLAIN_NAME = re.compile(r"[A-Za-z_]{1,63}")
"""How a server parameter is named. A custom one (``a.b``) may carry anything, even digits that
would make the log line's card-number scan redact the reason, and the alarm miss it: those are
counted, not named."""


def check(connection: Any) -> None:
    """Refuse a freshly opened connection whose managed role carries defaults of its own."""
    ((managed, names),) = connection.run(_ROLE_SETTINGS, managed=list(MANAGED_ROLES))
    if managed and names:
        plain = sorted(name for name in names if _PLAIN_NAME.fullmatch(name))
        shown = plain[:_SHOWN] + ([f"{len(names) - _SHOWN} more"] if len(names) > _SHOWN
                                  else [f"{len(names) - len(plain)} custom"]
                                  if len(names) > len(plain) else [])
        raise DependencyUnavailable(
            DEPENDENCY, f"{ROLE_SETTINGS_REFUSED} ({', '.join(shown)}): ALTER ROLE ... SET; "
            "invoke the migrate function, which resets them")
