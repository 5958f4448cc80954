"""Cross-validate a training recipe: the labelled frames of each video, in time order, are cut into
K contiguous blocks; fold i trains on the other blocks and is scored on block i (frames it never
saw, with no neighbour of theirs in training). The predictions of all folds are pooled, so every
labelled frame is scored once, by a model that did not train on it.

With 50-200 labelled frames one held-out block says little (the must-show split of the flies
validates on 9 frames, and its RMSE moved by 1 px between seeds); K folds score K times as many
frames.

Usage::

    python benchmarks/cross_validate.py [--labels L.slp] [--config CFG.yaml] [--folds 5]
        [--max-steps N | --minutes M] [--jobs J] [--out runs/cv]

``--max-steps`` trains each fold for a fixed number of steps (the learning-rate schedule follows the
steps), which is how recipes are compared on a lent GPU at the step count 20 CPU-minutes reach
(~3000 for the default model here); ``--jobs`` trains that many folds at once (a GPU has room for
several of these small models). Prints one JSON summary (per fold and pooled) and writes it to
``OUT/cv.json``. Re-running with the same ``--out`` resumes unfinished folds and re-uses finished
ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

KEYS = ("rmse_px", "median_px", "mean_px", "pck3", "pck5", "detected", "map_oks", "map_oks_strict",
        "rmse_px_pcutoff", "n_frames", "n_gt_instances")


def fold_config(args, fold: int):
    from mapose.config import load_yaml, replace
    from mapose.training.config import TrainConfig

    from train_flies import RECIPE

    cfg = load_yaml(args.config or RECIPE, TrainConfig)
    over: dict = {"split": {"method": "blocks", "n_blocks": args.folds, "val_blocks": [fold]}}
    if args.max_steps:
        over["optim"] = {"max_steps": args.max_steps, "minutes": 0.0}
    if args.seed is not None:
        over.setdefault("optim", {})["seed"] = args.seed
    if args.workers is not None:
        over["data"] = {"num_workers": args.workers}
    return replace(cfg, over)


def run_fold(args, fold: int) -> dict:
    """Train fold ``fold`` (or resume it) and save its held-out predictions and metrics."""
    from mapose.io._files import atomic_path, atomic_write_text
    from mapose.training.evaluate import predict_labelled
    from mapose.training.metrics import pose_metrics
    from mapose.training.model import resolve_device
    from mapose.training.train import train

    out = Path(args.out) / f"fold{fold}"
    done = out / "cv_fold.json"
    if done.exists():
        return json.loads(done.read_text())
    t0 = time.time()
    res = train([args.labels], out, fold_config(args, fold), minutes=args.minutes or None,
                progress=False)
    run = predict_labelled(out, args.labels, "val", device=resolve_device(args.device))
    arrays = {"frames": np.asarray(run["frames"])}
    for i, (g, p, ks, ins) in enumerate(zip(run["gts"], run["keypoints"], run["keypoint_scores"],
                                            run["instance_scores"])):
        arrays.update({f"gt{i}": g, f"kp{i}": p, f"ks{i}": ks, f"is{i}": ins})
    with atomic_path(out / "cv_predictions.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    m = pose_metrics(run["gts"], run["keypoints"], run["instance_scores"],
                     run["model"].skeleton.keypoints, keypoint_scores=run["keypoint_scores"])
    rec = {"fold": fold, "frames": run["frames"], "steps": res["steps"],
           "train_elapsed_s": res["elapsed_s"], "wall_s": round(time.time() - t0, 1),
           **{k: m.get(k) for k in KEYS}}
    atomic_write_text(done, json.dumps(rec, indent=1))
    return rec


def fold_predictions(fold_dir: Path) -> dict:
    """The held-out predictions :func:`run_fold` saved: per frame ``gts``, ``keypoints``,
    ``keypoint_scores`` and ``instance_scores`` (as :func:`mapose.training.evaluate.predict_labelled`)."""
    with np.load(Path(fold_dir) / "cv_predictions.npz") as z:
        n = len(z["frames"])
        return {key: [z[f"{prefix}{i}"] for i in range(n)]
                for key, prefix in (("gts", "gt"), ("keypoints", "kp"), ("keypoint_scores", "ks"),
                                    ("instance_scores", "is"))}


def pooled(args) -> dict:
    """Metrics over the held-out predictions of every fold together."""
    from mapose.io import read_labels
    from mapose.training.metrics import pose_metrics

    runs = [fold_predictions(Path(args.out) / f"fold{fold}") for fold in range(args.folds)]
    gts, kps, kss, iss = ([x for r in runs for x in r[key]]
                          for key in ("gts", "keypoints", "keypoint_scores", "instance_scores"))
    names = read_labels(args.labels).skeleton.keypoints
    m = pose_metrics(gts, kps, iss, names, keypoint_scores=kss)
    return {**{k: m.get(k) for k in KEYS}, "per_keypoint": m["per_keypoint"]}


def _mean(values) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return round(float(np.mean(v)), 4) if v else None


def main() -> None:
    from train_flies import find_labels

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", help="label file (default: the bundled fly labels)")
    ap.add_argument("--config", help="training config (default: the fly recipe)")
    ap.add_argument("--out", default=str(REPO / "runs" / "cv"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-steps", type=int, default=0, help="steps per fold (default: the config's)")
    ap.add_argument("--minutes", type=float, default=0.0, help="wall-clock budget per fold")
    ap.add_argument("--seed", type=int, help="optim.seed of every fold")
    ap.add_argument("--workers", type=int, help="data.num_workers of every fold")
    ap.add_argument("--jobs", type=int, default=1, help="folds trained at once (subprocesses)")
    ap.add_argument("--device", default="auto", help="device of the held-out predictions")
    ap.add_argument("--fold", type=int, help=argparse.SUPPRESS)  # one fold, in a subprocess
    args = ap.parse_args()
    args.labels = str(Path(args.labels).resolve()) if args.labels else str(find_labels())
    if args.folds < 2:
        raise SystemExit("--folds must be at least 2")
    if args.fold is not None:
        run_fold(args, args.fold)
        return
    t0 = time.time()
    folds = list(range(args.folds))
    if args.jobs > 1:
        own = sys.argv[1:]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) // args.jobs)))
        running: list[tuple[int, subprocess.Popen, object]] = []
        failed = []
        while folds or running:
            while folds and len(running) < args.jobs:
                f = folds.pop(0)
                log = open(out / f"fold{f}.log", "w")
                cmd = [sys.executable, __file__, *own, "--fold", str(f)]
                running.append((f, subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
            time.sleep(2)
            for f, p, log in list(running):
                if p.poll() is not None:
                    running.remove((f, p, log))
                    log.close()
                    if p.returncode:
                        failed.append(f)
        if failed:
            raise SystemExit(f"folds {failed} failed; see {args.out}/fold<i>.log")
        recs = [json.loads((Path(args.out) / f"fold{f}" / "cv_fold.json").read_text())
                for f in range(args.folds)]
    else:
        recs = [run_fold(args, f) for f in folds]
    summary = {"labels": args.labels, "config": args.config or "fly recipe", "folds": args.folds,
               "max_steps": args.max_steps, "minutes": args.minutes, "seed": args.seed,
               "wall_s": round(time.time() - t0, 1),
               "mean_over_folds": {k: _mean([r[k] for r in recs]) for k in KEYS[:-2]},
               "pooled": pooled(args), "per_fold": recs}
    from mapose.io._files import atomic_write_text

    atomic_write_text(Path(args.out) / "cv.json", json.dumps(summary, indent=1))
    shown = {k: v for k, v in summary.items() if k != "per_fold"}
    shown["pooled"] = {k: v for k, v in summary["pooled"].items() if k != "per_keypoint"}
    print(json.dumps(shown | {
        "per_fold": [{k: r[k] for k in ("fold", "steps", "rmse_px", "median_px", "pck3", "detected",
                                         "map_oks")} for r in recs]}, indent=1))


if __name__ == "__main__":
    main()
