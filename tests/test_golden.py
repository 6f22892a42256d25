"""Golden files: the emitted templates, byte for byte. A diff here is a change to production
infrastructure; a renamed logical ID replaces a resource. Regenerate deliberately with

    UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py
"""

import difflib
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
MAX_DIFF_LINES = 80


@pytest.mark.parametrize("name", ["regional.json", "global.json"])
def test_template_matches_golden(built, name):
    actual = (built / name).read_text()
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(actual)
    assert golden.exists(), f"{golden} missing: run UPDATE_GOLDEN=1 python -m pytest {__file__}"
    expected = golden.read_text()
    if actual != expected:
        diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                         f"golden/{name}", f"build/{name}", lineterm="", n=2))
        shown = "\n".join(diff[:MAX_DIFF_LINES])
        more = f"\n... {len(diff) - MAX_DIFF_LINES} more diff lines" if len(diff) > MAX_DIFF_LINES else ""
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n"
                    f"{shown}{more}", pytrace=False)
