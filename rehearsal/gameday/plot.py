"""`dr drill --plot FILE.png`: client requests per AWS second by outcome, with the drill's
events marked. Needs matplotlib (the `plot` extra); imported only for --plot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

OUTCOMES = (("201", "201 acknowledged", "tab:green"), ("503", "503 retry-after", "tab:orange"),
            ("0", "no connection", "tab:red"), ("other", "other", "tab:gray"))


def draw(result: dict[str, Any], path: Path) -> None:
    end = int(result["simulated_seconds"]) + 1
    counts: dict[str, Counter] = {key: Counter() for key, _, _ in OUTCOMES}
    for t, _region, status in result["requests"]:
        key = str(status) if str(status) in counts else "other"
        counts[key][int(t)] += 1
    seconds = list(range(end))
    figure, axes = plt.subplots(figsize=(11, 4.5))
    bottom = [0] * end
    for key, label, colour in OUTCOMES:
        values = [counts[key][s] for s in seconds]
        if any(values):
            axes.bar(seconds, values, bottom=bottom, width=1.0, label=label, color=colour)
            bottom = [b + v for b, v in zip(bottom, values)]
    top = max(bottom + [1])
    for number, event in enumerate(result["events"]):
        axes.axvline(event["t"], color="black", linewidth=0.8, linestyle="--")
        axes.text(event["t"] + 1, top * (0.95 - 0.09 * (number % 6)), event["event"][:48],
                  fontsize=7)
    axes.set_xlabel("AWS seconds (simulated)")
    axes.set_ylabel("client requests per second")
    axes.set_title(f"DR drill: RTO {result['rto_seconds']} s, RPO {result['rpo_seconds']} s, "
                   f"lost {result['lost_acknowledged']}, duplicates {result['duplicates']}")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
