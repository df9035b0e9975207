"""Hostile input: every bad scenario file, ``--set``, sweep file or flag is answered at once with
exit 2 and exactly one ``error:`` line per problem, with no traceback and nothing written."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import ScenarioError

ANSWER_WITHIN_S = 30  # the issue's bound on any answer to a hostile input

GOOD = """\
name = "tiny"
[simulation]
duration_s = 600.0
[[apps]]
name = "chat"
heartbeat = { policy = "fixed", interval_s = 270.0 }
messages = { per_hour = 4.0 }
[[groups]]
name = "phones"
devices = 20
apps = { chat = 1.0 }
"""

STORM = GOOD + """
[[events]]
kind = "server_outage"
app = "chat"
start_s = 100.0
end_s = 300.0
"""

SWEEP = """\
base = "s.toml"
[[axes]]
path = "apps[0].heartbeat.interval_s"
values = [200.0, 300.0]
"""


def scenario(old: str, new: str, base: str = GOOD) -> dict[str, str | bytes]:
    assert old in base
    return {"s.toml": base.replace(old, new)}


def sweep(old: str, new: str) -> dict[str, str | bytes]:
    assert old in SWEEP
    return {"s.toml": GOOD, "sw.toml": SWEEP.replace(old, new)}


def deep_array(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


RUN = ("run", "s.toml", "--out", "out")
SW = ("sweep", "sw.toml", "--workers", "1", "--out", "out")
OLD_APP_LINE = 'heartbeat = { policy = "fixed", interval_s = 270.0 }'
WITH_GOOD = {"s.toml": GOOD}

# (id, files, argv, problems): files written into an empty folder, argv run there
CASES: list[tuple[str, dict[str, str | bytes], tuple[str, ...], int]] = [
    # --- the scenario file itself
    ("not-utf8", {"s.toml": GOOD.encode() + b"\xff\n"}, RUN, 1),
    ("utf16", {"s.toml": GOOD.encode("utf-16")}, RUN, 1),
    ("latin1-name", {"s.toml": GOOD.replace('"tiny"', '"tïny"').encode("latin-1")}, RUN, 1),
    ("binary", {"s.toml": bytes(range(256)) * 4}, RUN, 1),
    ("empty", {"s.toml": ""}, RUN, 2),
    ("too-large", {"s.toml": GOOD + "# " + "x" * (2 << 20) + "\n"}, RUN, 1),
    ("deep-array", {"s.toml": f"a = {deep_array(3000)}\n" + GOOD}, RUN, 1),
    ("deep-inline-table", {"s.toml": "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n" + GOOD}, RUN, 1),
    ("deep-but-parsable", {"s.toml": f"a = {deep_array(40)}\n" + GOOD}, RUN, 1),
    ("deep-override", {"s.toml": GOOD + "[network.overrides.lte]\n" + "x = " + "{y = " * 20 + "1" + "}" * 20 + "\n"},
     RUN, 1),
    ("folder-as-scenario", {"s.toml/inner": "x"}, RUN, 1),
    ("missing-file", {}, RUN, 1),
    ("dev-zero", {}, ("run", "/dev/zero", "--out", "out"), 1),
    ("malformed", scenario('name = "tiny"', 'name = "tiny'), RUN, 1),
    ("duplicate-key", scenario("devices = 20", "devices = 20\ndevices = 30"), RUN, 1),
    ("unknown-key", scenario("duration_s", "duraton_s"), RUN, 1),
    ("unknown-table", {"s.toml": GOOD + "[simulatoin]\nseed = 1\n"}, RUN, 1),
    ("devices-true", scenario("devices = 20", "devices = true"), RUN, 1),
    ("devices-text", scenario("devices = 20", 'devices = "100"'), RUN, 1),
    ("devices-float", scenario("devices = 20", "devices = 20.5"), RUN, 1),
    ("devices-zero", scenario("devices = 20", "devices = 0"), RUN, 1),
    ("devices-10e12", scenario("devices = 20", "devices = 1_000_000_000_000"), RUN, 1),
    ("devices-int64-max", scenario("devices = 20", "devices = 9223372036854775807"), RUN, 1),
    ("probability-text", scenario("chat = 1.0", 'chat = "1"'), RUN, 1),
    ("probability-above-1", scenario("chat = 1.0", "chat = 1.5"), RUN, 1),
    ("jitter-text", scenario("interval_s = 270.0 }", 'interval_s = 270.0, jitter = "0.5" }'), RUN, 1),
    ("up-bytes-2e62", scenario("interval_s = 270.0 }", "interval_s = 270.0, up_bytes = 4611686018427387904 }"),
     RUN, 1),
    ("message-count-2e63", {"s.toml": GOOD + "[network.overrides.lte.messages.service_request]\n"
                            "eNB = 9223372036854775807\n"}, RUN, 1),
    ("interval-nan", scenario("interval_s = 270.0", "interval_s = nan"), RUN, 1),
    ("duration-inf", scenario("duration_s = 600.0", "duration_s = inf"), RUN, 1),
    ("duration-negative", scenario("duration_s = 600.0", "duration_s = -600.0"), RUN, 1),
    ("name-dot", scenario('name = "tiny"', 'name = "."'), RUN, 1),
    ("name-dotdot", scenario('name = "tiny"', 'name = ".."'), RUN, 1),
    ("name-slash", scenario('name = "tiny"', 'name = "../../etc"'), RUN, 1),
    ("name-hidden", scenario('name = "tiny"', 'name = ".hidden"'), RUN, 1),
    ("name-newline", scenario('name = "tiny"', 'name = "a\\nb"'), RUN, 1),
    ("name-too-long", scenario('name = "tiny"', f'name = "{"n" * 300}"'), RUN, 1),
    ("app-name-ansi", scenario('name = "chat"', 'name = "\\u001b[2Jchat"'), RUN, 1),
    ("group-name-newline", scenario('name = "phones"', 'name = "ph\\nones"'), RUN, 1),
    ("no-groups", {"s.toml": "groups = []\n" + GOOD.split("[[groups]]")[0]}, RUN, 1),
    ("apps-not-tables", scenario("[[apps]]", "apps = [1]\n[[appsx]]"), RUN, 2),
    ("radio-number", {"s.toml": GOOD + "[network]\nradio = 5\n"}, RUN, 1),
    ("engine-gpu", scenario("duration_s = 600.0", 'duration_s = 600.0\nengine = "gpu"'), RUN, 1),
    ("unknown-radio-override", {"s.toml": GOOD + "[network.overrides.wifi]\ntail_s = 1.0\n"}, RUN, 1),
    ("seed-negative", scenario("duration_s = 600.0", "duration_s = 600.0\nseed = -1"), RUN, 1),
    ("seed-bool", scenario("duration_s = 600.0", "duration_s = 600.0\nseed = true"), RUN, 1),
    ("description-huge", scenario('name = "tiny"', f'name = "tiny"\ndescription = "{"d" * 20_000}"'), RUN, 1),
    ("outage-missing-instance", {"s.toml": GOOD.replace('name = "tiny"', 'name = "tiny"\n[controlplane.nodes.eNB]\n'
                                                        'messages_per_s = 100.0\ndevices_per_node = 10')
                                 + '[[events]]\nkind = "ran_outage"\nnode = "eNB"\ninstance = 7\nstart_s = 10.0\n'
                                   'end_s = 20.0\n'}, RUN, 1),
    ("outage-instance-no-capacity", {"s.toml": GOOD + '[[events]]\nkind = "ran_outage"\nnode = "eNB"\n'
                                                      'instance = 1\nstart_s = 10.0\nend_s = 20.0\n'}, RUN, 1),
    ("outage-core-node", {"s.toml": GOOD + '[[events]]\nkind = "ran_outage"\nnode = "MME"\nstart_s = 10.0\n'
                                           'end_s = 20.0\n'}, RUN, 1),
    ("capacity-denormal", {"s.toml": GOOD + "[controlplane.nodes.eNB]\nmessages_per_s = 5e-324\n"}, RUN, 1),
    ("event-after-run", {"s.toml": STORM.replace("end_s = 300.0", "end_s = 6000.0")}, RUN, 1),
    ("event-kind-unknown", {"s.toml": GOOD + '[[events]]\nkind = "meteor"\nat_s = 1.0\n'}, RUN, 1),
    ("tcp-rto-below-floor", {"s.toml": GOOD + "[network.tcp]\nrto_s = 0.01\n"}, RUN, 1),
    ("tcp-syn-retries-zero", {"s.toml": GOOD + "[network.tcp]\nsyn_retries = 0\n"}, RUN, 1),
    ("tcp-syn-retries-128", {"s.toml": GOOD + "[network.tcp]\nsyn_retries = 128\n"}, RUN, 1),
    ("tcp-retries-text", {"s.toml": GOOD + '[network.tcp]\nretries = "15"\n'}, RUN, 1),
    ("tcp-max-below-syn-rto", {"s.toml": GOOD + "[network.tcp]\nrto_max_s = 0.5\n"}, RUN, 1),
    ("tcp-app-timeout-nan", {"s.toml": GOOD + "[network.tcp]\napp_timeout_s = nan\n"}, RUN, 1),
    ("tcp-retransmit-text", {"s.toml": GOOD + '[network.tcp]\nretransmit = "no"\n'}, RUN, 1),
    ("tcp-unknown-key", {"s.toml": GOOD + "[network.tcp]\ntcp_syn_retries = 6\n"}, RUN, 1),
    ("restart-ran-node", {"s.toml": GOOD + '[[events]]\nkind = "core_restart"\nnode = "eNB"\nat_s = 10.0\n'}, RUN, 1),
    ("restart-t3346-inverted", {"s.toml": GOOD + '[[events]]\nkind = "core_restart"\nnode = "MME"\nat_s = 10.0\n'
                                                 'backoff = true\nt3346_min_s = 60.0\nt3346_max_s = 30.0\n'}, RUN, 1),
    ("restart-reattach-text", {"s.toml": GOOD + '[[events]]\nkind = "core_restart"\nnode = "MME"\nat_s = 10.0\n'
                                                'reattach = "soon"\nspread_s = -1.0\n'}, RUN, 2),
    ("restart-t3411-zero", {"s.toml": GOOD + "[network.overrides.lte]\nt3411_s = 0.0\n"}, RUN, 1),
    # --- sizes nothing bounded: refused before simulating
    ("tcp-retransmission-storm", {"s.toml": GOOD.replace("devices = 20", "devices = 200_000")
                                  + "[network]\nnat_timeout_s = 1.0\n[network.tcp]\nretries = 255\n"
                                  "rto_max_s = 0.2\nsyn_rto_s = 0.2\napp_timeout_s = 1e6\n"},
     RUN, 1),  # every send dropped, then retransmitted 255 times
    ("duration-1e15", scenario("duration_s = 600.0", "duration_s = 1e15"), RUN, 1),
    ("bin-1e-6", scenario("duration_s = 600.0", "duration_s = 600.0\nbin_s = 1e-6"), RUN, 1),
    ("interval-1e-9", scenario("interval_s = 270.0", "interval_s = 1e-9"), RUN, 1),
    ("interval-1e-9-des", scenario("interval_s = 270.0", "interval_s = 1e-9"), (*RUN, "--engine", "des"), 1),
    ("jitter-almost-1", scenario("interval_s = 270.0 }", "interval_s = 270.0, jitter = 0.999999999 }"), RUN, 1),
    ("messages-1e12", scenario("per_hour = 4.0", "per_hour = 1e12"), RUN, 1),
    ("calls-1e12", {"s.toml": GOOD + "[calls]\nper_hour = 1e12\n"}, RUN, 1),
    ("adaptive-spin", scenario(OLD_APP_LINE, 'heartbeat = { policy = "adaptive", min_interval_s = 1e-9, '
                                             'step_s = 1e-9 }'), RUN, 2),
    ("adaptive-settles-below-min", scenario(OLD_APP_LINE, 'heartbeat = { policy = "adaptive", min_interval_s = 0.1, '
                                                          'max_interval_s = 0.1 }'), (*RUN, "--engine", "des"), 1),
    ("retry-spin", {"s.toml": STORM.replace("end_s = 300.0", "end_s = 300.0\nretry = { policy = \"fixed\", "
                                            "interval_s = 1e-9, attempt_timeout_s = 1e-9 }")}, RUN, 2),
    ("devices-1e9", scenario("devices = 20", "devices = 1_000_000_000"), RUN, 1),
    ("devices-1e9-des", scenario("devices = 20", "devices = 1_000_000_000"), (*RUN, "--engine", "des"), 1),
    ("reject-storm", {"s.toml": GOOD.replace("devices = 20", "devices = 2_000_000") + "[controlplane]\nmax_attempts = "
                      "1_000_000\nreject_wait_s = 1.0\n[controlplane.nodes.eNB]\nmessages_per_s = 100.0\n"
                      "queue_limit = 0\n"}, RUN, 1),  # every attempt rejected, retried a million times: 2x10^6 phones (since the transition records stream, 2x10^5 fit: 15 GB)
    # --- --set
    ("set-no-equals", WITH_GOOD, (*RUN, "--set", "simulation.seed"), 1),
    ("set-empty-key", WITH_GOOD, (*RUN, "--set", "=3"), 1),
    ("set-empty-part", WITH_GOOD, (*RUN, "--set", "groups[0]..devices=3"), 1),
    ("set-no-element", WITH_GOOD, (*RUN, "--set", "groups[9].devices=3"), 1),
    ("set-not-a-table", WITH_GOOD, (*RUN, "--set", "name.x=3"), 1),
    ("set-negative", WITH_GOOD, (*RUN, "--set", "simulation.duration_s=-1"), 1),
    ("set-true", WITH_GOOD, (*RUN, "--set", "groups[0].devices=true"), 1),
    ("set-text-number", WITH_GOOD, (*RUN, "--set", 'groups[0].devices="100"'), 1),
    ("set-float-count", WITH_GOOD, (*RUN, "--set", "groups[0].devices=1e12"), 1),
    ("set-deep-value", WITH_GOOD, (*RUN, "--set", f"x={deep_array(5000)}"), 1),
    ("set-deep-key", WITH_GOOD, (*RUN, "--set", "k" + ".k" * 40 + "=1"), 1),
    ("set-table-for-value", WITH_GOOD, (*RUN, "--set", "simulation=3"), 1),
    ("set-ansi-name", WITH_GOOD, (*RUN, "--set", 'apps[0].name="\\u001b]0;pwned\\u0007"'), 1),
    ("set-name-dot", WITH_GOOD, (*RUN, "--set", "name=."), 1),
    ("set-nan", WITH_GOOD, (*RUN, "--set", "simulation.bin_s=nan"), 1),
    ("set-two-problems", WITH_GOOD, (*RUN, "--set", "groups[0].devices=0", "--set", "simulation.duration_s=-1"), 2),
    ("set-duration-1e15", WITH_GOOD, (*RUN, "--set", "simulation.duration_s=1e15"), 1),
    ("set-newline-key", WITH_GOOD, (*RUN, "--set", "simu\nlation.seed=1"), 1),
    # --- sweep files
    ("sweep-not-utf8", {"s.toml": GOOD, "sw.toml": SWEEP.encode() + b"\xfe"}, SW, 1),
    ("sweep-folder", {"s.toml": GOOD, "sw.toml/x": "y"}, SW, 1),
    ("sweep-deep", {"s.toml": GOOD, "sw.toml": f"x = {deep_array(3000)}\n" + SWEEP}, SW, 1),
    ("sweep-missing-base", sweep('base = "s.toml"', 'base = "nope.toml"'), SW, 1),
    ("sweep-base-folder", {"s.toml": GOOD, "sw.toml": SWEEP.replace('"s.toml"', '"."')}, SW, 1),
    ("sweep-base-nul", sweep('base = "s.toml"', 'base = "s\\u0000.toml"'), SW, 1),
    ("sweep-base-not-utf8", {"s.toml": b"\xff" + GOOD.encode(), "sw.toml": SWEEP}, SW, 1),
    ("sweep-range-nan", sweep("values = [200.0, 300.0]", "range = { start = nan, stop = 300.0, step = 10.0 }"), SW, 1),
    ("sweep-range-inf", sweep("values = [200.0, 300.0]", "range = { start = 200.0, stop = inf, step = 10.0 }"), SW, 1),
    ("sweep-step-1e-9", sweep("values = [200.0, 300.0]", "range = { start = 200.0, stop = 300.0, step = 1e-9 }"),
     SW, 1),
    ("sweep-step-below-resolution", sweep("values = [200.0, 300.0]",
                                          "range = { start = 1e20, stop = 1.00000000000001e20, step = 1.0 }"), SW, 1),
    ("sweep-range-overflow", sweep("values = [200.0, 300.0]", "range = { start = -1e308, stop = 1e308, step = 1.0 }"),
     SW, 1),
    ("sweep-range-count-overflow", sweep("values = [200.0, 300.0]",
                                         "range = { start = 0.0, stop = 1e300, step = 1e-300 }"), SW, 1),
    ("sweep-linspace-overflow", sweep("values = [200.0, 300.0]", "linspace = { start = -1.7e308, stop = 1.7e308, "
                                                                 "num = 3 }"), SW, 1),
    ("sweep-values-nan", sweep("values = [200.0, 300.0]", "values = [nan, 300.0]"), SW, 1),
    ("sweep-cases-inf", {"s.toml": GOOD, "sw.toml": 'base = "s.toml"\n[[axes]]\nname = "c"\n'
                         'cases.a = { "simulation.duration_s" = inf }\n'}, SW, 1),
    ("sweep-path-a-table", sweep("apps[0].heartbeat.interval_s", "apps[0].heartbeat"), SW, 1),
    ("sweep-linspace-1e9", sweep("values = [200.0, 300.0]", "linspace = { start = 200.0, stop = 300.0, "
                                                            "num = 1_000_000_000 }"), SW, 1),
    ("sweep-linspace-same", sweep("values = [200.0, 300.0]", "linspace = { start = 200.0, stop = 200.0, num = 3 }"),
     SW, 1),
    ("sweep-replications-1e8", sweep('base = "s.toml"', 'base = "s.toml"\nreplications = 100_000_000'), SW, 1),
    ("sweep-two-1000-axes", {"s.toml": GOOD, "sw.toml": SWEEP.replace(
        "values = [200.0, 300.0]", f"values = {[200.0 + i for i in range(1000)]}") + (
        "[[axes]]\npath = \"simulation.duration_s\"\nvalues = " + str([100.0 + i for i in range(1000)]) + "\n")},
     SW, 1),
    ("sweep-axis-named-engine", sweep('path = "apps', 'name = "engine"\npath = "apps'), SW, 1),
    ("sweep-axis-named-metric", sweep('path = "apps', 'name = "signalling.messages_per_device_hour"\npath = "apps'),
     SW, 1),
    ("sweep-axis-named-meta", sweep('path = "apps', 'name = "status"\npath = "apps'), SW, 1),
    ("sweep-unknown-path", sweep("apps[0].heartbeat.interval_s", "apps[0].heartbeat.intervall_s"), SW, 1),
    ("sweep-mixed-types", sweep("values = [200.0, 300.0]", 'values = [200.0, "fast"]'), SW, 1),
    ("sweep-zip-uneven", {"s.toml": GOOD, "sw.toml": SWEEP.replace('base = "s.toml"', 'base = "s.toml"\nmode = "zip"')
                          + '[[axes]]\npath = "simulation.duration_s"\nvalues = [100.0, 200.0, 300.0]\n'}, SW, 1),
    ("sweep-replications-true", sweep('base = "s.toml"', 'base = "s.toml"\nreplications = true'), SW, 1),
    ("sweep-unknown-key", sweep('base = "s.toml"', 'base = "s.toml"\nworkers = 3'), SW, 1),
    ("sweep-bad-set", sweep('base = "s.toml"', 'base = "s.toml"\nset = ["groups[0].devices=0"]'), SW, 1),
    # --- flags
    ("flag-seed-negative", WITH_GOOD, (*RUN, "--seed", "-1"), 1),
    ("flag-seed-text", WITH_GOOD, (*RUN, "--seed", "abc"), 1),
    ("flag-workers-zero", WITH_GOOD, (*RUN, "--workers", "0"), 1),
    ("flag-engine-gpu", WITH_GOOD, (*RUN, "--engine", "gpu"), 1),
    ("flag-unknown-option", WITH_GOOD, (*RUN, "--seeed", "3"), 1),
    ("flag-extra-argument", WITH_GOOD, (*RUN, "other.toml"), 1),
    ("flag-set-without-value", WITH_GOOD, (*RUN, "--set"), 1),
    ("flag-unknown-command", WITH_GOOD, ("simulate", "s.toml"), 1),
    ("validate-unknown-case", {}, ("validate", "--case", "nosuch"), 1),
    ("validate-engine", {}, ("validate", "--engine", "gpu"), 1),
    ("validate-bad-set", {}, ("validate", "--quick", "--case", "g1-battery", "--set", "lte.tail_s=-1"), 1),
    ("sweep-workers-zero", {"s.toml": GOOD, "sw.toml": SWEEP}, (*SW, "--workers", "0"), 1),
    ("sweep-max-runs-zero", {"s.toml": GOOD, "sw.toml": SWEEP}, (*SW, "--max-runs", "0"), 1),
    ("sweep-over-max-runs", {"s.toml": GOOD, "sw.toml": SWEEP}, (*SW, "--max-runs", "1"), 1),
    ("scheduler-empty-file", {"s.toml": GOOD, "sched.json": ""}, (*RUN, "--scheduler", "sched.json"), 1),
    ("scheduler-file-no-address", {"s.toml": GOOD, "sched.json": '{"address": 5}'}, (*RUN, "--scheduler", "sched.json"),
     1),
    ("out-into-a-file", {"s.toml": GOOD, "f": "x"}, ("run", "s.toml", "--out", "f/out"), 1),
    ("out-is-a-file", {"s.toml": GOOD, "f": "x"}, ("run", "s.toml", "--out", "f"), 1),
    ("out-name-too-long", WITH_GOOD, ("run", "s.toml", "--out", "o" * 250), 1),
    ("out-path-too-long", WITH_GOOD, ("run", "s.toml", "--out", "/".join(["d" * 200] * 25)), 1),
    ("out-in-sys", WITH_GOOD, ("run", "s.toml", "--out", "/sys/signalsim-out"), 1),
    ("out-user-folder", {"s.toml": GOOD, "docs/thesis.tex": "x"}, ("run", "s.toml", "--out", "docs"), 1),
    ("out-current-folder", {"s.toml": GOOD}, ("run", "s.toml", "--out", "."), 1),
    ("validate-out-user-folder", {"docs/thesis.tex": "x"}, ("validate", "--out", "docs"), 1),
    ("sweep-out-user-folder", {"s.toml": GOOD, "sw.toml": SWEEP, "docs/thesis.tex": "x"},
     ("sweep", "sw.toml", "--out", "docs"), 1),
]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else b"/")
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail a case that takes longer than the issue's bound (a hang is a failure, not a stuck suite)."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"no answer within {ANSWER_WITHIN_S} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(ANSWER_WITHIN_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_there_are_at_least_80_cases() -> None:
    assert len(CASES) >= 80 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("files,argv,problems", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_gets_one_line_per_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None,
                                                 files: dict[str, str | bytes], argv: tuple[str, ...],
                                                 problems: int) -> None:
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    result = CliRunner().invoke(cli, list(argv))
    assert "Traceback" not in result.output and not isinstance(result.exception, (RecursionError, MemoryError))
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.output.splitlines()
    assert len(lines) == problems, result.output
    assert all(line.startswith("error: ") and line.isprintable() for line in lines), result.output
    assert all(line.count(": ") >= 2 for line in lines), result.output  # error: WHERE: [field: ]message
    assert _tree(tmp_path) == before  # nothing written, not even an empty results/


def test_a_fifo_as_the_scenario_does_not_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None) -> None:
    os.mkfifo(tmp_path / "fifo.toml")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", "fifo.toml", "--out", "out"])
    assert result.exit_code == 2 and result.output == "error: fifo.toml: not a regular file\n"
    (tmp_path / "s.toml").write_text(GOOD)
    (tmp_path / "sw.toml").write_text(SWEEP.replace('"s.toml"', '"fifo.toml"'))
    result = CliRunner().invoke(cli, ["sweep", "sw.toml", "--out", "out"])
    assert result.exit_code == 2 and result.output == "error: sw.toml: base: not a regular file\n"


def test_wide_scenarios_are_estimated_at_once(deadline: None) -> None:
    """Thousands of groups with thousands of apps or events: validated and estimated in seconds
    (the budget and the instance check looped over groups x apps x events: minutes, no answer)."""
    from time import perf_counter

    from sim.scenario.budget import estimate
    from sim.scenario.loader import resolve

    apps = [{"name": f"a{i}", "heartbeat": {"policy": "fixed", "interval_s": 270.0}} for i in range(5000)]
    groups = [{"name": f"g{i}", "devices": 1, "apps": {"a0": 1.0}} for i in range(5000)]
    outages = [{"kind": "ran_outage", "node": "eNB", "instance": i, "start_s": 1.0 + i * 0.01,
                "end_s": 1.001 + i * 0.01} for i in range(5000)]
    storms = [{"kind": "server_outage", "app": "a0", "start_s": i * 0.1, "end_s": i * 0.1 + 0.05} for i in range(5000)]
    for extra in ({}, {"events": outages, "controlplane": {"nodes": {"eNB": {"messages_per_s": 10.0,
                                                                             "devices_per_node": 1}}}},
                  {"events": storms}):
        start = perf_counter()
        try:
            estimate(resolve({"name": "wide", "simulation": {"duration_s": 600.0}, "apps": apps, "groups": groups,
                              **extra}, "wide.toml"))
        except ScenarioError:
            pass  # refused by the budget: also an answer
        assert perf_counter() - start < 10
