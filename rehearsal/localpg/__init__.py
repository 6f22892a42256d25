"""Real PostgreSQL servers on 127.0.0.1 for the local model of the data tier.

Used by the handler tests and by `payments-dr dr drill --local`: a primary, a hot
standby made with `pg_basebackup -R` (a faithful model of an Aurora secondary cluster: read
only, asynchronously replicated, promotable), a TCP forwarder that models the global
database's writer endpoint (it follows the writer after a switchover or failover), and the
same forwarder delaying a standby's WAL stream (the distance between regions).
Nothing here touches AWS or leaves the loopback interface.
"""

from .endpoint import WriterEndpoint
from .forwarder import Forwarder, replication_link
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
    "ADMIN_USER", "DATABASE", "SERVER_HOSTNAME", "Forwarder", "PostgresServer",
    "PostgresUnavailable", "WriterEndpoint", "create_server", "create_standby",
    "replication_link",
]
