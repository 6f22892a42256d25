"""The global template: one stack in us-east-1, where Route 53 health-check metrics live."""

from troposphere import Template

from .dns import add_dns_parameters, add_failover_dns
from .keys import add_key
from .notifications import add_alarm_topic
from .parameters import ParameterSet
from .regional_params import add_environment_parameters

DESCRIPTION = ("Payment API failover DNS: Route 53 health checks per region, PRIMARY/SECONDARY "
               "failover alias records and health-check alarms. Deploy in us-east-1.")

# The global stack may share a region (us-east-1) with a regional stack: a distinct alias.
GLOBAL_KEY_ALIAS_SUFFIX = "-dns"


def build_global() -> Template:
    template = Template(Description=DESCRIPTION)
    template.set_version("2010-09-09")
    params = ParameterSet(template)
    add_environment_parameters(params)
    add_dns_parameters(params)
    key = add_key(template, description="Payment API failover DNS: alarm topic encryption",
                  alias_suffix=GLOBAL_KEY_ALIAS_SUFFIX)
    topic = add_alarm_topic(template, key, role="dns-alarms")
    add_failover_dns(template, topic)
    params.finish()
    return template
