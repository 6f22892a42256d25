"""Structured logs: one JSON object per line on stdout, which Lambda ships to CloudWatch.

Every line carries the correlation id (the API Gateway request id) of the
invocation that wrote it. Callers pass structured fields with
``extra={"fields": {...}}``; the rule that keeps card data and secrets out of
the logs is simple: request bodies, ``source`` and credentials are never passed
to a logger at all.

What is logged still passes the card-number scan that guards the stores
(:mod:`payments.cardnumbers`), on the line *as a whole*, just before it is
written: two harmless values can join into one digit run in a line (the names
of two refused fields listed side by side, ``["_41111111","_50000001"]``). A
field that holds such a run on its own is replaced by ``<redacted>`` and named
in ``redacted_fields``; if the line still fails, only what the formatter itself
wrote is kept, with a fixed message. The scan runs on the line as written and
with its JSON escapes decoded, so an escape can neither hide a number nor
make one. The timestamp has millisecond precision: with microseconds, its time
part alone would be a 16-digit run. A UUID is an id, its groups never joined, only in the
fields that hold ids (:data:`UUID_FIELDS`); anywhere else in the line it is scanned as the
digits it shows (``payments.cardnumbers``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from . import cardnumbers

LOGGER_NAME = "payments"
WITHHELD_MESSAGE = "log line withheld: it held what looks like a card number"
_FORMATTER_FIELDS = ("timestamp", "level", "logger")
UUID_FIELDS = frozenset({"correlation_id", "payment_id", "idempotency_key", "receipt_key"})
"""The fields whose values are ids in which a UUID is expected: API Gateway's request id,
the payment id and receipt key the system generates, the client's Idempotency-Key (which the
API scanned with the same exception, ``validation.UUID_EXPECTED``)."""

_correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def set_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    return _correlation_id.set(value)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    _correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": _correlation_id.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_exception(*record.exc_info))
        return without_card_numbers(entry)


def without_card_numbers(entry: dict[str, Any]) -> str:
    """The JSON line of ``entry``, passing the card-number scan as a whole (see above)."""
    line = _render(entry)
    if not _holds_card_number(_as_scanned(entry)):
        return line
    named = sorted(name for name, value in _as_scanned(entry).items()
                   if name not in _FORMATTER_FIELDS and _holds_card_number(value))
    redacted = {**entry, **dict.fromkeys(named, cardnumbers.REDACTED_KEY),
                "redacted_fields": named}
    if not _holds_card_number(_as_scanned(redacted)):
        return _render(redacted)
    withheld = {**{name: entry[name] for name in _FORMATTER_FIELDS},
                "message": WITHHELD_MESSAGE,
                "redacted_fields": sorted(set(entry) - set(_FORMATTER_FIELDS))}
    return _render(withheld)


def _as_scanned(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` as the scan reads it: in :data:`UUID_FIELDS`, each UUID's groups unjoined."""
    return {name: cardnumbers.unjoin_uuids(value) if name in UUID_FIELDS and isinstance(
        value, str) else value for name, value in entry.items()}


def _render(value: Any, *, ascii_only: bool = True) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=ascii_only)


# What json.dumps(..., ensure_ascii=False) still escapes: controls, quote and backslash.
_JSON_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|["\\/bfnrt])')


def _holds_card_number(value: Any) -> bool:
    """The scan over the JSON text as written (every non-ASCII character escaped) and over
    the same text decoded, as a log reader shows it."""
    decoded = _JSON_ESCAPE.sub(lambda escape: json.loads(f'"{escape.group()}"'),
                               _render(value, ascii_only=False))
    return (cardnumbers.contains_card_number(_render(value))
            or cardnumbers.contains_card_number(decoded))


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at emit time (so test capture sees it too)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str) -> None:
    """Install the JSON handler on the package logger, once per container.

    The package logger does not propagate to the root logger, so the Lambda
    runtime's own plain-text handler does not print each line a second time.
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    logger.propagate = False
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
