"""Every check of `payments-dr verify`, in the order they run: what each proves, what to do
when it fails, where it calls and what it needs beyond the AWS APIs (verify/checks.py)."""

from __future__ import annotations

import functools

from toolkit import resource_names as names
from toolkit.config import Config
from verify import alarms, dns_records, edge, in_region, payment, replication
from verify.checks import ALARM_STATE, INVOKE, METRICS, NETWORK, Check
from verify.observe import Observations

GLOBAL_REGION = names.GLOBAL_REGION


def catalog(config: Config, observed: Observations,
            key: payment.VerifyKey) -> list[Check]:
    """Every check, in the order they run (the test payments last: they are the only write)."""
    home, recovery = config.regions
    failover = config.domain.name
    status = f"payments-dr dr status --config {config.path}"
    deploy = f"payments-dr deploy --config {config.path}"
    found: list[Check] = [
        Check("dns-records",
              f"Route 53 holds {failover}'s PRIMARY and SECONDARY alias records, each to the "
              "custom domain its region's stack outputs now and with that region's health "
              "check, and each region's health host record",
              f"run `{deploy}` (its global phase writes the records from the regional "
              "outputs); README \"Deploy to a real account\"",
              lambda: dns_records.records(config, observed), calls=(GLOBAL_REGION,)),
        Check("dns-answer",
              f"this machine's resolver answers {failover} with the addresses of the region "
              "Route 53 should serve now (PRIMARY while its health check passes): clients "
              "reach the region DNS means them to",
              f"an old answer may be cached for up to the 60 s TTL: re-run in a minute; if it "
              f"persists, `{status}` shows which region DNS serves and why",
              lambda: edge.dns_answer(config, observed), calls=(GLOBAL_REGION,),
              needs=frozenset({NETWORK})),
    ]
    for region in config.regions:
        found += [
            Check("health-host",
                  f"{names.health_host(config, region)} presents a certificate this machine "
                  f"trusts for it and for {failover}, and GET /health answers 200 with the "
                  "database ok: Route 53's check of this region passes and the region can "
                  "record a payment now",
                  f"a certificate problem: the region's ACM certificate must be ISSUED for "
                  f"both names (README \"Payment service\"); /health: `{status}`, then the "
                  "health function's log group", functools.partial(
                      edge.health_host, config, region, observed.adapter.get),
                  region=region, calls=(region,), needs=frozenset({NETWORK})),
            Check("failover-name-tls",
                  f"{region}'s custom domain for {failover} (its failover record's target) "
                  f"presents a certificate valid for {failover}: when DNS moves the name to "
                  "this region, clients' TLS still verifies",
                  f"check the custom domain {failover} and its certificate in {region} "
                  f"(README \"Payment service\"), then `{deploy}`",
                  functools.partial(edge.failover_name_tls, config, observed, region),
                  region=region, calls=(region, GLOBAL_REGION), needs=frozenset({NETWORK})),
            Check("functions",
                  f"the payment, health, authorizer and migrate functions exist in {region}, "
                  "are Active after a successful update, run the handlers the template names "
                  "and share one code artifact",
                  f"run `{deploy}`; `payments-dr status --config {config.path}` shows the "
                  "stack instances", functools.partial(in_region.functions, config, observed,
                                                       region),
                  region=region, calls=(region,)),
            Check("database-certificate",
                  f"from inside {region}, the database server certificate chains to the RDS "
                  "CAs and carries a name the functions' rule accepts (the writer endpoint "
                  "itself, or our cluster's endpoint on its CNAME chain; the detail says "
                  "which): every database connection from this region verifies",
                  "the detail lists the certificate's names and the CNAME chain; README "
                  "\"Payment service\" (TLS to the database, lambda/payments/tls.py); a "
                  f"stale DB_HOST or DB_CLUSTER_IDENTIFIERS: `{deploy}`",
                  functools.partial(in_region.database_certificate, config, observed, region),
                  region=region, calls=(region,), needs=frozenset({INVOKE})),
        ]
    for scope in (*config.regions, alarms.GLOBAL):
        stack = alarms.StackAlarms(observed, scope)
        where = GLOBAL_REGION if scope == alarms.GLOBAL else scope
        found += [
            Check("alarms-configured",
                  f"every alarm {stack.what()} declares exists with its actions enabled and "
                  "alarm and OK actions: a failure pages someone, and so does the recovery",
                  f"run `{deploy}`; an alarm with actions disabled: `aws cloudwatch "
                  f"enable-alarm-actions --region {where} --alarm-names NAME`",
                  functools.partial(alarms.configured, stack), region=scope, calls=(where,)),
            Check("alarms-state",
                  f"every alarm of {stack.what()} is OK now: nothing is paging",
                  "each alarm in ALARM is named with its reason: README \"At 3 a.m.: which "
                  f"command?\" and `{status}`; no data yet on a new stack clears within "
                  "minutes of traffic",
                  functools.partial(alarms.quiet, stack), region=scope, calls=(where,),
                  needs=frozenset({ALARM_STATE})),
        ]
    found += [
        Check("global-database",
              "the Aurora global database has one writer, and the other region's cluster is a "
              "connected secondary: committed payments are copied to the other region",
              f"`{status}`; a secondary in pending-resync catches up by itself; after a "
              "failover, when the old region is back, `payments-dr dr failback`",
              functools.partial(replication.global_database, observed)),
        Check("secret-replica",
              f"the database secret's replica in {recovery} is InSync: the recovery region's "
              "functions can log in to the database after a failover",
              f"`{status}`; the secret's replication status in {home} (Secrets Manager "
              "console, or `aws secretsmanager describe-secret`)",
              functools.partial(replication.secret_replica, observed), calls=(home,)),
    ]
    for region in config.regions:
        found += [
            Check("table-replica",
                  f"the payments global table's replica in {region} is ACTIVE: keys and "
                  "idempotency records written in either region are read here",
                  f"`{status}`; `payments-dr status --config {config.path}` shows the "
                  "replicas", functools.partial(replication.table_replica, config, observed,
                                                region),
                  region=region, calls=(region,)),
            Check("bucket-replication",
                  f"the receipts bucket in {region} replicates to the other region (rule "
                  f"{names.S3_REPLICATION_RULE} Enabled)",
                  f"run `{deploy}` (the join phase adds the rule)",
                  functools.partial(replication.bucket_replication, config, observed, region),
                  region=region, calls=(region,)),
        ]
    found.append(Check(
        "replication-lag",
        "Aurora replication lag is under 1 s (RPO lag shown) and no receipt failed to "
        "replicate in the last 15 minutes: a failover now would lose (almost) nothing",
        f"`{status}`; the dashboard's Aurora and S3 rows",
        functools.partial(replication.lag, observed), calls=tuple(config.regions),
        needs=frozenset({METRICS})))
    for region in config.regions:
        found.append(Check(
            "test-payment",
            f"a payment sent to https://{names.health_host(config, region)}/process with a "
            "merchant key is recorded (201) and its retry with the same Idempotency-Key "
            "replays it: authorizer, processor, database writer and global table work end to "
            "end in this region",
            f"the detail has the answer's status and error code; `{status}`, then the "
            "processor's log group (by correlation id)",
            functools.partial(payment.pay_and_replay, config, key, region), region=region,
            calls=(region, key.region),
            needs=frozenset({NETWORK})))
    return found
