"""The payment flow: claim the key, commit the ledger row, then everything else at once.

The critical path before a 201 is three sequential remote calls (plus the zero-loss wait):

1. **Claim** the idempotency key (DynamoDB, conditional). Nothing is written for a request
   whose key is held by a live record.
2. **Ledger row** (PostgreSQL): the commit point. Before it, a failure leaves no trace but the
   claim, which is released. After it, the payment exists, whatever happens next.
   With zero-loss on, the wait for the other region's storage follows
   (``payments.durability``): confirmed, the 201 says ``cross-region``; not confirmed within
   its budget, the payment is recorded but the answer is 503 and the claim is released.
3. **At once**, on threads (boto3 clients are thread-safe): the **receipt** (S3) and the
   **status item** (DynamoDB), derived from the row and written only if absent, and the
   idempotency record's **completion** with the 201 response. After a 503, only the claim's
   **release**: no projection of a payment not yet durable off-region, whose row a failover
   could still lose; the retry that gets the 201 writes them, and the reconcile step
   rebuilds any whose client never retried.

A payment recorded again because a failover lost its row (a stored 201 with no ledger row:
:meth:`PaymentService.process`) replaces the lost row's projections: the status item whenever
it describes an earlier row (``payments.status``), the receipt whenever a 201 is answered from
a row this request did not insert (or inserted again). The projections come after the row
(and, in zero-loss mode, after its confirmation), so neither can exist for a payment the
ledger has not committed; they no longer hold the answer back. One that fails, or is lost
with a crashed process, is rebuilt from the ledger by the reconcile step
(``payments.reconcile``: on a schedule, and by ``dr failover``/``dr failback``), so a 201
stands on the committed (and, with zero-loss, confirmed) row alone. If the completion fails,
the client still gets its 201: a retry rebuilds the same response from the ledger, because
the body is derived from the row alone.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import logs
from .deadline import Deadline
from .durability import NOT_YET, OFF, Durability
from .errors import DependencyUnavailable, IdempotencyKeyReused
from .http import ApiError
from .idempotency import IN_PROGRESS, Claim, ExistingRecord, IdempotencyStore
from .ledger import Ledger, new_payment_id
from .models import NewPayment, PaymentRequest, RecordedPayment, StoredResponse, canonical_json
from .receipts import ReceiptStore, receipt_key
from .status import StatusStore

log = logs.get_logger("service")

RETRY_AFTER_SECONDS = "1"


@dataclass(frozen=True)
class StepBudget:
    """Worst-case seconds of one step, checked against the time left before it starts."""

    aws_call_seconds: float
    database_seconds: float


@dataclass(frozen=True)
class Outcome:
    response: StoredResponse
    replayed: bool
    durability: str  # the x-payments-durability header of this 201
    payment_id: str | None = None


def not_yet_durable() -> ApiError:
    return ApiError(
        503,
        "recorded_not_yet_durable",
        "the payment is recorded but the recovery region has not confirmed it yet; retry with "
        "the same Idempotency-Key: the retry answers 201 once it is stored in both regions",
        headers={"retry-after": RETRY_AFTER_SECONDS},
    )


def key_reused() -> ApiError:
    return ApiError(
        409,
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request body; "
        "use a new key for a new payment",
    )


class PaymentService:
    def __init__(
        self,
        *,
        idempotency: IdempotencyStore,
        ledger: Ledger,
        receipts: ReceiptStore,
        statuses: StatusStore,
        durability: Durability,
        region: str,
        budget: StepBudget,
    ) -> None:
        self._idempotency = idempotency
        self._ledger = ledger
        self._receipts = receipts
        self._statuses = statuses
        self._durability = durability
        self._region = region
        self._budget = budget
        # The three writes after the commit, at once (one request at a time per container).
        self._after = concurrent.futures.ThreadPoolExecutor(
            max_workers=3, thread_name_prefix="after-commit")

    def process(
        self,
        key: str,
        request: PaymentRequest,
        correlation_id: str,
        lease_seconds: int,
        deadline: Deadline,
    ) -> Outcome:
        """Record the payment once per (merchant, key). Idempotency keys are scoped to the
        merchant: the same key from two merchants is two payments, and neither can see the
        other's (no cross-tenant 409)."""
        fingerprint = request.fingerprint()
        aws_step, db_step = self._budget.aws_call_seconds, self._budget.database_seconds
        deadline.require("dynamodb", aws_step)
        record_key = scoped_key(request.merchant_id, key)
        held = self._idempotency.claim(record_key, fingerprint, lease_seconds)
        payment_id, recorded_again = new_payment_id(), False
        if isinstance(held, ExistingRecord):
            replay = _answer_from(held, fingerprint)
            deadline.require("database", db_step)
            if self._ledger.find(request.merchant_id, key) is not None:
                return replay
            # The record says 201 and the ledger has no row: the commit was lost with a
            # region (an unplanned failover's data loss), the record was not. Replaying it
            # would be a false success: record the payment again, under the id the 201 named.
            log.warning("a completed payment's ledger row is missing; recording it again",
                        extra={"fields": {"payment_id": _payment_id_of(replay.response)}})
            retaken = self._idempotency.reclaim(record_key, fingerprint, lease_seconds)
            if retaken is None:
                retaken = self._idempotency.claim(record_key, fingerprint, lease_seconds)
            if isinstance(retaken, ExistingRecord):
                return _answer_from(retaken, fingerprint)  # another invocation is on it
            held, payment_id = retaken, _payment_id_of(replay.response) or payment_id
            recorded_again = True

        try:
            deadline.require("database", db_step)
            recorded = self._ledger.record(
                NewPayment(payment_id, key, fingerprint, request, correlation_id, self._region)
            )
            durability = self._durability.after_commit(self._ledger.replication_progress,
                                                       deadline)
        except IdempotencyKeyReused:
            self._release(held)
            raise key_reused() from None
        except BaseException:
            self._release(held)
            raise

        response = StoredResponse(201, canonical_json(recorded.to_json()))
        replayed = recorded.payment_id != payment_id  # the row was already there
        # A receipt may describe a row a failover lost: rewrite it from the row the ledger has
        # whenever this request is not the row's first (a retry after a 503 writes the first).
        self._after_commit(held, recorded, response, durability, deadline,
                           replace_receipt=recorded_again or replayed)
        if durability == NOT_YET:
            raise not_yet_durable()
        return Outcome(response, replayed=replayed, durability=durability,
                       payment_id=recorded.payment_id)

    def _after_commit(self, claim: Claim, payment: RecordedPayment, response: StoredResponse,
                      durability: str, deadline: Deadline, *, replace_receipt: bool) -> None:
        """The projections and the idempotency record's completion, at once (after a 503, the
        claim's release only); waited for while the request has time. None of them can turn
        the answer into a failure: the committed row is the payment."""
        tasks: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]
        if durability == NOT_YET:  # no projection of a row a failover could still lose
            tasks = {"release": (self._release, (claim,))}
        else:
            tasks = {
                "receipt": (self._project, (functools.partial(
                    self._receipts.put, replace=replace_receipt), payment)),
                "status_item": (self._project, (self._statuses.put, payment,
                                                receipt_key(payment))),
                "completion": (self._complete, (claim, response, durability)),
            }
        futures = {
            self._after.submit(contextvars.copy_context().run, call, *args): name
            for name, (call, args) in tasks.items()
        }
        done, running = concurrent.futures.wait(futures, timeout=max(0.0, deadline.remaining()))
        for future in running:
            log.error("write after the commit still running when the request had to answer",
                      extra={"fields": {"write": futures[future], "payment_id":
                                        payment.payment_id}})
        for future in done:
            error = future.exception()
            if error is not None:
                log.error("unexpected error in a write after the commit",
                          exc_info=(type(error), error, error.__traceback__),
                          extra={"fields": {"write": futures[future]}})

    @staticmethod
    def _project(write: Callable[..., Any], payment: RecordedPayment, *args: Any) -> None:
        try:
            write(payment, *args)
        except DependencyUnavailable as error:
            log.error(
                "projection not written; the reconcile step rebuilds it from the ledger",
                extra={"fields": {"payment_id": payment.payment_id,
                                  "dependency": error.dependency, "reason": error.reason}},
            )

    def close(self) -> None:
        self._after.shutdown(wait=False)

    def _complete(self, claim: Claim, response: StoredResponse, durability: str) -> None:
        try:
            if not self._idempotency.complete(claim, response, durability):
                log.warning(
                    "idempotency claim was taken over before completion",
                    extra={"fields": {"idempotency_key": claim.key}},
                )
        except DependencyUnavailable as error:
            log.error(
                "payment recorded but its response was not stored; a retry rebuilds it "
                "from the ledger",
                extra={"fields": {"idempotency_key": claim.key, "reason": error.reason}},
            )

    def _release(self, claim: Claim) -> None:
        try:
            self._idempotency.release(claim)
        except DependencyUnavailable as error:
            log.error(
                "could not release idempotency claim; it expires with its lease",
                extra={"fields": {"idempotency_key": claim.key, "reason": error.reason}},
            )


def scoped_key(merchant_id: str, key: str) -> str:
    """The idempotency record's key: merchant and key ('#' occurs in neither)."""
    return f"{merchant_id}#{key}"


def _payment_id_of(response: StoredResponse) -> str | None:
    """The payment id a stored 201 named (the body is the ledger row's JSON)."""
    try:
        return str(uuid.UUID(json.loads(response.body).get("payment_id")))
    except (ValueError, AttributeError, TypeError):
        return None


def _answer_from(record: ExistingRecord, fingerprint: str) -> Outcome:
    if record.request_hash != fingerprint:
        raise key_reused()
    if record.status == IN_PROGRESS or record.response is None:
        raise ApiError(
            409,
            "request_in_progress",
            "a request with this Idempotency-Key is still being processed; "
            "retry shortly with the same key and body",
            headers={"retry-after": RETRY_AFTER_SECONDS},
        )
    return Outcome(record.response, replayed=True, durability=record.durability or OFF)
