"""Tracking speed: cost per frame for 2, 10 and 50 animals, and one hour of 3 animals at 30 fps;
and the tracker's peak memory on a noisy model's output.

Synthetic animals (5 keypoints, 40 px long) circle their own cells with keypoint noise; 5 % of
detections are dropped at random so the linker also bridges gaps and the stitcher has work.
Prints a table; run with ``python benchmarks/track_speed.py [--hour-frames 108000]``.

``--memory-frames N`` (default 32000): 2 animals with 24 body parts plus, in every frame, two
spurious detections scattered over the image (a model that fires on background; each becomes a
tracklet of its own). Prints the tracker's peak Python memory (``tracemalloc``) per detection,
beside the bytes of the detections themselves.
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


def memory(n_frames: int, n_parts: int = 24, spurious: int = 2, seed: int = 0) -> dict:
    """Peak memory (tracemalloc) of ``fit_track`` on 2 animals + ``spurious`` noise detections per frame."""
    import tracemalloc

    from mapose.core import Detections
    from mapose.core.skeleton import Skeleton

    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)
    body = rng.normal(0, 20, (n_parts, 2))
    frames, kps, scores = [], [], []
    for a in range(2):
        centre = np.stack([150 + 100 * a + 50 * np.sin(t / 200 + a), 150 + 50 * np.cos(t / 170 + 2 * a)], -1)
        frames.append(t)
        kps.append(centre[:, None] + body + rng.normal(0, 1, (n_frames, n_parts, 2)))
        scores.append(np.full(n_frames, 0.9))
    for _ in range(spurious):
        frames.append(t)
        kps.append(rng.uniform(0, 400, (n_frames, 1, 2)) + rng.normal(0, 20, (n_frames, n_parts, 2)))
        scores.append(np.full(n_frames, 0.3))
    fr = np.concatenate(frames)
    order = np.argsort(fr, kind="stable")
    kp = np.concatenate(kps)[order]
    det = Detections(frame=fr[order], keypoints=kp, keypoint_scores=np.full(kp.shape[:2], 0.8),
                     instance_scores=np.concatenate(scores)[order], skeleton=Skeleton(
                         tuple(f"part{i}" for i in range(n_parts))), n_frames=n_frames)
    Tracker(n_animals=2).fit_track(det.select(det.frame < 50))  # load the numba kernels first
    tracemalloc.start()
    tracker = Tracker(n_animals=2)
    tracker.fit_track(det)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"detections": len(det), "peak_mb": peak / 1e6, "tracklets": tracker.n_tracklets_,
            "input_mb": (det.keypoints.nbytes + det.keypoint_scores.nbytes) / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=3000, help="frames per animal-count run")
    ap.add_argument("--hour-frames", type=int, default=108_000, help="frames of the 3-animal hour run")
    ap.add_argument("--check", action="store_true", help="also score the hour run against the truth")
    ap.add_argument("--memory-frames", type=int, default=32000, help="frames of the memory run (0 = skip)")
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
    if args.memory_frames:
        r = memory(args.memory_frames)
        print(f"memory, 2 animals + 2 spurious detections per frame, 24 body parts ({args.memory_frames} "
              f"frames, {r['detections']} detections, {r['tracklets']} tracklets): peak "
              f"{r['peak_mb']:.0f} MB = {1e3 * r['peak_mb'] / r['detections']:.2f} kB per detection "
              f"(the detections themselves: {r['input_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
