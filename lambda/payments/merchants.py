"""Who is paying: the merchant comes from the authenticated caller, never from the body alone.

API Gateway puts what the authorizer established into ``requestContext``:

- merchant API keys (``AuthMode=api-key``, the default): the key authorizer's context,
  ``requestContext.authorizer.merchant_id``;
- JWT (``AuthMode=jwt``, Cognito user pools): the token's ``custom:merchant_id`` claim,
  ``requestContext.authorizer.claims``;
- IAM (``AuthMode=iam``): an AWS principal (``requestContext.identity.userArn``), meant for an
  internal platform service acting for many merchants: it names the merchant in the body.

With a merchant-bound credential the body's ``merchant_id`` is optional; if present it must be
that merchant, otherwise the request is refused with 403 ``merchant_mismatch`` (a request for
another tenant is an authorisation failure, not a validation detail). The message never echoes
either value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .http import ApiError

MERCHANT_CLAIM = "custom:merchant_id"


@dataclass(frozen=True)
class Caller:
    merchant_id: str | None  # None: a trusted internal (IAM) caller that names the merchant
    via: str  # "api-key" | "jwt" | "iam"


def caller(event: Mapping[str, Any]) -> Caller:
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    if isinstance(authorizer, Mapping):
        merchant = authorizer.get("merchant_id")
        if isinstance(merchant, str) and merchant:
            return Caller(merchant, "api-key")
        claims = authorizer.get("claims") or {}
        if isinstance(claims, Mapping):
            claim = claims.get(MERCHANT_CLAIM)
            if isinstance(claim, str) and claim:
                return Caller(claim, "jwt")
            if claims:
                raise ApiError(403, "forbidden",
                               f"the token carries no {MERCHANT_CLAIM} claim")
    identity = context.get("identity") or {}
    if isinstance(identity, Mapping) and identity.get("userArn"):
        return Caller(None, "iam")
    # Behind API Gateway this cannot happen (the method requires authorisation); refuse
    # rather than trust the body if the function is ever invoked some other way.
    raise ApiError(401, "unauthorized", "send your secret key as Authorization: Bearer sk_...")


def bind(document: Mapping[str, Any], who: Caller) -> dict[str, Any]:
    """The request document with the caller's merchant in ``merchant_id``."""
    if who.merchant_id is None:
        return dict(document)
    if "merchant_id" in document and document["merchant_id"] != who.merchant_id:
        raise ApiError(403, "merchant_mismatch",
                       "merchant_id must be omitted or be the merchant of the credentials "
                       "used")
    return {**document, "merchant_id": who.merchant_id}
