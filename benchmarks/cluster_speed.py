"""Speed of unsupervised clustering, end to end, on 100,000 frames.

Synthetic single-animal session(s) (6 body parts; bouts of running, walking, turning in place and
resting) -> ``mapose.kinematics.feature_table`` -> ``BehaviourClusterer.fit`` (UMAP on a
``max_fit_frames`` sample, HDBSCAN, classifier labels every frame, minimum bout filter) -> cluster
statistics, transition matrix and typical bouts.  Prints the time of each stage and the peak
resident memory of the process (the budget is 3 minutes on the 2-core development CPU).

    python benchmarks/cluster_speed.py [--frames 100000] [--sessions 4] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mapose.core import make_tracks  # noqa: E402

KEYPOINTS = ["nose", "left_ear", "right_ear", "neck", "hip", "tail_base"]
#: (forward speed px/frame, turning rad/frame) of each regime
REGIMES = np.array([[9.0, 0.0], [3.0, 0.01], [0.3, 0.09], [0.0, 0.0]])


def synthetic_session(n_frames: int, seed: int):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(30, 300, n_frames // 30 + 1)
    regime = np.repeat(rng.integers(0, len(REGIMES), len(lengths)), lengths)[:n_frames]
    speed = REGIMES[regime, 0] * (1 + 0.1 * rng.normal(size=n_frames))
    turn = REGIMES[regime, 1] + 0.01 * rng.normal(size=n_frames)
    theta = np.cumsum(turn)
    xy = np.cumsum(np.stack([speed * np.cos(theta), speed * np.sin(theta)], 1), axis=0)
    xy = np.mod(xy, 1000.0)  # a 1000 px arena with wrap-around
    # body: offsets along (u) and across (v) the heading, pixels
    along = np.array([12.0, 7.0, 7.0, 4.0, -5.0, -12.0])
    across = np.array([0.0, 3.0, -3.0, 0.0, 0.0, 0.0])
    u = np.stack([np.cos(theta), np.sin(theta)], 1)
    v = np.stack([-np.sin(theta), np.cos(theta)], 1)
    pos = xy[:, :, None] + u[:, :, None] * along + v[:, :, None] * across
    pos += rng.normal(0, 0.4, pos.shape)
    ds = make_tracks(pos[..., None], keypoints=KEYPOINTS, individuals=["mouse"], fps=30.0,
                     source_file=f"synthetic{seed}.h5")
    return ds, regime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    per = args.frames // args.sessions
    data = [synthetic_session(per, args.seed + i) for i in range(args.sessions)]
    truth = np.concatenate([r for _, r in data])
    tracks = [d for d, _ in data]
    t_data = time.perf_counter() - t0

    from sklearn.metrics import adjusted_mutual_info_score

    from mapose.behaviour.clustering import (
        BehaviourClusterer,
        cluster_statistics,
        transition_matrix,
        typical_bouts,
    )

    t1 = time.perf_counter()
    model = BehaviourClusterer(mode="animal", seed=args.seed).fit(tracks, progress=True)
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    lab = model.labels_
    cluster_statistics(lab, fps=30.0)
    transition_matrix(lab)
    typical_bouts(lab, model.reduced_, model.centers_, model.clusters_, n=5,
                  min_frames=model.min_bout_frames)
    t_out = time.perf_counter() - t2
    total = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/loadavg") as fh:
        load = fh.read().split()[:3]
    print(f"frames {len(lab)} in {args.sessions} sessions; clusters {model.n_clusters_}; "
          f"AMI vs the 4 generating regimes {adjusted_mutual_info_score(truth, lab['cluster']):.3f}; "
          f"classifier vs umap.transform agreement {model.agreement_:.3f}")
    print(f"time: data {t_data:.1f} s, fit (features + UMAP + HDBSCAN + classifier + labels) "
          f"{t_fit:.1f} s, outputs {t_out:.1f} s, TOTAL {total:.1f} s (budget 180 s)")
    print(f"peak resident memory {peak_mb:.0f} MB; load average {' '.join(load)} on "
          f"{len(__import__('os').sched_getaffinity(0))} cores")
    return 0 if total < 180 else 1


if __name__ == "__main__":
    sys.exit(main())
