"""Where the Lambda source is.

In a checkout (or an editable install) it is `lambda/` beside this package. A regular install
(`pip install .`) has no checkout: setup.cfg's `data_files` installs the same files under
`<prefix>/share/payments_dr/lambda`, and `sysconfig` names that prefix. `lambda` is a Python
keyword, so the handler code cannot be a package of its own.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

from payments_build.errors import BuildError

CHECKOUT = Path(__file__).resolve().parent.parent / "lambda"
INSTALLED = Path(sysconfig.get_path("data")) / "share" / "payments_dr" / "lambda"
REQUIREMENTS = "requirements.txt"


def lambda_source(candidates: tuple[Path, ...] | None = None) -> Path:
    """The first candidate (default: the checkout, then the installed copy) that holds the
    handler code and its pinned requirements."""
    candidates = candidates or (CHECKOUT, INSTALLED)
    for candidate in candidates:
        if (candidate / REQUIREMENTS).is_file() and (candidate / "payments").is_dir():
            return candidate
    raise BuildError("the Lambda source is missing: looked in "
                     f"{', '.join(str(c) for c in candidates)}; run from a checkout or "
                     "reinstall the project (pip install .)")
