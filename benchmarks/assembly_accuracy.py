"""Assembly correctness on labelled frames (issue 4): does each predicted animal hold the body parts
of one real animal?

For every labelled frame the trained model is run, peaks are assembled into animals
(:func:`mapose.decode.decode_frame`, ``max_animals`` = animals labelled, singletons dropped), and
each predicted keypoint is matched to the ground-truth animal whose same keypoint is nearest, if it
lies within ``--radius`` pixels.  A predicted animal is *pure* when all its matched keypoints come
from one ground-truth animal.  Reported: the pure rate (target >= 99 %), the keypoint-level purity
(matched keypoints belonging to their animal's majority GT animal), keypoint recall and the median
error of matched keypoints -- on the model's validation frames (never trained on) and on all
labelled frames.

Usage::

    python benchmarks/assembly_accuracy.py --model runs/flies_model \
        --labels ../shared/data/flies_centered_pair/labels.train.slp
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LABELS = ROOT.parent / "shared/data/flies_centered_pair/labels.train.slp"


def purity(pred: np.ndarray, gt: np.ndarray, radius: float) -> dict:
    """Purity statistics of predicted animals ``pred`` (n, K, 2) against ``gt`` (g, K, 2)."""
    out = {"animals": 0, "pure": 0, "matched_kp": 0, "majority_kp": 0, "impure_frames": 0}
    errs, hits = [], 0
    for inst in pred:
        ids = []
        for k in range(inst.shape[0]):
            if not np.isfinite(inst[k]).all() or len(gt) == 0:
                continue
            d = np.linalg.norm(gt[:, k] - inst[k], axis=-1)
            if np.all(np.isnan(d)):
                continue
            g = int(np.nanargmin(d))
            if d[g] <= radius:
                ids.append(g)
                errs.append(float(d[g]))
        if not ids:
            continue
        out["animals"] += 1
        counts = np.bincount(ids)
        out["pure"] += int((counts > 0).sum() == 1)
        out["matched_kp"] += len(ids)
        out["majority_kp"] += int(counts.max())
        hits += len(ids)
    out["errors"] = errs
    out["gt_kp"] = int(np.isfinite(gt).all(-1).sum()) if len(gt) else 0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "runs/flies_model"))
    ap.add_argument("--labels", default=str(DEFAULT_LABELS))
    ap.add_argument("--radius", type=float, default=10.0, help="match radius in pixels (default 10)")
    ap.add_argument("--peak-threshold", type=float, default=0.1)
    ap.add_argument("--checkpoint", default="best")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import torch

    from mapose.data.dataset import scale_keypoints
    from mapose.data.frames import load_images
    from mapose.io import read_labels
    from mapose.training.evaluate import predict_frames, select_frames
    from mapose.training.model import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    if not (Path(args.model) / "config.yaml").is_file():
        raise SystemExit(f"{args.model}: no trained model (config.yaml missing)")
    model = load_model(args.model, checkpoint=args.checkpoint)
    labels = read_labels(args.labels)
    model.skeleton.check_same_keypoints(labels.skeleton, args.labels)
    images = load_images(labels)
    # Models whose predict() resizes to the training scale itself take full-size frames.
    scale = 1.0 if hasattr(model, "input_scale") else float(model.config.data.input_scale)
    if scale != 1.0:
        import cv2

        images = [cv2.resize(im, None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
                  .reshape(round(im.shape[0] * scale), round(im.shape[1] * scale), -1) for im in images]
    gts = [labels.frame_instances(i)[0] for i in range(len(labels.images))]
    n_max = max(len(g) for g in gts)
    kps, kss, iss = predict_frames(model, images, max_animals=n_max, peak_threshold=args.peak_threshold,
                                   keep_singletons=True)
    if scale != 1.0:
        kps = [scale_keypoints(k, 1.0 / scale) for k in kps]
    split = Path(args.model) / "split.json"
    subsets = {"all": np.arange(len(images))}
    if split.exists():
        subsets = {"val (never trained on)": select_frames(labels, "val", split), **subsets}
    print(f"model {args.model} (checksum {model.checksum[:12]}), labels {args.labels}: "
          f"{len(images)} frames, <= {n_max} animals each; match radius {args.radius} px")
    for name, sel in subsets.items():
        tot = {"animals": 0, "pure": 0, "matched_kp": 0, "majority_kp": 0, "gt_kp": 0}
        errs, singles, singles_near, impure = [], 0, 0, []
        for i in sel:
            kp = kps[i]
            n_kp = np.isfinite(kp).all(-1).sum(-1)
            animals = kp[n_kp >= 2]
            singles += int((n_kp == 1).sum())
            for one in kp[n_kp == 1]:  # a true keypoint left unassembled, or a spurious peak?
                k = int(np.flatnonzero(np.isfinite(one).all(-1))[0])
                d = np.linalg.norm(gts[i][:, k] - one[k], axis=-1) if len(gts[i]) else np.array([np.nan])
                singles_near += int(np.isfinite(d).any() and np.nanmin(d) <= args.radius)
            r = purity(animals, gts[i], args.radius)
            for k in tot:
                tot[k] += r[k]
            errs += r["errors"]
            if r["pure"] < r["animals"]:
                impure.append(int(labels.images[i].frame))
        rate = tot["pure"] / max(tot["animals"], 1)
        kp_pur = tot["majority_kp"] / max(tot["matched_kp"], 1)
        print(f"[{name}] {len(sel)} frames: predicted animals with matched keypoints {tot['animals']}, "
              f"pure {tot['pure']} -> pure rate {100 * rate:.2f} % (target >= 99 %)")
        print(f"    keypoint purity {100 * kp_pur:.2f} %; keypoint recall "
              f"{100 * tot['matched_kp'] / max(tot['gt_kp'], 1):.1f} % of {tot['gt_kp']} labelled; "
              f"median error {np.median(errs) if errs else float('nan'):.2f} px; "
              f"singletons {singles} ({singles_near} within the radius of a labelled keypoint); "
              f"frames with an impure animal: {impure}")


if __name__ == "__main__":
    main()
