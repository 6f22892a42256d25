"""`dr drill --plot FILE.png`: client requests per AWS second by outcome, with the drill's
events numbered on the time axis and listed in full under the chart (labels written on the
chart overlapped as soon as two events were close). Needs matplotlib (the `plot` extra);
imported only for --plot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

OUTCOMES = (("201", "201 acknowledged", "tab:green"), ("503", "503 retry-after", "tab:orange"),
            ("409", "409 in progress", "tab:purple"),
            ("500", "500 internal error", "tab:brown"),
            ("no connection", "no connection", "tab:red"),
            ("no answer (client timeout)", "no answer (timeout)", "black"),
            ("other", "other", "tab:gray"))
KNOWN = {key for key, _, _ in OUTCOMES}


def draw(result: dict[str, Any], path: Path) -> None:
    end = int(result["simulated_seconds"]) + 1
    counts: dict[str, Counter] = {key: Counter() for key in KNOWN}
    for second, _region, label, number in result["requests_per_second"]:
        counts[label if label in KNOWN else "other"][int(second)] += number
    events = result["events"]
    seconds = list(range(end))
    figure, (axes, listing) = plt.subplots(
        2, 1, figsize=(12, 5 + 0.22 * len(events)),
        gridspec_kw={"height_ratios": [4, max(1.0, 0.28 * len(events))]})
    bottom = [0] * end
    for key, label, colour in OUTCOMES:
        values = [counts[key][s] for s in seconds]
        if any(values):
            axes.bar(seconds, values, bottom=bottom, width=1.0, label=label, color=colour)
            bottom = [b + v for b, v in zip(bottom, values)]
    top = max(bottom + [1])
    lanes: list[float] = []  # the last t marked in each lane: close events go one lane down
    for number, event in enumerate(events, start=1):
        lane = next((i for i, t in enumerate(lanes) if event["t"] - t >= 0.04 * end),
                    len(lanes))
        lanes[lane:lane + 1] = [event["t"]]
        axes.axvline(event["t"], color="black", linewidth=0.7, linestyle="--")
        axes.text(event["t"], top * (1.02 + 0.06 * lane), str(number), fontsize=8,
                  ha="center", va="bottom")
    axes.set_ylim(0, top * (1.1 + 0.06 * len(lanes)))
    axes.set_xlim(0, end)
    axes.set_xlabel("AWS seconds (simulated)")
    axes.set_ylabel("client requests per second")
    axes.set_title(f"DR drill (zero-loss {result.get('zero_loss')}): RTO "
                   f"{result['rto_seconds']} s, in flight at the loss "
                   f"{result.get('in_flight_at_loss')}, lost {result['lost_acknowledged']}, "
                   f"false successes {result.get('false_successes')}, duplicate charges "
                   f"{result.get('duplicate_charges')}")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    listing.axis("off")
    for row, event in enumerate(events):
        listing.text(0.0, 1 - row / max(1, len(events)),
                     f"{row + 1:>2}. t={event['t']:>6.1f}  {event['event']}", fontsize=8,
                     family="monospace", va="top", transform=listing.transAxes)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
