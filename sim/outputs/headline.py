"""The answer a run's results give, as a few facts computed from its summary.

One computation, two renderers: the terminal summary (``sim.outputs.report``) and the HTML report
(``sim.outputs.run_page``) both show :func:`headline`'s facts in its order, so the terminal and the
page say the same thing. Each figure keeps the path of its value in ``summary.json``, and the page
carries that path beside the figure, so a test can check every number shown against the file.

The order follows what the scenario is about: a closed loop leads with what the network did
(voice calls failed, the busiest limited node's load against its capacity, the storm's peak
against the level before it), then the load (signalling per device-hour), then who makes it (the
top app's share of signalling against its share of data, the top tenth of devices' share).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Keys = tuple[str | int, ...]  # keys (and list indices) into summary.json, outermost first


@dataclass(frozen=True)
class Figure:
    """A number shown: where it is in the summary, its value and its text."""

    path: Keys
    value: float | None
    text: str


@dataclass(frozen=True)
class Fact:
    """A headline: ``figure`` is the number that answers, ``label`` what it measures, ``details``
    the figures that qualify it, each with its text around it (``"{} attempts"``: ``{}`` stands for
    the figure), shown one after the other, separated by commas. ``key`` names the kind of fact
    (``calls``, ``node``, ``storm``, ``signalling``, ``top_app``, ``concentration``, or a page's own)."""

    key: str
    figure: Figure
    label: str
    details: tuple[tuple[str, Figure], ...] = ()


NODE_HEADERS = ("node", "load / capacity", "utilization", "rejected", "p95 wait")


def headline(summary: dict[str, Any]) -> list[Fact]:
    """The run's headline facts, most telling first (see the module docstring)."""
    closed = "controlplane" in summary
    calls = _calls(summary) if summary.get("calls", {}).get("attempts") else []
    outcomes = [*calls, *_busiest_node(summary), *_storm(summary)] if closed else []
    load = [_signalling(summary), *_top_app(summary), _concentration(summary)]
    return outcomes + load + ([] if closed else calls)


def limited_nodes(summary: dict[str, Any]) -> list[tuple[str, tuple[Figure, ...]]]:
    """Each capacity-limited node with its figures under :data:`NODE_HEADERS` (after the name)."""
    rows = []
    for name, node in summary.get("controlplane", {}).items():
        if isinstance(node, dict):
            at = ("controlplane", name)
            rows.append((name, (pct(at + ("offered_load",), node), pct(at + ("utilization",), node),
                                count(at + ("rejected_procedures",), node), seconds(at + ("wait_p95_s",), node))))
    return rows


def _calls(summary: dict[str, Any]) -> list[Fact]:
    calls = summary["calls"]
    return [Fact("calls", pct(("calls", "failure_ratio"), calls), "of voice calls failed",
                 (("{} attempts", count(("calls", "attempts"), calls)),
                  ("setup p95 {}", seconds(("calls", "setup_p95_s"), calls))))]


def _busiest_node(summary: dict[str, Any]) -> list[Fact]:
    nodes = {n: v for n, v in summary["controlplane"].items() if isinstance(v, dict)}
    if not nodes:
        return []
    name = max(nodes, key=lambda n: (nodes[n].get("offered_load", 0.0), nodes[n].get("utilization", 0.0)))
    node, at = nodes[name], ("controlplane", name)
    return [Fact("node", pct(at + ("offered_load",), node), f"{name} load against capacity",
                 (("utilization {}", pct(at + ("utilization",), node)),
                  ("{} rejected", count(at + ("rejected_procedures",), node))))]


def _storm(summary: dict[str, Any]) -> list[Fact]:
    storm = summary.get("signalling", {}).get("storm")
    if not storm or storm.get("peak_per_s") is None:
        return []
    at = ("signalling", "storm")
    peak = Figure(at + ("peak_per_s",), storm["peak_per_s"], num(storm["peak_per_s"]))
    when = ("at {}", Figure(at + ("peak_t_s",), storm["peak_t_s"], duration(storm["peak_t_s"])))
    if storm.get("peak_ratio") is None:  # no level before the first event to compare with
        return [Fact("storm", peak, "storm peak (msg/s)", (when,))]
    return [Fact("storm", Figure(at + ("peak_ratio",), storm["peak_ratio"], f"{storm['peak_ratio']:,.2f}×"),
                 "storm peak / pre-event level",
                 (("peak {} msg/s", peak), when,
                  ("before {}", Figure(at + ("baseline_per_s",), storm["baseline_per_s"],
                                              num(storm["baseline_per_s"])))))]


def _signalling(summary: dict[str, Any]) -> Fact:
    sig = summary.get("signalling", {})
    return Fact("signalling", Figure(("signalling", "messages_per_device_hour"), sig.get("messages_per_device_hour"),
                                     num(sig.get("messages_per_device_hour"))),
                "signalling messages per device-hour",
                (("{} messages in all", count(("signalling", "messages_total"), sig)),))


def _top_app(summary: dict[str, Any]) -> list[Fact]:
    apps = summary.get("apps", {})
    if not apps:
        return []
    name = max(apps, key=lambda a: apps[a].get("signalling_share", 0.0))
    app, at = apps[name], ("apps", name)
    return [Fact("top_app", pct(at + ("signalling_share",), app), f"of signalling from {name}",
                 (("{} of its data", pct(at + ("bytes_share",), app)),))]


def _concentration(summary: dict[str, Any]) -> Fact:
    conc = summary.get("concentration", {})
    at = ("concentration",)
    return Fact("concentration", pct(at + ("top_share", "10"), conc.get("top_share", {})),
                "of signalling from the top 10% of devices",
                (("Gini {}", Figure(at + ("gini",), conc.get("gini"), num(conc.get("gini"), 3))),))


def pct(path: Keys, within: dict[str, Any]) -> Figure:
    """The fraction at ``path`` (its last key looked up in ``within``) shown as a percentage."""
    value = within.get(path[-1])
    return Figure(path, value, percent(value))


def count(path: Keys, within: dict[str, Any]) -> Figure:
    value = within.get(path[-1])
    return Figure(path, value, integer(value))


def seconds(path: Keys, within: dict[str, Any]) -> Figure:
    value = within.get(path[-1])
    return Figure(path, value, "-" if value is None else f"{float(value):,.2f} s")


def integer(value: Any) -> str:
    return f"{int(round(float(value))):,}" if value is not None else "-"


def num(value: Any, digits: int = 1) -> str:
    return f"{float(value):,.{digits}f}" if value is not None else "-"


def percent(value: Any, total: Any = None) -> str:
    """``value`` as a percentage; a fraction, or a count out of ``total`` (``-`` when undefined)."""
    if value is None:
        return "-"
    if total is not None:
        if not total:
            return "-"
        value = float(value) / float(total)
    return f"{100 * float(value):,.1f}%"


def duration(seconds: Any) -> str:
    """A time or a span in the unit that reads best: s, min or h."""
    if seconds is None:
        return "-"
    seconds = float(seconds)
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"
