"""Training time of a behaviour classifier on 100,000 frames × 3 behaviours.

Synthetic data with the shape of a real project: 4 sessions × 25,000 frames (30 fps) of one
mouse with 8 keypoints, and 3 behaviours defined by motion and posture (``still``: speed below
2 cm/s for >= 1 s; ``run``: speed above 20 cm/s; ``turn``: fast heading change).  Timed: the whole
``train_classifier`` call -- features (:func:`mapose.kinematics.feature_table` + motion
features, windows 5/15/45), 5-fold session-grouped cross-validation, threshold choice and the
final models -- with the default settings of ``mapose classify train``.

Prints wall time, process CPU time and the load average (the development machine is shared:
wall time is CPU time stretched by the other users' load).

Run: ``python benchmarks/classify_speed.py [--threads 1] [--frames 100000]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from mapose.behaviour.classifier import train_classifier
from mapose.core import make_tracks

KEYPOINTS = ("nose", "ear_left", "ear_right", "neck", "hip_left", "hip_right", "tail_base", "tail_tip")
BODY = np.array([[4.0, 0.0], [2.8, 0.9], [2.8, -0.9], [2.0, 0.0],
                 [-2.0, 1.2], [-2.0, -1.2], [-4.0, 0.0], [-9.0, 0.0]])  # cm


def synthetic_session(n: int, seed: int, fps: float = 30.0, px_per_cm: float = 10.0):
    rng = np.random.default_rng(seed)
    # speed: a slowly varying random process with still periods
    sp = np.abs(np.convolve(rng.normal(0, 25, n), np.ones(30) / 30 ** 0.5, mode="same")) / 3
    still_mask = np.zeros(n, bool)
    t = 0
    while t < n:
        t += int(rng.integers(100, 600))
        length = int(rng.integers(30, 200))
        still_mask[t:t + length] = True
        t += length
    sp[still_mask] = rng.uniform(0, 0.5, still_mask.sum())
    turn_rate = np.convolve(rng.normal(0, 0.6, n), np.ones(15) / 15 ** 0.5, mode="same") * (~still_mask)
    heading = np.cumsum(turn_rate / fps)
    xy = np.cumsum(np.stack([sp * np.cos(heading), sp * np.sin(heading)], 1) / fps, axis=0)
    c, s = np.cos(heading), np.sin(heading)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    pts = xy[:, None] + np.einsum("tij,kj->tki", rot, BODY) + rng.normal(0, 0.05, (n, len(KEYPOINTS), 2))
    pos = np.transpose(pts * px_per_cm, (0, 2, 1))[..., None]
    ds = make_tracks(pos, np.ones((n, len(KEYPOINTS), 1)), keypoints=KEYPOINTS, individuals=["mouse"], fps=fps)
    ann = pd.DataFrame({"frame": np.arange(n), "subject": "",
                        "still": still_mask.astype(int),
                        "run": (sp > 20).astype(int),
                        "turn": (np.abs(turn_rate) > 1.0).astype(int)})
    return ds, ann


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads (default: all; 1 avoids OpenMP oversubscription on a busy machine)")
    args = ap.parse_args(argv)
    per = args.frames // args.sessions
    data = [synthetic_session(per, seed=i) for i in range(args.sessions)]
    print(f"{args.sessions} sessions × {per} frames; behaviour prevalence: "
          + ", ".join(f"{b} {np.mean([d[1][b].mean() for d in data]) * 100:.1f}%" for b in ("still", "run", "turn")))
    load0 = os.getloadavg()[0]
    t0, c0 = time.time(), time.process_time()
    model = train_classifier([d[0] for d in data], [d[1] for d in data], px_per_cm=10.0,
                             n_threads=args.threads, min_bout=1)
    wall, cpu = time.time() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for b, m in model.classifier.cv_["metrics"].items():
        print(f"  {b}: grouped-CV F1 {m['f1']:.3f} (AP {m['average_precision']:.3f})")
    print(f"training {args.frames} frames × 3 behaviours ({len(model.classifier.feature_names_)} features): "
          f"wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:.0f} MB, "
          f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
