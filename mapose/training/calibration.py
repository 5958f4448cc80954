"""Label calibration: systematic differences between a label set and where the model puts body
parts, measured on the training frames after training and corrected in every prediction.

Rotation and flip augmentation make a pose model (nearly) rotation-equivariant, so two kinds of
systematic error survive training:

- an offset fixed in *image* coordinates, which no equivariant model can learn (labels clicked
  consistently to one side, a labelling tool with another pixel convention, labels made on a copy of
  the video whose frame is shifted by a few pixels);
- offsets fixed in the *animal's own frame* that the model learned only on average over the
  orientations seen in training (leg tips labelled short of the tip; combined with the first kind,
  a model learns "shift forward" for the directions the training animals faced, which is wrong for
  animals facing the other way).

The residual of keypoint ``k`` of an instance rotated by ``R`` (its orientation, found by Procrustes
alignment of the predicted instance to a template shape) is modelled as ``label - prediction =
c + R b_k``; ``c`` (image frame) and ``b_k`` (animal frame, one per keypoint) are fitted by robust
least squares on the matched keypoints of the training frames.  Which correction to apply -- none,
``c`` only, or ``c`` and ``b`` -- is chosen by cross-validation over the training frames (the median
error on held-out folds must fall), so a model whose labels have no systematic offset is left as it
is.  Validation frames are never used.

The result is ``MODEL_DIR/calibration.json``; :func:`~mapose.training.model.load_model` attaches it
as ``model.calibration`` and :meth:`Calibration.apply` runs on every decoded instance (evaluation
and video analysis).  Switch it off with ``data.calibrate_offset: false`` (or delete the file).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

CALIBRATION_FILE = "calibration.json"
#: A correction is kept only when it lowers the cross-validated median error by this much (px).
MIN_GAIN_PX = 0.05
#: Instances need this many present keypoints for an orientation.
MIN_KEYPOINTS_FOR_ORIENTATION = 3
MODES = ("none", "offset", "offset+body")
#: Calibration is measured on at most this many pixels of training frames (evenly spaced frames):
#: every measurement runs the model, test-time augmentation included, on whole frames, and on 96
#: labelled 1024 x 1024 frames that took a 2-core CPU over ten minutes (about 57 frames of 384 x 384).
CALIBRATION_PIXELS = 1 << 23


@dataclass(frozen=True)
class Calibration:
    """A fitted correction: ``keypoints + offset + R @ body[k]`` per instance.

    Attributes
    ----------
    offset
        ``(2,)`` image-frame offset (pixels).
    body
        ``(K, 2)`` per-keypoint offsets in the template's frame, or ``None``.
    template
        ``(K, 2)`` centred mean shape used to find each instance's rotation ``R`` (NaN where a
        keypoint was never labelled), or ``None``.
    """

    offset: np.ndarray
    body: Optional[np.ndarray] = None
    template: Optional[np.ndarray] = None

    def apply(self, keypoints: np.ndarray) -> np.ndarray:
        """Corrected copy of ``(n, K, 2)`` keypoints (pixels; NaN stays NaN)."""
        kp = np.asarray(keypoints, dtype=np.float64)
        out = kp + self.offset
        if self.body is None or self.template is None or kp.size == 0:
            return out
        flat = out.reshape(-1, *kp.shape[-2:])  # a view: corrected in place
        rot, valid = rotations(self.template, kp.reshape(flat.shape))
        flat[valid] += np.einsum("nij,kj->nki", rot[valid], self.body)
        return out

    def summary(self) -> dict:
        """JSON-able offsets (for evaluation reports, provenance and resume fingerprints)."""
        return {"label_offset_px": [float(v) for v in self.offset],
                "body_offsets_px": None if self.body is None else np.round(self.body, 6).tolist()}


def rotations(template: np.ndarray, instances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotations ``(n, 2, 2)`` (no reflection) that best map the centred ``template`` ``(K, 2)`` onto
    each centred instance of ``(n, K, 2)``, over keypoints present in both (2-D Kabsch: the angle
    is ``atan2(sum a x b, sum a . b)``); ``valid`` ``(n,)`` is False (identity returned) for instances
    with fewer than 3 such keypoints."""
    inst = np.asarray(instances, dtype=np.float64).reshape(-1, *np.shape(template))
    ok = np.isfinite(inst).all(-1) & np.isfinite(template).all(-1)  # (n, K)
    cnt = ok.sum(1)
    w = ok[..., None]
    t = np.where(w, template, 0.0)
    b = np.where(w, inst, 0.0)
    a = t - (t.sum(1) / np.maximum(cnt, 1)[:, None])[:, None]
    b = b - (b.sum(1) / np.maximum(cnt, 1)[:, None])[:, None]
    a, b = a * w, b * w
    cross = (a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]).sum(1)
    dot = (a * b).sum((1, 2))
    valid = cnt >= MIN_KEYPOINTS_FOR_ORIENTATION
    ang = np.where(valid, np.arctan2(cross, dot), 0.0)
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2), valid


def rotation_to(template: np.ndarray, instance: np.ndarray) -> Optional[np.ndarray]:
    """:func:`rotations` of one instance ``(K, 2)``; ``None`` with fewer than 3 shared keypoints."""
    rot, valid = rotations(template, np.asarray(instance)[None])
    return rot[0] if valid[0] else None


def fit_template(shapes: Sequence[np.ndarray], iterations: int = 5) -> np.ndarray:
    """Mean shape ``(K, 2)`` of labelled instances by generalised Procrustes (rotation only)."""
    cent = [s - np.nanmean(s, 0) for s in shapes if np.isfinite(s).all(1).sum() >= MIN_KEYPOINTS_FOR_ORIENTATION]
    if not cent:
        raise ValueError("no labelled instance with 3 or more keypoints")
    with warnings.catch_warnings():  # keypoints never labelled stay NaN in the template
        warnings.simplefilter("ignore", RuntimeWarning)
        tmpl = np.nanmean(cent, 0)
        for _ in range(iterations):
            aligned = [s @ r for s in cent if (r := rotation_to(tmpl, s)) is not None]
            tmpl = np.nanmean(aligned, 0)  # instances rotated into the template's frame
            tmpl = tmpl - np.nanmean(tmpl, 0)
    return tmpl


def _rows(gts, preds, template):
    """Matched keypoints: frame group, keypoint, rotation of the predicted instance, residual."""
    from mapose.training.metrics import match_instances

    grp, kk, insts, res = [], [], [], []
    for f, (g, p) in enumerate(zip(gts, preds)):
        g, p = np.asarray(g, float), np.asarray(p, float)
        for gi, pi in match_instances(g, p):
            r = g[gi] - p[pi]
            for k in np.flatnonzero(np.isfinite(r).all(1)):
                grp.append(f)
                kk.append(k)
                insts.append(p[pi])
                res.append(r[k])
    rots = rotations(template, np.array(insts).reshape(-1, *np.shape(template)))[0]  # identity if < 3
    return (np.array(grp, dtype=np.int64), np.array(kk, dtype=np.int64), rots,
            np.array(res).reshape(-1, 2))


def _fit(kk, rots, res, n_kp: int, mode: str) -> Calibration:
    """Robust (Huber-weighted, iteratively reweighted) least squares of ``res = c [+ R b_k]``."""
    n = len(res)
    if mode == "none" or n == 0:
        return Calibration(np.zeros(2))
    cols = 2 if mode == "offset" else 2 + 2 * n_kp
    a = np.zeros((2 * n, cols))
    a[0::2, 0] = 1.0
    a[1::2, 1] = 1.0
    if mode == "offset+body":
        idx = np.arange(n)
        for row in (0, 1):
            for col in (0, 1):
                a[2 * idx + row, 2 + 2 * kk + col] = rots[:, row, col]
    y = res.reshape(-1)
    w = np.ones(n)
    sol = np.zeros(cols)
    for _ in range(6):
        sw = np.repeat(np.sqrt(w), 2)
        sol = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)[0]
        d = np.hypot(*(a @ sol - y).reshape(-1, 2).T)
        s = 1.4826 * np.median(d) + 1e-9
        w = np.minimum(1.0, 2.0 * s / np.maximum(d, 1e-12))
    body = sol[2:].reshape(n_kp, 2) if mode == "offset+body" else None
    return Calibration(sol[:2], body)


def estimate_calibration(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray],
                         folds: int = 5, seed: int = 0) -> dict:
    """Fit the correction on matched keypoints and pick the mode by cross-validation over frames.

    Parameters
    ----------
    gts, preds
        Per frame, labelled and predicted keypoints ``(n, K, 2)`` (pixels, NaN = missing).

    Returns
    -------
    dict
        JSON-able: ``mode`` (``none``, ``offset`` or ``offset+body``), ``applied``,
        ``label_offset_px`` [dx, dy], ``body_offsets_px`` (K x [dx, dy] or None), ``template``,
        ``cv_median_px`` (held-out median error per mode), ``n_keypoints``, ``frames``.
    """
    gts = [np.asarray(g, float) for g in gts]
    shapes = [inst for g in gts for inst in g]
    n_kp = gts[0].shape[1] if gts and gts[0].ndim == 3 else 0
    out = {"mode": "none", "applied": False, "label_offset_px": [0.0, 0.0], "body_offsets_px": None,
           "template": None, "cv_median_px": {}, "n_keypoints": 0, "frames": len(gts)}
    try:
        template = fit_template(shapes)
    except ValueError:
        return out
    grp, kk, rots, res = _rows(gts, preds, template)
    out["n_keypoints"] = int(len(res))
    n_frames_used = len(np.unique(grp))
    if len(res) < 20 or n_frames_used < 2:
        return out
    k = min(folds, n_frames_used)
    frames = np.unique(grp)
    fold_of = dict(zip(np.random.default_rng(seed).permutation(frames), np.arange(len(frames)) % k))
    fold = np.array([fold_of[g] for g in grp])
    cv = {}
    for mode in MODES:
        err = np.empty(len(res))
        for f in range(k):
            tr, te = fold != f, fold == f
            cal = _fit(kk[tr], rots[tr], res[tr], n_kp, mode)
            corr = cal.offset + (0 if cal.body is None else np.einsum("nij,nj->ni", rots[te], cal.body[kk[te]]))
            err[te] = np.hypot(*(res[te] - corr).T)
        cv[mode] = round(float(np.median(err)), 4)
    out["cv_median_px"] = cv
    best = "none"
    for mode in MODES[1:]:
        if cv[mode] <= cv[best] - MIN_GAIN_PX:
            best = mode
    final = _fit(kk, rots, res, n_kp, best)
    out.update(
        mode=best, applied=best != "none",
        label_offset_px=[round(float(v), 4) for v in final.offset],
        body_offsets_px=None if final.body is None else np.round(final.body, 4).tolist(),
        template=None if final.body is None else np.where(np.isfinite(template), np.round(template, 4), None).tolist(),
    )
    return out


def training_frames(labels_paths: Sequence[str | Path], split_json: Path,
                    max_pixels: Optional[int] = CALIBRATION_PIXELS, skeleton=None):
    """Full-size images and labelled keypoints of the training frames listed in ``split.json``;
    evenly spaced ones among them when all of them hold more than ``max_pixels`` pixels.  With
    ``skeleton`` (the model's) the keypoints are placed in its order by name, NaN for the body parts
    a label file does not name."""
    from mapose.core.skeleton import place_keypoints
    from mapose.data.frames import load_images
    from mapose.errors import ConfigError
    from mapose.io import read_labels
    from mapose.training.evaluate import select_frames

    images, gts = [], []
    for path in labels_paths:
        labels = read_labels(path)
        try:
            sel = select_frames(labels, "train", split_json)
        except ConfigError:  # no training frame in this file (e.g. a validation-only video)
            continue
        imgs = load_images(labels, sel)
        for i in sel:
            keep = (labels.instances.frame == i) & labels.is_user
            images.append(imgs[i])
            gt = labels.instances.keypoints[keep]
            gts.append(gt if skeleton is None else place_keypoints(gt, labels.skeleton.keypoints, skeleton, str(path)))
    pixels = sum(img.shape[0] * img.shape[1] for img in images)
    if max_pixels is not None and pixels > max_pixels:
        n = max(2, int(max_pixels / (pixels / len(images))))
        pick = np.unique(np.linspace(0, len(images) - 1, n).round().astype(int))
        images, gts = [images[i] for i in pick], [gts[i] for i in pick]
    return images, gts


def measure_calibration(model, images: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> dict:
    """:func:`estimate_calibration` of an in-memory model (its current calibration ignored)."""
    from mapose.training.evaluate import predict_frames

    saved = getattr(model, "calibration", None)
    model.calibration = None
    try:
        preds, _, _ = predict_frames(model, list(images), keep_singletons=False)
    finally:
        model.calibration = saved
    return estimate_calibration(gts, preds)


def calibrate_model(model_dir: str | Path, labels_paths: Sequence[str | Path],
                    checkpoint: str = "best") -> dict:
    """Measure the correction of ``MODEL_DIR`` on its training frames (from ``split.json``) and
    write ``MODEL_DIR/calibration.json``; returns its content."""
    from mapose.io._files import atomic_write_text
    from mapose.training.model import load_model

    d = Path(model_dir)
    (d / CALIBRATION_FILE).unlink(missing_ok=True)  # measure the raw model
    model = load_model(d, checkpoint=checkpoint)
    images, gts = training_frames(labels_paths, d / "split.json", skeleton=model.skeleton)
    out = measure_calibration(model, images, gts)
    out["checkpoint"] = checkpoint
    atomic_write_text(d / CALIBRATION_FILE, json.dumps(out, indent=1))
    return out


def read_calibration(model_dir: str | Path) -> Optional[Calibration]:
    """The applied :class:`Calibration` of ``MODEL_DIR`` (``None`` without one or when the
    cross-validation kept none)."""
    from mapose.errors import FormatError

    p = Path(model_dir) / CALIBRATION_FILE
    if not p.exists():
        return None
    try:
        rec = json.loads(p.read_text())
        if not bool(rec["applied"]):
            return None
        off = np.asarray(rec["label_offset_px"], dtype=np.float64).reshape(2)
        body = rec.get("body_offsets_px")
        tmpl = rec.get("template")
        body = None if body is None else np.asarray(body, dtype=np.float64).reshape(-1, 2)
        tmpl = None if tmpl is None else np.asarray(
            [[np.nan if v is None else v for v in row] for row in tmpl], dtype=np.float64).reshape(-1, 2)
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{p}: not a calibration file written by mapose train ({exc})") from None
    if not np.isfinite(off).all() or (body is not None and (tmpl is None or body.shape != tmpl.shape)):
        raise FormatError(f"{p}: label_offset_px / body_offsets_px / template are inconsistent")
    return Calibration(off, body, tmpl)
