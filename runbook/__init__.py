"""DR runbook: status, switchover, failover, failback, and the local drill.

Same shape as the rollout (`stacksets/plan.py`): an adapter observes the world into a frozen
`DrState`, a pure `next_step()` per runbook decides one action (or a wait, a refusal, done), the
adapter acts, and the loop observes again. A re-run of an interrupted runbook resumes from what
the world shows, and `--dry-run` is observing plus one call to `next_step()`.
"""
