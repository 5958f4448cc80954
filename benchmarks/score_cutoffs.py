"""Held-out accuracy when keypoints scored below a cutoff are reported missing.

A model's keypoint score is the height of its confidence-map peak. Reporting only keypoints scored at
least a cutoff (as ``mapose filter --min-confidence`` does to an analysis, as SLEAP's peak threshold
and DeepLabCut's ``pcutoff`` do) trades keypoints found for accuracy: RMSE falls as the far misses
(hidden legs placed on a look-alike) go, OKS mAP falls as near-correct keypoints go with them.
This prints both sides of the trade for a range of cutoffs, on frames the models never saw:

- ``MODEL_DIR``: the model is run on its held-out labelled frames (its ``split.json``);
- a fold folder of ``benchmarks/cross_validate.py`` (``runs/cv/fold3``): its saved held-out
  predictions are read, and the folds given are pooled (every labelled frame scored once).

Usage::

    python benchmarks/score_cutoffs.py runs/cv/fold*            # pooled over the folds
    python benchmarks/score_cutoffs.py --labels L.slp MODEL_DIR  # one model's held-out frames
    python benchmarks/score_cutoffs.py ... --cutoffs 0,0.2,0.3,0.4 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))  # cross_validate's saved folds

KEYS = ("rmse_px", "median_px", "pck3", "pck5", "detected", "map_oks", "map_oks_strict")


def held_out_predictions(folder: Path, labels: str | None) -> dict:
    """``gts``, ``keypoints``, ``keypoint_scores``, ``instance_scores`` of one model's held-out frames."""
    if (folder / "cv_predictions.npz").exists():
        from cross_validate import fold_predictions

        return fold_predictions(folder)
    if labels is None:
        raise SystemExit(f"{folder} holds no cv_predictions.npz: give --labels to run the model on them")
    from mapose.training.evaluate import predict_labelled

    return predict_labelled(folder, labels, "val")


def at_cutoffs(run: dict, names, cutoffs) -> list[dict]:
    from mapose.training.metrics import pose_metrics

    rows = []
    for c in cutoffs:
        kps = [np.where((s >= c)[..., None], k, np.nan)
               for k, s in zip(run["keypoints"], run["keypoint_scores"])]
        m = pose_metrics(run["gts"], kps, run["instance_scores"], names,
                         keypoint_scores=run["keypoint_scores"])
        rows.append({"cutoff": c, **{k: round(float(m[k]), 4) for k in KEYS}})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="model folders or cross-validation fold folders (pooled)")
    ap.add_argument("--labels", help="label file (needed for model folders without saved predictions)")
    ap.add_argument("--cutoffs", default="0,0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5,0.6")
    ap.add_argument("--json", help="also write the table here")
    args = ap.parse_args()
    cutoffs = [float(c) for c in args.cutoffs.split(",")]
    pooled: dict = {"gts": [], "keypoints": [], "keypoint_scores": [], "instance_scores": []}
    names = None
    for m in args.models:
        folder = Path(m)
        run = held_out_predictions(folder, args.labels)
        for key in pooled:
            pooled[key].extend(run[key])
        skeleton = json.loads((folder / "skeleton.json").read_text())
        if names is not None and list(skeleton["keypoints"]) != names:
            raise SystemExit(f"{folder} has other body parts than {args.models[0]}; pool models of one skeleton")
        names = list(skeleton["keypoints"])
    rows = at_cutoffs(pooled, names, cutoffs)
    print(f"{len(pooled['gts'])} held-out frames, {sum(len(g) for g in pooled['gts'])} labelled animals, "
          f"{len(args.models)} model(s)")
    print("cutoff " + " ".join(f"{k:>14s}" for k in KEYS))
    for r in rows:
        print(f"{r['cutoff']:6.2f} " + " ".join(f"{r[k]:14.3f}" for k in KEYS))
    if args.json:
        Path(args.json).write_text(json.dumps({"models": args.models, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
