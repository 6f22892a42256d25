"""The rollout's error for failures a user must act on (imported everywhere, depends on nothing)."""


class RolloutError(Exception):
    """A failure the user must act on; `details` are printed one per line."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []


class StaleState(Exception):
    """CloudFormation answered StaleRequestException: another operation changed the stack set
    since it was observed. The caller observes again and plans anew."""
