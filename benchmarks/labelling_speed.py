"""How fast labelling responds: the LabelEditor on a large SLEAP file, and the Labelling page.

Usage::

    python benchmarks/labelling_speed.py [--edits 200]

1. Opens a copy of the bundled SLEAP predictions (1,350 frames, 2,700 predicted flies), corrects
   one point on each of ``--edits`` frames, and prints the time per edit, the memory the undo
   steps hold, the time to save (atomically) and to undo 100 steps.
2. Makes a 10-frame project of the bundled fly video with ``mapose extract-frames`` and runs the
   Labelling page with Streamlit's AppTest: the first run (video opened) and the reruns after
   "Next" and "Accept all predictions" (each saves the file), as the server sees them (the browser
   adds the picture's transfer: a 720-pixel JPEG).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def editor(folder: Path, n_edits: int) -> None:
    from mapose.data.label_editor import LabelEditor

    path = folder / "predictions.slp"
    shutil.copy(ROOT / "data" / "flies_tutorial_pair" / "predictions" / "predictions.slp", path)
    t = time.perf_counter()
    ed = LabelEditor(path)
    print(f"open {len(ed)} frames: {time.perf_counter() - t:.2f} s")
    tracemalloc.start()
    t = time.perf_counter()
    for k in range(n_edits):
        ed.place(k % len(ed), 0, ed.keypoints[0], 10.0 + k, 10.0)
    dt = (time.perf_counter() - t) / n_edits
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"edit: {dt * 1e3:.2f} ms each; {held / 1e6:.1f} MB held with {len(ed._undo)} undo steps")
    t = time.perf_counter()
    ed.save()
    print(f"save: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    for _ in range(100):
        ed.undo()
    print(f"undo 100 steps: {time.perf_counter() - t:.3f} s")


def page(folder: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from mapose.cli import main

    video = folder / "bench_flies.mp4"
    shutil.copy(ROOT / "data" / "flies_dreem" / "two_flies.mp4", video)
    todo = folder / "todo.slp"
    main(["extract-frames", str(video), "--out", str(todo), "--tracks",
          str(ROOT / "data" / "flies_dreem" / "two_flies.slp"), "--n", "10", "--min-gap", "3"])
    os.environ["MAPOSE_DASHBOARD_PATH"] = str(todo)
    at = AppTest.from_file(str(ROOT / "apps" / "pages" / "6_Labelling.py"), default_timeout=120)
    t = time.perf_counter()
    at.run()
    print(f"page, first run: {time.perf_counter() - t:.2f} s")
    at.selectbox(key="lab_frame").set_value(0).run()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        at.button(key="lab_next").click().run()
        times.append(time.perf_counter() - t)
    print("page, rerun after Next: " + ", ".join(f"{x:.2f}" for x in times) + " s")
    t = time.perf_counter()
    at.button(key="lab_accept_all").click().run()
    print(f"page, rerun after Accept all (file saved): {time.perf_counter() - t:.2f} s")
    assert not at.exception, [e.value for e in at.exception]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edits", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        editor(Path(tmp), args.edits)
        page(Path(tmp))


if __name__ == "__main__":
    main()
