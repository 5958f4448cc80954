"""Speed of the region measurements on one hour of 3 animals, and agreement with ``movement``.

    python benchmarks/regions_speed.py [--frames 108000] [--regions 10]

Data: the MABe22 triplet (``../shared/data/mice_mabe22_triplet``, 1800 frames at 30 fps, 3 mice ×
12 keypoints, 512 × 512 px) tiled to ``--frames`` frames, or random walks in a 512-px square
without ``../shared``.  Regions: a 3 × 3 grid of rectangles over the cage, a disc in its centre
(``--regions`` areas in all) and a line across it.

Times :func:`mapose.kinematics.regions.region_summary` (time inside, visits, latency, path length,
crossings) and :func:`~mapose.kinematics.regions.region_occupancy` on the centroid, then
``movement.roi.compute_region_occupancy`` on the same centroids (when ``movement`` is installed)
and prints how many animal-frames the two disagree on.  Library imports happen before timing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mapose.core import make_tracks
from mapose.core.regions import Region
from mapose.kinematics.regions import reference_points, region_occupancy, region_summary

MABE = Path(__file__).resolve().parents[1] / "../shared/data/mice_mabe22_triplet/EGS8X2MN4SSUGFWAV976.h5"


def load(n_frames: int):
    if MABE.exists():
        from mapose.io import read_tracks

        src = read_tracks(MABE)
        reps = int(np.ceil(n_frames / src.sizes["time"]))
        pos = np.concatenate([src["position"].values] * reps, axis=0)[:n_frames]
        return make_tracks(pos, keypoints=[str(k) for k in src["keypoints"].values], fps=30.0), "MABe22 triplet, tiled"
    rng = np.random.default_rng(0)
    walk = np.clip(256 + np.cumsum(rng.normal(0, 3, (n_frames, 2, 1, 3)), axis=0), 0, 511)
    return make_tracks(walk, keypoints=["body"], fps=30.0), "random walks"


def grid(n: int) -> list[Region]:
    out = [Region.rectangle(f"cell_{r}{c}", 512 * c / 3, 512 * r / 3, 512 * (c + 1) / 3, 512 * (r + 1) / 3)
           for r in range(3) for c in range(3)][: max(n - 1, 0)]
    return out + [Region.circle("centre", 256, 256, 80), Region.line("across", [(0, 256), (512, 256)])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=108_000)
    ap.add_argument("--regions", type=int, default=10, help="areas (a grid plus a centre disc)")
    args = ap.parse_args()
    ds, what = load(args.frames)
    regions = grid(args.regions)
    n_areas = sum(r.is_area for r in regions)
    print(f"data: {what}, {ds.sizes['time']} frames × {ds.sizes['individuals']} animals; "
          f"{n_areas} areas + {len(regions) - n_areas} line")
    t0 = time.perf_counter()
    summary = region_summary(ds, regions)
    t1 = time.perf_counter()
    occ = region_occupancy(ds, regions)
    t2 = time.perf_counter()
    print(f"region_summary: {t1 - t0:.2f} s ({len(summary)} rows); region_occupancy: {t2 - t1:.2f} s")
    areas = summary[summary["kind"] == "area"]
    print(f"visits {int(areas['visits'].sum())}, crossings {int(summary['crossings'].sum())}, "
          f"time inside the centre {areas[areas['region'] == 'centre']['time_inside'].round(1).tolist()} s")
    try:
        import movement.roi as roi
        import xarray as xr
    except ImportError:
        print("movement not installed: no comparison")
        return
    pts = reference_points(ds)  # (T, I, 2)
    data = xr.DataArray(pts, dims=("time", "individuals", "space"), coords={"space": ["x", "y"]})
    polys = [roi.PolygonOfInterest(np.asarray(r.geometry.exterior.coords), name=r.name) for r in regions if r.is_area]
    t3 = time.perf_counter()
    theirs = roi.compute_region_occupancy(data, polys)
    t4 = time.perf_counter()
    seen = np.isfinite(pts).all(-1)
    ours = occ.values == 1
    diff = sum(int((ours[..., k][seen] != theirs.values[k][seen]).sum()) if theirs.dims[0] == "region"
               else int((ours[..., k][seen] != theirs.values[..., k][seen]).sum()) for k in range(len(polys)))
    print(f"movement compute_region_occupancy: {t4 - t3:.2f} s; animal-frames that differ: {diff} of "
          f"{int(seen.sum()) * len(polys)}")


if __name__ == "__main__":
    main()
