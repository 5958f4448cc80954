"""Real-browser test: the running dashboard in headless Debian chromium, every page, screenshots.

Needs ``/usr/bin/chromium`` (``.ci/run`` installs it with apt) and the ``playwright`` package;
skipped, saying why, when either is missing.  Screenshots are written to
``tests/apps/screenshots/`` (ignored by git; the README's copies live in ``docs/``).
"""

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
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
    "Labelling": "Click to place",
    "Behaviour_annotation": "Click to go to a frame",
    "Regions": "No regions yet",
}

pytestmark = pytest.mark.slow
#: the folder the running dashboard's session lives in
WORK: dict = {}
#: the Labelling page's picture (a streamlit-image-coordinates component)
PICTURE = "iframe[title*='image_coordinates']"


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
    WORK["dir"] = work
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


def _launch(p):
    return p.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )


def _wait_for_change(path: Path, mtime: float, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.stat().st_mtime != mtime:
            time.sleep(0.5)  # the atomic rename is done once the mtime changes
            return
        time.sleep(0.2)
    pytest.fail(f"{path} was not saved within {timeout} s")


def _todo_project(tmp_path: Path) -> Path:
    """A 3-frame labelling project of the sample video, with predictions to correct."""
    from mapose.cli import main

    video = tmp_path / f"{tmp_path.name}.mp4"
    shutil.copy(ROOT / "data" / "flies_dreem" / "two_flies.mp4", video)
    todo = tmp_path / "todo.slp"
    assert main(["extract-frames", str(video), "--out", str(todo), "--tracks",
                 str(ROOT / "data" / "flies_dreem" / "two_flies.slp"), "--n", "3"]) == 0
    return todo


@pytest.mark.parametrize("window", [1400, 1000])
def test_labelling_page_click_places_and_drag_moves_a_point(server, tmp_path, window):
    """In a real browser: a click puts the selected body part under the mouse, a drag moves it;
    both are saved to the project at once, in frame pixels. In a narrow window the picture shrinks
    to fit its column (none of it is cut off) and clicks still land on the frame pixel under the mouse."""
    import sleap_io as sio
    from playwright.sync_api import sync_playwright

    todo = _todo_project(tmp_path)

    def view():
        """(x0, y0, shown pixels per frame pixel): the part of the frame from the page's caption,
        the picture's width as the browser draws it."""
        text = page.get_by_text("Showing x").first.inner_text()
        x0, x1, y0, y1 = (int(v) for v in re.search(r"x (\d+)–(\d+), y (\d+)–(\d+)", text).groups())
        shown = page.frame_locator(PICTURE).locator("img").bounding_box()["width"]
        return x0, y0, shown / (x1 - x0)

    def head_of_first_user_instance():
        labels = sio.load_slp(str(todo), open_videos=False)
        for lf in sorted(labels.labeled_frames, key=lambda f: f.frame_idx):
            for inst in lf.instances:
                if not isinstance(inst, sio.PredictedInstance):
                    return inst.numpy()[0]
        return None

    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": window, "height": 1100})
        page.goto(f"{server}/Labelling", wait_until="networkidle", timeout=120_000)
        page.get_by_text("Click to place").first.wait_for(timeout=120_000)  # the sample project is open
        box = page.locator("[data-testid='stSidebar'] input[type='text']").first
        box.fill(str(todo))
        box.press("Enter")
        page.get_by_text(f"writes {todo}").first.wait_for(timeout=60_000)
        page.get_by_text("Click to place head of animal 0").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the picture of the new file
        img = page.frame_locator(PICTURE).locator("img")
        img.wait_for(timeout=60_000)
        assert head_of_first_user_instance() is None  # nothing labelled yet

        x0, y0, scale = view()
        assert not re.search(r"x 0–1024, y 0–1024", page.get_by_text("Showing x").first.inner_text())  # on the animals
        b = img.bounding_box()
        assert b["x"] + b["width"] <= window - 10  # the whole picture is in the window
        assert b["width"] > 300
        mtime = todo.stat().st_mtime
        img.click(position={"x": 100, "y": 200})
        _wait_for_change(todo, mtime)
        head = head_of_first_user_instance()
        assert head is not None
        # the browser rounds mouse positions to whole pixels of the page: allow for one shown pixel
        tol = max(1.0, 1.5 / scale)
        assert np.allclose(head, [x0 + 100.5 / scale - 0.5, y0 + 200.5 / scale - 0.5], atol=tol), head

        page.get_by_text("Click to place").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the redrawn picture
        b = page.frame_locator(PICTURE).locator("img").bounding_box()
        mtime = todo.stat().st_mtime
        page.mouse.move(b["x"] + 100, b["y"] + 200)
        page.mouse.down()
        u, v = int(b["width"] * 0.75), int(b["height"] * 0.9)  # released inside the picture
        page.mouse.move(b["x"] + (100 + u) / 2, b["y"] + (200 + v) / 2, steps=8)
        page.mouse.move(b["x"] + u, b["y"] + v, steps=8)
        page.mouse.up()
        _wait_for_change(todo, mtime)
        head = head_of_first_user_instance()
        assert view() == (x0, y0, scale)  # the view stays put while labelling
        assert np.allclose(head, [x0 + (u + 0.5) / scale - 0.5, y0 + (v + 0.5) / scale - 0.5], atol=tol), head
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()


def test_labelling_page_keyboard_shortcuts(server, tmp_path):
    """In a real browser: arrow keys choose body parts and frames, ``z`` undoes a point placed by a
    click (the picture has the focus then), and keys typed into a text field are left alone."""
    import sleap_io as sio
    from playwright.sync_api import expect, sync_playwright

    todo = _todo_project(tmp_path)

    def user_points():
        labels = sio.load_slp(str(todo), open_videos=False)
        return sum(1 for lf in labels.labeled_frames for inst in lf.instances
                   if not isinstance(inst, sio.PredictedInstance))

    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{server}/Labelling", wait_until="networkidle", timeout=120_000)
        page.get_by_text("Click to place").first.wait_for(timeout=120_000)
        box = page.locator("[data-testid='stSidebar'] input[type='text']").first
        box.fill(str(todo))
        box.press("Enter")
        page.get_by_text("Click to place head of animal 0").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the keys component hooks the page

        page.locator("h1").first.click()  # the focus on the page, not in a field
        page.keyboard.press("ArrowDown")
        page.get_by_text("Click to place thorax of animal 0").first.wait_for(timeout=30_000)
        page.keyboard.press("ArrowDown")
        page.get_by_text("Click to place abdomen of animal 0").first.wait_for(timeout=30_000)
        page.keyboard.press("ArrowUp")
        page.get_by_text("Click to place thorax of animal 0").first.wait_for(timeout=30_000)

        # typed into a text field: not a shortcut
        box.focus()
        page.keyboard.press("ArrowUp")
        page.wait_for_timeout(1500)
        assert page.get_by_text("Click to place thorax of animal 0").count() > 0

        img = page.frame_locator(PICTURE).locator("img")
        mtime = todo.stat().st_mtime
        img.click(position={"x": 100, "y": 200})
        _wait_for_change(todo, mtime)
        assert user_points() == 1  # the prediction, corrected
        page.wait_for_timeout(1500)  # the redrawn page
        mtime = todo.stat().st_mtime
        page.keyboard.press("z")  # the focus is in the picture's frame
        _wait_for_change(todo, mtime)
        assert user_points() == 0

        prev, nxt = page.get_by_role("button", name="◀ Previous"), page.get_by_role("button", name="Next ▶")
        expect(prev).to_be_disabled()  # on the first of the 3 frames
        page.keyboard.press("ArrowRight")
        expect(prev).to_be_enabled(timeout=30_000)
        expect(nxt).to_be_enabled()
        page.keyboard.press("ArrowRight")
        expect(nxt).to_be_disabled(timeout=30_000)  # the last frame
        page.keyboard.press("ArrowLeft")
        expect(nxt).to_be_enabled(timeout=30_000)
        expect(prev).to_be_enabled()
        page.keyboard.press("1")  # the second animal
        page.get_by_text("Click to place head of animal 1").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()


def test_behaviour_annotation_page_marks_a_bout_from_the_keyboard(server, tmp_path):
    """In a real browser: choose a behaviour with its number, start a bout with ``s``, step with the
    arrow keys (Shift: 10 frames), end it with ``e``: the bout is saved at once; ``z`` undoes it."""
    from playwright.sync_api import sync_playwright

    from mapose.io.annotations import read_annotations

    ann = tmp_path / "session.bouts.csv"
    ann.write_text("behaviour,subject,start,stop\nchase,F,0,0\ngroom,F,0,0\n")
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{server}/Behaviour_annotation", wait_until="networkidle", timeout=120_000)
        page.get_by_text("Click to go to a frame").first.wait_for(timeout=120_000)
        box = page.get_by_role("textbox", name="Annotation file")
        box.fill(str(ann))
        box.press("Enter")
        page.get_by_text(f"writes {ann}").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the keys component hooks the page
        page.locator("h1").first.click()
        page.keyboard.press("2")  # groom
        page.get_by_text("row 1: groom (F)").first.wait_for(timeout=30_000)
        page.keyboard.press("s")
        page.get_by_text("bout started at frame 0").first.wait_for(timeout=30_000)
        for key in ("ArrowRight", "ArrowRight", "ArrowRight", "shift+ArrowRight"):
            page.keyboard.press(key.replace("shift+", "Shift+"))
            page.wait_for_timeout(700)
        page.get_by_text("frame 13: no behaviour annotated").first.wait_for(timeout=30_000)
        mtime = ann.stat().st_mtime
        page.keyboard.press("e")
        _wait_for_change(ann, mtime)
        table = read_annotations(ann, n_frames=128)
        assert np.flatnonzero(table["groom"].to_numpy()).tolist() == list(range(14))
        assert table["chase"].sum() == 0
        page.get_by_text("frame 13: groom (F)").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "Behaviour_annotation_bout.png"))
        # a click on the ethogram goes to the frame under it (the strip spans frames 0..127)
        strip = page.frame_locator("iframe[title*='image_coordinates']").locator("img")
        b = strip.bounding_box()
        strip.click(position={"x": b["width"] * 100.5 / 128, "y": b["height"] / 2})
        page.get_by_text("frame 100: no behaviour annotated").first.wait_for(timeout=30_000)
        mtime = ann.stat().st_mtime
        page.keyboard.press("z")
        _wait_for_change(ann, mtime)
        assert read_annotations(ann, n_frames=128)["groom"].sum() == 0
        # r: frames from the start mark to here reviewed (a partial annotation)
        page.keyboard.press("s")
        page.get_by_text("bout started at frame 100").first.wait_for(timeout=30_000)
        for _ in range(2):
            page.keyboard.press("Shift+ArrowLeft")
            page.wait_for_timeout(700)
        page.get_by_text("frame 80: no behaviour annotated").first.wait_for(timeout=30_000)
        mtime = ann.stat().st_mtime
        page.keyboard.press("r")
        _wait_for_change(ann, mtime)
        assert "(annotated),,80,101" in ann.read_text().splitlines()
        page.get_by_text("21 of 128 frames reviewed").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()


def test_regions_page_two_clicks_make_a_rectangle_that_is_measured_and_saved(server):
    """In a real browser: two clicks on the frame give a rectangle's corners (in video pixels); added,
    it is measured at once; saved, it is in the regions file beside the pose file."""
    from playwright.sync_api import sync_playwright

    from mapose.io import read_regions

    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{server}/Regions", wait_until="networkidle", timeout=120_000)
        page.get_by_text("No regions yet").first.wait_for(timeout=120_000)
        path = Path(page.locator("input[aria-label^='Regions file']").input_value())
        page.get_by_text("rectangle", exact=True).first.click()
        page.get_by_text("click two opposite corners").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        shown = page.frame_locator(PICTURE).locator("img").bounding_box()["width"]
        for x, y, n in ((100, 150, 1), (400, 500, 2)):
            page.frame_locator(PICTURE).locator("img").click(position={"x": x, "y": y})
            page.get_by_text(f"{n} point(s) so far").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # the redrawn picture
        name = page.locator("input[aria-label='Name']")
        name.fill("arena_part")
        name.press("Enter")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Add region").click()
        page.get_by_text("added arena_part").first.wait_for(timeout=60_000)
        page.get_by_text("Time in regions").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Save regions").click()
        page.get_by_text(f"saved {path}").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()
    (region,) = read_regions(path)
    from mapose.io.video import VideoReader

    with VideoReader(ROOT / "data" / "flies_dreem" / "two_flies.mp4") as video:
        f = video.width / shown  # frame pixels per displayed pixel
    assert f > 1  # the frame is shown smaller than it is
    want = ((100.5 * f - 0.5), (150.5 * f - 0.5), (400.5 * f - 0.5), (500.5 * f - 0.5))
    np.testing.assert_allclose(region.bounds, want, atol=1.0)


def test_clicking_the_ethogram_shows_that_frame(server):
    """Behaviour clusters: a click on the ethogram moves the frame slider there and shows that frame of the
    video with the poses and every row's label."""
    from playwright.sync_api import sync_playwright

    from mapose.cli import main

    work = WORK["dir"]
    assert main(["cluster", str(work / "two_flies.slp"), "--out", str(work / "two_flies_clusters"),
                 "--mode", "pair", "--seed", "0"]) == 0
    with sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/Behaviour_clusters", wait_until="networkidle", timeout=120_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=180_000)
        page.get_by_text("Ethogram").first.wait_for(timeout=60_000)
        page.evaluate("""() => [...document.querySelectorAll('h3')].find(e => e.textContent.includes('Ethogram'))
                                .scrollIntoView({block: 'start'})""")
        page.wait_for_timeout(2000)
        thumb = page.locator("[data-testid='stSliderThumbValue']").first
        assert thumb.inner_text() == "0"
        chart = page.locator("[data-testid='stVegaLiteChart']").nth(1)  # after the embedding
        box = chart.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.3)
        page.wait_for_function("() => document.querySelector(\"[data-testid='stSliderThumbValue']\").innerText !== '0'",
                               timeout=60_000)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        frame = int(thumb.inner_text())
        assert 30 < frame < 127  # right of the middle of the 128-frame clip, not the first frame
        page.get_by_text(f"frame {frame}: F|M cluster").first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        browser.close()
