"""BehaviorDEPOT demo 1 freezing: train on the first 60 % of frames, test on the last 40 %.

Data: ``../shared/data/mouse_freezing_behaviordepot/demo1`` (1 mouse, 6000 frames at 50 fps,
8 DLC body parts, 32 px/cm, human freezing labels, 20 bouts).

The classifier recipe meant to transfer to other mice, cameras and skeleton namings:

- positions calibrated to cm (``--px-per-cm``), windows rescaled to the frame rate;
- skeleton-free motion features only (``include=("kp_speed*",)``: median and maximum keypoint
  speed over body parts, their 5/15/45-frame rolling mean and max) -- they do not depend on
  body-part names or count;
- minimum bout 0.9 s (BehaviorDEPOT's own minimum freezing duration);
- positions smoothed before differentiation (rolling median 5 frames, then Savitzky-Golay 15
  frames = 0.3 s): without it keypoint jitter dominates the speed of a still mouse, and jitter
  (in cm) changes with the camera's scale and frame rate;
- a regularised gradient-boosting model (50 iterations, 7 leaves, >= 200 rows per leaf).

Also reported, on the same split:

- ``all features``: every feature of :func:`mapose.kinematics.feature_table` (posture included);
- robustness checks for the held-out-mouse protocol: the test part scaled to 23 px/cm with every
  body part renamed (scored through ``--rename``/``--px-per-cm``; must give the same predictions),
  the test part subsampled to 25 fps (windows and minimum bout rescaled by the model), and the
  test part with extra Gaussian jitter of 1 px at 23 px/cm (sigma 0.043 cm) on every keypoint.

Run: ``python benchmarks/classify_freezing.py [--threads 1]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _datasets import BEHAVIORDEPOT_DEMO1_PX_PER_CM, load_behaviordepot_demo1  # noqa: E402

from mapose.behaviour.classifier import train_classifier  # noqa: E402
from mapose.behaviour.validation import bout_metrics, frame_metrics  # noqa: E402
from mapose.core import make_tracks  # noqa: E402

RECIPE = dict(windows=(5, 15, 45), max_iter=50, max_leaf_nodes=7, min_samples_leaf=200, min_bout=45,
              cleaning={"median_window": 5, "savgol_window": 15})


def _split(ds, freeze, cut):
    train = ds.isel(time=slice(0, cut))
    test = ds.isel(time=slice(cut, None))
    ann = pd.DataFrame({"frame": np.arange(cut), "subject": "", "Freezing": freeze[:cut]})
    return train, ann, test, freeze[cut:]


def _score(name, y, pred, rows):
    fm, bm = frame_metrics(y, pred), bout_metrics(y, pred)
    rows.append({"run": name, "precision": fm["precision"], "recall": fm["recall"], "f1": fm["f1"],
                 "true_bouts": bm["n_true_bouts"], "pred_bouts": bm["n_pred_bouts"],
                 "bout_recall": bm["bout_recall"], "bout_precision": bm["bout_precision"],
                 "bout_f1": bm["bout_f1"], "onset_err_frames": bm["mean_abs_onset_error"]})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None, help="demo1 folder")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    t0 = time.time()
    ds, freeze = load_behaviordepot_demo1(args.root)
    cut = int(0.6 * ds.sizes["time"])
    train, ann, test, y_test = _split(ds, freeze, cut)
    px = BEHAVIORDEPOT_DEMO1_PX_PER_CM
    rows = []
    models = {}
    for name, include in (("motion (skeleton-free)", ("kp_speed*",)), ("all features", None)):
        t1 = time.time()
        model = train_classifier([train], [ann], px_per_cm=px, include=include,
                                 n_threads=args.threads, **RECIPE)
        models[name] = model
        pred = model.predict_tracks(test, px_per_cm=px)
        _score(name, y_test, pred["Freezing"].to_numpy(), rows)
        cv = model.classifier.cv_["metrics"]["Freezing"]
        print(f"{name}: trained in {time.time() - t1:.1f} s, threshold {cv['threshold']:.2f}, "
              f"inner block-CV F1 {cv['f1']:.3f}", flush=True)

    model = models["motion (skeleton-free)"]
    base = model.predict_tracks(test, px_per_cm=px)
    # other scale + other names: 23 px/cm, every body part renamed
    names = [str(k) for k in test["keypoints"].values]
    other_names = [f"part{i}" for i in range(len(names))]
    scale = 23.0 / px
    other = make_tracks(test["position"].transpose("time", "space", "keypoints", "individuals").values * scale + 40.0,
                        test["confidence"].transpose("time", "keypoints", "individuals").values,
                        keypoints=other_names, individuals=["mouse"], fps=float(test.attrs["fps"]),
                        frames=test["frame"].values)
    rename = dict(zip(other_names, names))
    pred_o = model.predict_tracks(other, rename=rename, px_per_cm=23.0)
    _score("motion, test at 23 px/cm + renamed", y_test, pred_o["Freezing"].to_numpy(), rows)
    same = float((pred_o["Freezing"].to_numpy() == base["Freezing"].to_numpy()).mean())
    # other frame rate: every 2nd frame (25 fps)
    half = test.isel(time=slice(0, None, 2))
    half = make_tracks(half["position"].transpose("time", "space", "keypoints", "individuals").values,
                       half["confidence"].transpose("time", "keypoints", "individuals").values,
                       keypoints=names, individuals=["mouse"], fps=25.0,
                       frames=np.arange(half.sizes["time"]))
    pred_h = model.predict_tracks(half, px_per_cm=px)
    _score("motion, test subsampled to 25 fps", y_test[::2], pred_h["Freezing"].to_numpy(), rows)
    rng = np.random.default_rng(0)
    pos = test["position"].transpose("time", "space", "keypoints", "individuals").values
    noisy = make_tracks(pos + rng.normal(0, px / 23.0, pos.shape),
                        test["confidence"].transpose("time", "keypoints", "individuals").values,
                        keypoints=names, individuals=["mouse"], fps=float(test.attrs["fps"]),
                        frames=test["frame"].values)
    pred_n = model.predict_tracks(noisy, px_per_cm=px)
    _score("motion, test + 1 px jitter at 23 px/cm", y_test, pred_n["Freezing"].to_numpy(), rows)

    res = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(res.round(3).to_string(index=False))
    print(f"rescaled+renamed test gives the same 0/1 prediction on {same * 100:.2f} % of frames")
    print(f"test part: frames {cut}..{ds.sizes['time'] - 1} ({int(y_test.sum())} freezing frames); "
          f"total {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
