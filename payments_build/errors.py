"""The one error type of the build."""


class BuildError(Exception):
    """A build input is wrong; the message says what and how to fix it."""
