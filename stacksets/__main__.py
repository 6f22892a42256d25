"""`python -m stacksets`: the rollout verbs of `payments-dr` (plan, deploy, status, drift,
destroy). The DR runbook, merchant keys, the cost and verify are `payments-dr dr|keys|cost|verify`
(asked here, they are refused as bad input, exit 2, naming the command to use)."""

from payments_dr.entry import console

if __name__ == "__main__":
    console(rollout_only=True)
