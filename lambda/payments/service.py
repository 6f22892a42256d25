"""The payment flow: claim the key, commit the ledger row, project it, store the response.

Order matters, and each step says why:

1. **Claim** the idempotency key (DynamoDB, conditional). Nothing is written
   for a request whose key is held by a live record.
2. **Ledger row** (PostgreSQL): the commit point. Before it, a failure leaves
   no trace but the claim, which is released. After it, the payment exists,
   whatever happens next.
3. **Receipt** (S3) and **status item** (DynamoDB), derived from the row and
   written only if absent. They come after the row so that neither can exist
   for a payment the ledger does not have.
4. **Complete** the idempotency record with the 201 response.

If step 3 fails, the claim is released and the client gets 503: the payment
is recorded but not yet fully visible. Its retry (same key) finds the row via
the ledger's idempotent insert, writes the missing projections and returns
the same 201 body, because that body is derived from the row alone. If step 4
fails, the client still gets its 201: the payment and its projections exist,
and a retry rebuilds the same response from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import logs
from .deadline import Deadline
from .errors import DependencyUnavailable, IdempotencyKeyReused
from .http import ApiError
from .idempotency import IN_PROGRESS, Claim, ExistingRecord, IdempotencyStore
from .ledger import Ledger, new_payment_id
from .models import NewPayment, PaymentRequest, StoredResponse, canonical_json
from .receipts import ReceiptStore
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
    payment_id: str | None = None


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
        region: str,
        budget: StepBudget,
    ) -> None:
        self._idempotency = idempotency
        self._ledger = ledger
        self._receipts = receipts
        self._statuses = statuses
        self._region = region
        self._budget = budget

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
        held = self._idempotency.claim(
            scoped_key(request.merchant_id, key), fingerprint, lease_seconds
        )
        if isinstance(held, ExistingRecord):
            return _answer_from(held, fingerprint)

        payment_id = new_payment_id()
        try:
            deadline.require("database", db_step)
            recorded = self._ledger.record(
                NewPayment(payment_id, key, fingerprint, request, correlation_id, self._region)
            )
            deadline.require("s3", aws_step)
            receipt = self._receipts.put(recorded)
            deadline.require("dynamodb", aws_step)
            self._statuses.put(recorded, receipt)
        except IdempotencyKeyReused:
            self._release(held)
            raise key_reused() from None
        except BaseException:
            self._release(held)
            raise

        response = StoredResponse(201, canonical_json(recorded.to_json()))
        self._complete(held, response)
        return Outcome(
            response, replayed=recorded.payment_id != payment_id, payment_id=recorded.payment_id
        )

    def _complete(self, claim: Claim, response: StoredResponse) -> None:
        try:
            if not self._idempotency.complete(claim, response):
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
    return Outcome(record.response, replayed=True)
