"""The drill's report: the money audit, the RTO/RPO measured from the run's own events, the
failback criteria, the traffic, and the human table. Reads the final state of the world once,
after the scenario."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rehearsal.gameday.audit import LossFacts, audit, rto_seconds
from rehearsal.gameday.clients import NO_ANSWER, NO_CONNECTION

STATUS_LABELS = {NO_CONNECTION: "no connection", NO_ANSWER: "no answer (client timeout)"}


def report(*, world, sim, topology, scenario, loss, facts: LossFacts, snapshot, moves,
           failover, failover_line, failover_adapter, failback, failback_line,
           failback_window) -> dict[str, Any]:
    home, recovery = world.home, world.recovery
    orders = sim.clients.orders
    ledger = world.ledger(topology.writer)
    verdict = audit(orders, ledger, verified=sim.traffic.verified, snapshot=snapshot,
                    loss=facts)
    acks = [o.paid for o in orders if o.paid is not None]
    attempts = [a for o in orders for a in o.attempts]
    in_recovery = {r: world.sql(r, "SELECT pg_is_in_recovery()")[0][0] for r in (home,
                                                                                 recovery)}
    streaming = world.sql(home, "SELECT count(*) FROM pg_stat_replication "
                                "WHERE state = 'streaming'")[0][0]
    started, done = failback_window
    lost_after_failover = [item for item in verdict["lost"] if item["region"] != home]
    failback_checks = {
        "runbook_done": failback.outcome == "done",
        "writer_home": topology.writer == home,
        "home_writable_recovery_standby": in_recovery == {home: False, recovery: True},
        "recovery_streams_from_home": streaming == 1,
        "home_acknowledges_again": any(a.region == home and a.answered > done for a in acks),
        "nothing_acknowledged_after_the_loss_was_lost": not lost_after_failover,
    }
    latencies = sorted((a.finished_wall - a.sent_wall) * 1000 for a in acks
                       if a.finished_wall is not None)
    # before the loss: the steady state, where on and off differ by the wait for the standby
    steady = sorted((a.finished_wall - a.sent_wall) * 1000 for a in acks
                    if a.finished_wall is not None and a.finished_wall < facts.wall)
    failover_move = next((m for m in moves if m["operation"] == "failing-over"), {})
    switchover_move = next((m for m in moves if m["operation"] == "switching-over"), {})
    lost, duplicates = verdict["lost"], verdict["duplicate_charges"]
    # the RPO: the oldest acknowledged payment lost with the region, before the loss (wall ms)
    rpo_ms = max([i["ms_before_loss"] for i in lost if (i["ms_before_loss"] or -1) >= 0],
                 default=0.0)
    unresolved = verdict["unresolved"]
    ok = (not duplicates and not verdict["false_successes"] and all(failback_checks.values())
          and not any(u["state"] == "pending" or u["charged"] for u in unresolved)
          and (scenario.zero_loss == "off" or not lost))
    return {
        "zero_loss": scenario.zero_loss,
        "scenario": scenario.to_json(),
        "payments_sent": len(orders),
        "payments_acknowledged": len(acks),
        "requests_sent": len(attempts),
        "lost_acknowledged": len(lost), "lost": lost,
        "lost_unacknowledged": verdict["lost_unacknowledged"],
        "duplicate_charges": len(duplicates), "duplicate_charge_orders": duplicates,
        "duplicates": len(duplicates),
        "false_successes": len(verdict["false_successes"]),
        "false_success_keys": verdict["false_successes"],
        "unresolved": unresolved,
        "in_flight_at_loss": len(facts.in_flight),
        "in_flight_keys_at_loss": sorted(facts.in_flight),
        "promotion_seconds": _took(failover_move),
        "switchover_seconds": _took(switchover_move),
        "rto_seconds": rto_seconds(orders, facts, recovery),
        "rpo_seconds": round(rpo_ms / 1000, 3),
        "rpo_ms": rpo_ms,
        "payments_during_failback": sum(1 for a in acks if started <= a.answered <= done),
        "ack_p50_ms": percentile(latencies, 50),
        "ack_p99_ms": percentile(latencies, 99),
        "ack_before_loss_p50_ms": percentile(steady, 50),
        "ack_before_loss_p99_ms": percentile(steady, 99),
        "acks_by_durability": dict(Counter(a.durability or "absent" for a in acks)),
        "rpo_lag_ms_last_seen": failover.first.rpo_lag_ms if failover.first else None,
        "last_replicated_transaction": failover.first.last_replicated_at
        if failover.first else None,
        "loss_wall_time": loss.at.isoformat(timespec="milliseconds"),
        "unreplicated_wal_bytes_at_loss": loss.unreplicated_bytes,
        "failback_ok": all(failback_checks.values()), "failback_checks": failback_checks,
        "failover": {"outcome": failover.outcome, "message": failover.message,
                     "regions_touched": sorted(failover_adapter.touched),
                     "timeline": failover_line.to_json(failover.outcome)["entries"]},
        "failback": {"outcome": failback.outcome, "message": failback.message,
                     "timeline": failback_line.to_json(failback.outcome)["entries"]},
        "events": [{"t": t, "event": e} for t, e in sim.events],
        "requests_by_status": dict(Counter(_label(a.status) for a in attempts)),
        "requests_per_second": _per_second(attempts),
        "functions": {r: {h: {"cold_starts": f.cold_starts,
                              "peak_concurrency": f.peak_concurrency}
                          for h, f in world.regions[r].functions.items()}
                      for r in (home, recovery)},
        "simulated_seconds": round(sim.t, 1),
        "ok": ok,
    }


def human_report(result: dict[str, Any]) -> list[str]:
    lines = ["drill (times in AWS seconds, simulated clock; latencies in wall ms):"]
    lines += [f"  t={e['t']:>6.1f}  {e['event']}" for e in result["events"]]
    for name in ("failover", "failback"):
        lines.append(f"  dr {name}: {result[name]['outcome']}")
        for entry in result[name]["timeline"]:
            took = "" if entry["seconds"] is None else f"{entry['seconds']:.0f}s"
            lines.append(f"      t+{entry['t_start']:>4.0f} {took:>5} {entry['step']:<11} "
                         f"{entry['outcome']:<8} {entry['summary']}")
    keys = ("zero_loss", "payments_sent", "payments_acknowledged", "requests_sent",
            "in_flight_at_loss", "lost_acknowledged", "duplicate_charges", "false_successes",
            "promotion_seconds", "switchover_seconds", "rto_seconds", "rpo_seconds", "rpo_ms",
            "payments_during_failback", "ack_p50_ms", "ack_p99_ms", "ack_before_loss_p50_ms",
            "ack_before_loss_p99_ms", "acks_by_durability",
            "unreplicated_wal_bytes_at_loss", "failback_ok", "wall_seconds")
    lines += [f"  {k:<32} {result.get(k)}" for k in keys]
    lines.append(f"  requests by status: {result['requests_by_status']}")
    for lost in result["lost"]:
        lines.append(f"  LOST order {lost['order']} {lost['key']}: {lost['cause']}")
    for duplicate in result["duplicate_charge_orders"]:
        lines.append(f"  DUPLICATE CHARGE order {duplicate['order']} "
                     f"({duplicate['charges']} charges): {duplicate['cause']}")
    for false in result["false_success_keys"]:
        lines.append(f"  FALSE SUCCESS order {false['order']} {false['key']}: {false['cause']}")
    for check, passed in result["failback_checks"].items():
        if not passed:
            lines.append(f"  FAILBACK CHECK FAILED: {check}")
    for item in result["unresolved"]:
        lines.append(f"  UNRESOLVED order {item['order']}: {item['state']} (last "
                     f"{item['last_status']}){' CHARGED' if item['charged'] else ''}")
    return lines


def _took(move: dict[str, Any]) -> float | None:
    if "done_t" not in move:
        return None
    return round(move["done_t"] - move["called_t"], 1)


def percentile(sorted_values: list[float], percent: float) -> float | None:
    """The nearest-rank percentile of sorted values (None for none)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values)) - 1))
    return round(sorted_values[index], 1)


def _label(status: int | None) -> str:
    return STATUS_LABELS.get(status, str(status)) if status is not None else "unanswered"


def _per_second(attempts) -> list[list[Any]]:
    """[second, region, outcome, count]: what the plot draws."""
    counts = Counter((int(a.sent), a.region, _label(a.status)) for a in attempts)
    return [[s, r, label, n] for (s, r, label), n in sorted(counts.items())]
