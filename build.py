#!/usr/bin/env python3
"""Build the CloudFormation templates and the Lambda zips into one directory.

    python build.py [--out DIR]

Writes regional.json, global.json, lambda/<function>-<sha256>.zip and manifest.json (sha256
and size of every artifact). The output is byte-identical across runs and machines. Nothing
here calls AWS. The logic is the installed package `payments_build`; this file is its entry
point in a checkout.
"""

import sys

from payments_build import main

if __name__ == "__main__":
    sys.exit(main())
