"""The reconcile step: rebuild missing projections (receipts, status items) from the ledger.

The processor writes a payment's receipt and status item after its ledger commit, at the same
time as the idempotency record's completion (``payments.service``), and answers without
needing them. A process that dies between the commit and those writes, a write that fails, or
a failover that loses what had not replicated yet, leaves a committed payment without its
projections. This step finds such rows and writes what is missing, only if absent (the same
conditional writes as the processor, derived from the row alone, so the bytes are the same
whichever writes first).

Where it writes: the status item to the global table through this region's replica (it
replicates to the other region); the receipt to this region's bucket (S3 replication copies it
to the other; a receipt this step wrote while the original was still replicating becomes one
more, identical, object version there). It reads the ledger through the global writer
endpoint, so it works in either region; it runs as ``payments_app`` through one more function
of the migrator's (``payments_created_between``, migration 006: at most 1000 rows a call, none
older than 7 days).

Two ways to run (the event says which; anything else is refused naming what is allowed):

* ``{"mode": "scheduled"}``: an EventBridge schedule in each region, every few minutes. It
  checks the rows from its last watermark (minus an overlap; the last hour on a first run; at
  most 7 days back) up to 15 minutes ago, when S3 Replication Time Control has copied 99.99%
  of objects ("S3 Replication Time Control", S3 User Guide): by then each receipt must be in
  this region's bucket whichever region wrote it. The watermark (``reconcile#<region>`` in the
  table) moves forward page by page, so a region that was lost catches up when it is back.
* ``{"since_minutes": N, "peer_region_lost": bool, "repair": bool}`` (defaults 60, false,
  true): a window ending a minute ago (payments still in flight are left to their processor).
  A receipt of a payment the other region's processor handled is expected here only once
  replication had its 15 minutes, or at once with ``peer_region_lost`` (``dr failover`` sets
  it: the lost region's bucket replicates nothing more). ``repair: false`` only counts: what
  the runbook observes before and after its reconcile step.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import aws, logs
from .deadline import Deadline
from .errors import DependencyUnavailable
from .ledger import PAGE_SIZE, RECONCILE_WINDOW_DAYS, Ledger
from .models import RecordedPayment, format_timestamp
from .receipts import ReceiptStore, receipt_key
from .status import StatusStore

log = logs.get_logger("reconcile")

REPLICATION_WINDOW = timedelta(minutes=15)  # S3 Replication Time Control: 99.99% within it
IN_FLIGHT = timedelta(minutes=1)  # a processor may still be writing these (15 s timeout)
WATERMARK_OVERLAP = timedelta(minutes=5)  # clock skew and commits later than created_at
FIRST_LOOKBACK = timedelta(hours=1)
OLDEST = timedelta(days=RECONCILE_WINDOW_DAYS) - timedelta(minutes=1)  # inside the SQL bound
DEFAULT_SINCE_MINUTES = 60
MAX_SINCE_MINUTES = RECONCILE_WINDOW_DAYS * 24 * 60
PAGE_MARGIN_SECONDS = 30.0  # stop starting pages this long before the function's timeout
WORKERS = 8
WATERMARK_KEY_PREFIX = "reconcile#"


class ReconcileInputError(ValueError):
    """The event is not one this step takes; the message lists every problem."""


class ReconcileFailed(RuntimeError):
    """A store was unavailable: the run stopped (its watermark stays where it got to), and
    the invocation fails so the function's error alarm and the runbook see it."""


@dataclass(frozen=True)
class ReconcileRequest:
    scheduled: bool
    since_minutes: int = DEFAULT_SINCE_MINUTES
    peer_region_lost: bool = False
    repair: bool = True

    @classmethod
    def from_event(cls, event: Any) -> ReconcileRequest:
        if not isinstance(event, Mapping):
            raise ReconcileInputError("the event must be a JSON object: {\"mode\": "
                                      "\"scheduled\"} or {\"since_minutes\": N, ...}")
        if event.get("mode") == "scheduled":
            extra = sorted(set(event) - {"mode"})
            if extra:
                raise ReconcileInputError(f"{{\"mode\": \"scheduled\"}} takes no other key; "
                                          f"got {extra}")
            return cls(scheduled=True)
        problems = []
        unknown = sorted(set(event) - {"mode", "since_minutes", "peer_region_lost", "repair"})
        if unknown:
            problems.append(f"unknown keys {unknown}: allowed are mode, since_minutes, "
                            "peer_region_lost, repair")
        if event.get("mode", "window") != "window":
            problems.append(f"mode={event.get('mode')!r}: allowed are \"scheduled\" and "
                            "\"window\" (the default)")
        since = event.get("since_minutes", DEFAULT_SINCE_MINUTES)
        if type(since) is not int or not 1 <= since <= MAX_SINCE_MINUTES:
            problems.append(f"since_minutes={since!r}: an integer from 1 to "
                            f"{MAX_SINCE_MINUTES} (7 days)")
        flags = {name: event.get(name, default)
                 for name, default in (("peer_region_lost", False), ("repair", True))}
        problems += [f"{name}={value!r}: true or false" for name, value in flags.items()
                     if not isinstance(value, bool)]
        if problems:
            raise ReconcileInputError("; ".join(problems))
        return cls(scheduled=False, since_minutes=since, **flags)


@dataclass
class ReconcileReport:
    region: str
    mode: str
    window_start: str
    window_end: str
    repair: bool
    peer_region_lost: bool
    rows_checked: int = 0
    missing_status_items: int = 0
    missing_receipts: int = 0
    repaired_status_items: int = 0
    repaired_receipts: int = 0
    receipts_left_to_replication: int = 0
    complete: bool = True
    repaired_payment_ids: list[str] = field(default_factory=list)  # the first 20
    error: str | None = None  # why it stopped early (a store unavailable)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Watermarks:
    """How far the scheduled run has checked, per region (``reconcile#<region>``)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client, self._table = client, table_name

    def get(self, region: str) -> datetime | None:
        item = aws.call("dynamodb", self._client.get_item, TableName=self._table,
                        Key=self._key(region), ConsistentRead=True).get("Item")
        return _parse(item["checked_through"]["S"]) if item else None

    def advance(self, region: str, through: datetime) -> None:
        """Only forward: two runs at once (a schedule and a runbook) never move it back."""
        value = format_timestamp(through)
        with contextlib.suppress(aws.Refused):  # a later mark is already there
            aws.call("dynamodb", self._client.update_item, expected=(aws.CONDITION_FAILED,),
                     TableName=self._table, Key=self._key(region),
                     UpdateExpression="SET checked_through = :t",
                     ConditionExpression="attribute_not_exists(checked_through) "
                                         "OR checked_through < :t",
                     ExpressionAttributeValues={":t": {"S": value}})

    def _key(self, region: str) -> dict[str, Any]:
        return {"pk": {"S": WATERMARK_KEY_PREFIX + region}}


class Reconciler:
    def __init__(self, ledger: Ledger, receipts: ReceiptStore, statuses: StatusStore,
                 watermarks: Watermarks, region: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._ledger, self._receipts, self._statuses = ledger, receipts, statuses
        self._watermarks, self._region, self._clock = watermarks, region, clock
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS,
                                                           thread_name_prefix="reconcile")

    def run(self, request: ReconcileRequest, deadline: Deadline,
            now: datetime | None = None) -> ReconcileReport:
        """One run; ``now`` is the time the window is measured from (default: the clock)."""
        now = now or self._clock()
        if request.scheduled:
            end = now - REPLICATION_WINDOW
            mark = self._watermarks.get(self._region)
            start = mark - WATERMARK_OVERLAP if mark else end - FIRST_LOOKBACK
        else:
            end = now - IN_FLIGHT
            start = now - timedelta(minutes=request.since_minutes)
        start = max(start, now - OLDEST)
        report = ReconcileReport(self._region, "scheduled" if request.scheduled else "window",
                                 format_timestamp(start), format_timestamp(end),
                                 request.repair, request.peer_region_lost)
        try:
            self._pages(start, end, now, request, report, deadline)
        except DependencyUnavailable as error:
            report.complete, report.error = False, f"{error.dependency}: {error.reason}"
        return report

    def _pages(self, start: datetime, end: datetime, now: datetime, request: ReconcileRequest,
               report: ReconcileReport, deadline: Deadline) -> None:
        after: tuple[datetime, str] | None = None
        while start < end:
            if deadline.remaining() < PAGE_MARGIN_SECONDS:
                report.complete = False
                break
            page = self._ledger.created_between(start, end, after)
            if not page:
                break
            self._check(page, now, request, report)
            after = (page[-1].created_at, page[-1].payment_id)
            if request.scheduled:
                self._watermarks.advance(self._region, page[-1].created_at)
            if len(page) < PAGE_SIZE:
                break
        if request.scheduled and report.complete and start < end:
            self._watermarks.advance(self._region, end)

    def _check(self, page: list[RecordedPayment], now: datetime, request: ReconcileRequest,
               report: ReconcileReport) -> None:
        report.rows_checked += len(page)
        with_status = self._statuses.existing(p.payment_id for p in page)
        no_status = [p for p in page if p.payment_id not in with_status]
        expected = [p for p in page if self._receipt_expected(p, now, request)]
        report.receipts_left_to_replication += len(page) - len(expected)
        present = self._map(self._receipts.exists, expected)
        no_receipt = [p for p, found in zip(expected, present, strict=True) if not found]
        report.missing_status_items += len(no_status)
        report.missing_receipts += len(no_receipt)
        if not request.repair:
            return
        self._map(lambda p: self._statuses.put(p, receipt_key(p)), no_status)
        self._map(self._receipts.put, no_receipt)
        report.repaired_status_items += len(no_status)
        report.repaired_receipts += len(no_receipt)
        repaired = dict.fromkeys(p.payment_id for p in no_status + no_receipt)
        report.repaired_payment_ids = (report.repaired_payment_ids + list(repaired))[:20]

    def _receipt_expected(self, payment: RecordedPayment, now: datetime,
                          request: ReconcileRequest) -> bool:
        """This region's processor wrote it here; or the other region's receipt has had its
        replication window; or that region is lost and will replicate nothing more."""
        return (payment.region == self._region or request.peer_region_lost
                or payment.created_at <= now - REPLICATION_WINDOW)

    def _map(self, call: Callable[[RecordedPayment], Any],
             payments: list[RecordedPayment]) -> list[Any]:
        return list(self._pool.map(call, payments))

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def handle(event: Any, context: Any, reconciler: Callable[[], Reconciler],
           default_seconds: float) -> dict[str, Any]:
    """The reconcile function: validate the event, run, log and return the report."""
    request = ReconcileRequest.from_event(event)
    report = reconciler().run(request, Deadline.of(context, default_seconds))
    found = report.missing_receipts + report.missing_status_items
    if report.error:
        log.error("reconcile stopped: a store is unavailable", extra={"fields": report.to_json()})
        raise ReconcileFailed(f"reconcile in {report.region} stopped after "
                              f"{report.rows_checked} rows: {report.error}")
    (log.warning if found else log.info)(
        "projections rebuilt from the ledger" if found and request.repair else
        "projections missing" if found else "projections complete",
        extra={"fields": report.to_json()})
    return report.to_json()


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
