"""Compare assembly settings on trained models' held-out frames, per model and pooled.

Each model is run once on the labelled frames it never trained on (its ``split.json``; test-time
augmentation as configured), and its outputs are decoded with each setting:

- ``field only``: connections ranked by their part-affinity-field score alone (mapose before
  November 2026; ``DecodeOptions(peak_weight=0, coincident_radius=None)``);
- ``peak ranking``: ranked by field score x the geometric mean of the two heatmap peaks;
- ``no edge lengths``: peak ranking, and two body parts of one animal on one spot separated when a
  free, validly connected candidate exists (:mod:`mapose.decode.assembly`, step 5);
- ``no body sides``: that, and no connection longer than twice the longest labelled length of its
  edge (:func:`mapose.decode.frame.edge_length_limits`); models trained before the lengths were
  recorded get them from their training frames (``split.json``);
- ``default``: that, and a left/right pair left on one spot separates onto a candidate of either
  part's channel on the other side of the body axis, by the side each part is labelled on
  (:mod:`mapose.decode.sides`; older models get the rule from their training frames).

Usage::

    python benchmarks/assembly_settings.py --labels L.slp MODEL_DIR [MODEL_DIR ...]
    # the five folds of a cross-validation (benchmarks/cross_validate.py --out runs/cv):
    python benchmarks/assembly_settings.py runs/cv/fold*
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "field only": {"peak_weight": 0.0, "coincident_radius": None},
    "peak ranking": {"coincident_radius": None},
    "no edge lengths": {},
    "no body sides": {"edge_limits": "model"},
    "default": {"edge_limits": "model", "body_sides": "model"},
}
KEYS = ("rmse_px", "median_px", "pck3", "pck5", "map_oks", "map_oks_strict", "detected",
        "rmse_px_pcutoff")


def model_outputs(model_dir: Path, labels):
    """Model outputs on the held-out labelled frames: ``(model, ground truths, outputs)``."""
    import torch

    from mapose.data.frames import load_images
    from mapose.training.evaluate import select_frames
    from mapose.training.model import load_model

    model = load_model(model_dir, device="cpu", checkpoint="best")
    if model.edge_max_length_px is None or model.body_sides is None:  # trained before they were recorded
        from mapose.data.dataset import samples_from_labels
        from mapose.training.train import body_sides, edge_max_lengths

        train = select_frames(labels, "train", model_dir / "split.json")
        samples = samples_from_labels([labels], model.skeleton)
        mask = np.isin(samples.label_index, train)
        if model.edge_max_length_px is None:
            model.edge_max_length_px = edge_max_lengths(samples, model.skeleton, mask)
        if model.body_sides is None:
            model.body_sides = body_sides(samples, model.skeleton, mask)
    sel = select_frames(labels, "val", model_dir / "split.json")
    images = load_images(labels, sel)
    outs = [{k: v.numpy() for k, v in model.predict(torch.from_numpy(images[i][None])).items()}
            for i in sel]
    gts = [labels.instances.keypoints[(labels.instances.frame == i) & labels.is_user] for i in sel]
    return model, gts, outs


def decode(model, outs, setting: dict):
    from mapose.decode import decode_batch

    from mapose.decode.frame import edge_length_limits

    kw = {"keep_singletons": False, "single_animal": False, **setting}
    if kw.get("edge_limits") == "model":
        kw["edge_limits"] = edge_length_limits(model)
    if kw.get("body_sides") == "model":
        kw["body_sides"] = model.body_sides
    res = [decode_batch(o, model.skeleton, model.stride, **kw)[0] for o in outs]
    cal = model.calibration
    kps = [r[0] if cal is None else cal.apply(r[0]) for r in res]
    return kps, [r[1] for r in res], [r[2] for r in res]


def main() -> None:
    from mapose.io import read_labels
    from mapose.training.metrics import pose_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--labels", default=str(REPO / "data" / "flies_centered_pair" / "labels.train.slp"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    labels = read_labels(args.labels)
    names = labels.skeleton.keypoints
    pooled = {s: ([], [], [], []) for s in SETTINGS}
    report: dict = {"models": {}, "pooled": {}}
    for md in args.models:
        model, gts, outs = model_outputs(md, labels)
        report["models"][str(md)] = {}
        for s, setting in SETTINGS.items():
            kps, kss, iss = decode(model, outs, setting)
            m = pose_metrics(gts, kps, iss, names, keypoint_scores=kss)
            report["models"][str(md)][s] = {k: m.get(k) for k in KEYS}
            print(f"{md} [{s}] " + " ".join(f"{k} {m[k]:.3f}" for k in KEYS), flush=True)
            for acc, new in zip(pooled[s], (gts, kps, kss, iss)):
                acc.extend(new)
    for s in SETTINGS:
        gts, kps, kss, iss = pooled[s]
        m = pose_metrics(gts, kps, iss, names, keypoint_scores=kss)
        report["pooled"][s] = {"frames": len(gts), **{k: m.get(k) for k in KEYS}}
        print(f"pooled over {len(gts)} frames [{s}] " + " ".join(f"{k} {m[k]:.3f}" for k in KEYS))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
