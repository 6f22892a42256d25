"""The drill's verdict on the money: what each client was told against the surviving ledger.

Pure: `acks` are the 201s as the client saw them (with whether the row was in the writer's
ledger at that moment), `ledger` the final ledger by idempotency key. A lost payment is listed
with its cause, never dropped.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


def audit(acks: Sequence[Mapping[str, Any]], ledger: Mapping[str, tuple[str, str]],
          loss_t: float, lost_region: str, other_region: str) -> dict[str, Any]:
    lost = [{"key": a["key"], "acknowledged_t": a["t"], "region": a["region"],
             "cause": _cause(a, loss_t, lost_region)}
            for a in acks if a["key"] not in ledger]
    false_successes = [a["key"] for a in acks if not a["committed"]
                       or (a["key"] in ledger and ledger[a["key"]][0] != a["payment_id"])]
    first_other = next((a["t"] for a in acks
                        if a["t"] >= loss_t and a["region"] == other_region), None)
    return {
        "lost": lost,
        "false_success_keys": false_successes,
        "rto_seconds": None if first_other is None else first_other - loss_t,
        # the window of acknowledged writes lost: from the oldest lost one to the loss
        "rpo_seconds": (loss_t - min(item["acknowledged_t"] for item in lost)) if lost else 0.0,
    }


def _cause(ack: Mapping[str, Any], loss_t: float, lost_region: str) -> str:
    if ack["t"] <= loss_t and ack["region"] == lost_region:
        return (f"acknowledged by {lost_region} at t={ack['t']:.0f}, not yet streamed to the "
                f"standby when {lost_region} crashed (asynchronous replication); the merchant "
                "reconciles by idempotency key")
    return (f"acknowledged by {ack['region']} at t={ack['t']:.0f}, after the loss, yet absent "
            "from the final ledger: not replicated before the failback (a defect: a planned "
            "switchover must lose nothing)")
