"""report.html in a real browser: Debian's headless Chromium, driven by Selenium through chromedriver.

Each page loads with no console error and no network request (every request the page made, the
blocked ones too, is read from Chromium's DevTools log: only the file itself may appear, and
inline ``data:`` images), the headline figures the browser shows equal summary.json's, and a
screenshot is not blank. Skipped, saying why, where Chromium or chromedriver is not installed
(.ci/run installs the Debian packages chromium and chromium-driver when they are missing).
"""
from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.validation import Settings, run_validation
from sim.validation.report import write_validation
from test_outputs_html import at, shows
from test_sweep import SWEEP, sweep_cli, write

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="needs headless Chromium: the Debian packages chromium and chromium-driver "
                                       "(.ci/run installs them; apt-get install chromium chromium-driver)")
# as the machine's notes advise: no background networking (refused here, and not the page's), no GPU
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--window-size=1280,1600")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver, path: Path) -> list[str]:
    """Load ``path``; return the console errors, after checking that it requested nothing but itself."""
    driver.get_log("performance"), driver.get_log("browser")  # what an earlier page left
    url = path.resolve().as_uri()
    driver.get(url)
    assert driver.execute_script("return document.readyState") == "complete"
    events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
    sent = [m["params"] for m in events if m["method"] == "Network.requestWillBeSent"]
    ours = [r["request"]["url"] for r in sent if r.get("documentURL") == url]
    assert ours and all(u == url or u.startswith("data:") for u in ours), ours
    # the rest is the browser's own new-tab page, if it was still loading
    assert all(r.get("documentURL", "").startswith("chrome://") for r in sent if r.get("documentURL") != url), sent
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def assert_not_blank(driver) -> None:
    from PIL import Image

    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 20) or []
    inked = sum(n for n, rgb in colours if sum(rgb) < 600) / (shot.width * shot.height)  # not near white
    assert len(colours) > 50 and inked > 0.02, (len(colours), inked)


def test_a_run_report_shows_the_summarys_headline(browser, london_storm: tuple[Path, str]) -> None:
    from selenium.webdriver.common.by import By

    folder, _ = london_storm
    assert open_page(browser, folder / "report.html") == []
    summary = json.loads((folder / "summary.json").read_text())
    shown = browser.find_elements(By.CSS_SELECTOR, ".headline [data-path]")
    assert len(shown) >= 10
    for element in shown:
        keys, value = json.loads(element.get_attribute("data-path")), json.loads(element.get_attribute("data-value"))
        assert value == at(summary, keys), keys
        if keys[-1] != "peak_t_s":
            assert element.is_displayed() and shows(element.text, value), (keys, element.text, value)
    first = browser.find_element(By.CSS_SELECTOR, ".headline .fact")
    assert "of voice calls failed" in first.text  # london-2009 leads with its calls
    images = browser.find_elements(By.TAG_NAME, "img")
    assert images and all(browser.execute_script("return arguments[0].naturalWidth", i) > 100 for i in images)
    assert_not_blank(browser)


def test_sweep_validation_and_trace_reports_load_cleanly(browser, tmp_path: Path) -> None:
    assert sweep_cli(str(write(tmp_path, SWEEP)), "--out", str(tmp_path / "sweep"), "--workers", "1").exit_code == 0
    write_validation(run_validation(Settings(("fast",), True), ["renewal-fixed"]), tmp_path / "validation")
    capture = Path(__file__).parent / "data" / "mqtt-keepalive-20s.pcap"
    assert CliRunner().invoke(cli, ["trace", str(capture), "--out", str(tmp_path / "trace")]).exit_code == 0
    for folder in ("sweep", "validation", "trace"):
        assert open_page(browser, tmp_path / folder / "report.html") == [], folder
        assert_not_blank(browser)
