"""Tracking speed: cost per frame for 2, 10 and 50 animals, and one hour of 3 animals at 30 fps.

Synthetic animals (5 keypoints, 40 px long) circle their own cells with keypoint noise; 5 % of
detections are dropped at random so the linker also bridges gaps and the stitcher has work.
Prints a table; run with ``python benchmarks/track_speed.py [--hour-frames 108000]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mapose.tracking import Tracker, evaluate_tracks  # noqa: E402
from tests.tracking.synth import grid_walk, to_detections  # noqa: E402


def make(n_animals: int, n_frames: int, seed: int = 0, drop: float = 0.05):
    rng = np.random.default_rng(seed)
    poses = grid_walk(n_animals, n_frames, seed=seed)
    poses = poses + rng.normal(0, 0.5, poses.shape)
    keep = rng.random(poses.shape[:2]) >= drop
    return to_detections(poses, keep=keep)


def run(n_animals: int, n_frames: int) -> dict:
    det = make(n_animals, n_frames)
    truth_det = det
    t0 = time.perf_counter()
    tracker = Tracker(n_animals=n_animals).fit(det)
    t1 = time.perf_counter()
    ds = tracker.track(det)
    t2 = time.perf_counter()
    return {"n_animals": n_animals, "n_frames": n_frames, "detections": len(det),
            "fit_s": t1 - t0, "track_s": t2 - t1, "total_s": t2 - t0,
            "ms_per_frame": 1000 * (t2 - t0) / n_frames, "tracklets": tracker.n_tracklets_,
            "ds": ds, "det": truth_det}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=3000, help="frames per animal-count run")
    ap.add_argument("--hour-frames", type=int, default=108_000, help="frames of the 3-animal hour run")
    ap.add_argument("--check", action="store_true", help="also score the hour run against the truth")
    args = ap.parse_args()
    t0 = time.perf_counter()
    Tracker(n_animals=2).fit_track(make(2, 20))  # load (or compile) the numba kernels once
    print(f"kernel load/compile: {time.perf_counter() - t0:.2f} s (once per process)")
    print(f"{'animals':>7} {'frames':>7} {'dets':>8} {'fit s':>7} {'track s':>8} {'ms/frame':>9} {'tracklets':>9}")
    for n in (2, 10, 50):
        r = run(n, args.frames)
        print(f"{n:>7} {r['n_frames']:>7} {r['detections']:>8} {r['fit_s']:>7.2f} {r['track_s']:>8.2f} "
              f"{r['ms_per_frame']:>9.3f} {r['tracklets']:>9}")
    r = run(3, args.hour_frames)
    print(f"1 h at 30 fps, 3 animals ({args.hour_frames} frames, {r['detections']} detections): "
          f"{r['total_s']:.1f} s (fit {r['fit_s']:.1f} s + track {r['track_s']:.1f} s), "
          f"{r['tracklets']} tracklets; target < 60 s")
    if args.check:
        from mapose.core import detections_to_tracks

        truth = detections_to_tracks(r["det"])
        m = evaluate_tracks(r["ds"], truth)
        print(f"hour run vs truth: MOTA {m['mota']:.4f} IDF1 {m['idf1']:.4f} switches {m['num_switches']}")


if __name__ == "__main__":
    main()
