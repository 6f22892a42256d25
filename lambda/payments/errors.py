"""Failures of the stores the API depends on, as the HTTP layer needs to see them."""

from __future__ import annotations


class DependencyUnavailable(Exception):
    """A store could not be reached or refused the operation for now (HTTP 503).

    ``dependency`` is one of ``database``, ``dynamodb``, ``s3``; ``reason`` is a
    short, secret-free description safe for logs (never for the response body).
    """

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason


class IdempotencyKeyReused(Exception):
    """The key was already used for a different request (HTTP 409)."""
