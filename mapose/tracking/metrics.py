"""Tracking accuracy against reference tracks (MOTA, IDF1, switches) via ``motmetrics``."""

from __future__ import annotations

from typing import Optional

import numpy as np
import xarray as xr

from mapose.config import as_number
from mapose.core import validate_tracks
from mapose.errors import ConfigError, ValidationError
from mapose.tracking.costs import body_sizes, centroids

#: Metrics reported by :func:`evaluate_tracks`, in motmetrics names.
METRICS = ("mota", "motp", "idf1", "idp", "idr", "precision", "recall", "num_switches",
           "num_fragmentations", "num_false_positives", "num_misses", "num_objects",
           "num_predictions", "num_unique_objects", "mostly_tracked", "mostly_lost")


def _frame_centroids(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``frames (T,)``, ``centroids (T, I, 2)`` and body sizes ``(T, I)`` (pixels)."""
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    t, i, k, _ = pos.shape
    flat = pos.reshape(t * i, k, 2)
    return (ds["frame"].values.astype(np.int64), centroids(flat).reshape(t, i, 2),
            body_sizes(flat).reshape(t, i))


def _shared_keypoints(pred: xr.Dataset, truth: xr.Dataset):
    """``pred`` and ``truth`` restricted to the body parts both name (the centroids must average
    the same parts); :class:`SkeletonError` when they share none (files of different animals)."""
    from mapose.errors import SkeletonError

    pk = [str(k) for k in pred["keypoints"].values]
    tk = [str(k) for k in truth["keypoints"].values]
    shared = [k for k in tk if k in set(pk)]
    if not shared:
        raise SkeletonError(
            f"the predicted and reference tracks share no body part: predicted {', '.join(pk[:8])}"
            f"{' ...' if len(pk) > 8 else ''}; reference {', '.join(tk[:8])}{' ...' if len(tk) > 8 else ''} "
            "(tracks of another skeleton or another animal?)")
    if shared == tk and shared == pk:
        return pred, truth, shared
    return pred.sel(keypoints=shared), truth.sel(keypoints=shared), shared


def evaluate_tracks(pred: xr.Dataset, truth: xr.Dataset, threshold: Optional[float] = None,
                    threshold_fraction: float = 0.5, frames: str = "overlap") -> dict:
    """CLEAR-MOT and identity metrics of predicted tracks against reference tracks.

    Animals are matched per frame by the distance between keypoint centroids (mean of the visible
    keypoints the two files share by name); a prediction further than ``threshold`` pixels from a
    reference animal cannot match it.  Frames are aligned on the ``frame`` coordinate (frames
    missing from one side count as empty there).

    Parameters
    ----------
    pred, truth
        ``Tracks``.
    threshold
        Largest matching distance, pixels.  Default: ``threshold_fraction`` × the median body size
        (keypoint bounding-box diagonal) of the reference animals.
    threshold_fraction
        Fraction of the median reference body size used when ``threshold`` is not given.
    frames
        ``"overlap"`` (default): only the video frames from the later of the two files' first frames
        to the earlier of their last frames are scored, so a prediction made for part of a video
        (``mapose analyze --frames A:B``) is scored on that part; ``"all"``: every frame either file
        covers, those one file lacks counting as empty there.

    Returns
    -------
    dict
        The metrics of :data:`METRICS` (``mota``, ``idf1``, ``num_switches``,
        ``num_fragmentations``, ...), plus ``threshold_px``, ``n_frames``, ``keypoints_compared``
        (body parts both name), ``switch_frames`` (video frames where motmetrics counted an
        identity switch), ``frames_scored`` (first and last video frame scored) and
        ``frames_left_out`` (frames of each file outside them: ``prediction``, ``reference``).
    """
    import motmetrics as mm

    if threshold is not None:
        threshold = as_number(threshold, "threshold (pixels)", positive=True)
    threshold_fraction = as_number(threshold_fraction, "threshold_fraction", positive=True)
    if frames not in ("overlap", "all"):
        raise ConfigError(f"frames must be 'overlap' or 'all'; got {frames!r}")
    validate_tracks(pred)
    validate_tracks(truth)
    pred, truth, shared = _shared_keypoints(pred, truth)
    if not np.isfinite(truth["position"].values).any():
        raise ValidationError("the reference tracks hold no keypoint position in any frame "
                              "(all missing/NaN); nothing to score against")
    pf, pc, _ = _frame_centroids(pred)
    tf, tc, tsize = _frame_centroids(truth)
    if threshold is None:
        sizes = tsize[np.isfinite(tsize) & (tsize > 0)]
        if len(sizes) == 0:
            raise ValidationError(
                "cannot derive a matching threshold from single-keypoint reference tracks; "
                "pass threshold in pixels"
            )
        if not float(threshold_fraction) > 0:
            raise ValidationError(f"threshold_fraction must be > 0 (of the body size), got {threshold_fraction}")
        threshold = threshold_fraction * float(np.median(sizes))
    if not threshold > 0:
        raise ValidationError(f"threshold must be > 0 pixels, got {threshold}")
    lo, hi = (max(pf.min(), tf.min()), min(pf.max(), tf.max())) if frames == "overlap" and len(pf) and len(tf) \
        else (min(pf.min(initial=np.iinfo(np.int64).max), tf.min()), max(pf.max(initial=-1), tf.max()))
    if lo > hi:
        raise ValidationError(f"the two files share no video frame: the prediction covers frames {pf.min()}-"
                              f"{pf.max()}, the reference {tf.min()}-{tf.max()} (another video, or a part not "
                              "analysed?); frames='all' scores every reference animal as missed")
    left_out = {"prediction": int(((pf < lo) | (pf > hi)).sum()), "reference": int(((tf < lo) | (tf > hi)).sum())}
    frames = np.union1d(pf, tf)
    frames = frames[(frames >= lo) & (frames <= hi)]
    p_at = {int(f): i for i, f in enumerate(pf)}
    t_at = {int(f): i for i, f in enumerate(tf)}
    # motmetrics (1.4) needs numeric ids: individuals are numbered by position on each side
    pnames = np.arange(pred.sizes["individuals"])
    tnames = np.arange(truth.sizes["individuals"])
    acc = mm.MOTAccumulator(auto_id=False)
    for f in frames.tolist():
        ti, pi = t_at.get(f), p_at.get(f)
        tcen = tc[ti] if ti is not None else np.zeros((0, 2))
        pcen = pc[pi] if pi is not None else np.zeros((0, 2))
        tok = np.isfinite(tcen).all(axis=1)
        pok = np.isfinite(pcen).all(axis=1)
        a, b = tcen[tok], pcen[pok]
        d = np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])
        d = np.where(d <= threshold, d, np.nan)
        acc.update(tnames[tok].tolist(), pnames[pok].tolist(), d, frameid=f)
    mh = mm.metrics.create()
    summary = mh.compute(acc, metrics=list(METRICS), name="tracks")
    out = {k: (float(summary[k].iloc[0]) if "num" not in k and "mostly" not in k
               else int(summary[k].iloc[0])) for k in METRICS}
    ev = acc.mot_events
    switches = ev[ev["Type"] == "SWITCH"]
    out["switch_frames"] = sorted({int(i[0]) for i in switches.index})
    out["threshold_px"] = float(threshold)
    out["n_frames"] = int(len(frames))
    out["frames_scored"] = [int(lo), int(hi)]
    out["frames_left_out"] = left_out
    out["keypoints_compared"] = len(shared)
    return out
