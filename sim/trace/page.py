"""A trace's ``report.html``: what the capture's periodic transfers cost (its headline), the
state timeline and energy plots, time and energy per RRC state, per app, and the capture read."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.outputs.headline import Fact, Figure, count, integer, num, percent
from sim.outputs.html import Image, Page, Section, Table, folder_files
from sim.trace.run import TraceRun

CAPTIONS = {"timeline.png": "RRC state over time under the packet train",
            "energy.png": "Radio energy by RRC state and by flow"}


def trace_page(run: TraceRun, folder: Path) -> Page:
    """The page of a trace whose plots (if written) are in ``folder/plots``."""
    s = run.summary
    cap, rrc, sig, energy = s["capture"], s["rrc"], s["signalling"], s["energy"]
    subtitle = (f"{integer(cap['packets'])} packets, {integer(cap['flows'])} flows over {num(cap['span_s'])} s from "
                f"{cap['device']}, through the {s['radio']} profile until {num(s['end_s'])} s")
    plots = [Image.read(folder / "plots" / name, caption, folder) for name, caption in CAPTIONS.items()
             if (folder / "plots" / name).is_file()]
    states = Table(("RRC state", "time s", "share", "energy J"), tuple(
        (name, num(rrc["time_s_by_state"][name]), percent(rrc["time_s_by_state"][name], s["end_s"]),
         num(energy["radio_j_by_state"][name])) for name in run.state_names), (False, True, True, True))
    apps = Table(("app", "flows", "packets", "promotions", "share of signalling", "energy J"), tuple(
        (name, integer(a["flows"]), integer(a["packets"]), integer(a["promotions"]),
         percent(a["signalling_messages"], sig["messages_total"]), num(a["radio_j"]))
        for name, a in sorted(s["apps"].items(), key=lambda kv: -kv[1]["signalling_messages"])),
        (False, True, True, True, True, True))
    periodic = Table(("flow", "app", "every", "transfers", "of promotions", "of signalling", "of energy"), tuple(
        (p["flow"], p["app"], f"{num(p['period_s'], 2)} s", integer(p["count"]), percent(p["promotions_share"]),
         percent(p["signalling_share"]), percent(p["energy_share"])) for p in s["periodic"]),
        (False, False, True, True, True, True, True))
    sections = (
        Section("Plots", images=tuple(plots)) if plots else Section("Plots", ("Not written (--no-plots).",)),
        Section("Periodic transfers", ("Transfers that repeat at a steady period (keepalives, heartbeats), and "
                                       "their share of what the capture cost.",) if s["periodic"] else
                ("No periodic transfers found.",), (periodic,) if s["periodic"] else ()),
        Section("RRC states", (f"{integer(rrc['promotions_total'])} promotions, {integer(rrc['releases_total'])} "
                               f"releases; {integer(sig['messages_total'])} signalling messages.",), (states,)),
        Section("Per app", (), (apps,)),
        Section("Capture", (), (Table(("field", "value"), tuple((k, str(v)) for k, v in cap.items())),)),
    )
    return Page("trace", str(cap["file"]), subtitle, tuple(_headline(s)), sections, files=folder_files(folder))


def _headline(s: dict[str, Any]) -> list[Fact]:
    """The costliest periodic transfer's share of signalling and energy, then the capture's totals."""
    facts = []
    if s["periodic"]:
        k, top = max(enumerate(s["periodic"]), key=lambda kp: kp[1]["signalling_share"])
        at = ("periodic", k)
        facts.append(Fact("periodic", Figure(at + ("signalling_share",), top["signalling_share"],
                                             percent(top["signalling_share"])),
                          f"of signalling from {top['flow']} every {num(top['period_s'], 2)} s",
                          (("{} of the radio energy", Figure(at + ("energy_share",), top["energy_share"],
                                                             percent(top["energy_share"]))),
                           ("{} transfers", count(at + ("count",), top)))))
    facts.append(Fact("signalling", count(("signalling", "messages_total"), s["signalling"]), "signalling messages",
                      (("{} promotions", count(("rrc", "promotions_total"), s["rrc"])),)))
    energy = s["energy"]["radio_j"]
    facts.append(Fact("energy", Figure(("energy", "radio_j"), energy, f"{num(energy)} J"), "of radio energy",
                      (("{} s simulated", Figure(("end_s",), s["end_s"], num(s["end_s"]))),)))
    return facts
