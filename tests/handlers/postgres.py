"""A throwaway PostgreSQL server with TLS for the handler tests.

Runs the distribution's own binaries (Debian's ``postgresql`` package) in a
temporary directory on a free 127.0.0.1 port. The superuser password is
generated per run. TLS uses a CA and server certificate made here with
``openssl``; the server certificate names ``localhost`` only, so connecting
to 127.0.0.1 with verification on proves that host names are checked.
``pg_hba.conf`` has ``hostssl`` lines only: plaintext connections are refused.

initdb refuses to run as root, and the tests run as root in CI, so when
euid is 0 every server command runs as the ``postgres`` user via ``runuser``.
"""

from __future__ import annotations

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

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def ca_file(self) -> Path:
        return self.root / "tls" / "ca.crt"

    @property
    def other_ca_file(self) -> Path:
        """A CA that did not sign the server certificate."""
        return self.root / "tls" / "other-ca.crt"

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
        tls = self.root / "tls"
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "\n".join(
                    [
                        "listen_addresses = '127.0.0.1'",
                        f"port = {self.port}",
                        f"unix_socket_directories = '{self.root}'",
                        "ssl = on",
                        f"ssl_cert_file = '{tls / 'server.crt'}'",
                        f"ssl_key_file = '{tls / 'server.key'}'",
                        "ssl_min_protocol_version = 'TLSv1.2'",
                        "password_encryption = 'scram-sha-256'",
                        "max_connections = 40",
                        # A disposable server: durability off for speed.
                        "fsync = off",
                        "synchronous_commit = off",
                        "full_page_writes = off",
                        "",
                    ]
                )
            )
        (self.data_dir / "pg_hba.conf").write_text(
            "# TLS only: no 'host' or 'hostnossl' lines.\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        )

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

    def stop(self) -> None:
        self._as_server_user(
            self.bindir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w", "stop"
        )

    def destroy(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "server.log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )

    def _make_certificates(self) -> None:
        tls = self.root / "tls"
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

    def _as_server_user(self, *command: object) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, *map(str, command)], capture_output=True, text=True, check=False, timeout=60
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


def create_server() -> PostgresServer:
    bindir = find_bindir()
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root needs a 'postgres' user to run the server"
            ) from None
    root = Path(tempfile.mkdtemp(prefix="payments-pg-"))
    server = PostgresServer(bindir, root, free_port(), secrets.token_urlsafe(24))
    server._chown(root)
    try:
        server.initialise()
        server.start()
    except BaseException:
        server.destroy()
        raise
    return server


def _openssl(*args: object) -> None:
    result = subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise PostgresUnavailable(f"openssl {args[0]} failed: {result.stderr}")
