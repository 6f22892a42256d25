"""The drill's report: the money audit, the RTO/RPO, the failback criteria, the requests, and
the human table. Reads the final state of the world once, after the scenario."""

from __future__ import annotations

from typing import Any

from rehearsal.gameday.audit import audit


def report(world, sim, topology, acks, loss_t, failback_done, unreplicated, survived,
           failover, failover_line, failback, failback_line, failover_adapter, home,
           recovery) -> dict[str, Any]:
    ledger = {k: (pid, amount) for k, pid, amount in world.sql(
        home, "SELECT idempotency_key, payment_id::text, amount::text FROM payments "
              "WHERE merchant_id = 'merchant-drill'")}
    duplicates = world.sql(home, "SELECT count(*) FROM (SELECT merchant_id, idempotency_key "
                                 "FROM payments GROUP BY 1, 2 HAVING count(*) > 1) d")[0][0]
    verdict = audit(acks, ledger, loss_t, home, recovery)
    lost = verdict["lost"]
    in_recovery = {r: world.sql(r, "SELECT pg_is_in_recovery()")[0][0] for r in (home,
                                                                                 recovery)}
    streaming = world.sql(home, "SELECT count(*) FROM pg_stat_replication "
                                "WHERE state = 'streaming'")[0][0]
    after = [a for a in acks if a["t"] > failback_done]
    lost_keys = {item["key"] for item in lost}
    failback_checks = {
        "runbook_done": failback.outcome == "done",
        "writer_home": topology.writer == home,
        "home_writable_recovery_standby": in_recovery == {home: False, recovery: True},
        "recovery_streams_from_home": streaming == 1,
        "home_acknowledges_again": any(a["region"] == home for a in after),
        "every_surviving_ack_in_home_ledger": all(a["key"] in ledger for a in acks
                                                  if a["key"] not in lost_keys),
    }
    failback_ok = all(failback_checks.values())
    payments = sim.load.payments
    statuses: dict[str, int] = {}
    for request in sim.load.requests:
        label = str(request.status or "no connection")
        statuses[label] = statuses.get(label, 0) + 1
    return {
        "payments_sent": len(payments),
        "payments_acknowledged": sum(p.state == "acked" for p in payments),
        "lost_acknowledged": len(lost), "lost": lost,
        "duplicates": int(duplicates),
        "false_successes": len(verdict["false_success_keys"]),
        "false_success_keys": verdict["false_success_keys"],
        "unresolved": [{"key": p.key, "state": p.state, "last_status": p.last_status}
                       for p in payments if p.state != "acked"],
        "rto_seconds": verdict["rto_seconds"],
        "rpo_seconds": verdict["rpo_seconds"],
        "rpo_lag_ms_last_seen": failover.first.rpo_lag_ms if failover.first else None,
        "last_replicated_transaction": failover.first.last_replicated_at
        if failover.first else None,
        "loss_wall_time": world.lost_at_wall.isoformat(timespec="milliseconds"),
        "unreplicated_wal_bytes_at_loss": unreplicated,
        "acknowledged_before_loss_missing_after_promotion": sorted(
            a["key"] for a in acks if a["t"] <= loss_t and survived is not None
            and a["key"] not in survived),
        "failback_ok": failback_ok, "failback_checks": failback_checks,
        "failover": {"outcome": failover.outcome, "message": failover.message,
                     "regions_touched": sorted(failover_adapter.touched),
                     "timeline": failover_line.to_json(failover.outcome)["entries"]},
        "failback": {"outcome": failback.outcome, "message": failback.message,
                     "timeline": failback_line.to_json(failback.outcome)["entries"]},
        "events": [{"t": t, "event": e} for t, e in sim.events],
        "requests_by_status": statuses,
        "requests": [[r.t, r.region, r.status] for r in sim.load.requests],
        "simulated_seconds": sim.t,
    }


def human_report(result: dict[str, Any]) -> list[str]:
    lines = ["drill (times in AWS seconds, simulated clock):"]
    lines += [f"  t={e['t']:>5.0f}  {e['event']}" for e in result["events"]]
    for name in ("failover", "failback"):
        lines.append(f"  dr {name}: {result[name]['outcome']}")
        for entry in result[name]["timeline"]:
            took = "" if entry["seconds"] is None else f"{entry['seconds']:.0f}s"
            lines.append(f"      t+{entry['t_start']:>4.0f} {took:>5} {entry['step']:<11} "
                         f"{entry['outcome']:<8} {entry['summary']}")
    keys = ("payments_sent", "payments_acknowledged", "lost_acknowledged", "duplicates",
            "false_successes", "rto_seconds", "rpo_seconds", "rpo_lag_ms_last_seen",
            "last_replicated_transaction", "loss_wall_time",
            "unreplicated_wal_bytes_at_loss", "failback_ok", "wall_seconds")
    lines += [f"  {k:<32} {result.get(k)}" for k in keys]
    lines.append(f"  requests by status: {result['requests_by_status']}")
    for lost in result["lost"]:
        lines.append(f"  LOST {lost['key']} (201 at t={lost['acknowledged_t']:.0f}): "
                     f"{lost['cause']}")
    for check, passed in result["failback_checks"].items():
        if not passed:
            lines.append(f"  FAILBACK CHECK FAILED: {check}")
    for item in result["unresolved"]:
        lines.append(f"  UNRESOLVED {item['key']}: {item['state']} (last {item['last_status']})")
    return lines
