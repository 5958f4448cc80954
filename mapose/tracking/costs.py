"""Pairwise costs between animal instances (pure numpy, vectorised over instances and keypoints).

Every function takes keypoint arrays of shape ``(n, K, 2)`` in pixels (NaN = missing keypoint)
and returns arrays without Python loops over keypoints or instances.
"""

from __future__ import annotations

import numpy as np


def centroids(keypoints: np.ndarray) -> np.ndarray:
    """Mean of the visible keypoints of each instance.

    Parameters
    ----------
    keypoints
        ``(n, K, 2)`` pixels, NaN = missing.

    Returns
    -------
    ``(n, 2)`` pixels; NaN for an instance with no visible keypoint.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    vis = np.isfinite(kp).all(axis=-1)
    cnt = vis.sum(axis=1)
    tot = np.where(vis[..., None], kp, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt[:, None] > 0, tot / np.maximum(cnt, 1)[:, None], np.nan)


def body_sizes(keypoints: np.ndarray) -> np.ndarray:
    """Diagonal of the bounding box of the visible keypoints of each instance.

    Returns
    -------
    ``(n,)`` pixels; 0 for an instance with fewer than two distinct visible keypoints and NaN for one
    with none.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[0] == 0:
        return np.zeros(0)
    vis = np.isfinite(kp).all(axis=-1, keepdims=True)
    lo = np.where(vis, kp, np.inf).min(axis=1)
    hi = np.where(vis, kp, -np.inf).max(axis=1)
    size = np.hypot(hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1])
    return np.where(vis.any(axis=(1, 2)), size, np.nan)


def keypoint_distance(pred: np.ndarray, det: np.ndarray) -> np.ndarray:
    """Mean Euclidean distance over the keypoints visible in both instances.

    Where two instances share no visible keypoint, the distance between their centroids is used.

    Parameters
    ----------
    pred
        ``(n, K, 2)`` pixels (e.g. predicted track poses).
    det
        ``(m, K, 2)`` pixels (detections).

    Returns
    -------
    ``(n, m)`` pixels; NaN only if one of the two instances has no visible keypoint.
    """
    diff = pred[:, None, :, :] - det[None, :, :, :]  # (n, m, K, 2)
    d = np.sqrt(diff[..., 0] ** 2 + diff[..., 1] ** 2)  # (n, m, K)
    ok = np.isfinite(d)
    cnt = ok.sum(axis=-1)
    tot = np.where(ok, d, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = tot / cnt
    if np.any(cnt == 0):
        cp, cd = centroids(pred), centroids(det)
        cdist = np.hypot(cp[:, None, 0] - cd[None, :, 0], cp[:, None, 1] - cd[None, :, 1])
        out = np.where(cnt == 0, cdist, out)
    return out


def oks(pred: np.ndarray, det: np.ndarray, scale: float, kappa: float = 0.1) -> np.ndarray:
    """Object keypoint similarity (COCO style) with one per-keypoint constant.

    ``OKS = mean_k exp(-d_k^2 / (2 (kappa * scale)^2))`` over keypoints visible in both instances.

    Parameters
    ----------
    pred, det
        ``(n, K, 2)`` and ``(m, K, 2)`` pixels.
    scale
        Animal size in pixels (e.g. the median body size).
    kappa
        Keypoint tolerance as a fraction of ``scale``.

    Returns
    -------
    ``(n, m)`` in ``[0, 1]``; 0 where no keypoint is shared.
    """
    diff = pred[:, None, :, :] - det[None, :, :, :]
    d2 = diff[..., 0] ** 2 + diff[..., 1] ** 2
    ok = np.isfinite(d2)
    sim = np.exp(-np.where(ok, d2, 0.0) / (2.0 * (kappa * scale) ** 2))
    cnt = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.where(ok, sim, 0.0).sum(axis=-1) / np.maximum(cnt, 1), 0.0)


def swap_margins(cost: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 spare_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much more an assignment would cost if two tracks exchanged their detections.

    For assigned pairs ``(rows[a], cols[a])`` the swap of ``a`` and ``b`` costs
    ``C[ra, cb] + C[rb, ca] - C[ra, ca] - C[rb, cb]``; taking an unassigned detection ``j`` instead
    costs ``C[ra, j] - C[ra, ca]``.

    Parameters
    ----------
    cost
        ``(n_tracks, n_detections)`` cost matrix (``inf`` = infeasible).
    rows, cols
        ``(p,)`` the assignment.
    spare_cols
        Detections left unassigned.

    Returns
    -------
    margin
        ``(p,)`` smallest extra cost of any alternative for each assigned track (``inf`` if none).
    partner
        ``(p,)`` index into ``rows`` of the track it would swap with; ``-2 - j`` when the closest
        alternative is the unassigned detection ``spare_cols[j]``; -1 when there is none.
    """
    p = len(rows)
    if p == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    pair = cost[rows][:, cols]  # (p, p): C[ra, cb]
    own = pair.diagonal().copy()
    delta = pair + pair.T - own[:, None] - own[None, :]
    np.fill_diagonal(delta, np.inf)
    if not np.isfinite(own).all() or np.isnan(delta).any():
        delta = np.where(np.isnan(delta), np.inf, delta)
    partner = delta.argmin(axis=1)
    margin = delta[np.arange(p), partner]
    if len(spare_cols):
        alt_all = cost[rows][:, spare_cols] - own[:, None]
        j = alt_all.argmin(axis=1)
        alt = alt_all[np.arange(p), j]
        use = alt < margin
        margin = np.where(use, alt, margin)
        partner = np.where(use, -2 - j, partner)
    partner = np.where(np.isfinite(margin), partner, -1)
    return margin, partner.astype(np.int64)
