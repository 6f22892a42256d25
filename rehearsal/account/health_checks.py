"""Route 53 health checks in the rehearsal: moto 5.2 creates an `AWS::Route53::HealthCheck`
from a template but has no update for it, so a stack update that points a check at another
host (`dr switchover` swaps the global stack's PRIMARY and SECONDARY health hosts) left the
check probing the old one. Here an update changes the check's updatable configuration in place,
on the same check id: CloudFormation's resource schema for AWS::Route53::HealthCheck makes only
Type, MeasureLatency and RequestInterval create-only (cfn-lint's copy of the schema), and
Route 53 updates the others on the check (Route 53 API Reference, UpdateHealthCheck); the
global stack's outputs keep naming that id. Rehearsal-only.
"""

from __future__ import annotations

from typing import Any

from moto.route53.models import HealthCheck

# HealthCheckConfig property -> moto's attribute
ATTRIBUTES = {"IPAddress": "ip_address", "Port": "port", "ResourcePath": "resource_path",
              "FullyQualifiedDomainName": "fqdn", "SearchString": "search_string",
              "FailureThreshold": "failure_threshold"}  # create-only ones are not updated


def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                    cloudformation_json: Any, account_id: str,
                                    region_name: str) -> Any:
    config = cloudformation_json["Properties"]["HealthCheckConfig"]
    for key, attribute in ATTRIBUTES.items():
        if key in config:
            setattr(original_resource, attribute, config[key])
    original_resource.health_check_version += 1
    return original_resource


PATCHES = (
    (HealthCheck, "update_from_cloudformation_json", classmethod(update_from_cloudformation_json)),
)
