"""Idempotency records on the DynamoDB global table, built on conditional writes.

Why not Powertools' ``@idempotent``: its record key is derived from the
function name and a hash of the event, but a retry after a failover reaches a
*different* function (the other region's), so the record must be keyed by the
client's ``Idempotency-Key`` alone; and its flow has no place for the step
that makes this design safe across regions, reconciling with the ledger's
unique key (see :mod:`payments.ledger`). What it does is small enough to own:

Record ``pk = "idem#<merchant id>#<Idempotency-Key>"`` (keys are scoped per merchant):

1. **claim**: put ``IN_PROGRESS`` with the request fingerprint, a random
   ``claim_id`` and ``lease_expires_at``, on condition that no live record
   exists. A live record is answered from (``COMPLETED``: the stored response;
   ``IN_PROGRESS``: 409 "in progress"; another fingerprint: 409 "reused").
   An ``IN_PROGRESS`` record whose lease has passed belongs to an invocation
   that died; it may be taken over. The lease is the invoking Lambda's
   remaining time plus a margin, so it cannot pass while its owner still runs.
2. **complete**: after the ledger row is committed (and, with zero-loss on, confirmed in the
   other region), set ``COMPLETED`` with the response and the durability it was acknowledged
   with, on condition that the claim is still ours.
3. **release**: if anything failed before that, delete the claim (again only
   if ours), so the client can retry at once. The record is never left
   ``COMPLETED`` for a payment that has no ledger row by this code; an unplanned failover
   can still make one (the record replicated, the commit did not: Aurora's replication and
   the global table's are separate and both asynchronous). A replay checks the ledger first
   and **reclaims** such a record (``COMPLETED`` with the same fingerprint becomes our
   ``IN_PROGRESS`` claim) to record the payment again (:mod:`payments.service`).

``expires_at`` is the table's TTL attribute. TTL deletion runs up to a few
days late ("Using time to live (TTL) in DynamoDB"), so a record past it is
treated as absent by the claim condition. Forgetting a key does not allow a
second payment: the ledger remembers every key for good.

Conditional writes are checked in the region that receives them; a global
table reconciles concurrent writes from two regions last-writer-wins. Two
regions can therefore both claim one key in the same instant; the ledger's
unique constraint then lets only one row exist and both get its response.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import aws
from .errors import DependencyUnavailable
from .models import StoredResponse

KEY_PREFIX = "idem#"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
DEPENDENCY = "dynamodb"

_CLAIM_CONDITION = (
    "attribute_not_exists(pk) OR expires_at < :now "
    "OR (#status = :in_progress AND lease_expires_at < :now)"
)


@dataclass(frozen=True)
class Claim:
    """Proof that this invocation owns the key until its lease passes."""

    key: str
    claim_id: str
    request_hash: str


@dataclass(frozen=True)
class ExistingRecord:
    status: str
    request_hash: str
    response: StoredResponse | None
    lease_expires_at: int
    durability: str | None = None
    """What the 201 said (``x-payments-durability``); None for a record stored before
    zero-loss acknowledgements existed."""


class IdempotencyStore:
    def __init__(
        self,
        client: Any,
        table_name: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table_name
        self._ttl = ttl_seconds
        self._clock = clock

    def claim(self, key: str, request_hash: str, lease_seconds: int) -> Claim | ExistingRecord:
        """Take the key, or return the live record that holds it."""
        for _attempt in range(2):
            outcome = self._try_claim(key, request_hash, lease_seconds)
            if outcome is not None:
                return outcome
        raise DependencyUnavailable(DEPENDENCY, "idempotency record kept changing during claim")

    def complete(self, claim: Claim, response: StoredResponse, durability: str) -> bool:
        """Store the final response; False if the claim was lost to a takeover."""
        try:
            self._call(
                self._client.update_item,
                Key=_key(claim.key),
                UpdateExpression=(
                    "SET #status = :completed, response_status = :code, response_body = :body, "
                    "durability = :durability REMOVE lease_expires_at"
                ),
                ConditionExpression="claim_id = :claim_id",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":completed": {"S": COMPLETED},
                    ":code": {"N": str(response.status_code)},
                    ":body": {"S": response.body},
                    ":durability": {"S": durability},
                    ":claim_id": {"S": claim.claim_id},
                },
            )
            return True
        except _ConditionFailed:
            return False

    def reclaim(self, key: str, request_hash: str, lease_seconds: int
                ) -> Claim | ExistingRecord | None:
        """Take over a ``COMPLETED`` record of this request whose ledger row is gone. Returns
        our claim; the record that holds the key now, when another invocation took it first
        (or it is another request's); None when there is no record any more (claim it)."""
        try:
            return self._put_claim(
                key, request_hash, lease_seconds,
                "#status = :completed AND request_hash = :request_hash",
                {":completed": {"S": COMPLETED}, ":request_hash": {"S": request_hash}})
        except _ConditionFailed as failed:
            return _record(failed.item) if failed.item else None

    def release(self, claim: Claim) -> None:
        """Delete our IN_PROGRESS claim so the client may retry at once."""
        # A failed condition means the claim was taken over or completed: not ours to delete.
        with contextlib.suppress(_ConditionFailed):
            self._call(
                self._client.delete_item,
                Key=_key(claim.key),
                ConditionExpression="claim_id = :claim_id AND #status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":claim_id": {"S": claim.claim_id},
                    ":in_progress": {"S": IN_PROGRESS},
                },
            )

    def _try_claim(
        self, key: str, request_hash: str, lease_seconds: int
    ) -> Claim | ExistingRecord | None:
        try:
            return self._put_claim(
                key, request_hash, lease_seconds, _CLAIM_CONDITION,
                {":now": {"N": str(int(self._clock()))}, ":in_progress": {"S": IN_PROGRESS}})
        except _ConditionFailed as failed:
            item = failed.item or self._call(
                self._client.get_item, Key=_key(key), ConsistentRead=True
            ).get("Item")
            # No item: it was released between our write and the read; try again.
            return _record(item) if item else None

    def _put_claim(self, key: str, request_hash: str, lease_seconds: int, condition: str,
                   values: dict[str, Any]) -> Claim:
        """Our ``IN_PROGRESS`` record with a new claim id, on `condition`; raises
        _ConditionFailed (with the record that holds the key) when it does not hold."""
        now = int(self._clock())
        claim = Claim(key, str(uuid.uuid4()), request_hash)
        self._call(
            self._client.put_item,
            Item={
                **_key(key),
                "status": {"S": IN_PROGRESS},
                "request_hash": {"S": request_hash},
                "claim_id": {"S": claim.claim_id},
                "lease_expires_at": {"N": str(now + lease_seconds)},
                "expires_at": {"N": str(now + self._ttl)},
            },
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return claim

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return aws.call(DEPENDENCY, operation, expected=(aws.CONDITION_FAILED,),
                            TableName=self._table, **kwargs)
        except aws.Refused as refused:
            raise _ConditionFailed(refused.response.get("Item")) from None


class _ConditionFailed(Exception):
    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("condition failed")
        self.item = item


def _key(key: str) -> dict[str, Any]:
    return {"pk": {"S": KEY_PREFIX + key}}


def _record(item: dict[str, Any]) -> ExistingRecord:
    response = None
    if item["status"]["S"] == COMPLETED:
        response = StoredResponse(int(item["response_status"]["N"]), item["response_body"]["S"])
    return ExistingRecord(
        status=item["status"]["S"],
        request_hash=item["request_hash"]["S"],
        response=response,
        lease_expires_at=int(item.get("lease_expires_at", {"N": "0"})["N"]),
        durability=item.get("durability", {}).get("S"),
    )
