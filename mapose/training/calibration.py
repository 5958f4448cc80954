"""Label-offset calibration: a systematic shift between a label set and where the model puts
body parts.

Rotation and flip augmentation make a pose model equivariant: it cannot learn an offset that is fixed
in image coordinates -- labels clicked consistently a little to one side, a labelling tool with
another pixel convention, or labels made on a copy of the video whose frame is shifted by a few
pixels.  Such an offset shows up as a constant residual ``label - prediction`` on the model's own
*training* frames.  :func:`calibrate_model` measures it there after training (validation frames are
never used), and :func:`~mapose.training.model.load_model` adds it to every prediction when it is
significant, so that predictions land where the labeller would have put them.

The result is written to ``MODEL_DIR/calibration.json``::

    {"label_offset_px": [dx, dy], "applied": true, "stderr_px": [sx, sy], "n_keypoints": 1875, ...}

Switch it off with ``data.calibrate_offset: false`` (or delete the file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

CALIBRATION_FILE = "calibration.json"

#: Offsets smaller than this (pixels) are not applied even when statistically significant.
MIN_OFFSET_PX = 0.25
#: An axis is significant when its offset exceeds this many standard errors.
Z_SIGNIFICANT = 3.0


def estimate_label_offset(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> dict:
    """Median residual ``label - prediction`` over matched keypoints.

    Parameters
    ----------
    gts, preds
        Per frame, ground-truth and predicted keypoints ``(n, K, 2)`` (pixels, NaN = missing);
        instances are matched with :func:`mapose.training.metrics.match_instances`.

    Returns
    -------
    dict
        ``label_offset_px`` [dx, dy] (per-axis median), ``stderr_px`` [sx, sy] (of the median, from
        the median absolute deviation), ``n_keypoints`` (matched keypoints), ``applied`` (significant on at least one axis:
        beyond ``Z_SIGNIFICANT`` standard errors and ``MIN_OFFSET_PX`` in length).
    """
    from mapose.training.metrics import match_instances

    res = []
    for g, p in zip(gts, preds):
        g, p = np.asarray(g, float), np.asarray(p, float)
        for gi, pi in match_instances(g, p):
            r = g[gi] - p[pi]
            res.append(r[np.isfinite(r).all(1)])
    r = np.concatenate(res) if res else np.zeros((0, 2))
    out = {"label_offset_px": [0.0, 0.0], "stderr_px": [float("nan")] * 2, "n_keypoints": 0,
           "applied": False}
    if len(r) < 10:
        return out
    off = np.median(r, axis=0)  # per axis: robust to gross errors (a wrong leg) below 50 %
    mad = 1.4826 * np.median(np.abs(r - off), axis=0)  # robust standard deviation
    se = 1.2533 * mad / np.sqrt(len(r))  # standard error of a median
    significant = bool(np.any(np.abs(off) > Z_SIGNIFICANT * se) and np.hypot(*off) >= MIN_OFFSET_PX)
    out.update(label_offset_px=[round(float(v), 3) for v in off],
               stderr_px=[round(float(v), 3) for v in se], n_keypoints=int(len(r)),
               applied=significant)
    return out


def calibrate_model(model_dir: str | Path, labels_paths: Sequence[str | Path],
                    checkpoint: str = "best") -> dict:
    """Measure the label offset of ``MODEL_DIR`` on its training frames (from ``split.json``) and
    write ``MODEL_DIR/calibration.json``; returns its content."""
    from mapose.data.frames import load_images
    from mapose.io import read_labels
    from mapose.io._files import atomic_write_text
    from mapose.training.evaluate import predict_frames, select_frames
    from mapose.training.model import load_model

    d = Path(model_dir)
    (d / CALIBRATION_FILE).unlink(missing_ok=True)  # measure the raw model
    model = load_model(d, checkpoint=checkpoint)
    gts, preds = [], []
    for path in labels_paths:
        labels = read_labels(path)
        try:
            sel = select_frames(labels, "train", d / "split.json")
        except Exception:  # no training frame of this file (e.g. a validation-only video)
            continue
        imgs = load_images(labels)
        kps, _, _ = predict_frames(model, [imgs[i] for i in sel], keep_singletons=False)
        for i, kp in zip(sel, kps):
            sel_i = labels.instances.frame == i
            if labels.is_user is not None:
                sel_i &= labels.is_user
            gts.append(labels.instances.keypoints[sel_i])
            preds.append(kp)
    out = estimate_label_offset(gts, preds)
    out["frames"] = len(gts)
    out["checkpoint"] = checkpoint
    atomic_write_text(d / CALIBRATION_FILE, json.dumps(out, indent=1))
    return out


def read_label_offset(model_dir: str | Path) -> Optional[np.ndarray]:
    """The applied offset ``(2,)`` of ``MODEL_DIR`` (``None`` without calibration or when not
    significant)."""
    p = Path(model_dir) / CALIBRATION_FILE
    if not p.exists():
        return None
    from mapose.errors import FormatError

    try:
        rec = json.loads(p.read_text())
        off = np.asarray(rec["label_offset_px"], dtype=np.float64).reshape(2)
        applied = bool(rec["applied"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{p}: not a calibration file written by mapose train ({exc})") from None
    if not np.isfinite(off).all():
        raise FormatError(f"{p}: label_offset_px must be two finite numbers, got {rec['label_offset_px']}")
    return off if applied else None
