"""Tags every taggable resource carries, so cost and audit reports can slice by environment."""

from troposphere import Ref, Sub, Tags

from . import names


def tags(role: str, **extra: str) -> Tags:
    """Standard tags plus a `Name` of the form `<prefix>-<env>-<role>`."""
    return Tags(
        Name=Sub(f"${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}-{role}"),
        Project=Ref(names.NAME_PREFIX),
        Environment=Ref(names.ENVIRONMENT_NAME),
        **extra,
    )


def name(role: str) -> Sub:
    """A deterministic physical name `<prefix>-<env>-<role>` (same in every region)."""
    return Sub(f"${{{names.NAME_PREFIX}}}-${{{names.ENVIRONMENT_NAME}}}-{role}")
