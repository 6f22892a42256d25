"""Environment configuration: a small YAML file, validated before any AWS call.

Every error names the field, the value given and what is allowed; all errors are reported at
once. Checks that depend on the templates (declared parameters, their constraints) take the
built templates' `Parameters` sections, so a parameter the data tier adds tomorrow is
accepted without a change here.
"""

from __future__ import annotations

import decimal
import difflib
import functools
import ipaddress
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import botocore.session
import yaml

from templates import names, physical_names

# The example environment, which works with --local (and the game day's default config).
EXAMPLE = Path(__file__).resolve().parents[1] / "stacksets" / "environments" / "example.yaml"
SELF_MANAGED, SERVICE_MANAGED = "SELF_MANAGED", "SERVICE_MANAGED"
PERMISSION_MODELS = {"self-managed": SELF_MANAGED, "service-managed": SERVICE_MANAGED}
ACCOUNT_ID = re.compile(r"^\d{12}$")
OU_ID = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
DEFAULT_EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
DEFAULT_ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"

# Parameters the tool fills from the config's own fields or from the build: a user may not set
# them under `parameters:` (the error says which field to use instead).
TOOL_OWNED = {
    names.NAME_PREFIX: "name_prefix", names.ENVIRONMENT_NAME: "environment",
    names.HOME_REGION: "regions.home", names.RECOVERY_REGION: "regions.recovery",
    names.ALARM_EMAIL: "alarm_email", names.API_DOMAIN_NAME: "domain.name",
    names.API_HOSTED_ZONE_ID: "domain.hosted_zone_id",
    names.ARTIFACT_BUCKET_PREFIX: "artifacts.bucket_prefix",
    names.FUNCTION_CODE_KEY: "(the build's code zip)",
}
# Set by the rollout phases from the stacks' outputs.
PHASE_OWNED = (names.RECOVERY_VPC_ID, names.PEER_REGION_READY, names.PEERING_CONNECTION_ID,
               names.GLOBAL_WRITER_ENDPOINT)
# Both regions must see the same value: the template derives each region's role from them.
SYMMETRIC = (names.HOME_VPC_CIDR, names.RECOVERY_VPC_CIDR)

SCHEMA: dict[str, Any] = {
    "environment": str, "name_prefix": str, "production": bool, "alarm_email": str,
    "target": {"account": str, "permission_model": str, "organizational_units": list,
               "administration_role_arn": str, "execution_role_name": str,
               "manage_roles": bool, "call_as": str},
    "regions": {"home": str, "recovery": str, "administration": str},
    "domain": {"name": str, "hosted_zone_id": str, "zone_name": str,
               "health_check_failure_threshold": int},
    "artifacts": {"bucket_prefix": str},
    "parameters": dict, "region_overrides": dict,
    "operation_preferences": {"region_concurrency": str, "max_concurrent_percentage": int,
                              "failure_tolerance_count": int},
}
REQUIRED = {
    "environment": "", "production": "", "target.account": "",
    "regions.home": " (the region that declares the global database, table and secret; fixed "
                    "for the life of the environment)",
    "regions.recovery": " (the standby region)",
    "regions.administration": " (where the stack set lives, e.g. us-east-1; its own setting, "
                              "independent of the home and recovery regions, and never changed)",
}
# Keys that were renamed: the old name gets an error naming the new one.
RENAMED = {
    "regions.primary": "regions.home",
    "regions.secondary": "regions.recovery",
}


class ConfigError(Exception):
    """One or more problems in the config file, each naming field, value and what is allowed."""

    def __init__(self, path: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" +
                         "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Target:
    account: str
    permission_model: str = SELF_MANAGED
    organizational_units: tuple[str, ...] = ()
    administration_role_arn: str | None = None
    execution_role_name: str = DEFAULT_EXECUTION_ROLE
    manage_roles: bool = True
    call_as: str = "SELF"


@dataclass(frozen=True)
class Domain:
    name: str
    hosted_zone_id: str = ""
    zone_name: str = ""
    health_check_failure_threshold: int = 3


@dataclass(frozen=True)
class Preferences:
    region_concurrency: str = "PARALLEL"
    max_concurrent_percentage: int = 100
    failure_tolerance_count: int = 0


@dataclass(frozen=True)
class Config:
    path: str
    environment: str
    production: bool
    target: Target
    home_region: str
    recovery_region: str
    administration_region: str
    name_prefix: str = "payments"
    alarm_email: str = ""
    domain: Domain | None = None
    artifact_bucket_prefix: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    region_overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    preferences: Preferences = Preferences()

    @property
    def regions(self) -> tuple[str, str]:
        """Home region first: the order of every operation."""
        return (self.home_region, self.recovery_region)

    @property
    def stack_set_name(self) -> str:
        return self._name(physical_names.stack_set_name())

    @property
    def global_stack_name(self) -> str:
        return self._name(physical_names.global_stack_name())

    def _name(self, pattern: str) -> str:
        return physical_names.concrete(pattern, {names.NAME_PREFIX: self.name_prefix,
                                                 names.ENVIRONMENT_NAME: self.environment})

    @property
    def call_as(self) -> dict[str, str]:
        """`CallAs` for every StackSet call that takes it: service-managed stack sets only
        (a delegated administrator must say so on each call)."""
        return {"CallAs": self.target.call_as} \
            if self.target.permission_model == SERVICE_MANAGED else {}

    def role_of(self, region: str) -> str:
        return "home" if region == self.home_region else "recovery"


@functools.lru_cache(maxsize=1)
def _known_regions() -> tuple[str, ...]:
    return tuple(sorted(botocore.session.get_session().get_available_regions("cloudformation")))


def known_regions() -> list[str]:
    """Commercial regions with CloudFormation, from botocore's bundled endpoint data (offline;
    read once per process: a botocore session takes about 0.25 s to load it)."""
    return list(_known_regions())


MAX_CONFIG_BYTES = 256 * 1024  # an environment file is a few hundred bytes
MAX_DEPTH = 16                  # the schema nests three levels; anything deeper is a mistake
MAX_INTEGER_DIGITS = 30         # a config integer is a count; Python refuses > 4300 digits
# A production environment by its name: prod, prd, production or live anywhere in it.
# EnvironmentName allows only a-z and 0-9 (2-10 characters), so a production environment per
# region is named prodeu, euprod, liveus, prd2: there is no separator to anchor on. The token
# qualified as not production is not one: directly after "pre" or "non" (preprod, nonprod,
# prelive), and "prod" that goes on as "product"/"produce" ("production" is production).
# Other words that contain a token (olive, delivery) are refused on purpose: renaming a test
# environment costs a minute, a production environment without the teardown guard can cost
# its payment data (docs/rollout.md says so).
PRODUCTION_NAME = re.compile(r"production|(?<!pre)(?<!non)(prod(?!uc)|prd|live)",
                             re.IGNORECASE)
# CloudFormation Number parameters, written plainly: digits with an optional fraction, an
# optional minus sign; no exponent, no '_' separators, no NaN or Infinity.
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def shown(value: Any, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters, for error messages: a config value is echoed
    to say what was given, never in full when it is large."""
    try:
        text = repr(value)
    except ValueError:  # an integer beyond Python's digit limit for str()
        return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class _StrictLoader(yaml.SafeLoader):
    """YAML for a config file that a person writes: no anchors or aliases (a few lines of
    aliases expand to gigabytes, the "billion laughs"), no duplicate keys (YAML says a mapping's
    keys are unique; PyYAML keeps the last silently), at most MAX_DEPTH levels of nesting."""

    def compose_node(self, parent, index):  # noqa: D102 (PyYAML's hook)
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise _Refused(f"line {event.start_mark.line + 1}: alias *{event.anchor}: anchors "
                           "and aliases are not allowed in a config (write the value out)")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(f"line {event.start_mark.line + 1}: anchor &{event.anchor}: anchors "
                           "and aliases are not allowed in a config (write the value out)")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"line {event.start_mark.line + 1}: nested more than "
                               f"{MAX_DEPTH} levels deep (the config has at most three)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):  # noqa: D102 (PyYAML's hook)
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise _Refused(f"line {line}: a key must be a plain value, got {shown(key)}")
            if key in seen:
                raise _Refused(f"line {line}: duplicate key {shown(key)} (first on line "
                               f"{seen[key]}); each key may appear once")
            seen[key] = line
            if value_node.tag == _INTEGER_TAG and _too_long(value_node.value):
                raise _Refused(f"line {value_node.start_mark.line + 1}: {key}: an integer of "
                               f"{len(value_node.value)} characters; a config integer has at "
                               f"most {MAX_INTEGER_DIGITS} digits")
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):  # noqa: D102 (PyYAML's hook)
        if _too_long(node.value):  # in a list: no key to name
            raise _Refused(f"line {node.start_mark.line + 1}: an integer of {len(node.value)} "
                           f"characters; a config integer has at most {MAX_INTEGER_DIGITS} "
                           "digits")
        return super().construct_yaml_int(node)


_INTEGER_TAG = "tag:yaml.org,2002:int"
_StrictLoader.add_constructor(_INTEGER_TAG, _StrictLoader.construct_yaml_int)


def _too_long(text: str) -> bool:
    return sum(c.isdigit() for c in text) > MAX_INTEGER_DIGITS


class _Refused(Exception):
    pass


def read(path: str | Path) -> dict[str, Any]:
    """The config file as a mapping, or ConfigError: too large, not UTF-8, not YAML, or YAML
    that a config must not use (aliases, duplicate keys, deep nesting)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(str(path), [f"cannot be read ({error.strerror or error})"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), [f"larger than {MAX_CONFIG_BYTES} bytes; an environment "
                                      "file is a few hundred bytes"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(str(path), [f"not UTF-8 text (byte {error.start}: "
                                      f"{data[error.start:error.start + 1]!r}); save the file "
                                      "as UTF-8"]) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as refused:
        raise ConfigError(str(path), [str(refused)]) from None
    except (yaml.YAMLError, RecursionError) as error:
        raise ConfigError(str(path), [f"not valid YAML: {error}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), [f"top level: got {type(raw).__name__}, expected a mapping"])
    return raw


def production_name_problems(raw: dict[str, Any]) -> list[str]:
    """`production: false` with an environment named like a production one (pure, on the
    raw file: the CLI runs it before the build)."""
    environment = _get(raw, "environment", "")
    found = PRODUCTION_NAME.search(environment) if isinstance(environment, str) else None
    if _get(raw, "production") is not False or found is None:
        return []
    return [f"production: false, but environment {shown(environment)} names a production "
            f"environment (it contains {found[0]!r}: prod, prd, production or live anywhere in "
            "the name); set production: true (a production environment refuses teardown "
            "without --confirm-production), or name the environment for what it is without "
            "them (e.g. staging, test, dev)"]


def check_before_build(raw: dict[str, Any], path: str) -> None:
    """What the raw config file can be refused for before the build: ConfigError."""
    problems = production_name_problems(raw)
    if problems:
        raise ConfigError(path, problems)


def _walk(raw: Any, schema: Any, where: str, problems: list[str]) -> None:
    """Unknown keys and wrong types, recursively."""
    if isinstance(schema, dict):
        if not isinstance(raw, dict):
            problems.append(f"{where}: got {shown(raw)}, expected a mapping with keys "
                            f"{', '.join(sorted(schema))}")
            return
        for key, value in raw.items():
            path = f"{where}.{key}" if where else str(key)
            if path in RENAMED:
                problems.append(f"{path}: renamed to {RENAMED[path]} (the home region declares "
                                "the global resources and never changes; the Aurora writer "
                                "moves between regions, the roles do not)")
            elif key not in schema:
                close = difflib.get_close_matches(str(key), list(schema), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(f"{path}: unknown key; {hint}allowed keys here: "
                                f"{', '.join(sorted(schema))}")
            else:
                _walk(value, schema[key], path, problems)
    elif schema is int and (isinstance(raw, bool) or not isinstance(raw, int)):
        problems.append(f"{where}: got {shown(raw)}, expected an integer")
    elif schema is not int and not isinstance(raw, schema):
        problems.append(f"{where}: got {shown(raw)}, expected {schema.__name__}")


def _raw(raw: dict, dotted: str, default: Any = None) -> Any:
    node: Any = raw
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _get(raw: dict, dotted: str, default: Any = None) -> Any:
    """The value at `dotted` if it has the type SCHEMA gives it, else `default`: `_walk` has
    reported a value of the wrong type already, and no later check may trip over it."""
    value = _raw(raw, dotted, default)
    expected: Any = SCHEMA
    for part in dotted.split("."):
        expected = expected.get(part) if isinstance(expected, dict) else None
    if value is default or expected is None:
        return value
    if isinstance(expected, dict):
        return value if isinstance(value, dict) else default
    if expected is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else default
    return value if isinstance(value, expected) else default


def _string_values(mapping: Any, where: str, problems: list[str]) -> dict[str, str]:
    """CloudFormation parameters are strings; numbers and booleans are converted
    (`true` -> "true"), anything else is an error."""
    values = {}
    for key, value in (mapping or {}).items():
        if isinstance(value, bool):
            values[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            values[str(key)] = str(value)
        else:
            problems.append(f"{where}.{key}: got {shown(value)}, expected a string or number")
    return values


def check_parameter(name: str, value: str, declaration: Mapping[str, Any]) -> str | None:
    """The template's own constraints on a parameter value, as CloudFormation applies them."""
    allowed = declaration.get("AllowedValues")
    if allowed is not None and value not in [str(v) for v in allowed]:
        return f"got {shown(value)}; allowed values: {', '.join(map(str, allowed))}"
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        expected = declaration.get("ConstraintDescription") or \
            f"something matching the template's AllowedPattern {pattern}"
        return f"got {shown(value)}; must be {expected}"
    for bound, test in (("MinLength", lambda b: len(value) >= b),
                        ("MaxLength", lambda b: len(value) <= b)):
        if bound in declaration and not test(int(declaration[bound])):
            return f"got {shown(value)} ({len(value)} characters); {bound} is {declaration[bound]}"
    if declaration.get("Type") == "Number":
        return _number_problem(value, declaration)
    return None


def _number_problem(value: str, declaration: Mapping[str, Any]) -> str | None:
    """A Number parameter: plain decimal digits, within MinValue/MaxValue, and a whole number
    when the template's own default and bounds are whole numbers (every Number these
    templates declare is a count: days, concurrency, requests, minutes)."""
    whole = all(_is_whole(declaration[k]) for k in ("Default", "MinValue", "MaxValue")
                if k in declaration)
    if not DECIMAL.fullmatch(value):
        return (f"got {shown(value)}; expected a {'whole ' if whole else ''}number written "
                "with digits" + ("" if whole else " and an optional fraction, e.g. 12.5"))
    number = decimal.Decimal(value)
    if whole and number != number.to_integral_value():
        return f"got {shown(value)}; expected a whole number"
    if "MinValue" in declaration and number < decimal.Decimal(str(declaration["MinValue"])):
        return f"got {shown(value)}; MinValue is {declaration['MinValue']}"
    if "MaxValue" in declaration and number > decimal.Decimal(str(declaration["MaxValue"])):
        return f"got {shown(value)}; MaxValue is {declaration['MaxValue']}"
    return None


def _is_whole(bound: Any) -> bool:
    text = str(bound)
    return DECIMAL.fullmatch(text) is not None and \
        decimal.Decimal(text) == decimal.Decimal(text).to_integral_value()


def _check_user_parameters(values: dict[str, str], where: str, declared: Mapping[str, Any],
                           problems: list[str]) -> None:
    for name, value in values.items():
        if name in TOOL_OWNED:
            problems.append(f"{where}.{name}: set by the tool from {TOOL_OWNED[name]}; "
                            "set that field instead")
        elif name in PHASE_OWNED:
            problems.append(f"{where}.{name}: set by the rollout phases from stack outputs; "
                            "remove it")
        elif name not in declared:
            problems.append(f"{where}.{name}: the regional template declares no such parameter; "
                            f"declared: {', '.join(sorted(declared))}")
        else:
            reason = check_parameter(name, value, declared[name])
            if reason:
                problems.append(f"{where}.{name}: {reason}")


def _cidrs_overlap(parameters: dict[str, str], declared: Mapping[str, Any],
                   problems: list[str]) -> None:
    cidrs = {}
    for name in SYMMETRIC:
        value = parameters.get(name, str(declared.get(name, {}).get("Default", "")))
        try:
            cidrs[name] = ipaddress.ip_network(value)
        except ValueError:
            if name in parameters:
                problems.append(f"parameters.{name}: got {shown(value)}; expected a CIDR block")
    if len(cidrs) == 2:
        home, recovery = (cidrs[n] for n in SYMMETRIC)
        if home.overlaps(recovery):
            problems.append(f"parameters.{SYMMETRIC[1]}: {recovery} overlaps "
                            f"{SYMMETRIC[0]} {home}; VPC peering needs disjoint CIDRs, "
                            "e.g. 10.0.0.0/16 and 10.1.0.0/16")


def validate(raw: dict[str, Any], path: str, regional_parameters: Mapping[str, Any],
             regions: list[str] | None = None) -> Config:
    """Turn the raw YAML into a Config, or raise ConfigError listing every problem."""
    problems: list[str] = []
    regions = regions if regions is not None else known_regions()
    _walk(raw, SCHEMA, "", problems)
    for dotted, why in REQUIRED.items():
        if _raw(raw, dotted) is None and not (dotted in RENAMED.values() and any(
                _raw(raw, old) is not None for old, new in RENAMED.items() if new == dotted)):
            problems.append(f"{dotted}: required{why}")

    environment = str(_get(raw, "environment", ""))
    prefix = str(_get(raw, "name_prefix", "payments"))
    for key, value, parameter in (("environment", environment, names.ENVIRONMENT_NAME),
                                  ("name_prefix", prefix, names.NAME_PREFIX)):
        if parameter in regional_parameters and _get(raw, key) is not None:
            reason = check_parameter(parameter, value, regional_parameters[parameter])
            if reason:
                problems.append(f"{key}: {reason}")

    problems += production_name_problems(raw)

    account = str(_get(raw, "target.account", ""))
    if _get(raw, "target.account") is not None and not ACCOUNT_ID.match(account):
        problems.append(f"target.account: got {shown(account)}; expected 12 digits (quote it in "
                        "YAML so leading zeros survive)")
    model_name = _get(raw, "target.permission_model", "self-managed")
    if model_name not in PERMISSION_MODELS:
        problems.append(f"target.permission_model: got {shown(model_name)}; allowed values: "
                        f"{', '.join(PERMISSION_MODELS)}")
    permission_model = PERMISSION_MODELS.get(model_name, SELF_MANAGED)
    ous = [str(ou) for ou in _get(raw, "target.organizational_units", None) or []]
    for ou in ous:
        if not OU_ID.match(ou):
            problems.append(f"target.organizational_units: got {shown(ou)}; expected ou-xxxx-xxxxxxxx "
                            "or r-xxxx")
    if permission_model == SERVICE_MANAGED and not ous:
        problems.append("target.organizational_units: required with permission_model "
                        "service-managed (the account is deployed through its OU)")
    if permission_model == SELF_MANAGED and ous:
        problems.append(f"target.organizational_units: got {ous}; only allowed with "
                        "permission_model service-managed")
    call_as = _get(raw, "target.call_as", "SELF")
    if call_as not in ("SELF", "DELEGATED_ADMIN"):
        problems.append(f"target.call_as: got {shown(call_as)}; allowed values: SELF, DELEGATED_ADMIN")

    home = _get(raw, "regions.home")
    recovery = _get(raw, "regions.recovery")
    administration = _get(raw, "regions.administration")
    for key, value in (("regions.home", home), ("regions.recovery", recovery),
                       ("regions.administration", administration)):
        if value is not None and value not in regions:
            problems.append(f"{key}: got {shown(value)}; not a region with CloudFormation; known: "
                            f"{', '.join(regions)}")
    if home is not None and home == recovery:
        problems.append(f"regions.recovery: got {shown(recovery)}, the same as regions.home; "
                        "the standby must be a different region")

    alarm_email = str(_get(raw, "alarm_email", ""))
    if alarm_email and names.ALARM_EMAIL in regional_parameters:
        reason = check_parameter(names.ALARM_EMAIL, alarm_email,
                                 regional_parameters[names.ALARM_EMAIL])
        if reason:
            problems.append(f"alarm_email: {reason}")

    domain = None
    if isinstance(_get(raw, "domain"), dict):
        if not _get(raw, "domain.name"):
            problems.append("domain.name: required when domain is given (the failover name, "
                            "e.g. api.example.com)")
        threshold = _get(raw, "domain.health_check_failure_threshold", 3)
        if isinstance(threshold, int) and not 1 <= threshold <= 10:
            problems.append(f"domain.health_check_failure_threshold: got {threshold}; allowed: "
                            "1..10 (Route 53 FailureThreshold)")
        domain = Domain(name=str(_get(raw, "domain.name", "")),
                        hosted_zone_id=str(_get(raw, "domain.hosted_zone_id", "")),
                        zone_name=str(_get(raw, "domain.zone_name", "")),
                        health_check_failure_threshold=threshold)

    bucket_prefix = str(_get(raw, "artifacts.bucket_prefix", "") or physical_names.concrete(
        physical_names.artifact_bucket_prefix(), {names.NAME_PREFIX: prefix,
                                                  names.ENVIRONMENT_NAME: environment,
                                                  "AWS::AccountId": account}))
    longest = max(regions or ["us-east-1"], key=len) if not (home and recovery) \
        else max((home, recovery, "us-east-1"), key=len)
    longest_bucket = physical_names.concrete(physical_names.artifact_bucket_name(longest),
                                             {names.ARTIFACT_BUCKET_PREFIX: bucket_prefix})
    if not BUCKET_NAME.match(longest_bucket):
        problems.append(f"artifacts.bucket_prefix: got {shown(bucket_prefix)}; "
                        f"{shown(longest_bucket)} is not a valid S3 bucket name "
                        "(3-63 characters: lowercase letters, digits, hyphens)")

    parameters = _string_values(_get(raw, "parameters", {}), "parameters", problems)
    _check_user_parameters(parameters, "parameters", regional_parameters, problems)
    _cidrs_overlap(parameters, regional_parameters, problems)

    overrides: dict[str, dict[str, str]] = {}
    for region, values in (_get(raw, "region_overrides", {}) or {}).items():
        where = f"region_overrides.{region}"
        if region not in (home, recovery) and home and recovery:
            problems.append(f"{where}: got region {region!r}; allowed: the configured regions "
                            f"{home}, {recovery}")
            continue
        if not isinstance(values, dict):
            problems.append(f"{where}: got {shown(values)}, expected a mapping of parameters")
            continue
        overrides[region] = _string_values(values, where, problems)
        for name in SYMMETRIC:
            if name in overrides[region]:
                problems.append(f"{where}.{name}: both regions must see the same value; set it "
                                "under parameters")
        _check_user_parameters({k: v for k, v in overrides[region].items()
                                if k not in SYMMETRIC}, where, regional_parameters, problems)
        for name in overrides[region]:
            if name in regional_parameters and name not in parameters and \
                    "Default" not in regional_parameters[name]:
                problems.append(f"{where}.{name}: the template has no default for it, so the "
                                "stack set needs a value too (AWS only overrides parameters "
                                f"the stack set has); set parameters.{name} as well")

    concurrency = _get(raw, "operation_preferences.region_concurrency", "PARALLEL")
    if concurrency not in ("PARALLEL", "SEQUENTIAL"):
        problems.append(f"operation_preferences.region_concurrency: got {shown(concurrency)}; "
                        "allowed values: PARALLEL, SEQUENTIAL")
    percentage = _get(raw, "operation_preferences.max_concurrent_percentage", 100)
    if isinstance(percentage, int) and not 1 <= percentage <= 100:
        problems.append(f"operation_preferences.max_concurrent_percentage: got {percentage}; "
                        "allowed: 1..100")
    tolerance = _get(raw, "operation_preferences.failure_tolerance_count", 0)
    if isinstance(tolerance, int) and tolerance != 0:
        problems.append(f"operation_preferences.failure_tolerance_count: got {tolerance}; "
                        "allowed: 0. FailureToleranceCount counts failed stack instances "
                        "per region, and with one account per region any tolerance lets a "
                        "failed region end SUCCEEDED; every later phase needs both regions")

    if problems:
        raise ConfigError(path, problems)
    return Config(
        path=path, environment=environment, production=bool(raw["production"]),
        target=Target(account=account, permission_model=permission_model,
                      organizational_units=tuple(ous),
                      administration_role_arn=_get(raw, "target.administration_role_arn"),
                      execution_role_name=_get(raw, "target.execution_role_name",
                                               DEFAULT_EXECUTION_ROLE),
                      manage_roles=_get(raw, "target.manage_roles", True), call_as=call_as),
        home_region=home, recovery_region=recovery,
        administration_region=administration, name_prefix=prefix,
        alarm_email=alarm_email, domain=domain, artifact_bucket_prefix=bucket_prefix,
        parameters=parameters, region_overrides=overrides,
        preferences=Preferences(concurrency, percentage, tolerance))


def load(path: str | Path, regional_parameters: Mapping[str, Any]) -> Config:
    return validate(read(path), str(path), regional_parameters)
