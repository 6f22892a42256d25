"""`payments-dr bench`: the payment's path to its 201, measured (run.py)."""
