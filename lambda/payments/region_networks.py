"""Which network each region's functions connect from, as the database must know it.

The functions of both regions log in as ``payments_app`` with one replicated secret, so the
role cannot tell the database which region a caller is in. The address a connection comes
from can: the functions run in their region's VPC, and VPC peering does not translate
addresses ("What is VPC peering?", Amazon VPC Peering Guide), so a function in the recovery
region reaches the home writer with an address in ``RecoveryVpcCidr``. The migrate step
records both CIDRs on every deploy (:func:`record`); ``write_heartbeat`` (migration 004)
refuses a heartbeat for a region whose network the caller's address is not in.

Two regions' networks may overlap only in the local model (both on the loopback network):
VPC peering refuses overlapping CIDRs, so a deployed pair never does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .database import Database

REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
"""The same rule as the ``region_networks`` and ``heartbeats`` tables' CHECK."""


@dataclass(frozen=True)
class RegionNetwork:
    region: str
    network: str  # a CIDR block, e.g. 10.1.0.0/16

    def __post_init__(self) -> None:
        if not REGION_PATTERN.fullmatch(self.region):
            raise ValueError(f"{self.region!r} is not an AWS region name such as eu-west-1")
        try:
            ipaddress.ip_network(self.network, strict=True)
        except ValueError:
            raise ValueError(f"{self.network!r} is not a CIDR block such as 10.1.0.0/16 "
                             "(no host bits set)") from None


def record(database: Database, networks: Iterable[RegionNetwork]) -> list[str]:
    """Make ``region_networks`` hold exactly ``networks`` (as the migrator, who owns it);
    returns ``region=network`` for each, for the migrate step's output."""
    networks = list(networks)
    with database.transaction() as run:
        run("DELETE FROM region_networks WHERE NOT (region = ANY(CAST(:regions AS text[])))",
            regions=[n.region for n in networks])
        for network in networks:
            run("INSERT INTO region_networks (region, network) "
                "VALUES (:region, CAST(:network AS cidr)) "
                "ON CONFLICT (region) DO UPDATE SET network = EXCLUDED.network",
                region=network.region, network=network.network)
    return [f"{n.region}={n.network}" for n in networks]
