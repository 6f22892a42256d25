"""The Aurora global database's writer endpoint, as a forwarder (`forwarder.Forwarder`).

Aurora's global writer endpoint is one DNS name that always leads to the writer of the
current primary cluster; after a switchover or a failover Aurora repoints it, and
connections to the old writer end ("Connecting to Amazon Aurora Global Database", Aurora
User Guide). Here the name is a fixed 127.0.0.1 port and :meth:`WriterEndpoint.point_to`
is the repointing: new connections go to the new server and every open one is closed, so a
client must reconnect exactly as it would on AWS. TLS passes through untouched (the
forwarder copies bytes), so verify-full against the server certificate still holds.
"""

from __future__ import annotations

from .forwarder import Forwarder


class WriterEndpoint(Forwarder):
    """Listens on 127.0.0.1:<port> and forwards each connection to the current writer's port;
    `round_trip` seconds of network between the functions and the writer (half each way)."""

    def __init__(self, target_port: int, host: str = "127.0.0.1", *,
                 round_trip: float = 0.0) -> None:
        super().__init__(target_port, to_server=round_trip / 2, to_client=round_trip / 2,
                         host=host, name="writer-endpoint")
