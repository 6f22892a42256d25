"""HTTP glue for the two routes: event in, response out, one log line per request.

Nothing here decides anything about payments; it maps the outcome of
:mod:`payments.validation`, :mod:`payments.service` and :mod:`payments.health`
to status codes. No response ever carries a stack trace or an exception
message: unexpected errors are logged (with the stack) and answered with a
fixed JSON body.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from . import durability as durability_modes
from . import http, logs, merchants, validation
from .config import Config
from .deadline import Deadline
from .errors import DependencyUnavailable
from .health import Probe, evaluate, run_probes
from .http import ApiError
from .models import StoredResponse, canonical_json
from .service import RETRY_AFTER_SECONDS, Outcome, PaymentService

log = logs.get_logger("api")

# The claim's lease outlives the invocation that holds it by this margin.
LEASE_MARGIN_SECONDS = 10
DEFAULT_LEASE_SECONDS = 60


Result = tuple[StoredResponse, dict[str, str], dict[str, Any]]
"""The response, its extra headers, and fields for the request's log line."""


def process(
    event: Mapping[str, Any],
    context: Any,
    service: Callable[[], PaymentService],
    config: Callable[[], Config],
    durability_mode: Callable[[], str],
) -> dict[str, Any]:
    """POST /process. Dependencies are factories so that even a broken
    environment is answered with a JSON 500 rather than a runtime crash.

    Every response carries ``x-payments-durability``: on a 201, what that payment has
    (``cross-region``, ``regional`` or ``off``; a replay says what the payment was
    acknowledged with); on any other response, what a 201 from this container means now
    (``durability_mode``). The request's log line carries both (``durability``,
    ``durability_mode``): a metric filter counts the lines of degraded containers."""
    return _handle(
        event,
        context,
        lambda correlation_id: _process(event, context, correlation_id, service(), config()),
        durability_mode,
    )


def health(
    event: Mapping[str, Any],
    context: Any,
    probes: Callable[[], Mapping[str, Probe]],
    config: Callable[[], Config],
) -> dict[str, Any]:
    """GET /health"""

    def check(correlation_id: str) -> Result:
        if http.method(event) != "GET":
            raise ApiError(405, "method_not_allowed", "use GET", headers={"allow": "GET"})
        settings = config()
        report = evaluate(settings.region, run_probes(probes()))
        body = canonical_json({**report.to_json(), "correlation_id": correlation_id})
        return StoredResponse(report.status_code, body), {}, report.to_log()

    return _handle(event, context, check)


def _process(
    event: Mapping[str, Any],
    context: Any,
    correlation_id: str,
    service: PaymentService,
    config: Config,
) -> Result:
    if http.method(event) != "POST":
        raise ApiError(405, "method_not_allowed", "use POST", headers={"allow": "POST"})
    validation.refuse_card_numbers_in_headers(
        {
            **{name: http.header(event, name) for name in validation.SCANNED_HEADERS},
            validation.PATH_PSEUDO_HEADER: http.target(event),
        }
    )
    who = merchants.caller(event)
    raw = http.body_bytes(event)
    http.require_json_content_type(event)
    key = validation.idempotency_key(http.header(event, validation.IDEMPOTENCY_KEY_HEADER))
    request = validation.payment_request(
        merchants.bind(validation.parse_json_object(raw), who), config.payment_limit_multiplier
    )
    outcome = service.process(
        key, request, correlation_id, _lease_seconds(context),
        Deadline.of(context, DEFAULT_LEASE_SECONDS),
    )
    return (
        outcome.response,
        _outcome_headers(outcome),
        {
            "idempotency_key": key,
            "merchant_id": request.merchant_id,
            "auth": who.via,
            "payment_id": outcome.payment_id,
            "replayed": outcome.replayed,
        },
    )


def _handle(
    event: Mapping[str, Any],
    context: Any,
    work: Callable[[str], Result],
    durability_mode: Callable[[], str] | None = None,
) -> dict[str, Any]:
    correlation_id = _correlation_id(event, context)
    token = logs.set_correlation_id(correlation_id)
    started = time.perf_counter()
    # The log line passes the card-number scan as a whole (payments.logs): a path that holds
    # a number is redacted there.
    fields: dict[str, Any] = {"method": http.method(event), "path": http.path(event)}
    try:
        stored, headers, details = work(correlation_id)
        fields.update(details)
    except ApiError as error:
        stored, headers = error.to_response(correlation_id), error.headers
        fields.update(error_code=error.code, invalid_fields=[f.field for f in error.fields] or None)
    except DependencyUnavailable as error:
        stored, headers = _unavailable(correlation_id), {"retry-after": RETRY_AFTER_SECONDS}
        fields.update(
            error_code="service_unavailable", dependency=error.dependency, reason=error.reason
        )
    except Exception:
        log.exception("unexpected error")
        stored, headers = _internal_error(correlation_id), {}
        fields.update(error_code="internal_error")
    if durability_mode is not None:
        mode = _current(durability_mode)
        headers = {durability_modes.HEADER: mode, **headers}
        fields.update(durability=headers[durability_modes.HEADER], durability_mode=mode)
    try:
        fields.update(
            status_code=stored.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        log.info(
            "request completed",
            extra={"fields": {k: v for k, v in fields.items() if v is not None}},
        )
        return http.response(stored, correlation_id, headers)
    finally:
        logs.reset_correlation_id(token)


def _outcome_headers(outcome: Outcome) -> dict[str, str]:
    headers = {durability_modes.HEADER: outcome.durability}
    return {**headers, "idempotent-replayed": "true"} if outcome.replayed else headers


def _current(durability_mode: Callable[[], str]) -> str:
    """The container's durability mode; ``off`` when even the configuration cannot be read
    (nothing can be recorded then, so no 201 carries a promise)."""
    try:
        return durability_mode()
    except Exception:  # the request already failed on the same cause, and says so
        return durability_modes.OFF


def _unavailable(correlation_id: str) -> StoredResponse:
    return ApiError(
        503,
        "service_unavailable",
        "a dependency is temporarily unavailable; retry with the same Idempotency-Key",
    ).to_response(correlation_id)


def _internal_error(correlation_id: str) -> StoredResponse:
    return ApiError(
        500,
        "internal_error",
        "an unexpected error occurred; retry with the same Idempotency-Key",
    ).to_response(correlation_id)


def _correlation_id(event: Mapping[str, Any], context: Any) -> str:
    return http.request_id(event) or getattr(context, "aws_request_id", None) or str(uuid.uuid4())


def _lease_seconds(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_LEASE_SECONDS
    return int(remaining() / 1000) + LEASE_MARGIN_SECONDS
