"""Run inside a private mount and network namespace (``unshare --mount --net``, as root): a
DNS responder on 127.0.0.1:53 answers with Aurora's CNAME chain (alias -> cluster endpoint ->
instance -> A), /etc/resolv.conf is bind-mounted to point at it, and the system resolver is
asked through ``payments.tls.cname_chain``. Prints the chain as JSON. Nothing outside the
namespace sees the responder or the resolv.conf."""

from __future__ import annotations

import json
import socket
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from payments.tls import cname_chain
from tests.handlers.tls_dns import ALIAS, HOME_CLUSTER, HOME_INSTANCE

CHAIN = [ALIAS, HOME_CLUSTER, HOME_INSTANCE]
A, CNAME = 1, 5


def _name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\0"


def _record(owner: str, kind: int, data: bytes) -> bytes:
    return _name(owner) + struct.pack("!HHIH", kind, 1, 5, len(data)) + data  # IN, TTL 5 s


def _answer(query: bytes) -> bytes:
    end, labels = 12, []
    while query[end]:
        labels.append(query[end + 1:end + 1 + query[end]].decode())
        end += 1 + query[end]
    asked = ".".join(labels).lower()
    (kind,) = struct.unpack("!H", query[end + 1:end + 3])
    records = []
    if asked in CHAIN and kind == A:
        start = CHAIN.index(asked)
        records = [_record(owner, CNAME, _name(target))
                   for owner, target in zip(CHAIN[start:], CHAIN[start + 1:])]
        records.append(_record(CHAIN[-1], A, socket.inet_aton("127.0.0.1")))
    flags = 0x8180 | (0 if asked in CHAIN else 3)  # response, recursion; NXDOMAIN if unknown
    header = struct.pack("!HHHHHH", struct.unpack("!H", query[:2])[0], flags, 1, len(records),
                         0, 0)
    return header + query[12:end + 5] + b"".join(records)


def _serve(sock: socket.socket) -> None:
    while True:
        query, client = sock.recvfrom(512)
        sock.sendto(_answer(query), client)


def main() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = Path(tempfile.mkdtemp()) / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.run(["mount", "--bind", str(resolv), "/etc/resolv.conf"], check=True)
    responder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    responder.bind(("127.0.0.1", 53))
    threading.Thread(target=_serve, args=(responder,), daemon=True).start()
    print(json.dumps(list(cname_chain(ALIAS))))


if __name__ == "__main__":
    main()
