"""Pose-accuracy metrics with Hungarian matching of predicted to ground-truth instances (numpy).

Conventions
-----------
- Keypoints are ``(n, K, 2)`` pixel arrays with NaN for missing/unlabelled.
- **Matching** (RMSE, median, PCK): per frame, predicted and ground-truth instances are paired by
  the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) maximising their OKS
  (sigma 0.1; the mean distance over keypoints present in both breaks ties); pairs sharing no
  keypoint are never made.  OKS counts a GT keypoint the prediction lacks as a miss, so a two-part
  fragment lying on an animal cannot take that animal's match from the whole prediction of it
  (matching on the mean distance over shared keypoints let it, where the whole prediction had a
  few large errors).
- **RMSE / median** are taken over labelled GT keypoints that have a matched, present prediction;
  **PCK@t** is the fraction of *all* labelled GT keypoints whose matched prediction lies within
  ``t`` pixels (a missed animal or keypoint counts as a failure); ``detected`` is the fraction of
  labelled GT keypoints with a matched prediction.
- **OKS** (COCO definition): ``mean_k exp(-d_k^2 / (2 * area * (2 sigma)^2))`` over the GT's
  labelled keypoints, where ``area`` is the area (px^2) of the bounding box of the GT instance's
  labelled keypoints and ``sigma`` the per-keypoint constant -- 0.1 for every keypoint is the
  DeepLabCut multi-animal benchmark convention (``map_oks``), 0.025 a strict variant
  (``map_oks_strict``).
- **mAP** (COCO style): predictions of all frames sorted by instance score; at each OKS threshold
  0.50, 0.55, ..., 0.95 each prediction is greedily matched (per frame, best OKS) to a still
  unmatched GT instance with OKS >= threshold; AP is the 101-point interpolated area under the
  precision/recall curve; mAP is the mean over thresholds.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

BIG = 1e6
OKS_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)


def _check(kp: np.ndarray, k: int | None = None) -> np.ndarray:
    a = np.asarray(kp, dtype=np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != 2 or (k is not None and a.shape[1] != k):
        raise ValueError(f"keypoints must have shape (n, K{'=' + str(k) if k else ''}, 2); got {a.shape}")
    return a


def match_instances(gt: np.ndarray, pred: np.ndarray) -> list[tuple[int, int]]:
    """Hungarian pairs ``(gt_index, pred_index)`` maximising OKS (sigma 0.1), ties broken by the
    mean distance over shared keypoints.

    Pairs that share no present keypoint are not returned.
    """
    g, p = _check(gt), _check(pred)
    if len(g) == 0 or len(p) == 0:
        return []
    d = np.linalg.norm(g[:, None] - p[None], axis=-1)  # (m, n, K)
    ok = np.isfinite(d)
    cnt = ok.sum(-1)
    sim = np.array([[oks(gi, pj, 0.1) for pj in p] for gi in g])
    mean_d = np.where(ok, d, 0).sum(-1) / np.maximum(cnt, 1)
    cost = np.where(cnt > 0, (1.0 - sim) + 1e-9 * mean_d, BIG)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cnt[r, c] > 0]


def matched_errors(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Per-GT-keypoint error (px) after matching: ``(m, K)``; NaN where the GT keypoint is
    unlabelled, ``inf`` where it is labelled but has no matched prediction."""
    g, p = _check(gt), _check(pred)
    lab = np.isfinite(g).all(-1)
    err = np.where(lab, np.inf, np.nan)
    for gi, pi in match_instances(g, p):
        d = np.linalg.norm(g[gi] - p[pi], axis=-1)
        err[gi] = np.where(lab[gi], np.where(np.isfinite(d), d, np.inf), np.nan)
    return err


def matched_scores(gt: np.ndarray, pred: np.ndarray, keypoint_scores: np.ndarray) -> np.ndarray:
    """Score of the prediction matched to each GT keypoint (same matching as :func:`matched_errors`):
    ``(m, K)``, NaN where no prediction was matched."""
    g, p = _check(gt), _check(pred)
    ks = np.asarray(keypoint_scores, float).reshape(p.shape[:2])
    out = np.full(g.shape[:2], np.nan)
    for gi, pi in match_instances(g, p):
        out[gi] = ks[pi]
    return out


def oks(gt: np.ndarray, pred: np.ndarray, sigma: float | np.ndarray = 0.1) -> float:
    """Object keypoint similarity of one predicted instance ``(K, 2)`` to one GT ``(K, 2)``."""
    g, p = np.asarray(gt, float), np.asarray(pred, float)
    lab = np.isfinite(g).all(-1)
    if not lab.any():
        return 0.0
    gl = g[lab]
    wh = gl.max(0) - gl.min(0)
    area = max(float(wh[0] * wh[1]), 1.0)
    s = np.broadcast_to(np.asarray(sigma, float), lab.shape)[lab]
    d2 = ((g[lab] - p[lab]) ** 2).sum(-1)
    e = np.exp(-d2 / (2.0 * area * (2.0 * s) ** 2))
    e = np.where(np.isfinite(e), e, 0.0)
    return float(e.mean())


def average_precision(
    gts: Sequence[np.ndarray], preds: Sequence[np.ndarray], scores: Sequence[np.ndarray],
    sigma: float | np.ndarray = 0.1, thresholds: np.ndarray = OKS_THRESHOLDS,
) -> dict[str, float]:
    """COCO-style OKS mAP over frames.

    Parameters
    ----------
    gts, preds
        Per frame, GT ``(m, K, 2)`` and predicted ``(n, K, 2)`` keypoints (px).
    scores
        Per frame, ``(n,)`` instance scores (higher = more confident).
    sigma
        OKS constant (scalar or ``(K,)``).

    Returns
    -------
    dict
        ``{"map": mean AP, "ap50": AP at 0.5, "ap75": AP at 0.75}``.
    """
    n_gt = sum(int(np.isfinite(_check(g)).all(-1).any(-1).sum()) for g in gts)
    items = []  # (score, frame, pred index)
    ious = []
    for f, (g, p, s) in enumerate(zip(gts, preds, scores)):
        g, p = _check(g), _check(p)
        valid = np.isfinite(g).all(-1).any(-1)
        g = g[valid]
        ious.append(np.array([[oks(gi, pj, sigma) for pj in p] for gi in g]).reshape(len(g), len(p)))
        items += [(float(s[j]), f, j) for j in range(len(p))]
    items.sort(key=lambda t: -t[0])
    aps = {}
    for t in thresholds:
        used = [np.zeros(m.shape[0], bool) for m in ious]
        tp = np.zeros(len(items))
        for i, (_, f, j) in enumerate(items):
            col = ious[f][:, j] if ious[f].size else np.zeros(0)
            cand = np.where(~used[f] & (col >= t), col, -1)
            if cand.size and cand.max() >= 0:
                used[f][int(cand.argmax())] = True
                tp[i] = 1
        ctp = np.cumsum(tp)
        recall = ctp / max(n_gt, 1)
        precision = ctp / np.arange(1, len(items) + 1) if len(items) else np.zeros(0)
        # monotone precision envelope, sampled at 101 recall points
        env = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
        rs = np.linspace(0, 1, 101)
        idx = np.searchsorted(recall, rs, side="left")
        ap = float(np.mean([env[i] if i < len(env) else 0.0 for i in idx])) if n_gt else float("nan")
        aps[float(t)] = ap
    return {"map": float(np.mean(list(aps.values()))), "ap50": aps[0.5], "ap75": aps[0.75]}


def pose_metrics(
    gts: Sequence[np.ndarray], preds: Sequence[np.ndarray], scores: Sequence[np.ndarray],
    keypoint_names: Sequence[str] | None = None,
    keypoint_scores: Sequence[np.ndarray] | None = None,
    pcutoff: float = 0.6,
) -> dict:
    """All metrics of ``mapose evaluate`` for matched frames.

    ``keypoint_scores`` (per frame, ``(n, K)`` like ``preds``) add DeepLabCut's "error with
    p-cutoff": the RMSE over the detected keypoints scored at least ``pcutoff``.

    Returns
    -------
    dict
        ``rmse_px``, ``median_px``, ``mean_px``, ``pck3``, ``pck5``, ``detected``, ``map_oks``
        (sigma 0.1), ``map_oks_strict`` (sigma 0.025), ``ap50_oks``, ``ap75_oks``, ``n_frames``,
        ``n_gt_instances``, ``n_gt_keypoints``, ``per_keypoint`` ({name: rmse_px, median_px,
        pck5, n}) and ``per_frame_mean_px`` (list); with ``keypoint_scores`` also ``pcutoff``,
        ``rmse_px_pcutoff`` and ``detected_pcutoff`` (fraction of labelled keypoints detected
        with a score >= ``pcutoff``).
    """
    errs = [matched_errors(g, p) for g, p in zip(gts, preds)]
    k = _check(gts[0]).shape[1] if gts else 0
    allerr = np.concatenate([e.reshape(-1, k) for e in errs]) if errs else np.zeros((0, k))
    lab = np.isfinite(allerr) | np.isinf(allerr)
    fin = np.isfinite(allerr)
    e = allerr[fin]
    n_lab = int(lab.sum())

    def within(t):
        return float((np.where(fin, allerr, np.inf)[lab] <= t).mean()) if n_lab else float("nan")

    names = list(keypoint_names) if keypoint_names is not None else [str(i) for i in range(k)]
    per_kp = {}
    for j, name in enumerate(names):
        ej = allerr[:, j][fin[:, j]]
        lj = lab[:, j]
        per_kp[name] = {
            "rmse_px": float(np.sqrt(np.mean(ej**2))) if ej.size else None,
            "median_px": float(np.median(ej)) if ej.size else None,
            "pck5": float((np.where(fin[:, j], allerr[:, j], np.inf)[lj] <= 5).mean()) if lj.any() else None,
            "n": int(lj.sum()),
        }
    m01 = average_precision(gts, preds, scores, 0.1)
    m025 = average_precision(gts, preds, scores, 0.025)
    per_frame = [float(np.nanmean(np.where(np.isinf(x), np.nan, x))) if np.isfinite(x).any() else None
                 for x in errs]
    cut = {}
    if keypoint_scores is not None:
        sc = [matched_scores(g, p, ks) for g, p, ks in zip(gts, preds, keypoint_scores)]
        allsc = np.concatenate([x.reshape(-1, k) for x in sc]) if sc else np.zeros((0, k))
        sure = fin & (np.nan_to_num(allsc, nan=-np.inf) >= pcutoff)
        es = allerr[sure]
        cut = {"pcutoff": float(pcutoff),
               "rmse_px_pcutoff": float(np.sqrt(np.mean(es**2))) if es.size else None,
               "detected_pcutoff": float(sure.sum() / n_lab) if n_lab else None}
    return {
        "rmse_px": float(np.sqrt(np.mean(e**2))) if e.size else None,
        "median_px": float(np.median(e)) if e.size else None,
        "mean_px": float(np.mean(e)) if e.size else None,
        "pck3": within(3.0),
        "pck5": within(5.0),
        "detected": float(fin.sum() / n_lab) if n_lab else None,
        "map_oks": m01["map"],
        "map_oks_strict": m025["map"],
        "ap50_oks": m01["ap50"],
        "ap75_oks": m01["ap75"],
        "n_frames": len(gts),
        "n_gt_instances": int(sum(np.isfinite(_check(g)).all(-1).any(-1).sum() for g in gts)),
        "n_gt_keypoints": n_lab,
        "per_keypoint": per_kp,
        "per_frame_mean_px": per_frame,
        **cut,
    }
