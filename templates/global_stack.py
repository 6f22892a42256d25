"""The global template: one stack in us-east-1, where Route 53 health-check metrics live."""

from troposphere import Template

from .dashboard import add_dashboard, add_dashboard_parameters
from .dns import add_dns_parameters, add_failover_dns
from .keys import add_key
from .notifications import add_alarm_topic
from .parameters import ParameterSet
from .regional import build_regional
from .region_switch import add_region_switch_parameters, add_region_switch_plan
from .regional_params import add_environment_parameters

DESCRIPTION = ("Payment API failover DNS: Route 53 health checks per region, PRIMARY/SECONDARY "
               "failover alias records, health-check alarms, the operator dashboard and an "
               "optional ARC Region switch plan. Deploy in us-east-1.")

# The global stack may share a region (us-east-1) with a regional stack: a distinct alias.
GLOBAL_KEY_ALIAS_SUFFIX = "-dns"


def build_global(regional: Template | None = None) -> Template:
    """`regional` is the regional template the dashboard describes (built here if not given):
    its alarms are the ones the dashboard's alarm widget lists."""
    regional = regional if regional is not None else build_regional()
    template = Template(Description=DESCRIPTION)
    template.set_version("2010-09-09")
    params = ParameterSet(template)
    add_environment_parameters(params)
    add_dns_parameters(params)
    add_dashboard_parameters(params)
    add_region_switch_parameters(params)
    key = add_key(template, description="Payment API failover DNS: alarm topic encryption",
                  alias_suffix=GLOBAL_KEY_ALIAS_SUFFIX)
    topic = add_alarm_topic(template, key, role="dns-alarms")
    add_failover_dns(template, topic)
    add_region_switch_plan(template)
    add_dashboard(template, regional)
    params.finish()
    return template
