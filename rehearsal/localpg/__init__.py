"""Real PostgreSQL servers on 127.0.0.1 for the local model of the data tier.

Used by the handler tests and by `payments-dr dr drill --local`: a primary, a hot
standby made with `pg_basebackup -R` (a faithful model of an Aurora secondary cluster: read
only, asynchronously replicated, promotable), and a TCP forwarder that models the global
database's writer endpoint (it follows the writer after a switchover or failover).
Nothing here touches AWS or leaves the loopback interface.
"""

from .endpoint import WriterEndpoint
from .server import (
    ADMIN_USER,
    DATABASE,
    SERVER_HOSTNAME,
    PostgresServer,
    PostgresUnavailable,
    create_server,
    create_standby,
)

__all__ = [
    "ADMIN_USER", "DATABASE", "SERVER_HOSTNAME", "PostgresServer", "PostgresUnavailable",
    "WriterEndpoint", "create_server", "create_standby",
]
