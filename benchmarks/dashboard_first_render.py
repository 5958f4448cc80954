"""Time to first render of the dashboard's Session page for a 100,000-frame pose file.

Usage::

    python benchmarks/dashboard_first_render.py [--frames 100000]

Builds a 100,000-frame, 2-animal, 13-keypoint pose file (DLC .h5) by tiling the bundled
two-fly tracks, then runs the Session page once with Streamlit's AppTest (a cold start: nothing
cached) and a second time (warm: file and frames cached), and prints both times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    args = ap.parse_args()

    from streamlit.testing.v1 import AppTest

    from mapose import io
    from mapose.core import get_skeleton, make_tracks

    src = io.read_tracks(ROOT / "data" / "flies_dreem" / "two_flies.slp")
    reps = int(np.ceil(args.frames / src.sizes["time"]))
    pos = np.tile(src["position"].values, (reps, 1, 1, 1))[: args.frames]
    conf = np.tile(src["confidence"].values, (reps, 1, 1))[: args.frames]
    big = make_tracks(pos, conf, skeleton=get_skeleton(src), individuals=list(src["individuals"].values),
                      fps=src.attrs.get("fps") or 25.0)
    with tempfile.TemporaryDirectory() as tmp:
        pose = Path(tmp) / "long_session.h5"
        io.write_tracks(big, pose)
        shutil.copy(ROOT / "data" / "flies_dreem" / "two_flies.mp4", Path(tmp) / "long_session.mp4")
        os.environ["MAPOSE_DASHBOARD_PATH"] = str(pose)
        at = AppTest.from_file(str(ROOT / "apps" / "pages" / "1_Session.py"), default_timeout=600)
        t0 = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t0
        assert not at.exception, [e.value for e in at.exception]
        t0 = time.perf_counter()
        at.run()
        warm = time.perf_counter() - t0
        at.slider(key="frame_slider").set_value(90).run()
        t0 = time.perf_counter()
        at.slider(key="frame_slider").set_value(100).run()
        step = time.perf_counter() - t0
    print(f"session page, {args.frames} frames x {big.sizes['individuals']} animals x "
          f"{big.sizes['keypoints']} keypoints ({pose.suffix}):")
    print(f"  first render (cold, reads the file): {cold:.2f} s")
    print(f"  re-render (cached):                  {warm:.2f} s")
    print(f"  move the frame slider:               {step:.2f} s")


if __name__ == "__main__":
    main()
