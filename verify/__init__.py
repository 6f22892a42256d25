"""`payments-dr verify`: a live verification of a deployed environment (verify/command.py)."""
