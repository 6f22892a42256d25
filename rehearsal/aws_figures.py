"""AWS's own figures the rehearsal runs on, each with the page it comes from: the one place.

Durations of the control-plane operations (the game day's simulated clock, AWS seconds):
- FAILOVER_SECONDS: `FailoverGlobalCluster` until the promoted region takes writes. AWS states
  that a secondary Region is promoted to full read/write "in under a minute" (Aurora User
  Guide, "Using Amazon Aurora global databases"); the same figure as the DR budget's
  (templates/budget.py), so the drill and `python build.py` cannot disagree.
- SWITCHOVER_SECONDS: `SwitchoverGlobalCluster` until the target is the writer. AWS gives no
  figure: "Your database is unavailable for a short time while the primary and selected
  secondary clusters are assuming their new roles" (RDS API Reference,
  "SwitchoverGlobalCluster"); the failover's stated bound stands for it.

Latencies of one call from a function in the same Region (wall milliseconds; the bench
injects them into the real handler, the game day too):
- DynamoDB: "single-digit millisecond performance at any scale" (DynamoDB Developer Guide,
  "What is Amazon DynamoDB?").
- S3 PUT of a small object: "median latencies ... often in the range of tens of milliseconds"
  for requests under 512 KB ("Timeouts and Retries for Latency-Sensitive Applications",
  Best Practices Design Patterns: Optimizing Amazon S3 Performance).
- Database round trip: the function and the Aurora writer are in one Region, whose
  Availability Zones are "close enough to use synchronous replication with single-digit
  millisecond latency" (AWS Fault Isolation Boundaries, "Availability Zones").
- Replication to the secondary Region: "Aurora replicates data to the secondary AWS Regions
  with typical latency of under a second" (Aurora User Guide, "Using Amazon Aurora global
  databases"); the issue asks for at least 200 ms in the game day.
Secrets Manager is read once per container (a cold start), never on a payment's path: no
latency is injected there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from templates.budget import DB_PROMOTION_SECONDS, DB_PROMOTION_SOURCE

FAILOVER_SECONDS = DB_PROMOTION_SECONDS
FAILOVER_SOURCE = DB_PROMOTION_SOURCE
SWITCHOVER_SECONDS = DB_PROMOTION_SECONDS
SWITCHOVER_SOURCE = ("RDS API Reference, 'SwitchoverGlobalCluster': unavailable 'for a short "
                     "time', no figure stated; the failover's stated bound stands for it")


@dataclass(frozen=True)
class Latencies:
    """Injected per call, in milliseconds."""
    dynamodb_ms: float = 5.0
    s3_ms: float = 30.0
    db_round_trip_ms: float = 1.0
    replication_ms: float = 200.0

    def by_service(self) -> dict[str, float]:
        """botocore's service ids (`before-send.<service>.<operation>`) -> milliseconds."""
        return {"dynamodb": self.dynamodb_ms, "s3": self.s3_ms}

    def to_json(self) -> dict[str, float]:
        return asdict(self)


TYPICAL = Latencies()
SOURCES = {
    "dynamodb_ms": "DynamoDB Developer Guide, 'What is Amazon DynamoDB?': single-digit ms",
    "s3_ms": "Optimizing Amazon S3 Performance, 'Timeouts and Retries for Latency-Sensitive "
             "Applications': small requests, median tens of ms",
    "db_round_trip_ms": "AWS Fault Isolation Boundaries, 'Availability Zones': single-digit ms "
                        "between the AZs of a Region",
    "replication_ms": "Aurora User Guide, 'Using Amazon Aurora global databases': typically "
                      "under a second",
}
