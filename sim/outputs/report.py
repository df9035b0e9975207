"""A short terminal summary of a run, printed with rich."""
from __future__ import annotations

from typing import Any, Protocol

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from sim.errors import printable
from sim.outputs.headline import NODE_HEADERS, duration, headline, integer, limited_nodes, num, percent


class ReportResults(Protocol):
    """What the report reads from a run's results."""

    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def nodes(self) -> list[str]: ...
    @property
    def states(self) -> list[str]: ...


def render(results: ReportResults, console: Console) -> None:
    """Print what ran, the headline facts (:func:`sim.outputs.headline.headline`, as the HTML report
    opens with), the capacity-limited nodes, then signalling by node, per-app shares, per call type,
    RRC and energy."""
    s = results.summary
    sig, rrc = s.get("signalling", {}), s.get("rrc", {})
    total = sig.get("messages_total", 0)

    console.print(f"[bold]{_text(s.get('scenario', 'run'))}[/]: {integer(s.get('devices', 0))} devices, "
                  f"{duration(s.get('duration_s', 0))}, seed {s.get('seed', '-')}, "
                  f"engine {s.get('engine', '-')}")
    facts = headline(s)
    figure_w = max(len(f.figure.text) for f in facts)
    label_w = max(len(printable(f.label)) for f in facts)
    for fact in facts:  # one line each, wrapped by the terminal rather than in columns
        details = ", ".join(label.replace("{}", figure.text) for label, figure in fact.details)
        console.print(f"[bold]{fact.figure.text:>{figure_w}}[/]  {escape(f'{printable(fact.label):<{label_w}}')}  "
                      f"[dim]{_text(details)}[/]".rstrip(), soft_wrap=True)

    limited = limited_nodes(s)
    if limited:
        nodes = _table("capacity-limited nodes")
        for header in NODE_HEADERS:
            nodes.add_column(header, justify="left" if header == "node" else "right")
        for name, figures in limited:
            nodes.add_row(_text(name), *(f.text for f in figures))
        console.print(nodes)

    nodes = _table("signalling by node")
    for header in ("node", "messages", "share", "peak msg/s"):
        nodes.add_column(header, justify="left" if header == "node" else "right")
    by_node, peak = sig.get("by_node", {}), sig.get("peak_per_s", {})
    for node in [n for n in results.nodes if n in by_node] + [n for n in by_node if n not in results.nodes]:
        nodes.add_row(_text(node), integer(by_node[node]), percent(by_node[node], total), num(peak.get(node)))
    nodes.add_row("[bold]total", f"[bold]{integer(total)}", "", "")

    apps = _table("per app: share of signalling vs bytes")
    for header in ("app", "signalling", "bytes", "promotions"):
        apps.add_column(header, justify="left" if header == "app" else "right")
    by_app = sorted(s.get("apps", {}).items(), key=lambda kv: -kv[1].get("signalling_share", 0))
    for name, app in by_app:
        apps.add_row(_text(name), percent(app.get("signalling_share")), percent(app.get("bytes_share")),
                     integer(app.get("promotions", 0)))

    grid = Table.grid(padding=(0, 4))
    grid.add_row(nodes, apps)
    if Measurement.get(console, console.options.update_width(10_000), grid).maximum <= console.width:
        console.print(grid)
    else:  # too narrow for side by side
        console.print(nodes, apps)

    by_type = s.get("calls", {}).get("by_type", {})
    if by_type:  # per call type: what one call costs each node, and the radio
        calls = _table("per call type: per call")
        names = [n for n in results.nodes if any(t["messages_per_call_by_node"].get(n) for t in by_type.values())]
        for header in ("type", "calls", *names, "connected s", "radio J"):
            calls.add_column(_text(header), justify="left" if header == "type" else "right")
        for name, t in by_type.items():
            per_call = t["messages_per_call_by_node"]
            calls.add_row(_text(name), integer(t["attempts"]), *(num(per_call.get(n)) for n in names),
                          num(t["connected_s_per_call"]), num(t["radio_j_per_call"]))
        console.print(calls)

    for event in s.get("events", []):
        if "outcome" in event:
            _restart(event, console)

    shares = rrc.get("time_share_by_state", {})
    states = [st for st in results.states if st in shares] + [st for st in shares if st not in results.states]
    console.print(f"RRC promotions: {num(rrc.get('promotions_per_device_hour'), 2)} per device-hour")
    console.print("RRC time share: " + ", ".join(f"{st} {percent(shares[st])}" for st in states))
    apps_only = s.get("concentration_apps", {})
    if s.get("apps", {}).get("voice"):  # then all signalling and the apps' differ
        console.print(f"Of the apps' signalling alone (voice left out): top 10% of devices "
                      f"{percent(apps_only.get('top_share', {}).get('10'))}, Gini {num(apps_only.get('gini'), 3)}")
    console.print(f"Radio energy: {num(s.get('energy', {}).get('radio_j_per_device_hour'))} J per device-hour")


def _restart(event: dict[str, Any], console: Console) -> None:
    """A core restart's storm: how many devices attached again, with how many attempts, and the peak rate at
    the restarted node and at the subscriber databases beside their rate before it."""
    out, node = event["outcome"], event["node"]
    how = event["reattach"].replace("_", "-") + (", T3346 back-off" if event["backoff"] else ", no back-off")
    console.print(f"{_text(node)} restart at {duration(event['at_s'])} ({how}): {integer(out['reattached'])} of "
                  f"{integer(out['devices'])} devices attached again; {integer(out['attach_attempts'])} attach attempts, "
                  f"{integer(out['rejected_attempts'])} rejected, {integer(out['backoff_waits'])} back-off waits")
    peaks = [n for n in out["peak_per_s"] if n == node or n in ("HSS", "HLR", "AUSF", "UDM")]
    console.print("  peak msg/s exchanged after it (before it): " + ", ".join(
        f"{_text(n)} {num(out['peak_per_s'][n])} ({num(out['baseline_per_s'][n])})" for n in peaks))
    if out["offered_peak_per_s"]:
        console.print("  peak msg/s offered to / carried by the limited nodes: " + ", ".join(
            f"{_text(n)} {num(out['offered_peak_per_s'][n])} / {num(out['carried_peak_per_s'][n])}"
            for n in out["offered_peak_per_s"]))


def _text(name: Any) -> str:
    """A name from the scenario as rich shows it literally: markup escaped, control characters written out."""
    return escape(printable(str(name)))


def _table(title: str) -> Table:
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title=title, title_justify="left",
                 title_style="bold")
