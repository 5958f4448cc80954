"""Read every pose/label file under ../shared/data and print what mapose found.

Usage::

    python benchmarks/read_all_shared.py [--root ../shared/data]

Prints one row per file: format, kind (tracks/labels), animals, keypoints, frames, fps, missing
fraction and read time.  Files of formats mapose does not read (videos, images, numpy arrays,
configs) are listed at the end.  Exit code 1 if a file of a supported format fails to read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from mapose.cli._common import read_pose_any
from mapose.errors import MaposeError
from mapose.io import detect_format

POSE_SUFFIXES = {".slp", ".h5", ".csv", ".nwb", ".nc", ".json"}
SKIP_NAMES = {"PROVENANCE.tsv"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    args = ap.parse_args()
    root = Path(args.root).resolve()
    if not root.is_dir():
        print(f"no shared data at {root}", file=sys.stderr)
        return 2
    rows, skipped, failures = [], [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if path.suffix.lower() not in POSE_SUFFIXES or path.name in SKIP_NAMES:
            skipped.append(str(rel))
            continue
        try:
            fmt = detect_format(path)
        except MaposeError:
            skipped.append(f"{rel} (not a pose format)")
            continue
        t0 = time.perf_counter()
        try:
            kind, obj = read_pose_any(path, fmt)
        except Exception as exc:  # report every failure, keep going
            failures.append(f"{rel}: {type(exc).__name__}: {exc}")
            continue
        dt = time.perf_counter() - t0
        if kind == "tracks":
            pos = obj["position"].values
            miss = float(np.mean(~np.isfinite(pos).all(axis=1))) if pos.size else 0.0
            rows.append((str(rel), fmt, kind, obj.sizes["individuals"], obj.sizes["keypoints"],
                         obj.sizes["time"], obj.attrs.get("fps"), miss, dt))
        else:
            kp = obj.instances.keypoints
            miss = float(np.mean(~np.isfinite(kp).all(-1))) if kp.size else 0.0
            n_anim = int(obj.instances.counts().max()) if len(obj.instances) else 0
            rows.append((str(rel), fmt, kind, n_anim, obj.skeleton.n_keypoints, len(obj), None, miss, dt))
    w = max([len(r[0]) for r in rows] + [4])
    print(f"{'file':<{w}}  {'format':<14} {'kind':<7} {'animals':>7} {'kpts':>5} {'frames':>7} "
          f"{'fps':>6} {'missing':>8} {'read s':>7}")
    for r in rows:
        fps = f"{r[6]:.4g}" if r[6] else "-"
        print(f"{r[0]:<{w}}  {r[1]:<14} {r[2]:<7} {r[3]:>7} {r[4]:>5} {r[5]:>7} {fps:>6} "
              f"{100 * r[7]:>7.1f}% {r[8]:>7.2f}")
    print(f"\n{len(rows)} files read, {len(failures)} failed, {len(skipped)} not pose files")
    for f in failures:
        print(f"FAILED {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
