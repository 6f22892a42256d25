"""What a game day runs: the load, the clients, the network, the mode, the timeline. Defaults
are the issue's numbers (at least 20 payments per simulated second, at least 200 ms of
replication delay) and AWS's typical latencies (rehearsal/aws_figures.py); every value can be
given on the command line (`payments-dr dr drill --local --help`)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from rehearsal.aws_figures import TYPICAL, Latencies
from rehearsal.gameday.clients import Behaviour, Range

ZERO_LOSS_MODES = ("on", "off")


@dataclass(frozen=True)
class Scenario:
    rate: float = 20.0                 # new orders per simulated second (Poisson arrivals)
    clients: int = 50                  # merchants' integrations, each with its own DNS cache
    behaviour: Behaviour = field(default_factory=Behaviour)
    latencies: Latencies = TYPICAL
    zero_loss: str = "off"
    zero_loss_wait_ms: int = 1500
    zero_loss_degrade_after_seconds: int = 10  # wall seconds, in the processor
    loss_at: float = 15.5              # AWS seconds: mid-second, between two health probes
    home_back_after: int = 90          # AWS seconds after the failover is done (DNS has moved)
    tail: int = 10                     # AWS seconds of new orders after the failback
    settle: int = 600                  # at most this long after the tail for retries to end
    operator_delay: int = 0            # AWS seconds between the page and `dr failover`
    wall_per_second: float = 0.05      # wall seconds a simulated second takes, at least
    seed: int = 1

    def __post_init__(self) -> None:
        problems = []
        for name, low, high in BOUNDS:
            value = getattr(self, name)
            if not low <= value <= high:
                problems.append(f"--{name.replace('_', '-')} {value:g}: allowed {low:g} to "
                                f"{high:g}")
        for name in ("dynamodb_ms", "s3_ms", "db_round_trip_ms", "replication_ms"):
            value = getattr(self.latencies, name)
            if not 0 <= value <= 5000:
                problems.append(f"{name.replace('_ms', '')} latency {value:g} ms: allowed 0 to "
                                "5000")
        if not 0 <= self.behaviour.new_key_share <= 1:
            problems.append(f"--new-key-share {self.behaviour.new_key_share:g}: allowed 0 to 1")
        if not 1 <= self.behaviour.max_keys <= 20:
            problems.append(f"--max-keys {self.behaviour.max_keys}: allowed 1 to 20")
        if self.zero_loss not in ZERO_LOSS_MODES:
            problems.append(f"--zero-loss {self.zero_loss!r}: allowed {ZERO_LOSS_MODES}")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def given(cls, **options: Any) -> Scenario:
        """The defaults with the options that were given (None: not given). Latencies and the
        clients' behaviour are built from their own options."""
        given = {k: v for k, v in options.items() if v is not None}
        latencies = replace(TYPICAL, **{k: given.pop(k) for k in list(given)
                                        if k in {f.name for f in fields(Latencies)}})
        behaviour = {k: given.pop(k) for k in list(given)
                     if k in {f.name for f in fields(Behaviour)}}
        for name in ("timeout", "patience"):
            if isinstance(behaviour.get(name), str):
                try:
                    behaviour[name] = Range.parse(behaviour[name])
                except ValueError as error:
                    raise ValueError(f"--{name} {error}") from None
        return cls(latencies=latencies, behaviour=replace(Behaviour(), **behaviour), **given)

    def to_json(self) -> dict[str, Any]:
        return {"rate_per_second": self.rate, "clients": self.clients,
                "client_behaviour": self.behaviour.to_json(),
                "injected_latencies_ms": self.latencies.to_json(),
                "zero_loss": self.zero_loss, "zero_loss_wait_ms": self.zero_loss_wait_ms,
                "zero_loss_degrade_after_seconds": self.zero_loss_degrade_after_seconds,
                "loss_at": self.loss_at, "home_back_after": self.home_back_after,
                "tail": self.tail, "operator_delay": self.operator_delay,
                "wall_ms_per_simulated_second": round(self.wall_per_second * 1000),
                "seed": self.seed}


BOUNDS = (("rate", 0.1, 200), ("clients", 1, 1000), ("loss_at", 1, 600),
          ("home_back_after", 0, 3600), ("tail", 0, 600), ("settle", 0, 3600),
          ("operator_delay", 0, 3600), ("wall_per_second", 0.01, 10),
          ("zero_loss_wait_ms", 1, 60000), ("zero_loss_degrade_after_seconds", 1, 3600))
