"""`python -m stacksets`: the rollout verbs of `payments-dr` (plan, deploy, status, drift,
destroy). The DR runbook, merchant keys and the cost are `payments-dr dr|keys|cost`."""

import sys

from payments_dr.cli import ROLLOUT, main

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ("dr", "keys", "cost"):
        sys.exit(f"python -m stacksets runs the rollout ({', '.join(ROLLOUT)}); "
                 f"{sys.argv[1]} is `payments-dr {sys.argv[1]} ...`")
    sys.exit(main(verbs=ROLLOUT, prog="python -m stacksets"))
