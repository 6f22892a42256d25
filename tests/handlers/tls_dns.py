"""Names for the database TLS tests, shaped as AWS names them, and a resolver the tests control.

The global writer endpoint is a CNAME to the writer cluster's endpoint, which is itself a
CNAME to the writer instance (Aurora answers ``dig`` on a cluster endpoint with a CNAME to an
instance name, 5 s TTL): the chain ``ALIAS -> HOME_CLUSTER -> HOME_INSTANCE``.
"""

from __future__ import annotations

import socket

HOME = "payments-test-us-east-1"
RECOVERY = "payments-test-us-west-2"
OUR_CLUSTERS = frozenset({HOME, RECOVERY})
ALIAS = "payments-test-global.global-q1w2e3r4t5.global.rds.amazonaws.com"
HOME_CLUSTER = f"{HOME}.cluster-c7tj4example.us-east-1.rds.amazonaws.com"
RECOVERY_CLUSTER = f"{RECOVERY}.cluster-d8uk5example.us-west-2.rds.amazonaws.com"
HOME_INSTANCE = "b0rhuiosrh09.c7tj4example.us-east-1.rds.amazonaws.com"
WILDCARD_HOME = "*.cluster-c7tj4example.us-east-1.rds.amazonaws.com"
# Someone else's cluster: its RDS certificate is genuine, for its own name.
ATTACKER_CLUSTER = "payments-evil-us-east-1.cluster-f00ba4example.us-east-1.rds.amazonaws.com"


class FakeDns:
    """``cname_chain`` over a fixed table: host -> the names its CNAMEs lead to, in order.
    An unknown host fails as the system resolver does (socket.gaierror)."""

    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self._table = table
        self.lookups: list[str] = []

    def chain(self, host: str) -> tuple[str, ...]:
        self.lookups.append(host)
        if host not in self._table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return (host, *self._table[host])
