"""Speed and memory of the full kinematics feature set on one hour of 3 animals × 12 keypoints.

    python benchmarks/features_speed.py [--frames 108000] [--windows 5 15 45] [--synthetic]

Data: the MABe22 triplet (``../shared/data/mice_mabe22_triplet``, 1800 frames, 3 mice × 12
keypoints, ~10 % missing) tiled to ``--frames`` frames (each copy shifted so that time stays
continuous in frame numbers; the positions restart at every tile boundary, one jump per minute),
or, without ``../shared`` (or with ``--synthetic``), random walks with 10 % missing points.

Times: cleaning (interpolate gaps ≤ 5 frames, Savitzky–Golay 7/2), then both feature tables with
:func:`mapose.kinematics.feature_tables` (animal table; pair table over the 6 ordered pairs with
both animals' own features); prints the time of each step, the total, the table sizes and the peak
resident memory (ru_maxrss) of the process.  Library imports happen before timing.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np

from mapose.core import make_tracks

MABE = Path(__file__).resolve().parents[1] / "../shared/data/mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5"
KEYPOINTS = ["nose", "left ear", "right ear", "neck", "left forepaw", "right forepaw", "center back",
             "left hindpaw", "right hindpaw", "tail base", "tail middle", "tail tip"]


def load(n_frames: int, synthetic: bool, seed: int = 0):
    if not synthetic and MABE.exists():
        from mapose.io import read_tracks

        src = read_tracks(MABE)
        reps = int(np.ceil(n_frames / src.sizes["time"]))
        pos = np.concatenate([src["position"].values] * reps, axis=0)[:n_frames]
        return make_tracks(pos, skeleton=None, keypoints=[str(k) for k in src["keypoints"].values],
                           individuals=[str(i) for i in src["individuals"].values], fps=30.0,
                           source_file=str(MABE)), f"MABe22 triplet tiled ×{reps}"
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(scale=1.5, size=(n_frames, 2, 1, 3)), axis=0) + 250
    pos = pos + rng.normal(scale=8, size=(1, 2, 12, 3)) + rng.normal(scale=0.5, size=(n_frames, 2, 12, 3))
    pos = np.where(rng.random((n_frames, 1, 12, 3)) < 0.1, np.nan, pos)
    return make_tracks(pos, keypoints=KEYPOINTS, individuals=["m1", "m2", "m3"], fps=30.0), "synthetic random walks"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=108_000)
    ap.add_argument("--windows", type=int, nargs="*", default=[5, 15, 45])
    ap.add_argument("--synthetic", action="store_true", help="use random walks even if shared data exists")
    args = ap.parse_args(argv)

    import bottleneck  # noqa: F401  -- import the compute libraries before timing (one-off cost)
    import pyarrow  # noqa: F401
    import scipy.signal  # noqa: F401

    import mapose.kinematics as K

    ds, what = load(args.frames, args.synthetic)
    print(f"data: {what}: {ds.sizes['time']} frames × {ds.sizes['individuals']} animals × "
          f"{ds.sizes['keypoints']} keypoints, {float(ds['position'].isnull().mean()):.1%} missing")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = {}
    t0, c0 = time.perf_counter(), time.process_time()
    clean = K.savgol_smooth(K.interpolate_gaps(ds, 5), 7, 2)
    t1, c1 = time.perf_counter(), time.process_time()
    times["clean"] = (t1 - t0, c1 - c0)
    tables = K.feature_tables(clean, modes=("animal", "pair"), windows=tuple(args.windows))
    t2, c2 = time.perf_counter(), time.process_time()
    times["features (animal + pair tables)"] = (t2 - t1, c2 - c1)
    total = (t2 - t0, c2 - c0)
    animal, pair = tables["animal"], tables["pair"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loadavg = os.getloadavg()[0]
    print(f"wall-clock and CPU seconds of this process (1-min load average {loadavg:.1f} on "
          f"{os.cpu_count()} CPUs: on a shared machine wall > CPU)")
    for k, (wall, cpu) in times.items():
        print(f"{k:>32}: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(f"{'total':>32}: {total[0]:6.2f} s wall, {total[1]:6.2f} s CPU  (target < 10 s)")
    print(f"animal table: {animal.shape[0]} rows × {animal.shape[1]} columns, "
          f"{animal.memory_usage(deep=False).sum() / 2**20:.0f} MiB")
    print(f"pair table:   {pair.shape[0]} rows × {pair.shape[1]} columns, "
          f"{pair.memory_usage(deep=False).sum() / 2**20:.0f} MiB")
    print(f"peak RSS: {peak:.0f} MiB (after loading the data: {rss0:.0f} MiB; target < 4096 MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
