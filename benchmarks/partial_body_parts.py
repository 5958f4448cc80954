"""Training on label files that name different body parts, on the bundled fly labels.

The labels are split into files as a lab whose skeleton grew would have them: frames < 376 with all
24 body parts (``A.slp``) and frames 376-699 without the six leg tips (``B.slp``); frames >= 700 are
scored (``val.slp``).  Four models train for the same number of steps with the shipped recipe:

- ``masked``: ``A.slp B.slp`` (the leg tips unknown in B's frames, left out of the loss there);
- ``nan``: A and B with the leg tips as empty (NaN) columns, i.e. taught as out of view;
- ``a_only``: ``A.slp`` alone;
- ``full``: A and frames 376-699 with all parts (the upper bound).

Usage::

    python benchmarks/partial_body_parts.py [--max-steps 1200] [--out runs/partial_parts]

Prints, per model, the metrics on frames >= 700 and, for the leg tips and the other parts, how many
labels it finds within 5 px (PCK@5) and their RMSE.  About 12 minutes per model on 2 CPU cores at
1200 steps; re-running skips the models already evaluated.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads crawl on a shared CPU

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "data" / "flies_centered_pair" / "labels.train.slp"
RECIPE = REPO / "data" / "flies_centered_pair" / "train_config.yaml"
TIPS = ["forelegL3", "forelegR3", "midlegL3", "midlegR3", "hindlegL3", "hindlegR3"]


def take(labels, keep_images, names=None, empty=()):
    """The images in ``keep_images`` with only the body parts ``names``; ``empty`` parts set NaN."""
    keep = np.asarray(keep_images, bool)
    det = labels.instances.select(keep[labels.instances.frame])
    det = replace(det, frame=(np.cumsum(keep) - 1)[det.frame], n_frames=int(keep.sum()))
    sk, kp, sc = labels.skeleton, np.array(det.keypoints), np.array(det.keypoint_scores)
    for n in empty:
        kp[:, sk.index(n)] = np.nan
        sc[:, sk.index(n)] = np.nan
    if names is not None:
        idx = sk.indices(names)
        sk, kp, sc = sk.subset(names), kp[:, idx], sc[:, idx]
    det = replace(det, keypoints=kp, keypoint_scores=sc, skeleton=sk)
    return replace(labels, skeleton=sk, images=tuple(r for r, k in zip(labels.images, keep) if k), instances=det,
                   is_user=labels.is_user[keep[labels.instances.frame]])


def make_files(out: Path) -> None:
    from mapose.io import read_labels, write_labels

    flies = read_labels(LABELS)
    frames = np.array([r.frame for r in flies.images])
    early, late = frames < 376, (frames >= 376) & (frames < 700)
    files = {"A.slp": take(flies, early),
             "B.slp": take(flies, late, [k for k in flies.skeleton.keypoints if k not in TIPS]),
             "B_nan.slp": take(flies, late, empty=TIPS),
             "B_full.slp": take(flies, late),
             "val.slp": take(flies, frames >= 700)}
    for name, labels in files.items():
        if not (out / name).exists():
            write_labels(labels, out / name)


def summary(report: dict) -> dict:
    pk = report["per_keypoint"]

    def parts(keys):
        n = sum(pk[k]["n"] for k in keys)
        rmse = [pk[k]["rmse_px"] for k in keys if pk[k]["rmse_px"] is not None]
        pck = [pk[k]["pck5"] * pk[k]["n"] for k in keys if pk[k]["pck5"] is not None]
        return {"labels": n, "pck5": round(sum(pck) / n, 3) if n else None,
                "rmse_px": round(float(np.sqrt(np.mean(np.square(rmse)))), 2) if rmse else None}

    out = {k: None if report[k] is None else round(report[k], 3)
           for k in ("rmse_px", "median_px", "pck5", "map_oks", "detected")}
    out["leg_tips"] = parts(TIPS)
    out["other_parts"] = parts([k for k in pk if k not in TIPS])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-steps", type=int, default=1200)
    ap.add_argument("--out", default=str(REPO / "runs" / "partial_parts"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    make_files(out)
    runs = {"masked": ["A.slp", "B.slp"], "nan": ["A.slp", "B_nan.slp"], "a_only": ["A.slp"],
            "full": ["A.slp", "B_full.slp"]}
    for name, files in runs.items():
        report = out / f"eval_{name}.json"
        if not report.exists():
            mapose = [sys.executable, "-m", "mapose"]
            subprocess.run(mapose + ["train", "--labels", *[str(out / f) for f in files], "--out", str(out / name),
                                     "--config", str(RECIPE), "--max-steps", str(args.max_steps),
                                     "--val-fraction", "0", "--no-progress"], check=True)
            subprocess.run(mapose + ["evaluate", "--model", str(out / name), "--labels", str(out / "val.slp"),
                                     "--frames", "all", "--json", str(report)], check=True)
        print(name, json.dumps(summary(json.loads(report.read_text()))), flush=True)


if __name__ == "__main__":
    main()
