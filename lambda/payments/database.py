"""One TLS connection to Aurora PostgreSQL per Lambda container, via pg8000.

pg8000 is pure Python, so the same zip runs on arm64 and x86_64 with no
compiled driver.

TLS is always on and always verified (``payments.tls``): the server certificate
must chain to the CA bundle of ``DB_TLS_CA_FILE`` and carry a name that
module's rule accepts, before pg8000 sends the startup message. A server that
refuses TLS is an error, never a plaintext fallback (pg8000 falls back to
plaintext only when given no SSL context, so one is always passed); a
certificate that fails is a 503, never a retry without verification.

Credentials come from a Secrets Manager secret whose SecretString is
``{"username": ..., "password": ...}``. They are fetched once per container
and fetched again only when the server rejects them (the secret was rotated).

Who writes is the database's decision, not the deployment's. Every new
connection is checked (``pg_is_in_recovery()`` and ``transaction_read_only``)
and a connection that must write but lands on a read-only server (a secondary
cluster, or a stale DNS answer for the writer endpoint right after a failover)
is closed at once. A statement refused with SQLSTATE 25006 (read-only
transaction) closes the connection too, so the next request reconnects and
finds the new writer; a warm container never stays stuck on a demoted server.

Server-side limits are set per session (:data:`SESSION_LIMITS`): a statement,
a lock wait or an idle transaction can never outlive the function's timeout.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from . import session_settings
from .errors import DependencyUnavailable

DEPENDENCY = "database"

# SQLSTATE classes and codes that mean "not now" rather than "your SQL is wrong"
# (PostgreSQL "Appendix A. Error Codes"): 08 connection exception and 57
# operator intervention (admin shutdown, cannot connect now: the session is
# gone), 53 insufficient resources, 25006 read-only transaction (a reader, or a
# secondary cluster without write forwarding), 40001 serialization failure.
_CONNECTION_LOST_CLASSES = ("08", "57")
_UNAVAILABLE_CLASSES = ("53",)
_UNAVAILABLE_CODES = frozenset({"40001"})
_READ_ONLY = "25006"
# 57014 query_canceled is what statement_timeout and lock_timeout raise: "not now", and the
# session is still usable.
_TIMED_OUT_CODES = frozenset({"57014", "55P03"})
_AUTH_FAILED_CODES = frozenset({"28000", "28P01"})

ROLE_CHECK = "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"
READ_ONLY_SESSION_ON_PRIMARY = ("database is read only (session setting on a primary: run the "
                                "migrate function)")


@dataclass(frozen=True)
class SessionLimits:
    """Server-side ceilings per session, in milliseconds (PostgreSQL "Client Connection
    Defaults"): the server gives up first, so a stuck statement cannot hold the function."""

    statement_ms: int
    lock_ms: int
    idle_in_transaction_ms: int

    def statements(self) -> tuple[str, ...]:
        return (
            f"SET statement_timeout = {int(self.statement_ms)}",
            f"SET lock_timeout = {int(self.lock_ms)}",
            f"SET idle_in_transaction_session_timeout = {int(self.idle_in_transaction_ms)}",
        )


@dataclass(frozen=True)
class ServerRole:
    """What the server we are connected to says about itself."""

    in_recovery: bool
    read_only: bool

    @property
    def writable(self) -> bool:
        return not (self.in_recovery or self.read_only)

    def refusal(self) -> str:
        """Why a writer connection refuses this server. A primary whose sessions start read
        only is not a failover state: a setting did it (``ALTER ROLE ... SET
        default_transaction_read_only``, which the role can run on itself), and the migrate
        step resets it; the reason is exact, for the log metric filter that alarms on it
        (templates/database_role_alarm.py)."""
        if self.in_recovery:
            return "database is read only (in recovery)"
        return READ_ONLY_SESSION_ON_PRIMARY


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


class SecretCredentials:
    """Database credentials from Secrets Manager, cached per container."""

    def __init__(self, secrets_client: Any, secret_arn: str) -> None:
        self._client = secrets_client
        self._secret_arn = secret_arn
        self._cached: Credentials | None = None

    def get(self, *, refresh: bool = False) -> Credentials:
        if self._cached is None or refresh:
            self._cached = self._fetch()
        return self._cached

    def _fetch(self) -> Credentials:
        try:
            secret = self._client.get_secret_value(SecretId=self._secret_arn)
        except Exception as error:  # botocore raises many unrelated types
            raise DependencyUnavailable(
                DEPENDENCY, f"secret unavailable: {type(error).__name__}"
            ) from None
        try:
            document = json.loads(secret["SecretString"])
            username, password = document["username"], document["password"]
        except (KeyError, TypeError, ValueError):
            # Never include the secret (or a parse error quoting it) in the message.
            raise DependencyUnavailable(
                DEPENDENCY, "secret is not {username, password} JSON"
            ) from None
        if not (isinstance(username, str) and isinstance(password, str) and username and password):
            raise DependencyUnavailable(DEPENDENCY, "secret is not {username, password} JSON")
        return Credentials(username, password)


Connect = Callable[..., pg8000.native.Connection]


class Database:
    """A lazily opened, reused connection with one retry for a stale one.

    Every statement the ledger runs is idempotent (an insert that does nothing
    on a duplicate key, or a read), so re-running one after a broken socket
    cannot record a payment twice; that is what makes the single retry safe.
    Calls are serialised by a lock: the health check runs probes on threads.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        database: str,
        credentials: SecretCredentials,
        tls: ssl.SSLContext,
        timeout_seconds: float,
        application_name: str,
        limits: SessionLimits,
        require_writer: bool,
        connect: Connect = pg8000.native.Connection,
    ) -> None:
        self._host, self._port, self._database = host, port, database
        self._credentials = credentials
        self._tls = tls
        self._timeout = timeout_seconds
        self._application_name = application_name
        self._limits = limits
        self._require_writer = require_writer
        self._connect = connect
        self._connection: pg8000.native.Connection | None = None
        self._lock = threading.Lock()
        self.role: ServerRole | None = None
        """The role the server reported when this connection was opened."""

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        return self._locked(self._run_with_retry, sql, params)

    def run_once(self, sql: str, **params: Any) -> list[list[Any]]:
        """One try on the open (or a new) connection, never a second: for a step whose worst
        case the caller counts as one statement (the zero-loss wait's polls)."""
        return self._locked(self._execute_once, sql, params)

    def _locked(self, call: Callable[[str, dict[str, Any]], list[list[Any]]], sql: str,
                params: dict[str, Any]) -> list[list[Any]]:
        if not self._lock.acquire(timeout=self._timeout):
            raise DependencyUnavailable(DEPENDENCY, "connection busy")
        try:
            return call(sql, params)
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Callable[..., list[list[Any]]]]:
        """Exclusive use of one connection for an explicit transaction, with no retry.

        A statement is never re-run on a fresh connection here: that would run
        it outside the transaction it belongs to. Yields a ``run(sql, **params)``.
        """
        if not self._lock.acquire(timeout=self._timeout):
            raise DependencyUnavailable(DEPENDENCY, "connection busy")
        try:
            self._execute_once("BEGIN", {})
            try:
                yield lambda sql, **params: self._execute_once(sql, params)
                self._execute_once("COMMIT", {})
            except BaseException:
                if self._connection is not None:
                    self._rollback_quietly()
                raise
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._discard()

    def discard(self) -> None:
        """Forget the connection (a caller learnt the server cannot serve it, e.g. read only)."""
        self.close()

    def _run_with_retry(self, sql: str, params: dict[str, Any]) -> list[list[Any]]:
        reused = self._connection is not None
        try:
            return self._run_once(sql, params, refresh_credentials=False)
        except _Retryable as failure:
            if not (reused or failure.auth):
                raise DependencyUnavailable(DEPENDENCY, failure.reason) from None
            try:
                return self._run_once(sql, params, refresh_credentials=failure.auth)
            except _Retryable as second:
                raise DependencyUnavailable(DEPENDENCY, second.reason) from None

    def _execute_once(self, sql: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            return self._run_once(sql, params, refresh_credentials=False)
        except _Retryable as failure:
            raise DependencyUnavailable(DEPENDENCY, failure.reason) from None

    def _rollback_quietly(self) -> None:
        try:
            self._run_once("ROLLBACK", {}, refresh_credentials=False)
        except (_Retryable, DependencyUnavailable, DatabaseError):
            self._discard()

    def _run_once(
        self, sql: str, params: dict[str, Any], *, refresh_credentials: bool
    ) -> list[list[Any]]:
        try:
            connection = self._connection or self._open(refresh_credentials)
            self._connection = connection
            # Without parameters pg8000 uses the simple query protocol, which
            # allows several statements in one string (the migration files).
            rows: list[list[Any]] = connection.run(sql, **params) if params else connection.run(sql)
            return rows
        except ssl.SSLCertVerificationError as error:
            # Chain or name refused: a reconnect would meet the same server; the next request
            # tries again (DNS may have moved on). Certificate names are not secret.
            self._discard()
            raise DependencyUnavailable(
                DEPENDENCY, f"server certificate refused: {error.verify_message}") from None
        except (InterfaceError, OSError) as error:
            self._discard()
            raise _Retryable(f"connection failed: {type(error).__name__}") from None
        except DatabaseError as error:
            code = sqlstate(error)
            if code == _READ_ONLY:
                # A demoted or secondary server: reconnect next time, through the writer
                # endpoint, which leads to the new writer.
                self._discard()
                raise DependencyUnavailable(DEPENDENCY, "database is read only") from None
            if code in _TIMED_OUT_CODES:
                raise DependencyUnavailable(DEPENDENCY, f"timed out (SQLSTATE {code})") from None
            if code in _AUTH_FAILED_CODES:
                self._discard()
                raise _Retryable(f"authentication failed (SQLSTATE {code})", auth=True) from None
            if code.startswith(_CONNECTION_LOST_CLASSES):
                self._discard()
                raise _Retryable(f"connection lost (SQLSTATE {code})") from None
            if code.startswith(_UNAVAILABLE_CLASSES) or code in _UNAVAILABLE_CODES:
                raise DependencyUnavailable(DEPENDENCY, f"SQLSTATE {code}") from None
            raise

    def _open(self, refresh_credentials: bool) -> pg8000.native.Connection:
        credentials = self._credentials.get(refresh=refresh_credentials)
        connection = self._connect(
            user=credentials.username,
            password=credentials.password,
            host=self._host,
            port=self._port,
            database=self._database,
            ssl_context=self._tls,
            timeout=self._timeout,
            application_name=self._application_name,
            tcp_keepalive=True,
            startup_params=session_settings.STARTUP_PARAMETERS,
        )
        try:
            for statement in self._limits.statements():
                connection.run(statement)
            session_settings.check(connection)
            ((in_recovery, read_only),) = connection.run(ROLE_CHECK)
        except BaseException:
            with contextlib.suppress(InterfaceError, OSError, DatabaseError):
                connection.close()
            raise
        self.role = ServerRole(bool(in_recovery), read_only == "on")
        if self._require_writer and not self.role.writable:
            with contextlib.suppress(InterfaceError, OSError):
                connection.close()
            raise DependencyUnavailable(DEPENDENCY, self.role.refusal())
        return connection

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(InterfaceError, OSError):
                connection.close()


class _Retryable(Exception):
    def __init__(self, reason: str, *, auth: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.auth = auth


def sqlstate(error: DatabaseError) -> str:
    details = error.args[0] if error.args else None
    return str(details.get("C", "")) if isinstance(details, dict) else ""
