"""report.html in every results folder: valid HTML, self-contained, autoescaped, and its headline
the summary's figures. (tests/test_report_browser.py opens the same pages in Chromium.)"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import html5lib
import pytest
from click.testing import CliRunner

import sim.outputs.html as html
from sim.cli import cli
from sim.outputs.html import Page, Section, Span, Table, Timeline
from sim.validation import Settings, run_validation
from sim.validation.report import write_validation
from test_cli import GOOD
from test_sweep import SWEEP, sweep_cli, write


def parse(path: Path) -> Any:
    """The page as an element tree; a parse error of any kind (a stray tag, a bad nesting) fails."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(path.read_text(encoding="utf-8"))


def at(summary: dict[str, Any], path: list[str] | tuple[str, ...]) -> Any:
    """The value at ``path`` (keys, outermost first) in ``summary``."""
    for key in path:
        summary = summary[key]
    return summary


def shows(text: str, value: float) -> bool:
    """Whether ``text`` as shown ("42.0%", "1.53×", "2.10 s", "3,571", "102.7 J") is ``value`` rounded to its
    digits."""
    number = re.fullmatch(r"(-?[\d,]+(?:\.(\d+))?)\s*(%|×|s|min|h|J)?", text.strip())
    assert number, f"not a figure: {text!r}"
    shown, digits, unit = float(number[1].replace(",", "")), len(number[2] or ""), number[3]
    scale = {"%": 100, "min": 1 / 60, "h": 1 / 3600}.get(unit, 1)
    return abs(shown - value * scale) <= 0.5 * 10 ** -digits + 1e-9


def headline_figures(tree: Any) -> list[tuple[list[str], Any, str]]:
    """(path into summary.json, value, text) of every figure the page ties to the summary."""
    return [(json.loads(e.get("data-path")), json.loads(e.get("data-value")), "".join(e.itertext()))
            for e in tree.iter() if e.get("data-path") is not None]


def assert_self_contained(path: Path) -> Any:
    """Valid, no script, every image inline, nothing the browser would fetch; the links are the folder's files."""
    tree = parse(path)
    assert not list(tree.iter("script")) and not list(tree.iter("link")) and not list(tree.iter("iframe"))
    assert all(img.get("src", "").startswith("data:image/png;base64,") for img in tree.iter("img"))
    policy = [m.get("content") for m in tree.iter("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert policy == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    for a in tree.iter("a"):
        assert (path.parent / a.get("href")).exists(), a.get("href")
    assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?\s*(?:https?:|//)""", path.read_text(encoding="utf-8"))
    return tree


def test_a_run_report_opens_with_the_summarys_answer(london_storm: tuple[Path, str]) -> None:
    folder, _ = london_storm
    tree = assert_self_contained(folder / "report.html")
    summary = json.loads((folder / "summary.json").read_text())
    facts = [li.get("data-key") for li in tree.iter("li") if li.get("class") == "fact"]
    assert facts[:3] == ["calls", "node", "storm"]  # london-2009 leads with its calls and its RNC
    figures = headline_figures(tree)
    assert len(figures) >= 10
    for keys, value, text in figures:
        assert value == at(summary, keys), keys
        if keys[-1] != "peak_t_s":  # a time of day, shown as a duration (checked below)
            assert shows(text, value), (keys, text, value)
    assert ["signalling", "storm", "peak_t_s"] in [keys for keys, _, _ in figures]
    text = " ".join(" ".join(tree.itertext()).split())
    assert "im server outage (immediate retry)" in text and "Scenario and provenance" in text
    images = [img.get("alt") for img in tree.iter("img")]
    assert len(images) == len(list((folder / "plots").glob("*.png"))) == 6  # load and calls beside the four


def test_user_text_is_escaped_and_a_run_without_plots_still_reports(tmp_path: Path) -> None:
    hostile = GOOD.replace('name = "chat"', 'name = "<img src=x onerror=alert(1)>"').replace(
        "chat = 1.0", '"<img src=x onerror=alert(1)>" = 1.0').replace(
        'name = "tiny"', 'name = "tiny"\ndescription = "</title><script>alert(2)</script> & more"')
    scenario, out = tmp_path / "s.toml", tmp_path / "out"
    scenario.write_text(hostile, encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "--quiet", "--no-plots"])
    assert result.exit_code == 0, result.output
    tree = assert_self_contained(out / "report.html")
    assert not list(tree.iter("img")) and not list(tree.iter("script"))
    text = " ".join(tree.itertext())
    assert "</title><script>alert(2)</script> & more" in text
    assert "of signalling from <img src=x onerror=alert(1)>" in text
    assert "Not written (--no-plots)." in text
    again = CliRunner().invoke(cli, ["run", str(scenario), "--out", str(out), "--quiet"])  # its own page replaced
    assert again.exit_code == 0, again.output
    assert len(list(parse(out / "report.html").iter("img"))) == 4


def test_a_sweep_report_shows_its_axes_plots_and_failed_runs(tmp_path: Path) -> None:
    path = write(tmp_path, SWEEP.replace("[20.0, 300.0]", "[20.0, -300.0]"))
    out = tmp_path / "out"
    assert sweep_cli(str(path), "--out", str(out), "--workers", "1").exit_code == 0
    tree = assert_self_contained(out / "report.html")
    tables = list(tree.iter("table"))
    headers = [["".join(th.itertext()) for th in t.iter("th")] for t in tables]
    assert ["apps[0].heartbeat.interval_s", "tail_s", "runs"] == headers[1][:3]  # the points, by their axes
    rows = [["".join(td.itertext()) for td in tr.iter("td")] for tr in tables[1].iter("tr")][1:]
    assert [r[:3] for r in rows] == [["20.0", "5.0", "2"], ["20.0", "30.0", "2"]]  # the -300 points failed
    assert len([tr for tr in tables[2].iter("tr") if tr.get("class") == "failed"]) == 4
    assert len(list(tree.iter("img"))) == len(list((out / "plots").glob("*.png"))) > 0
    assert sweep_cli(str(path), "--out", str(out), "--workers", "1").exit_code == 0  # a resumed sweep rewrites it


def test_a_trace_report_leads_with_its_periodic_transfer(tmp_path: Path) -> None:
    out = tmp_path / "trace"
    capture = Path(__file__).parent / "data" / "mqtt-keepalive-20s.pcap"
    assert CliRunner().invoke(cli, ["trace", str(capture), "--out", str(out)]).exit_code == 0
    tree = assert_self_contained(out / "report.html")
    summary = json.loads((out / "summary.json").read_text())
    assert [li.get("data-key") for li in tree.iter("li") if li.get("class") == "fact"][0] == "periodic"
    for keys, value, text in headline_figures(tree):
        assert value == at(summary, keys) and shows(text, value), (keys, text)
    assert len(list(tree.iter("img"))) == 2


def test_a_validation_report_marks_every_failed_check(tmp_path: Path) -> None:
    validation = run_validation(Settings(("fast",), True, ("lte.tail_s=20",)), ["renewal-fixed"])
    write_validation(validation, tmp_path / "out")
    tree = assert_self_contained(tmp_path / "out" / "report.html")
    rows = [tr for tr in tree.iter("tr") if tr.find("td") is not None]
    assert len(rows) == len(validation.rows)
    failed = [r for r in rows if r.get("class") == "failed"]
    assert 0 < len(failed) == sum(not r.passed for r in validation.rows)
    assert all("".join(r.itertext()).endswith("FAIL") for r in failed)


@pytest.mark.parametrize(("text", "value", "expected"), [("42.0%", 0.4204, True), ("42.0%", 0.4216, False),
                                                         ("3,571", 3571, True), ("1.53×", 1.534, True),
                                                         ("2.10 s", 2.0969, True), ("30.0 min", 1800.0, True)])
def test_shows_reads_a_figure_as_shown(text: str, value: float, expected: bool) -> None:
    assert shows(text, value) is expected


def test_the_compiled_template_kept_renders_what_the_source_does(monkeypatch: pytest.MonkeyPatch) -> None:
    page = Page("run", "tiny <b>", "20 devices", (), (
        Section("Per app", ("a & b",), (Table(("app", "share"), (("chat", "50%"),), (False, True)),),
                timeline=Timeline(600.0, (Span("outage", 60.0, 120.0), Span("change", 300.0, kind="change")))),
        Section("Scenario", preformatted="name = \"tiny\"\n", folded=True)), "description", ("summary.json",))
    rendered = []
    for cache in (html._compiled_templates, html._compiled_templates, lambda: None):  # kept (twice), none
        monkeypatch.setattr(html, "_compiled_templates", cache)
        html._template.cache_clear()
        rendered.append(html.render_page(page))
    html._template.cache_clear()
    assert rendered[0] == rendered[1] == rendered[2]
    assert list(Path(html.__file__).with_name("__pycache__").glob("__jinja2_*.cache"))
