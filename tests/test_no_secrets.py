"""No secret, password or key material in any emitted template or build artifact."""

import io
import re
import zipfile

import pytest

PATTERNS = {
    "AWS access key id": re.compile(rb"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "credential assignment": re.compile(
        rb"(?i)\"[a-z_]*(password|passwd|secret_?key|secret_access_key|api_?key|token)\"\s*:\s*"
        rb"\"(?!\{\{resolve:)[^\"]{6,}\""),
    "connection string with password": re.compile(rb"(?i)postgres(ql)?://[^:/\s]+:[^@/\s]+@"),
}


def findings(data: bytes) -> list[str]:
    return [name for name, pattern in PATTERNS.items() if pattern.search(data)]


def artifact_blobs(root):
    """Every file under the build directory; zips are opened and each member scanned."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield f"{path.name}:{member}", archive.read(member)
        else:
            yield path.name, data


@pytest.mark.parametrize("sample", [
    b"AKIA" + b"Q" * 16,
    b'{"MasterUserPassword": "' + b"hunter2" * 3 + b'"}',
    b"-----BEGIN RSA PRIVATE KEY-----",
    b"postgresql://admin:" + b"x" * 8 + b"@db.example.com/payments",
])
def test_scanner_catches_planted_secrets(sample):
    assert findings(sample), sample


def test_scanner_accepts_dynamic_references():
    assert findings(b'"MasterUserPassword": "{{resolve:secretsmanager:x:SecretString:password}}"') == []


def test_build_output_holds_no_secret(built):
    scanned = 0
    for name, data in artifact_blobs(built):
        assert findings(data) == [], f"{name} looks like it holds a secret: {findings(data)}"
        scanned += 1
    assert scanned >= 3


def test_no_password_property_is_a_literal(templates):
    for template_name, cfn in templates.items():
        for lid, resource in cfn.resources.items():
            for key, value in resource.get("Properties", {}).items():
                if "password" in key.lower():
                    assert not isinstance(value, str), f"{template_name}:{lid}.{key} is a literal"
