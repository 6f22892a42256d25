"""API Gateway HTTP API (payload format 2.0) events in, Lambda proxy responses out.

HTTP APIs lower-case header names and join repeated headers with commas
("Working with AWS Lambda proxy integrations for HTTP APIs", payload format
version 2.0).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from .models import FieldError, StoredResponse, canonical_json

MAX_BODY_BYTES = 16 * 1024
"""A payment request is a few hundred bytes; anything above 16 KiB is refused with 413."""

_MAX_BASE64_CHARS = (MAX_BODY_BYTES + 2) // 3 * 4

BASE_HEADERS: Mapping[str, str] = {
    "content-type": "application/json",
    "cache-control": "no-store",
}


class ApiError(Exception):
    """A request the API refuses, with the status code and the JSON error it answers."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        fields: Iterable[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = tuple(fields)
        self.headers = dict(headers or {})

    def to_response(self, correlation_id: str) -> StoredResponse:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = [f.to_json() for f in self.fields]
        body = {"error": error, "correlation_id": correlation_id}
        return StoredResponse(self.status_code, canonical_json(body))


def method(event: Mapping[str, Any]) -> str:
    return str(_dig(event, "requestContext", "http", "method") or "").upper()


def request_id(event: Mapping[str, Any]) -> str | None:
    value = _dig(event, "requestContext", "requestId")
    return str(value) if value else None


def target(event: Mapping[str, Any]) -> str:
    """The path and query string as sent (HTTP/2's ``:path``)."""
    path, query = event.get("rawPath"), event.get("rawQueryString")
    text = path if isinstance(path, str) else ""
    return f"{text}?{query}" if isinstance(query, str) and query else text


def header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def body_bytes(event: Mapping[str, Any]) -> bytes:
    """The raw request body, size-checked before and after base64 decoding."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise ApiError(400, "malformed_body", "the request body must be text")
    if event.get("isBase64Encoded"):
        if len(body) > _MAX_BASE64_CHARS:
            raise _too_large()
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "malformed_body", "the request body is not valid base64") from None
    else:
        if len(body) > MAX_BODY_BYTES:
            raise _too_large()
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "malformed_body", "the request body is not valid UTF-8") from None
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return raw


def require_json_content_type(event: Mapping[str, Any]) -> None:
    """Accept ``application/json`` with an optional ``charset=utf-8`` and nothing else."""
    value = header(event, "content-type")
    media_type, *params = (part.strip().lower() for part in (value or "").split(";"))
    charset_ok = all(p in ("charset=utf-8", 'charset="utf-8"', "") for p in params)
    if media_type != "application/json" or not charset_ok:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Content-Type must be application/json (charset utf-8 if given)",
        )


def response(
    stored: StoredResponse, correlation_id: str, extra_headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": stored.status_code,
        "headers": {**BASE_HEADERS, "x-correlation-id": correlation_id, **(extra_headers or {})},
        "body": stored.body,
        "isBase64Encoded": False,
    }


def _too_large() -> ApiError:
    return ApiError(
        413, "payload_too_large", f"the request body must be at most {MAX_BODY_BYTES} bytes"
    )


def _dig(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value
