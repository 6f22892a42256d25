"""Throwaway PostgreSQL servers with TLS: a primary and hot standbys of it.

Runs the distribution's own binaries (Debian's ``postgresql`` package) in a
temporary directory on a free 127.0.0.1 port. The superuser password is
generated per run. TLS uses a CA and server certificate made here with
``openssl``; the server certificate names ``localhost`` only, so connecting
to 127.0.0.1 with verification on proves that host names are checked.
``pg_hba.conf`` has ``hostssl`` lines only: plaintext connections are refused.

A standby (:func:`create_standby`) is a ``pg_basebackup -R`` copy streaming
from its primary: read only (SQLSTATE 25006 on a write), asynchronously
replicated, promoted with ``pg_ctl promote``. That is the behaviour of an
Aurora secondary cluster that matters here (without write forwarding). The
same function rebuilds a lost primary as a standby of the new writer, which is
what Aurora does when the old primary region returns after a failover.

initdb refuses to run as root, and the tests run as root in CI, so when
euid is 0 every server command runs as the ``postgres`` user via ``runuser``.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_USER = "payments_admin"
DATABASE = "payments"
SERVER_HOSTNAME = "localhost"


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    candidates = []
    if shutil.which("pg_config"):
        result = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(result.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version, reverse=True)
    for candidate in candidates:
        if (
            candidate
            and (Path(candidate) / "initdb").exists()
            and (Path(candidate) / "pg_ctl").exists()
        ):
            return Path(candidate)
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found via `pg_config --bindir` or "
        "/usr/lib/postgresql/*/bin; install them, e.g. `apt-get install postgresql`"
    )


def _major_version(path: str) -> int:
    version = Path(path).parent.name
    return int(version) if version.isdigit() else 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    password: str = field(repr=False)
    host: str = "127.0.0.1"
    tls_dir: Path | None = None  # shared by a primary and its standbys; default root/tls
    owns_tls: bool = True

    def __post_init__(self) -> None:
        if self.tls_dir is None:
            self.tls_dir = self.root / "tls"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def ca_file(self) -> Path:
        return self._tls / "ca.crt"

    @property
    def other_ca_file(self) -> Path:
        """A CA that did not sign the server certificate."""
        return self._tls / "other-ca.crt"

    @property
    def _tls(self) -> Path:
        assert self.tls_dir is not None
        return self.tls_dir

    @property
    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def initialise(self) -> None:
        password_file = self.root / "pwfile"
        password_file.write_text(self.password)
        self._chown(password_file)
        self._as_server_user(
            self.bindir / "initdb",
            "-D",
            self.data_dir,
            "-U",
            ADMIN_USER,
            "--pwfile",
            password_file,
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale",
            "C",
        )
        password_file.unlink()
        self._make_certificates()
        tls = self._tls
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n".join(
                    [
                        "listen_addresses = '127.0.0.1'",
                        "ssl = on",
                        f"ssl_cert_file = '{tls / 'server.crt'}'",
                        f"ssl_key_file = '{tls / 'server.key'}'",
                        "ssl_min_protocol_version = 'TLSv1.2'",
                        "password_encryption = 'scram-sha-256'",
                        # A region's processor keeps one connection per execution
                        # environment (the game day runs up to its reserved concurrency, 50,
                        # per region), plus health and the tests' own.
                        "max_connections = 150",
                        # Streaming replication to hot standbys (the Aurora secondary model).
                        "wal_level = replica",
                        "max_wal_senders = 5",
                        "wal_keep_size = '128MB'",
                        "hot_standby = on",
                        # A disposable server: no fsync (a killed process loses nothing the
                        # kernel has; only an OS crash would). Commits still wait for their
                        # WAL write, as Aurora's wait for its storage quorum: an acknowledged
                        # commit survives a crash of the server, and only what never reached
                        # a standby is lost when the primary is lost.
                        "fsync = off",
                        "synchronous_commit = on",
                        "full_page_writes = off",
                        "",
                    ]
                )
            )
        (self.data_dir / "pg_hba.conf").write_text(
            "# TLS only: no 'host' or 'hostnossl' lines.\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl replication all 127.0.0.1/32 scram-sha-256\n"
        )

    def _write_identity(self, primary: PostgresServer | None = None,
                        stream_port: int | None = None) -> None:
        """What differs between a primary and its copies: port, socket directory and, for a
        standby, where it streams from (the primary's port, or `stream_port`: a forwarder in
        front of it). postgresql.auto.conf is read last, so these lines win over the ones a base
        backup copied from the primary."""
        lines = [f"port = {self.port}", f"unix_socket_directories = '{self.root}'"]
        if primary is not None:
            conninfo = (
                f"host={primary.host} port={stream_port or primary.port} user={ADMIN_USER} "
                f"password={primary.password} sslmode=require application_name=standby"
            )
            lines.append(f"primary_conninfo = '{conninfo}'")
        auto_conf = self.data_dir / "postgresql.auto.conf"
        with open(auto_conf, "a", encoding="utf-8") as conf:
            conf.write("\n" + "\n".join(lines) + "\n")
        self._chown(auto_conf)

    def start(self) -> None:
        self._as_server_user(
            self.bindir / "pg_ctl",
            "-D",
            self.data_dir,
            "-l",
            self.root / "server.log",
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode="immediate"`` is a crash (no checkpoint), as when a region
        is lost."""
        self._as_server_user(
            self.bindir / "pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop"
        )

    def promote(self) -> None:
        """End recovery: the standby becomes a writable primary (``pg_ctl promote``)."""
        self._as_server_user(self.bindir / "pg_ctl", "-D", self.data_dir, "-w", "-t", "30",
                             "promote")

    def destroy(self) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self.owns_tls:
                shutil.rmtree(self._tls, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "server.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )

    def _make_certificates(self) -> None:
        tls = self._tls
        tls.mkdir()
        days = "2"
        for name in ("ca", "other-ca"):
            _openssl(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                days,
                "-subj",
                f"/CN=payments test {name}",
                "-keyout",
                tls / f"{name}.key",
                "-out",
                tls / f"{name}.crt",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            )
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={SERVER_HOSTNAME}",
            "-keyout",
            tls / "server.key",
            "-out",
            tls / "server.csr",
        )
        extensions = tls / "server.ext"
        extensions.write_text(
            f"subjectAltName = DNS:{SERVER_HOSTNAME}\n"
            "extendedKeyUsage = serverAuth\n"
            "basicConstraints = critical,CA:FALSE\n"
            # Python 3.13's VERIFY_X509_STRICT wants both key identifiers; OpenSSL 3 adds
            # them by default, OpenSSL 1.1 does not: say so explicitly.
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n"
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            tls / "server.csr",
            "-CA",
            tls / "ca.crt",
            "-CAkey",
            tls / "ca.key",
            "-CAcreateserial",
            "-days",
            days,
            "-extfile",
            extensions,
            "-out",
            tls / "server.crt",
        )
        for path in tls.iterdir():
            path.chmod(0o600 if path.suffix == ".key" else 0o644)
            self._chown(path)
        self._chown(tls)

    def _as_server_user(self, *command: object, env: dict[str, str] | None = None) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, *map(str, command)], capture_output=True, text=True, check=False,
            timeout=60, env={**os.environ, **(env or {})},
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(str(command[0])).name} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{self.log_tail()}"
            )

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)


def _new_root() -> Path:
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root needs a 'postgres' user to run the server"
            ) from None
    return Path(tempfile.mkdtemp(prefix="payments-pg-"))


_template: PostgresServer | None = None


def _initialised_template() -> PostgresServer:
    """One initdb and one set of certificates per process, never started: every server this
    process creates is a copy (initdb and three RSA key pairs cost seconds; a copy does not)."""
    global _template
    if _template is None:
        root = _new_root()
        template = PostgresServer(find_bindir(), root, 0, secrets.token_urlsafe(24))
        template._chown(root)
        try:
            template.initialise()
        except BaseException:
            template.destroy()
            raise
        atexit.register(template.destroy)
        _template = template
    return _template


def create_server() -> PostgresServer:
    """A new, started primary: a copy of the process's initialised template on its own port.
    Every server of one process shares the superuser password and the TLS certificates."""
    template = _initialised_template()
    root = _new_root()
    server = PostgresServer(template.bindir, root, free_port(), template.password,
                            tls_dir=template.tls_dir, owns_tls=False)
    try:
        shutil.copytree(template.data_dir, server.data_dir, symlinks=True)
        _chown_tree(root)
        server._write_identity()
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server


def _chown_tree(root: Path) -> None:
    if os.geteuid() != 0:
        return
    user = pwd.getpwnam("postgres")
    for path in (root, *root.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def create_standby(primary: PostgresServer, *, reuse: PostgresServer | None = None,
                   stream_port: int | None = None) -> PostgresServer:
    """A hot standby of ``primary``, started and streaming (``pg_basebackup -R``); through
    ``stream_port`` when given (a `forwarder.replication_link` in front of the primary).

    With ``reuse``, that server's directory and port are wiped and rebuilt as the standby:
    a lost primary rejoining as a secondary of the new writer (after a failover the old
    primary's data may hold transactions that never replicated; Aurora discards them too
    when the old primary region rejoins the global database).
    """
    if reuse is not None:
        if reuse.running:
            reuse.stop("immediate")
        shutil.rmtree(reuse.data_dir, ignore_errors=True)
        server = reuse
    else:
        root = _new_root()
        server = PostgresServer(primary.bindir, root, free_port(), primary.password,
                                tls_dir=primary.tls_dir, owns_tls=False)
        server._chown(root)
    try:
        server._as_server_user(
            primary.bindir / "pg_basebackup", "-h", primary.host, "-p", primary.port,
            "-U", ADMIN_USER, "-D", server.data_dir, "-R", "-X", "stream", "-c", "fast",
            env={"PGPASSWORD": primary.password, "PGSSLMODE": "require"},
        )
        server._write_identity(primary, stream_port)
        server.start()
    except BaseException:
        if reuse is None:
            server.destroy()
        raise
    return server


def _openssl(*args: object) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PostgresUnavailable(f"openssl {args[0]} failed: {result.stderr}")
