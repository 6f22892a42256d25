"""The payment ledger in Aurora PostgreSQL: the system of record.

A committed ledger row *is* the payment. Everything else (the DynamoDB status
item, the S3 receipt, the stored idempotent response) is a projection of the
row, written after it and rebuilt from it on a retry.

:meth:`Ledger.record` is idempotent on the merchant's idempotency key, in
one statement: ``INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`` returns
the new row, or the row already recorded for the key. A concurrent insert of
the same key waits for the first to commit and then returns that row, so two
regions racing on one key (both reach the single writer through the global
writer endpoint) always get one row back and never an empty result. The
returned row must belong to the same request, or the key was reused. This is
also what makes a retry safe after a timeout whose commit outcome is unknown.

The functions' database role has no table privileges: every statement here
calls a function that the migrator owns and runs with its rights
(``lambda/schema/004_function_only_app_role.sql``). So the no-op update that
makes ``RETURNING`` return an existing row needs no UPDATE privilege of the
caller, and a compromised function cannot rewrite a payment.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pg8000.exceptions import DatabaseError

from .database import DEPENDENCY, ROLE_CHECK, Database, ServerRole, sqlstate
from .errors import DependencyUnavailable, IdempotencyKeyReused
from .models import NewPayment, RecordedPayment

_RECORD = """
SELECT * FROM public.record_payment(
    CAST(:payment_id AS uuid), CAST(:idempotency_key AS text), CAST(:request_hash AS text),
    CAST(:merchant_id AS text), CAST(:amount AS numeric), CAST(:currency AS text),
    CAST(:currency_exponent AS smallint), CAST(:description AS text),
    CAST(:source_type AS text), CAST(:source_fingerprint AS text),
    CAST(:correlation_id AS text), CAST(:region AS text))
"""

_FIND = ("SELECT * FROM public.find_payment(CAST(:merchant_id AS text), "
         "CAST(:idempotency_key AS text))")

_HEARTBEAT = "SELECT public.write_heartbeat(CAST(:region AS text))"

_REPLICATION = "SELECT written_lsn::text, confirmed_lsn::text FROM public.replication_progress()"

_CREATED_BETWEEN = """
SELECT * FROM payments_created_between(
    CAST(:start AS timestamptz), CAST(:end AS timestamptz), CAST(:after_created AS timestamptz),
    CAST(:after_id AS uuid), CAST(:limit AS integer))
"""

_INSUFFICIENT_PRIVILEGE = "42501"
PAGE_SIZE = 500
RECONCILE_WINDOW_DAYS = 7
"""How far back ``payments_created_between()`` reads (migration 006): the bound on what the
functions' role can list of the ledger."""


@dataclass(frozen=True)
class ReplicationProgress:
    """``replication_progress()`` (migration 005): the writer's log position and the lowest
    position the other region's storage has confirmed (None: no region is replicating).

    Positions are text, as the function returns them: a PostgreSQL LSN (``16/B374D848``, the
    local model) or a plain number (Aurora's ``highest_lsn_written``, shown as one in the
    Aurora User Guide); :func:`lsn_position` reads either.

    The seam of the zero-loss wait: read it right after a commit, then poll until
    :meth:`covers` that ``written_lsn``."""

    written_lsn: str
    confirmed_lsn: str | None

    def covers(self, lsn: str) -> bool:
        """True when the other region's storage has everything up to ``lsn``."""
        return self.confirmed_lsn is not None and lsn_position(self.confirmed_lsn) >= \
            lsn_position(lsn)


class UnreadablePosition(ValueError):
    """``replication_progress()`` returned a position that is neither form; the message quotes
    only that value."""


_PG_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")
_NUMBER = re.compile(r"[0-9]{1,20}")


def lsn_position(lsn: str) -> int:
    """A log position as one integer: a PostgreSQL LSN (``16/B374D848``: two hex halves of a
    64-bit number) or a plain decimal number (``131031557``). Anything else is refused: a
    position that cannot be read confirms nothing."""
    if isinstance(lsn, str):
        if (halves := _PG_LSN.fullmatch(lsn)) is not None:
            return (int(halves[1], 16) << 32) + int(halves[2], 16)
        if _NUMBER.fullmatch(lsn) is not None:
            return int(lsn)
    raise UnreadablePosition(
        f"replication_progress() returned the position {lsn!r}; a position is a PostgreSQL "
        "LSN (two hexadecimal numbers, 16/B374D848) or a decimal number (131031557)")


def new_payment_id() -> str:
    return str(uuid.uuid4())


class Ledger:
    def __init__(self, database: Database) -> None:
        self._database = database

    def record(self, payment: NewPayment) -> RecordedPayment:
        """Insert the payment, or return the row already recorded for its key.

        Raises IdempotencyKeyReused when the key's row belongs to another request.
        """
        request = payment.request
        with _region_refusal("payment", payment.region):
            rows = self._database.run(
                _RECORD,
                payment_id=payment.payment_id,
                idempotency_key=payment.idempotency_key,
                request_hash=payment.request_hash,
                merchant_id=request.merchant_id,
                amount=str(request.amount),
                currency=request.currency,
                currency_exponent=request.exponent,
                description=request.description,
                source_type=request.source.type,
                source_fingerprint=request.source.fingerprint(),
                correlation_id=payment.correlation_id,
                region=payment.region,
            )
        (row,) = rows  # record_payment: ON CONFLICT ... DO UPDATE ... RETURNING, one row always
        recorded = _from_row(row)
        if recorded.request_hash != payment.request_hash:
            raise IdempotencyKeyReused(payment.idempotency_key)
        return recorded

    def find(self, merchant_id: str, idempotency_key: str) -> RecordedPayment | None:
        rows = self._database.run(
            _FIND, merchant_id=merchant_id, idempotency_key=idempotency_key
        )
        return _from_row(rows[0]) if rows else None

    def server_role(self) -> ServerRole:
        ((in_recovery, read_only),) = self._database.run(ROLE_CHECK)
        return ServerRole(bool(in_recovery), read_only == "on")

    def replication_progress(self) -> ReplicationProgress:
        """One statement, no retry: a poll of the zero-loss wait (payments.durability)."""
        ((written, confirmed),) = self._database.run_once(_REPLICATION)
        return ReplicationProgress(written, confirmed)

    def created_between(self, start: datetime, end: datetime,
                        after: tuple[datetime, str] | None = None,
                        limit: int = PAGE_SIZE) -> list[RecordedPayment]:
        """Rows created in [start, end), in (created_at, payment_id) order, after ``after``;
        at most ``limit`` (the database caps it at 1000 and refuses rows older than
        :data:`RECONCILE_WINDOW_DAYS`): what the reconcile step rebuilds projections from."""
        after_created, after_id = after if after is not None else (None, None)
        rows = self._database.run(_CREATED_BETWEEN, start=start, end=end,
                                  after_created=after_created, after_id=after_id, limit=limit)
        return [_from_row(row) for row in rows]

    def heartbeat(self, region: str) -> None:
        """A committed write through the payment path's endpoint: the only proof of "writable"
        (``pg_is_in_recovery()`` is false on a primary whose session is read only, and a
        forwarded or proxied write can fail where a read succeeds).

        The database refuses a heartbeat for a region whose network the connection does not
        come from (``write_heartbeat``): a deployment whose recorded VPC CIDRs are wrong
        fails its health check, with that reason in the log line."""
        with _region_refusal("heartbeat", region):
            self._database.run(_HEARTBEAT, region=region)


@contextlib.contextmanager
def _region_refusal(write: str, region: str) -> Iterator[None]:
    """The database refuses a write for a region whose network the connection does not come
    from (``require_caller_region``, migration 007): a deployment fault (the VPC CIDRs the
    migrate step recorded), never the request's; the writer cannot take this region's writes,
    so the answer is 503 and /health fails with the reason."""
    try:
        yield
    except DatabaseError as error:
        if sqlstate(error) != _INSUFFICIENT_PRIVILEGE:
            raise
        raise DependencyUnavailable(
            DEPENDENCY, f"{write} refused: this connection's address is not in the network "
            f"recorded for {region} (SQLSTATE {_INSUFFICIENT_PRIVILEGE})",
        ) from None


def _from_row(row: list[Any]) -> RecordedPayment:
    (
        payment_id,
        key,
        request_hash,
        merchant_id,
        amount,
        currency,
        exponent,
        description,
        status,
        correlation_id,
        region,
        created_at,
    ) = row
    return RecordedPayment(
        payment_id=payment_id,
        idempotency_key=key,
        request_hash=request_hash,
        merchant_id=merchant_id,
        amount=Decimal(amount),
        currency=currency,
        exponent=int(exponent),
        description=description,
        status=status,
        correlation_id=correlation_id,
        region=region,
        created_at=created_at,
    )
