"""Merchant secret API keys (Stripe-style): format, hashing, records, and the authorizer's decision.

A key is ``sk_<environment>_<key id>_<secret>``:

- ``environment``: the deployment it belongs to (``prod``, ``staging``); a key of another
  environment is refused before any lookup, so a test key never works in production;
- ``key id``: 16 hex digits, public (listed, logged, used to revoke); the record's address.
  A new key id never holds a run of 13 decimal digits, so no key id can look like a card
  number in a log line or an access log (about 1 random 16-hex-digit id in 210 holds such
  a run, and 1 in 900 would pass the card-number scan);
- ``secret``: 32 random bytes (``secrets.token_urlsafe``, 43 characters): 256 bits of entropy.

Only ``sha256(key)`` is stored. Why not a slow hash (bcrypt, scrypt) or an HMAC with a pepper:
those protect *guessable* secrets from an attacker who reads the hashes; a 256-bit random
secret cannot be guessed, so a slow hash would only add latency to every request, and a
pepper would be a second secret that both regions must hold and read on the hot path
(GitHub's and Stripe's token designs make the same choice). The record is found by key id and
the hashes are compared in constant time.

Records live in the payments global table under ``merchant-key#<key id>``, so a key created in
either region validates in both (replication typically under a second).

A merchant id or label that holds a card number (a 16-digit acquirer MID that passes Luhn)
is refused when the key is created, and a stored record whose merchant id holds one is
refused by the authorizer: the API would refuse every payment of that merchant
(``merchant_id``, rule ``card_number``), and API Gateway's access log, which records the
authorizer's merchant id unscanned, would carry the number on every request.

This module depends on the standard library and its own package only: the operator command
(``payments-dr keys``) imports it, so the format has one definition.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .cardnumbers import contains_card_number
from .models import MERCHANT_ID_PATTERN

KEY_PREFIX = "sk"
RECORD_PREFIX = "merchant-key#"
RECORD_TYPE = "merchant_key"
ACTIVE, REVOKED = "active", "revoked"
KEY_ID_BYTES = 8
SECRET_BYTES = 32
KEY_PATTERN = re.compile(
    r"sk_(?P<environment>[a-z][a-z0-9]{1,9})_(?P<key_id>[0-9a-f]{16})"
    r"_(?P<secret>[A-Za-z0-9_-]{43})")
MAX_HEADER_CHARS = 256
LABEL_PATTERN = re.compile(r"[A-Za-z0-9 ._:-]{0,64}")

# 13 decimal digits in a row could be (part of) a card number to a log scanner.
_CARD_LIKE_DIGITS = re.compile(r"[0-9]{13}")

# Projection of a record the authorizer needs; never more.
AUTHORIZER_ATTRIBUTES = ("merchant_id", "key_hash", "key_status")


@dataclass(frozen=True)
class PresentedKey:
    environment: str
    key_id: str
    value: str = field(repr=False)

    @property
    def digest(self) -> str:
        return key_hash(self.value)


@dataclass(frozen=True)
class NewKey:
    key_id: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class Decision:
    """The authorizer's answer: a merchant, or a reason (for the log, never the response).

    ``key_id`` is set only once the presented key matched a stored hash (valid, revoked or
    an invalid record): the id of a key that did not authenticate is whatever the caller
    typed, possibly a card number, and is neither logged nor returned. The reason says
    the key's shape (malformed, another environment's, unknown, wrong secret)."""

    merchant_id: str | None
    key_id: str | None
    reason: str

    @property
    def allowed(self) -> bool:
        return self.merchant_id is not None


def key_hash(value: str) -> str:
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def record_key(key_id: str) -> str:
    return f"{RECORD_PREFIX}{key_id}"


def new_key(environment: str) -> NewKey:
    if not re.fullmatch(r"[a-z][a-z0-9]{1,9}", environment):
        raise ValueError(f"environment {environment!r} must be 2-10 of a-z 0-9, starting with "
                         "a letter")
    key_id = secrets.token_hex(KEY_ID_BYTES)
    while _CARD_LIKE_DIGITS.search(key_id):
        key_id = secrets.token_hex(KEY_ID_BYTES)
    # token_urlsafe(32): 32 random bytes as 43 base64url characters, no padding.
    value = f"{KEY_PREFIX}_{environment}_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(key_id, value)


def parse_authorization(header: str | None) -> PresentedKey | None:
    """``Bearer sk_...`` (or the bare key) -> the presented key, or None if malformed."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    scheme, _, rest = header.strip().partition(" ")
    candidate = rest.strip() if scheme.lower() == "bearer" else header.strip()
    match = KEY_PATTERN.fullmatch(candidate)
    if not match:
        return None
    return PresentedKey(match["environment"], match["key_id"], candidate)


def new_record(key_id: str, digest: str, merchant_id: str, created_at: str,
               label: str = "") -> dict[str, dict[str, str]]:
    """The DynamoDB item (attribute-value form) of a new active key."""
    if not MERCHANT_ID_PATTERN.fullmatch(merchant_id):
        raise ValueError("merchant id must be 1-64 characters of A-Z a-z 0-9 . _ : - starting "
                         "with a letter or digit")
    if not LABEL_PATTERN.fullmatch(label):
        raise ValueError("label must be at most 64 characters of A-Z a-z 0-9 space . _ : -")
    for name, value in (("merchant id", merchant_id), ("label", label)):
        if contains_card_number(value):
            raise ValueError(f"{name} looks like a card number (a run of 13-19 digits passing "
                             "the Luhn check, as the API's card-number scan sees it): the API "
                             "would refuse every payment of this merchant and the access log "
                             "would record it; choose one whose digits are broken up by "
                             "letters (a prefix alone does not help)")
    item = {
        "pk": {"S": record_key(key_id)},
        "record_type": {"S": RECORD_TYPE},
        "key_id": {"S": key_id},
        "merchant_id": {"S": merchant_id},
        "key_hash": {"S": digest},
        "key_status": {"S": ACTIVE},
        "created_at": {"S": created_at},
    }
    if label:
        item["label"] = {"S": label}
    return item


def decide(header: str | None, environment: str,
           lookup: Callable[[str], Mapping[str, str] | None]) -> Decision:
    """Check the Authorization header. `lookup(key_id)` returns the record's attributes
    (plain strings) or None; it is only called for a well-formed key of this environment."""
    presented = parse_authorization(header)
    if presented is None:
        return Decision(None, None, "malformed")
    if presented.environment != environment:
        return Decision(None, None, "other_environment")
    record = lookup(presented.key_id)
    if record is None:
        return Decision(None, None, "unknown_key")
    if not hmac.compare_digest(str(record.get("key_hash", "")), presented.digest):
        return Decision(None, None, "wrong_secret")
    if record.get("key_status") != ACTIVE:
        return Decision(None, presented.key_id, "revoked")
    merchant_id = str(record.get("merchant_id", ""))
    if not MERCHANT_ID_PATTERN.fullmatch(merchant_id) or contains_card_number(merchant_id):
        return Decision(None, presented.key_id, "invalid_record")
    return Decision(merchant_id, presented.key_id, "valid")


def authorizer_response(decision: Decision, method_arn: str, allowed_route: str) -> dict:
    """The REQUEST authorizer's answer. The result is cached per Authorization header and
    reused for any method of the stage, so an Allow names exactly the one route this
    authorizer guards (`allowed_route`, e.g. "POST/process"), and a Deny covers the stage."""
    stage_arn = "/".join(method_arn.split("/", 2)[:2])  # arn:...:<api id>/<stage>
    resource = f"{stage_arn}/{allowed_route}" if decision.allowed else f"{stage_arn}/*"
    response: dict[str, Any] = {
        "principalId": decision.merchant_id or "anonymous",
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke",
            "Effect": "Allow" if decision.allowed else "Deny",
            "Resource": resource,
        }]},
    }
    if decision.allowed:
        response["context"] = {"merchant_id": decision.merchant_id, "key_id": decision.key_id}
    return response
