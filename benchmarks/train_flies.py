"""The must-show run: train on the 2-fly SLEAP labels (frames < 700), validate on the rest, for a
CPU wall-clock budget, then evaluate on the validation frames (frames the model never saw).

Usage::

    python benchmarks/train_flies.py [--minutes 20] [--out runs/flies_model] [--config CFG.yaml]

Equivalent CLI::

    mapose train --labels data/flies_centered_pair/labels.train.slp --out runs/flies_model \
        --val-frames-from 700 --minutes 20 --config data/flies_centered_pair/train_config.yaml
    mapose evaluate --model runs/flies_model --labels <same> --json runs/flies_model/eval_val.json

Prints the validation metrics, the training-curve path and the machine load (``os.getloadavg``)
before and after, since the CPU is shared.  Re-running with the same ``--out`` resumes an
interrupted run within the same total budget.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads crawl on a shared CPU

REPO = Path(__file__).resolve().parents[1]

#: The recipe shipped with the sample data (also used by ``mapose demo``); see the comments there.
RECIPE = REPO / "data" / "flies_centered_pair" / "train_config.yaml"


def find_labels() -> Path:
    for p in (REPO / "data" / "flies_centered_pair" / "labels.train.slp",
              REPO / ".." / "shared" / "data" / "flies_centered_pair" / "labels.train.slp"):
        if p.exists():
            return p.resolve()
    raise SystemExit("labels.train.slp of flies_centered_pair not found in data/ or ../shared/data/")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--out", default=str(REPO / "runs" / "flies_model"))
    ap.add_argument("--config", help="YAML config replacing the built-in recipe")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args()

    from mapose.config import load_yaml, replace
    from mapose.io._files import atomic_write_text
    from mapose.training.config import TrainConfig
    from mapose.training.evaluate import evaluate_model
    from mapose.training.train import train

    cfg = load_yaml(args.config or RECIPE, TrainConfig)
    # the must-show split: frames < 700 train, the rest validate
    cfg = replace(cfg, {"split": {"method": "frame_threshold", "threshold": 700}})
    labels = find_labels()
    load0 = os.getloadavg()
    t0 = time.time()
    res = train([labels], args.out, cfg, minutes=args.minutes, progress=not args.no_progress)
    t_train = time.time() - t0
    if res.get("global_rank", 0):  # another process of a multi-device run: the first one reports
        return
    load1 = os.getloadavg()
    out = Path(args.out)
    ev = evaluate_model(out, labels, frames="val", worst_dir=out / "eval_val_worst")
    atomic_write_text(out / "eval_val.json", json.dumps(ev, indent=1))
    keys = ["rmse_px", "median_px", "mean_px", "pck3", "pck5", "detected", "map_oks",
            "map_oks_strict", "ap50_oks", "ap75_oks", "n_frames", "n_gt_instances"]
    summary = {
        "labels": str(labels),
        "val_frames": ev["frames"],
        **{k: ev[k] for k in keys},
        "train_steps": res["steps"],
        "train_elapsed_s": res["elapsed_s"],
        "this_session_s": round(t_train, 1),
        "loadavg_before": load0,
        "loadavg_after": load1,
        "training_curve": res["training_curve"],
        "metrics_json": str(out / "eval_val.json"),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
