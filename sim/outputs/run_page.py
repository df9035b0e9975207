"""A run's ``report.html``: the headline answer, the plots, the per-app and per-node tables, the
events on the time axis, and the resolved scenario with its provenance."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.outputs.headline import NODE_HEADERS, duration, headline, integer, limited_nodes, num, percent
from sim.outputs.html import Image, Page, Section, Span, Table, Timeline, folder_files, write_page

if TYPE_CHECKING:
    from sim.metrics.results import Results

CAPTIONS = {  # sim.outputs.plots' files, in the order shown
    "load.png": "Signalling offered to each capacity-limited node per second, and carried, against its capacity",
    "calls.png": "Share of voice call attempts that failed, per bin",
    "signalling.png": "Signalling messages per second at each node",
    "apps.png": "Each app's share of signalling beside its share of the bytes",
    "lorenz.png": "Concentration: cumulative share of signalling over devices, most signalling first",
    "rrc_states.png": "Devices in each RRC state over time",
}


def write_run_page(results: Results, summary: dict[str, Any], resolved_toml: str, folder: Path) -> Path:
    """Write ``folder/report.html`` for a run whose other files are in ``folder`` already."""
    return write_page(run_page(results, summary, resolved_toml, folder), folder / "report.html")


def run_page(results: Results, summary: dict[str, Any], resolved_toml: str, folder: Path) -> Page:
    """The page of a run: ``summary`` as written to ``summary.json``, the plots found in ``folder/plots``."""
    resolved = tomllib.loads(resolved_toml)
    s = summary
    subtitle = (f"{integer(s.get('devices'))} devices, {duration(s.get('duration_s'))} simulated, "
                f"engine {s.get('engine')}, seed {s.get('seed')}")
    plots = [Image.read(folder / "plots" / name, caption, folder) for name, caption in CAPTIONS.items()
             if (folder / "plots" / name).is_file()]
    shown = Section("Plots", images=tuple(plots)) if plots else Section("Plots", ("Not written (--no-plots).",))
    sections = [*_limited(s), *_events(s), shown, _apps(results), _nodes(results, s), *_calls(s), _rrc(results, s),
                _provenance(s, resolved, resolved_toml)]
    return Page("run", str(s.get("scenario", "run")), subtitle, tuple(headline(s)), tuple(sections),
                str(resolved.get("description", "")), folder_files(folder))


def _limited(s: dict[str, Any]) -> list[Section]:
    rows = limited_nodes(s)
    if not rows:
        return []
    table = Table(NODE_HEADERS, tuple((name, *(f.text for f in figures)) for name, figures in rows),
                  (False, True, True, True, True))
    return [Section("Capacity-limited nodes", (
        "Load / capacity: the messages offered to a node's processors over what they could handle in the run "
        "(above 100 %: more than it could ever carry). Utilization: the share of time they were busy. "
        "Rejected: procedures turned away (a full queue or a wait past the guard time). p95 wait: the 95th "
        "percentile of the queueing wait of the procedures it carried.",), (table,))]


def _events(s: dict[str, Any]) -> list[Section]:
    events = s.get("events") or []
    if not events:
        return []
    spans = [_span(e) for e in events]
    storm = s.get("signalling", {}).get("storm") or {}
    if storm.get("peak_t_s") is not None:
        spans.append(Span(f"signalling peak: {num(storm['peak_per_s'])} msg/s", storm["peak_t_s"], kind="peak"))
    rows = tuple((e["kind"], span.label, duration(span.start_s), "-" if span.end_s is None else duration(span.end_s))
                 for e, span in zip(events, spans))
    return [Section("Events", ("The run's events on its time axis, and the busiest bin from the first one on.",),
                    (Table(("kind", "what", "from", "to"), rows),), timeline=Timeline(float(s["duration_s"]),
                                                                                       tuple(spans)))]


def _span(event: dict[str, Any]) -> Span:
    kind = event["kind"]
    if kind == "server_outage":
        retry = event["retry"]["policy"] + (" + jitter" if event["retry"].get("jitter") else "")
        return Span(f"{event['app']} server outage ({retry} retry)", event["start_s"], event["end_s"])
    if kind == "heartbeat_change":
        return Span(f"{event['app']} heartbeat → {event['interval_s']:g} s", event["at_s"], kind="change")
    if kind == "nat_change":
        timeout = event.get("nat_timeout_s")
        return Span(f"NAT timeout → {'none' if timeout is None else f'{timeout:g} s'}", event["at_s"], kind="change")
    what = {"access_barring": lambda: f"access barring ({percent(event.get('barred_share'))})",
            "ran_outage": lambda: f"{event['node']} outage"}.get(kind, lambda: kind.replace("_", " "))()
    if "start_s" in event:
        return Span(what, event["start_s"], event.get("end_s"))
    return Span(what, event.get("at_s", 0.0), kind="change")


def _apps(results: Results) -> Section:
    apps = results.tables.apps
    shown = (("app", "app", str), ("devices", "active_devices", integer),
             ("signalling", "signalling_messages", integer), ("share of signalling", "signalling_share", percent),
             ("share of bytes", "bytes_share", percent), ("promotions", "promotions", integer),
             ("heartbeats", "heartbeats", integer), ("messages", "messages", integer),
             ("reconnects", "reconnects", integer))
    columns = tuple(header for header, _, _ in shown)
    rows: tuple[tuple[str, ...], ...] = ()
    if len(apps):  # most signalling first, ties in the table's order
        order = np.argsort(-apps["signalling_share"], kind="stable")
        rows = tuple(zip(*([text(v) for v in apps[name][order].tolist()] for _, name, text in shown)))
    return Section("Per app", ("Signalling is attributed to the app whose packet triggered the promotion "
                               "(os-push, network, mobility, voice and sms are pseudo-apps).",),
                   (Table(columns, rows, (False, *([True] * 8))),))


def _nodes(results: Results, s: dict[str, Any]) -> Section:
    sig = s.get("signalling", {})
    by_node, peak, total = sig.get("by_node", {}), sig.get("peak_per_s", {}), sig.get("messages_total", 0)
    names = [n for n in results.nodes if n in by_node] + [n for n in by_node if n not in results.nodes]
    rows = tuple((n, integer(by_node[n]), percent(by_node[n], total), num(peak.get(n))) for n in names)
    return Section("Per node", ("Messages exchanged at each node (a message counts once at each node that sends or "
                                "receives it), and its busiest bin.",),
                   (Table(("node", "messages", "share", "peak msg/s"), (*rows, ("total", integer(total), "", "")),
                          (False, True, True, True)),))


def _calls(s: dict[str, Any]) -> list[Section]:
    calls = s.get("calls", {})
    if not calls.get("attempts"):
        return []
    totals = Table(("attempts", "failed", "failure ratio", "pending at end", "setup p95"),
                   ((integer(calls["attempts"]), integer(calls["failed"]), percent(calls["failure_ratio"]),
                     integer(calls["pending_at_end"]), f"{num(calls['setup_p95_s'], 2)} s"),), (True,) * 5)
    by_type = calls.get("by_type", {})
    nodes = sorted({n for t in by_type.values() for n, v in t["messages_per_call_by_node"].items() if v})
    types = Table(("type", "calls", *(f"{n} msg per call" for n in nodes), "connected s per call", "radio J per call"),
                  tuple((name, integer(t["attempts"]), *(num(t["messages_per_call_by_node"].get(n)) for n in nodes),
                         num(t["connected_s_per_call"]), num(t["radio_j_per_call"])) for name, t in by_type.items()),
                  (False, *([True] * (len(nodes) + 3))), "per call type")
    return [Section("Voice calls", (), (totals, types))]


def _rrc(results: Results, s: dict[str, Any]) -> Section:
    rrc = s.get("rrc", {})
    shares = rrc.get("time_share_by_state", {})
    states = [st for st in results.states if st in shares] + [st for st in shares if st not in results.states]
    return Section("RRC and energy", (
        f"{num(rrc.get('promotions_per_device_hour'), 2)} RRC promotions per device-hour "
        f"({integer(rrc.get('promotions_total'))} in all); radio energy "
        f"{num(s.get('energy', {}).get('radio_j_per_device_hour'))} J per device-hour.",),
        (Table(("RRC state", "share of device-time"), tuple((st, percent(shares[st])) for st in states),
               (False, True)),))


def _provenance(s: dict[str, Any], resolved: dict[str, Any], resolved_toml: str) -> Section:
    made = resolved.get("provenance", {})
    wall = made.get("wall_time_s")
    rows = (("scenario", str(s.get("scenario"))), ("software version", str(s.get("software_version"))),
            ("seed", str(s.get("seed"))), ("engine", str(s.get("engine"))),
            ("created (UTC)", str(made.get("created_utc", "-"))),
            ("wall time", "-" if wall is None else f"{float(wall):,.1f} s"))
    return Section("Scenario and provenance", (
        "scenario.resolved.toml, below, is the scenario with every default filled in and the full radio "
        "profiles: running it reproduces this run.",), (Table(("field", "value"), rows),),
        preformatted=resolved_toml, folded=True)
