"""`payments-dr verify` against a deployed environment (tests/verify/conftest.py): every check
passing, then each one failing for the reason it exists, with either region as home; the test
key always revoked; the JSON shape and the exit codes; a lost region never called."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from payments.tls import RULE_HOST
from templates import names as tn

from tests.runbook.fakes import domain_target
from tests.verify.conftest import World
from tests.verify.fakes import DOMAIN, WRITER_ENDPOINT
from toolkit.exit_codes import ATTENTION, FAILED, OK
from verify.payment import POLL_SECONDS

CHECK_KEYS = {"name", "region", "result", "proves", "detail", "fix"}


def every_check(world: World) -> set[tuple[str, str | None]]:
    per_region = ("health-host", "failover-name-tls", "functions", "database-certificate",
                  "table-replica", "bucket-replication", "test-payment")
    regions = (world.home, world.recovery)
    return ({(n, None) for n in ("dns-records", "dns-answer", "global-database",
                                 "secret-replica", "replication-lag")}
            | {(n, r) for n in per_region for r in regions}
            | {(n, s) for n in ("alarms-configured", "alarms-state")
               for s in (*regions, "global")})


def assert_key_revoked(world: World) -> None:
    """A key was made for the test merchant and every replica that has it holds it revoked."""
    records = [r for items in world.cloud.key_records().values() for r in items]
    assert records, "no test key was made"
    assert {r["merchant_id"]["S"] for r in records} == {"verify-example"}
    assert {r["key_status"]["S"] for r in records} == {"revoked"}
    assert world.document["test_key"]["revoked"] == "revoked"


def assert_no_secret(world: World) -> None:
    everything = json.dumps(world.document) + "\n".join(world.lines)
    assert "sk_example_" not in everything and "Bearer" not in everything


def test_a_deployed_environment_passes_every_check(world: World) -> None:
    assert world.run() == OK, world.lines
    assert set(world.results()) == every_check(world)
    assert set(world.results().values()) == {"pass"}
    assert world.document["result"] == "passed"
    assert world.document["counts"] == {"pass": 25, "fail": 0, "attention": 0, "skipped": 0}
    assert all(set(check) == CHECK_KEYS and check["proves"] and check["fix"]
               for check in world.document["checks"])
    assert_key_revoked(world)
    assert_no_secret(world)
    # one payment per region, then its retry with the same Idempotency-Key and key
    for region in (world.home, world.recovery):
        posts = [h for method, path, h in world.apis.regions[region].requests
                 if (method, path) == ("POST", "/process")]
        assert len(posts) == 2 and posts[0]["idempotency-key"] == posts[1]["idempotency-key"]
        assert posts[0]["authorization"] == posts[1]["authorization"]
    # the key was written where the table is written first: home (both regions reachable)
    assert world.document["test_key"]["region"] == world.home


def test_the_database_certificate_check_says_which_rule_accepted_it(world: World) -> None:
    world.cloud.probes[world.recovery].update(rule=RULE_HOST, accepted_name=WRITER_ENDPOINT,
                                              certificate_names=[WRITER_ENDPOINT])
    assert world.run() == OK
    assert f"the certificate names {WRITER_ENDPOINT} itself" in \
        world.result("database-certificate", world.recovery)["detail"]
    assert "it names payments-example-" in \
        world.result("database-certificate", world.home)["detail"]


def test_dns_may_serve_the_recovery_region_while_home_fails_its_health_check(world) -> None:
    world.cloud.route53[world.home] = False
    world.apis.names[DOMAIN] = world.recovery
    world.run()
    assert world.result("dns-answer")["result"] == "pass"
    assert f"Route 53 serves {world.recovery}" in world.result("dns-answer")["detail"]


def other_ca(world: World):
    from tests.handlers.tls_pki import ThrowawayCA

    return ThrowawayCA(world.ca.directory, "foreign")


def _set(mapping, key, value):
    mapping[key] = value


# (what breaks, {(check, region role): expected result}); every other check must pass.
BREAKAGES = {
    "the global stack aliases a custom domain the region no longer outputs": (
        lambda w: w.cloud.deployed["outputs"][w.home].__setitem__(
            tn.OUT_API_DOMAIN_TARGET, f"d-new.execute-api.{w.home}.amazonaws.com"),
        {("dns-records", None): "fail"}),
    "no SECONDARY record": (
        lambda w: _set(w.cloud.record_changes, "SECONDARY", {"deleted": True}),
        {("dns-records", None): "fail"}),
    "the PRIMARY record aliases the other region": (
        lambda w: _set(w.cloud.record_changes, "PRIMARY", {"AliasTarget": {
            "HostedZoneId": "Z1", "EvaluateTargetHealth": False,
            "DNSName": domain_target(w.recovery)}}),
        {("dns-records", None): "fail"}),
    "a health host without its own record": (
        lambda w: _set(w.cloud.record_changes, f"{w.recovery}.{DOMAIN}.", {"deleted": True}),
        {("dns-records", None): "fail"}),
    "DNS answers the region Route 53 should not serve": (
        lambda w: _set(w.apis.names, DOMAIN, w.recovery),
        {("dns-answer", None): "fail"}),
    "a region's /health answers 503": (
        lambda w: setattr(w.apis.regions[w.recovery], "health", (503, {
            "status": "unhealthy", "region": w.recovery,
            "checks": {"database": "failing", "dynamodb": "ok", "s3": "ok"}})),
        {("health-host", "recovery"): "fail"}),
    "a region's /health is 200 without a database write": (
        lambda w: setattr(w.apis.regions[w.home], "health", (200, {
            "status": "healthy", "region": w.home, "checks": {"database": "failing"}})),
        {("health-host", "home"): "fail"}),
    "a certificate without the failover name": (
        lambda w: w.apis.present(w.recovery, w.ca.issue("no-failover", [
            f"{w.recovery}.{DOMAIN}"])),
        {("health-host", "recovery"): "fail", ("failover-name-tls", "recovery"): "fail"}),
    "a certificate without the health host": (
        lambda w: w.apis.present(w.home, w.ca.issue("no-health-host", [DOMAIN])),
        {("health-host", "home"): "fail", ("test-payment", "home"): "fail"}),
    "a certificate from a CA this machine does not trust": (
        lambda w: w.apis.present(w.home, other_ca(w).issue("untrusted", [
            DOMAIN, f"{w.home}.{DOMAIN}"])),
        {("health-host", "home"): "fail", ("failover-name-tls", "home"): "fail",
         ("test-payment", "home"): "fail"}),
    "a function missing": (
        lambda w: w.cloud.functions[w.recovery].pop("payments-example-health"),
        {("functions", "recovery"): "fail"}),
    "a function whose last update failed": (
        lambda w: w.cloud.functions[w.home]["payments-example-processor"].update(
            LastUpdateStatus="Failed", LastUpdateStatusReason="EniLimitExceeded"),
        {("functions", "home"): "fail"}),
    "a function on another handler": (
        lambda w: w.cloud.functions[w.home]["payments-example-migrate"].update(
            Handler="migrate_handler.handler"),
        {("functions", "home"): "fail"}),
    "the database certificate refused by the rule": (
        lambda w: w.cloud.probes[w.home].update(
            accepted=False, stage="name", rule=None, accepted_name=None,
            reason="certificate names ['evil.cluster-x.us-east-1.rds.amazonaws.com']"),
        {("database-certificate", "home"): "fail"}),
    "the migrate function fails": (
        lambda w: _set(w.cloud.probe_error, w.recovery, "invalid environment: DB_HOST is "
                                                        "required"),
        {("database-certificate", "recovery"): "fail"}),
    "an alarm missing": (
        lambda w: w.cloud.alarms[w.recovery].pop("payments-example-Api5xxAlarm"),
        {("alarms-configured", "recovery"): "fail", ("alarms-state", "recovery"): "fail"}),
    "an alarm without OK actions": (
        lambda w: w.cloud.alarms[w.home]["payments-example-Api5xxAlarm"].update(OKActions=[]),
        {("alarms-configured", "home"): "fail"}),
    "an alarm with its actions disabled": (
        lambda w: w.cloud.alarms["us-east-1"]["payments-example-PrimaryHealthCheckAlarm"]
        .update(ActionsEnabled=False),
        {("alarms-configured", "global"): "fail"}),
    "an alarm firing": (
        lambda w: w.cloud.alarms[w.recovery]["payments-example-ProcessorErrorsAlarm"].update(
            StateValue="ALARM", StateReason="Threshold Crossed: 3 datapoints"),
        {("alarms-state", "recovery"): "fail"}),
    "an alarm without data yet": (
        lambda w: w.cloud.alarms[w.home]["payments-example-ApiLatencyP99Alarm"].update(
            StateValue="INSUFFICIENT_DATA"),
        {("alarms-state", "home"): "attention"}),
    "a health-check alarm without data (missing data is breaching)": (
        lambda w: w.cloud.alarms["us-east-1"]["payments-example-SecondaryHealthCheckAlarm"]
        .update(StateValue="INSUFFICIENT_DATA"),
        {("alarms-state", "global"): "fail"}),
    "the secondary cluster resynchronising": (
        lambda w: _set(w.cloud.members, w.recovery, "pending-resync"),
        {("global-database", None): "fail"}),
    "no secondary cluster": (
        lambda w: w.cloud.members.pop(w.recovery),
        {("global-database", None): "fail"}),
    "the secret replica failing": (
        lambda w: setattr(w.cloud, "secret", "Failed"),
        {("secret-replica", None): "fail"}),
    "a table replica not active": (
        lambda w: _set(w.cloud.tables, w.recovery, "UPDATING"),
        {("table-replica", "recovery"): "fail"}),
    "a replication rule disabled": (
        lambda w: w.cloud.rules[w.home].update(Status="Disabled"),
        {("bucket-replication", "home"): "fail"}),
    "no replication rule": (
        lambda w: _set(w.cloud.rules, w.recovery, None),
        {("bucket-replication", "recovery"): "fail"}),
    "Aurora lag above a second": (
        lambda w: _set(w.cloud.lag, "AuroraGlobalDBReplicationLag", 4200.0),
        {("replication-lag", None): "fail"}),
    "receipts failing to replicate": (
        lambda w: _set(w.cloud.s3_failed, w.home, 3.0),
        {("replication-lag", None): "fail"}),
    "a region refusing the payment": (
        lambda w: setattr(w.apis.regions[w.recovery], "process_status", 503),
        {("test-payment", "recovery"): "fail"}),
    "a retry not replayed": (
        lambda w: setattr(w.apis.regions[w.home], "replay", False),
        {("test-payment", "home"): "fail"}),
    "the key never reaching the other region's replica": (
        lambda w: setattr(w.cloud, "replication_delay", None),
        {("test-payment", "recovery"): "fail"}),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_each_check_fails_for_what_it_proves(world: World, breakage: str) -> None:
    change, expected = BREAKAGES[breakage]
    change(world)
    code = world.run()
    role = {"home": world.home, "recovery": world.recovery}
    wanted = {(name, role.get(where, where)): result
              for (name, where), result in expected.items()}
    found = world.results()
    assert {k: found[k] for k in wanted} == wanted, [
        world.result(*k)["detail"] for k in wanted]
    assert {k: v for k, v in found.items() if k not in wanted} == \
        {k: "pass" for k in found if k not in wanted}
    assert code == (FAILED if "fail" in wanted.values() else ATTENTION)
    assert world.document["result"] == ("failed" if code == FAILED else "attention")
    for key in wanted:
        assert world.result(*key)["detail"]
    assert_key_revoked(world)  # whatever failed, the test key is revoked
    assert_no_secret(world)


@pytest.mark.parametrize(("delay", "result", "polls"), [
    (3, "pass", 2),     # the record reaches the other replica on the third read
    (None, "fail", 20),  # never: 10 s of reads twice a second, then the check fails
], ids=["late", "never"])
def test_the_payment_in_the_other_region_waits_for_the_key_to_replicate(
        world: World, delay, result, polls) -> None:
    world.cloud.replication_delay = delay
    world.run()
    assert world.result("test-payment", world.recovery)["result"] == result
    assert world.result("test-payment", world.home)["result"] == "pass"
    assert world.aws.clock.slept == [POLL_SECONDS] * polls
    if result == "fail":
        assert "not in" in world.result("test-payment", world.recovery)["detail"]
        assert not [m for m, p, _ in world.apis.regions[world.recovery].requests if m == "POST"]


def test_the_failure_text_says_what_the_check_proves_and_what_to_do(world: World) -> None:
    world.cloud.secret = "Failed"
    assert world.run(mode="text") == FAILED
    text = "\n".join(world.lines)
    assert "FAIL      secret-replica: the replica in" in text
    assert "proves: the database secret's replica in" in text
    assert "fix: `payments-dr dr status --config" in text
    assert "1 failed" in text and "failed" in text.splitlines()[-1] + text


def test_a_key_that_cannot_be_revoked_fails_the_run_and_says_how_to_revoke_it(world) -> None:
    def refuse(region, **_):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                          "UpdateItem")

    world.cloud.dynamodb_update_item = refuse
    assert world.run() == FAILED
    key = world.document["test_key"]
    assert key["revoked"] is None and key["key_id"]
    assert world.document["result"] == "failed"
    assert set(world.results().values()) == {"pass"}  # every check passed; the key did not
    assert any(f"payments-dr keys revoke --config {world.config.path} --key-id "
               f"{key['key_id']} --region {world.home}" in line for line in world.lines)


def test_after_a_failover_with_home_lost_nothing_is_called_there(world: World) -> None:
    """The writer moved to recovery and home is down: every check of home is skipped, no AWS
    call and no request reaches it, the test key is written in recovery."""
    home, recovery = world.home, world.recovery
    world.cloud.writer, world.cloud.members = recovery, {recovery: "connected"}
    world.cloud.down.add(home)
    world.cloud.route53[home] = False
    world.apis.names[DOMAIN] = recovery
    assert world.run(lost=home) == ATTENTION
    assert home not in world.cloud.regions_called()
    assert world.apis.regions[home].requests == []
    results = world.results()
    assert {k for k, v in results.items() if k[1] == home} == \
        {k for k, v in results.items() if k[1] == home and v == "skipped"}
    assert all("declared lost" in world.result(*k)["detail"]
               for k, v in results.items() if v == "skipped")
    assert results[("global-database", None)] == "attention"
    assert results[("test-payment", recovery)] == "pass"
    assert results[("secret-replica", None)] == "skipped"  # read in home only
    assert world.document["test_key"]["region"] == recovery
    assert_key_revoked(world)
    global_checks = ("dns-records", "dns-answer")
    expected = "skipped" if home == "us-east-1" else "pass"  # Route 53's API is in us-east-1
    assert {results[(n, None)] for n in global_checks} == {expected}
    assert "fail" not in results.values()
    # the recovery region's alarms are read even when the administration region is the lost
    # one (by the environment's alarm name prefix, and the detail says so)
    alarms = world.result("alarms-state", recovery)
    assert alarms["result"] == "pass"
    assert ("administration region" in alarms["detail"]) == \
        (home == world.config.administration_region)



def test_a_key_write_interrupted_after_it_landed_is_still_revoked(world: World) -> None:
    """Ctrl-C while PutItem's answer is on its way: the key exists, its id was known before the
    write, so the revocation in the `finally` finds it."""
    put = world.cloud.dynamodb_put_item

    def lands_then_interrupted(region, **params):
        put(region, **params)
        raise KeyboardInterrupt

    world.cloud.dynamodb_put_item = lands_then_interrupted
    with pytest.raises(KeyboardInterrupt):
        world.run()
    records = [r for items in world.cloud.key_records().values() for r in items]
    assert records and {r["key_status"]["S"] for r in records} == {"revoked"}
