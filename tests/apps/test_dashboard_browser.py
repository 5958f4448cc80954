"""Real-browser test: the running dashboard in headless Debian chromium, every page, screenshots.

Needs ``/usr/bin/chromium`` (``.ci/run`` installs it with apt) and the ``playwright`` package;
skipped, saying why, when either is missing.  Screenshots are written to
``tests/apps/screenshots/`` (ignored by git; the README's copies live in ``docs/``).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent / "screenshots"
#: page URL -> text that only appears once the page has rendered its content
PAGES = {
    "": "Pick a page in the sidebar",
    "Session": "Confidence over time",
    "Tracking_review": "Swap two animals from a frame onward",
    "Kinematics": "Per pair",
    "Behaviour_clusters": "Behaviour clusters",
    "Classifiers": "Behaviour classifiers",
}

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    work = tmp_path_factory.mktemp("dash")
    for f in ("two_flies.slp", "two_flies.mp4"):
        shutil.copy(ROOT / "data" / "flies_dreem" / f, work / f)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mapose", "dashboard", str(work / "two_flies.slp"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited: {proc.stdout.read()}")
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("dashboard did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_every_page_renders_without_exception(server):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, expected in PAGES.items():
            page.goto(f"{server}/{name}", wait_until="networkidle", timeout=120_000)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                                   timeout=180_000)
            page.get_by_text(expected).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # let charts and images paint
            page.screenshot(path=str(SHOTS / f"{name or 'Home'}.png"), full_page=True)
            assert page.locator("[data-testid='stException']").count() == 0, f"exception on page {name!r}"
        browser.close()
