"""The regional template: one JSON for both regions; the role comes from parameters."""

from troposphere import Template

from .api import add_api
from .authorizer import add_authorizer
from .database import add_database
from .database_role_alarm import add_database_role_alarm
from .drills import add_drills, lambda_fault_injection
from .durability_alarm import add_durability_alarm
from .keys import add_key
from .network import add_network
from .notifications import add_alarm_topic
from .reconcile import add_reconcile
from .regional_params import add_regional_parameters
from .service import add_functions, inject_faults
from .service_alarms import add_service_alarms
from .storage import add_storage
from .table import add_payments_table

DESCRIPTION = ("Payment API, one region of a two-region warm standby: network, keys, data "
               "stores, payment service and alarms. Deployed to both regions by a StackSet.")


def build_regional() -> Template:
    template = Template(Description=DESCRIPTION)
    template.set_version("2010-09-09")
    regional = add_regional_parameters(template)
    key = add_key(template, description="Payment API regional key: data at rest, logs, alarms")
    topic = add_alarm_topic(template, key)
    network = add_network(regional, key)
    database = add_database(regional, key, network)
    add_payments_table(template, key)
    storage = add_storage(regional, key)
    functions = add_functions(regional, key, network, database, storage)
    reconcile = add_reconcile(regional, key, network, database, storage)
    authorizer = add_authorizer(regional, key, network)
    api = add_api(regional, key, functions, authorizer)
    add_service_alarms(regional, topic, functions, api, storage, authorizer, reconcile)
    add_database_role_alarm(regional.template, topic, functions)
    add_durability_alarm(regional.template, topic, functions.log_groups["Processor"])
    drills = add_drills(regional, key, network, functions.processor,
                        storage.log_bucket)
    inject_faults(template, functions, functions.processor_role, lambda_fault_injection(drills))
    regional.params.finish()
    return template
