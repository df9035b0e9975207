"""A trace's terminal summary, printed with rich as a run's (``sim.outputs.report``)."""
from __future__ import annotations

from rich.console import Console

from sim.outputs.headline import integer, num, percent
from sim.outputs.report import _table, _text
from sim.trace.run import TraceRun


def render_trace(run: TraceRun, console: Console) -> None:
    """Print the capture, time and energy per state, signalling per node, per app, and the periodic transfers."""
    s = run.summary
    cap, rrc, sig, energy = s["capture"], s["rrc"], s["signalling"], s["energy"]
    console.print(f"[bold]{_text(cap['file'])}[/]: {integer(cap['packets'])} packets, {integer(cap['bytes'])} bytes, "
                  f"{integer(cap['flows'])} flows over {num(cap['span_s'])} s; device {_text(cap['device'])}; "
                  f"radio {s['radio']}, run until {num(s['end_s'])} s")
    states = _table("RRC states")
    for header in ("state", "time s", "share", "energy J"):
        states.add_column(header, justify="left" if header == "state" else "right")
    for name in run.state_names:
        seconds = rrc["time_s_by_state"][name]
        states.add_row(_text(name), num(seconds), percent(seconds, s["end_s"]), num(energy["radio_j_by_state"][name]))
    states.add_row("[bold]total", f"[bold]{num(s['end_s'])}", "", f"[bold]{num(energy['radio_j'])}")
    console.print(states)
    console.print(f"promotions {integer(rrc['promotions_total'])}, releases {integer(rrc['releases_total'])}; "
                  f"signalling messages {integer(sig['messages_total'])}: "
                  + ", ".join(f"{_text(n)} {integer(v)}" for n, v in sig["by_node"].items() if v))
    apps = _table("per app")
    for header in ("app", "flows", "packets", "promotions", "signalling", "energy J"):
        apps.add_column(header, justify="left" if header == "app" else "right")
    for name, app in sorted(s["apps"].items(), key=lambda kv: -kv[1]["signalling_messages"]):
        apps.add_row(_text(name), integer(app["flows"]), integer(app["packets"]), integer(app["promotions"]),
                     percent(app["signalling_messages"], sig["messages_total"]), num(app["radio_j"]))
    console.print(apps)
    if not s["periodic"]:
        console.print("no periodic transfers found")
    for p in s["periodic"]:
        console.print(f"periodic: {_text(p['flow'])} ({_text(p['app'])}) every {num(p['period_s'], 2)} s, "
                      f"{integer(p['count'])} transfers: {percent(p['promotions_share'])} of promotions, "
                      f"{percent(p['signalling_share'])} of signalling, {percent(p['energy_share'])} of energy")
