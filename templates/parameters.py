"""Parameter declaration with the console metadata (`AWS::CloudFormation::Interface`) kept
beside it, so a parameter cannot exist without a group, a label and a description."""

from dataclasses import dataclass, field

from troposphere import Parameter, Ref, Template

REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
CIDR16_PATTERN = r"^(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.0\.0/16$"
EMAIL_OR_EMPTY_PATTERN = r"^$|^[^\s@]+@[^\s@]+\.[^\s@]+$"
HOSTNAME_PATTERN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ZONE_ID_PATTERN = r"^Z[A-Z0-9]{1,31}$"


@dataclass
class ParameterSet:
    """Adds parameters to one template and renders their interface metadata at the end."""

    template: Template
    groups: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, *, group: str, label: str, description: str, **props) -> Ref:
        if not (props.get("AllowedValues") or props.get("AllowedPattern")
                or props.get("Type", "String") != "String"):
            raise ValueError(f"parameter {name} needs AllowedValues or AllowedPattern")
        props.setdefault("Type", "String")
        self.template.add_parameter(Parameter(name, Description=description, **props))
        self.groups.setdefault(group, []).append(name)
        self.labels[name] = label
        return Ref(name)

    def interface(self) -> dict:
        return {
            "ParameterGroups": [
                {"Label": {"default": group}, "Parameters": params}
                for group, params in self.groups.items()
            ],
            "ParameterLabels": {name: {"default": label} for name, label in self.labels.items()},
        }

    def finish(self) -> None:
        """Write the interface metadata; call once, after the last parameter."""
        metadata = dict(self.template.metadata or {})
        metadata["AWS::CloudFormation::Interface"] = self.interface()
        self.template.set_metadata(metadata)
