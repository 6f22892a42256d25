"""troposphere code for the two CloudFormation templates of the payment DR system.

No I/O and no AWS calls here: `build_regional()` and `build_global()` return templates, and
`build.py` writes them.
"""

from .global_stack import build_global
from .regional import build_regional

__all__ = ["build_global", "build_regional"]
