"""Score an ensemble of cross-validation runs: fold i of each run (``benchmarks/cross_validate.py
--out RUN``, same labels and folds, other seeds) is loaded, their outputs averaged
(:class:`mapose.training.model.EnsembleModel`, what ``model: {ensemble: N}`` trains in one go), and
the held-out predictions of all folds are pooled as ``cross_validate.py`` pools them.

Usage::

    python benchmarks/cross_validate.py --max-steps 1500 --seed 0 --out runs/cv_s0
    python benchmarks/cross_validate.py --max-steps 1500 --seed 1 --out runs/cv_s1
    python benchmarks/ensemble_cv.py runs/cv_s0 runs/cv_s1 [--tta rot2]

Prints one JSON line of pooled metrics (one run alone scores that run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    from cross_validate import KEYS
    from train_flies import find_labels

    from mapose.data.frames import load_images
    from mapose.io import read_labels
    from mapose.training.evaluate import predict_frames, select_frames
    from mapose.training.metrics import pose_metrics
    from mapose.training.model import EnsembleModel, load_model, resolve_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="cross-validation output folders (fold0, fold1, ... inside)")
    ap.add_argument("--labels", help="label file (default: the bundled fly labels)")
    ap.add_argument("--tta", help="test-time augmentation of every network (default: their config's)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    labels_path = str(Path(args.labels).resolve()) if args.labels else str(find_labels())
    labels = read_labels(labels_path)
    folds = sorted(p.name for p in Path(args.runs[0]).glob("fold*") if (p / "cv_fold.json").exists())
    if not folds:
        raise SystemExit(f"{args.runs[0]}: no finished fold (fold<i>/cv_fold.json)")
    dev = resolve_device(args.device)
    gts, kps, kss, iss = [], [], [], []
    for fold in folds:
        nets = [load_model(Path(r) / fold, device=dev, tta=args.tta) for r in args.runs]
        model = nets[0] if len(nets) == 1 else EnsembleModel(nets, nets[0].config)
        for attr in ("calibration", "edge_max_length_px", "body_sides"):  # same training frames
            setattr(model, attr, getattr(nets[0], attr))
        sel = select_frames(labels, "val", Path(args.runs[0]) / fold / "split.json")
        images = load_images(labels, sel)
        kp, ks, ins = predict_frames(model, [images[i] for i in sel], keep_singletons=False)
        gts += [labels.instances.keypoints[(labels.instances.frame == i) & labels.is_user] for i in sel]
        kps += kp
        kss += ks
        iss += ins
    m = pose_metrics(gts, kps, iss, labels.skeleton.keypoints, keypoint_scores=kss)
    print(json.dumps({"runs": args.runs, "folds": len(folds), "tta": nets[0].tta,
                      **{k: m.get(k) for k in KEYS}}))


if __name__ == "__main__":
    main()
