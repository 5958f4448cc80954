"""CalMS21 resident-intruder windows: grouped 5-fold cross-validation of investigation and mount.

Data: ``../shared/data/mice_calms21_windows`` (1400 independent 13-frame windows of 2 mice at
30 fps, 7 keypoints; human label of the centre frame 6).  Each window is its own group (windows
are independent samples with no session id), so folds never share a window.

Feature sets (all from :func:`mapose.kinematics.feature_table` in pair mode, windows 3, 7, 13
frames, plus mapose's skeleton-free motion features), row = the centre frame of the ordered pair
resident -> intruder:

- ``pair``: social features of the pair + both animals' own features;
- ``own_both`` (baseline): only single-animal features of both mice (``a_*``, ``b_*``);
- ``own_resident`` (baseline): only the resident's own features (``a_*``).

Reported: F1 / precision / recall / average precision of

- ``oof``: out-of-fold predictions of a 5-fold grouped cross-validation, threshold = max F1 on
  those same predictions (what ``mapose classify train`` prints);
- ``nested``: the threshold chosen by an inner grouped CV on the training folds only (honest).

For speed the 1400 windows are laid end to end in one Tracks with 13 NaN frames between them
(longer than every window), so rolling statistics never mix windows; velocities at window edges
are NaN instead of one-sided differences (the centre frame is unaffected).

Run: ``python benchmarks/classify_calms21.py [--threads 1]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import CALMS21_CENTRE, CALMS21_FPS, CALMS21_INDIVIDUALS, CALMS21_KEYPOINTS, load_calms21_windows  # noqa: E402

from mapose.behaviour.classifier import (  # noqa: E402
    BehaviourClassifier,
    FeatureSpec,
    nested_cross_validate,
    pose_features,
)
from mapose.core import make_tracks  # noqa: E402

WINDOWS = (3, 7, 13)
GAP = 13


def window_features(tracks) -> pd.DataFrame:
    """Centre-frame pair features of every window (one row per window, resident -> intruder)."""
    n, t = len(tracks), tracks[0].sizes["time"]
    stride = t + GAP
    pos = np.full((n * stride, 2, len(CALMS21_KEYPOINTS), 2), np.nan)
    for i, ds in enumerate(tracks):
        pos[i * stride:i * stride + t] = ds["position"].transpose("time", "space", "keypoints", "individuals").values
    long = make_tracks(pos, np.ones(pos.shape[:1] + pos.shape[2:]), keypoints=CALMS21_KEYPOINTS,
                       individuals=CALMS21_INDIVIDUALS, fps=CALMS21_FPS)
    spec = FeatureSpec(keypoints=CALMS21_KEYPOINTS, mode="pair", windows=WINDOWS, fps=CALMS21_FPS)
    ft = pose_features(long, spec)
    ft = ft[ft["subject"] == "resident|intruder"]
    centre = np.arange(n) * stride + CALMS21_CENTRE
    ft = ft.set_index("frame").loc[centre].reset_index()
    ft["frame"] = CALMS21_CENTRE
    ft.insert(0, "session", np.arange(n))
    return ft


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None, help="mice_calms21_windows folder")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-nested", action="store_true", help="skip the nested cross-validation")
    ap.add_argument("--sets", nargs="+", default=["pair", "own_both", "own_resident"],
                    help="feature sets to evaluate")
    args = ap.parse_args(argv)
    t0 = time.time()
    tracks, inv, mount = load_calms21_windows(args.root)
    X = window_features(tracks)
    y = pd.DataFrame({"investigation": inv, "mount": mount})
    print(f"{len(X)} windows, {X.shape[1] - 3} features, investigation {inv.sum()} / mount "
          f"{mount.sum()} positives; features in {time.time() - t0:.1f} s")
    sets = {"pair": None, "own_both": ("a_*", "b_*"), "own_resident": ("a_*",)}
    sets = {k: v for k, v in sets.items() if k in args.sets}
    params = dict(n_splits=5, min_bout=1, n_threads=args.threads, min_samples_leaf=20)
    rows = []
    for name, include in sets.items():
        t1 = time.time()
        clf = BehaviourClassifier(include=include, **params).fit(X, y, groups=X["session"].to_numpy())
        for b, m in clf.cv_["metrics"].items():
            rows.append({"features": name, "n_features": len(clf.feature_names_), "validation": "oof",
                         "behaviour": b, **{k: m[k] for k in ("precision", "recall", "f1", "average_precision", "threshold")}})
        if not args.no_nested:
            nm, _ = nested_cross_validate(X, y, groups=X["session"].to_numpy(), outer_splits=5, include=include, **params)
            for b, m in nm.items():
                rows.append({"features": name, "n_features": len(clf.feature_names_), "validation": "nested",
                             "behaviour": b, **{k: m[k] for k in ("precision", "recall", "f1", "average_precision")}})
        for r in rows:
            if r["features"] == name:
                print("  " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in r.items()), flush=True)
        print(f"  {name}: {time.time() - t1:.1f} s", flush=True)
    res = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(res.round(3).to_string(index=False))
    print(f"total {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
