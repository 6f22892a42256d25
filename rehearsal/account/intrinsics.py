"""Rehearsal-only shims for two intrinsic functions moto 5.2 evaluates wrongly.

- `Fn::Cidr` is missing entirely (moto raises a bare `KeyError`).
- `Fn::GetAZs` returns `<region>a..d` of us-east-1 whatever the stack's region, and a dict
  argument such as `{"Ref": "AWS::Region"}` ends up in the zone names.

The templates keep using the standard intrinsics; the rehearsal teaches moto both instead.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any, Callable

from moto.ec2.models import ec2_backends


def cidr(ip_block: str, count: int | str, cidr_bits: int | str) -> list[str]:
    """`Fn::Cidr`: the first `count` subnets with `cidr_bits` host bits, in address order."""
    network = ipaddress.ip_network(ip_block, strict=False)
    new_prefix = network.max_prefixlen - int(cidr_bits)
    if not network.prefixlen <= new_prefix <= network.max_prefixlen:
        raise ValueError(f"Fn::Cidr: {cidr_bits} host bits do not fit in {ip_block}")
    subnets = list(itertools.islice(network.subnets(new_prefix=new_prefix), int(count)))
    if len(subnets) < int(count):
        raise ValueError(f"Fn::Cidr: {ip_block} holds only {len(subnets)} /{new_prefix} subnets")
    return [str(subnet) for subnet in subnets]


def availability_zones(account_id: str, region: str) -> list[str]:
    """`Fn::GetAZs`: the zones moto's EC2 knows for that region, sorted like AWS returns them."""
    zones = ec2_backends[account_id][region].describe_availability_zones()
    return sorted(zone.name for zone in zones)


def with_shims(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap moto's `clean_json`; it recurses through the module global, so nested calls pass
    through the wrapper too."""
    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, dict):
            if "Fn::Cidr" in resource_json:
                return cidr(*clean_json(resource_json["Fn::Cidr"], resources_map))
            if "Fn::GetAZs" in resource_json:
                region = clean_json(resource_json["Fn::GetAZs"], resources_map)
                return availability_zones(resources_map._account_id,
                                          region or resources_map._region_name)
        return original(resource_json, resources_map)
    return clean_json
