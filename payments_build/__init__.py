"""The build: CloudFormation templates and Lambda zips, byte-identical across runs and machines.

`python build.py [--out DIR]` (the repository's entry point) and the rollout tool both call
`main()` / `render()` here, so an installed copy of the project (not only a checkout) can build
what it deploys. Nothing here calls AWS.

    sources.py      where the Lambda source is: the checkout's lambda/, or the installed copy
    lambda_zips.py  one reproducible zip per function, content-hashed
    output.py       artifacts, the manifest, writing the output directory
    main.py         render() and the command line (what it prints)
"""

from payments_build.errors import BuildError
from payments_build.main import main, render

__all__ = ["BuildError", "main", "render"]
