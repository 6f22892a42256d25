"""The errors a command reports (imported everywhere, depends on nothing). The CLI's one error
path (payments_dr/cli.py) maps each to its exit code and result."""


class UsageError(Exception):
    """Invalid input found before any AWS call: a missing file, a bad option (exit 2)."""


class Refused(Exception):
    """A command refused before doing anything, e.g. a production teardown or a runbook whose
    preflight fails (exit 1); `details` are the reasons, one per line."""

    def __init__(self, message: str, details: list[str] | tuple[str, ...] = ()):
        super().__init__(message)
        self.details = list(details)


class RolloutError(Exception):
    """A failure the user must act on; `details` are printed one per line."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []


class StaleState(Exception):
    """CloudFormation answered StaleRequestException: another operation changed the stack set
    since it was observed. The caller observes again and plans anew."""
