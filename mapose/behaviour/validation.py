"""Validation that does not lie: grouped splits, frame and bout metrics, threshold choice.

Pure functions of arrays.  Frames of one session (video) are strongly correlated, so frames are
never split at random: :func:`grouped_folds` keeps every session (or, when there are too few
sessions, every *contiguous block* of a session) on one side of each split.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 1, 1, 0, 0, 1])
>>> frame_metrics(y, np.array([0, 1, 0, 0, 1, 1]))["f1"]
0.6666666666666666
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from mapose.errors import ValidationError

__all__ = [
    "grouped_folds",
    "frame_metrics",
    "bout_metrics",
    "pr_curve",
    "best_threshold",
]


def grouped_folds(
    groups: np.ndarray,
    n_splits: int = 5,
    order: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Cross-validation folds that never put frames of one group on both sides.

    Parameters
    ----------
    groups
        ``(N,)`` session (video) id of every row.
    n_splits
        Number of folds (>= 2).
    order
        ``(N,)`` sort key within a session (usually the frame index).  Used only when there are
        fewer sessions than ``n_splits``: each session is then cut into ``n_splits`` contiguous
        blocks of frames (by ``order``), and blocks play the role of groups -- never random
        frames.

    Returns
    -------
    fold_groups
        ``(N,)`` int id of the unit kept together (session, or session block).
    folds
        ``n_splits`` pairs ``(train_index, test_index)``; every unit is in exactly one test set.
        Units are dealt to folds largest first, each to the currently smallest fold, so folds
        have similar sizes; the assignment is deterministic.
    """
    groups = np.asarray(groups)
    n = groups.shape[0]
    if n_splits < 2:
        raise ValidationError(f"n_splits must be >= 2, got {n_splits}")
    codes, uniq = pd.factorize(pd.Series(groups), sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    if len(uniq) < n_splits:
        key = np.arange(n) if order is None else np.asarray(order)
        unit = np.empty(n, np.int64)
        for g in range(len(uniq)):
            idx = np.flatnonzero(codes == g)
            idx = idx[np.argsort(key[idx], kind="stable")]
            block = (np.arange(idx.size) * n_splits) // max(idx.size, 1)
            unit[idx] = g * n_splits + block
        codes = unit
    units, sizes = np.unique(codes, return_counts=True)
    if units.size < n_splits:
        raise ValidationError(
            f"cannot make {n_splits} grouped folds from {units.size} groups of {n} rows"
        )
    fold_of_unit = np.empty(units.size, np.int64)
    load = np.zeros(n_splits, np.int64)
    for u in np.argsort(-sizes, kind="stable"):
        f = int(np.argmin(load))
        fold_of_unit[u] = f
        load[f] += sizes[u]
    fold = fold_of_unit[np.searchsorted(units, codes)]
    folds = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(n_splits)]
    return codes, folds


def _binary(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValidationError(f"{what} has shape {a.shape}; expected (frames,)")
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValidationError(f"{what} must hold 0/1 values")
    return a.astype(bool)


def frame_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Frame-level precision, recall and F1 of a binary behaviour.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (0 where undefined), ``n_true`` and ``n_pred``
        (frames labelled 1).
    """
    t, p = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValidationError(f"y_true has {t.size} frames but y_pred has {p.size}")
    tp = float(np.sum(t & p))
    prec = tp / p.sum() if p.sum() else 0.0
    rec = tp / t.sum() if t.sum() else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "n_true": int(t.sum()), "n_pred": int(p.sum())}


def _runs(a: np.ndarray) -> np.ndarray:
    """``(n, 2)`` start/stop (exclusive) of the runs of 1 in a bool array."""
    d = np.diff(np.concatenate([[0], a.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


def bout_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    min_overlap: float = 0.5,
) -> dict[str, float]:
    """Bout-level agreement between two binary sequences.

    A true bout is *detected* when predicted frames cover at least ``min_overlap`` of it; a
    predicted bout is *correct* when true frames cover at least ``min_overlap`` of it.

    Parameters
    ----------
    y_true, y_pred
        ``(T,)`` 0/1 per frame (one session; bouts are runs of 1).
    min_overlap
        Fraction (0-1] of a bout's frames that must be covered.

    Returns
    -------
    dict
        ``n_true_bouts``, ``n_pred_bouts``, ``bout_recall`` (detected true bouts / true bouts),
        ``bout_precision`` (correct predicted bouts / predicted bouts), ``bout_f1``, and
        ``mean_abs_onset_error`` (frames, between each detected true bout's onset and the onset
        of the predicted bout overlapping it most; NaN when none is detected).
    """
    t, p = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValidationError(f"y_true has {t.size} frames but y_pred has {p.size}")
    if not 0 < min_overlap <= 1:
        raise ValidationError(f"min_overlap must be in (0, 1], got {min_overlap}")
    tb, pb = _runs(t), _runs(p)
    ct = np.concatenate([[0], np.cumsum(p)])
    cp = np.concatenate([[0], np.cumsum(t)])
    cov_t = (ct[tb[:, 1]] - ct[tb[:, 0]]) / np.maximum(tb[:, 1] - tb[:, 0], 1)
    cov_p = (cp[pb[:, 1]] - cp[pb[:, 0]]) / np.maximum(pb[:, 1] - pb[:, 0], 1)
    det = cov_t >= min_overlap
    rec = float(det.mean()) if tb.size else 0.0
    prec = float((cov_p >= min_overlap).mean()) if pb.size else 0.0
    onset = []
    for s, e in tb[det]:
        ov = np.minimum(pb[:, 1], e) - np.maximum(pb[:, 0], s)
        onset.append(abs(int(pb[int(np.argmax(ov)), 0]) - int(s)))
    return {
        "n_true_bouts": int(tb.shape[0]),
        "n_pred_bouts": int(pb.shape[0]),
        "bout_recall": rec,
        "bout_precision": prec,
        "bout_f1": 2 * rec * prec / (rec + prec) if rec + prec else 0.0,
        "mean_abs_onset_error": float(np.mean(onset)) if onset else float("nan"),
    }


def pr_curve(y_true: np.ndarray, proba: np.ndarray) -> dict[str, np.ndarray]:
    """Precision-recall curve and average precision of per-frame probabilities.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``thresholds`` arrays (from
        :func:`sklearn.metrics.precision_recall_curve`) and ``average_precision`` (float).
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    t = _binary(y_true, "y_true")
    proba = np.asarray(proba, float)
    if t.sum() == 0:
        return {"precision": np.array([1.0]), "recall": np.array([0.0]),
                "thresholds": np.array([]), "average_precision": float("nan")}
    prec, rec, thr = precision_recall_curve(t, proba)
    return {"precision": prec, "recall": rec, "thresholds": thr,
            "average_precision": float(average_precision_score(t, proba))}


def best_threshold(
    y_true: np.ndarray,
    proba: np.ndarray,
    postprocess: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    candidates: Optional[np.ndarray] = None,
) -> tuple[float, float]:
    """Probability threshold with the highest F1 on validation predictions.

    Parameters
    ----------
    y_true
        ``(N,)`` 0/1 labels.
    proba
        ``(N,)`` out-of-fold probabilities.
    postprocess
        Optional function applied to the thresholded 0/1 predictions before scoring (e.g.
        minimum-bout smoothing), so the threshold is optimal for what users get.
    candidates
        Thresholds to try (default 0.02, 0.04, ..., 0.98).

    Returns
    -------
    threshold, f1
        The best threshold (the lowest on ties) and its F1.
    """
    t = _binary(y_true, "y_true").astype(np.int64)
    proba = np.asarray(proba, float)
    cands = np.round(np.arange(0.02, 0.99, 0.02), 4) if candidates is None else np.asarray(candidates)
    best = (0.5, -1.0)
    for c in cands:
        pred = (proba >= c).astype(np.int64)
        if postprocess is not None:
            pred = postprocess(pred)
        f = frame_metrics(t, pred)["f1"]
        if f > best[1] + 1e-12:
            best = (float(c), f)
    return best
