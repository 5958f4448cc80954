"""Frame-to-frame linking of detections into tracklets.

A constant-velocity Kalman filter on each track's centroid predicts where its keypoints will be;
the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) matches the predictions to
the detections of the next frame on a cost that mixes keypoint distance and OKS; a gate refuses
implausible matches; unmatched detections start new tracks and tracks unseen for more than
``max_gap`` frames end.  Everything inside a frame is vectorised over tracks, detections and
keypoints; the only Python loop is over frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mapose.errors import ValidationError
from mapose.tracking.costs import centroids, keypoint_distance, oks, swap_margins

_INFEASIBLE = 1e9


@dataclass(frozen=True)
class LinkResult:
    """Output of :func:`link_frames` (arrays indexed by detection, ``N`` in all).

    Attributes
    ----------
    tracklet
        ``(N,)`` int64 tracklet index of each detection (-1 = not linked: below ``min_score``).
    margin
        ``(N,)`` extra cost (in cost units) of the best alternative assignment for this detection's
        track in its frame; ``inf`` when there was no competing track or detection.
    partner
        ``(N,)`` tracklet index of the competing track behind ``margin`` (-1 = none or an unmatched
        detection).
    n_tracklets
        Number of tracklets.
    velocity
        ``(n_tracklets, 2)`` Kalman velocity (pixels/frame) of each tracklet at its last frame.
    """

    tracklet: np.ndarray
    margin: np.ndarray
    partner: np.ndarray
    n_tracklets: int
    velocity: np.ndarray


def _predict(x: np.ndarray, p: np.ndarray, dt: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Constant-velocity prediction of states ``x`` ``(n, 4)`` = (x, y, vx, vy) and covariances
    ``p`` ``(n, 4, 4)`` over ``dt`` ``(n,)`` frames with white-acceleration noise ``q``
    (pixels/frame², standard deviation)."""
    n = len(x)
    f = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
    f[:, 0, 2] = dt
    f[:, 1, 3] = dt
    xp = x.copy()
    xp[:, :2] += x[:, 2:] * dt[:, None]
    dt2, dt3, dt4 = dt**2, dt**3, dt**4
    qm = np.zeros((n, 4, 4))
    for a, b in ((0, 2), (1, 3)):
        qm[:, a, a] = dt4 / 4.0
        qm[:, a, b] = qm[:, b, a] = dt3 / 2.0
        qm[:, b, b] = dt2
    pp = np.einsum("nij,njk,nlk->nil", f, p, f) + (q**2) * qm
    return xp, pp


def _update(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Kalman update of states ``(n, 4)`` with position measurements ``z`` ``(n, 2)`` of noise
    standard deviation ``r`` pixels."""
    s = p[:, :2, :2] + (r**2) * np.eye(2)
    det = s[:, 0, 0] * s[:, 1, 1] - s[:, 0, 1] * s[:, 1, 0]
    sinv = np.empty_like(s)
    sinv[:, 0, 0] = s[:, 1, 1] / det
    sinv[:, 1, 1] = s[:, 0, 0] / det
    sinv[:, 0, 1] = -s[:, 0, 1] / det
    sinv[:, 1, 0] = -s[:, 1, 0] / det
    k = np.einsum("nij,njk->nik", p[:, :, :2], sinv)  # (n, 4, 2)
    innov = z - x[:, :2]
    xn = x + np.einsum("nij,nj->ni", k, innov)
    pn = p - np.einsum("nij,njk->nik", k, p[:, :2, :])
    return xn, pn


def link_frames(
    frame_offsets: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    *,
    body_size: float,
    step: float,
    gate: float = 1.0,
    max_step: float = np.inf,
    oks_weight: float = 0.3,
    oks_kappa: float = 0.1,
    max_gap: int = 5,
    min_score: float = 0.0,
    measurement_noise: float = 0.05,
) -> LinkResult:
    """Link detections frame to frame into tracklets.

    Parameters
    ----------
    frame_offsets
        ``(T + 1,)`` detections of frame ``t`` are ``[offsets[t], offsets[t + 1])``.
    keypoints
        ``(N, K, 2)`` pixels, sorted by frame, NaN = missing.
    scores
        ``(N,)`` instance scores; instances below ``min_score`` are left unlinked (-1).
    body_size
        Typical animal size in pixels (bounding-box diagonal); distances are divided by it.
    step
        Typical displacement of an animal between consecutive frames, pixels; sets the Kalman
        process noise and widens the gate over gaps.
    gate
        Largest accepted mean keypoint distance between prediction and detection, in body sizes
        (plus ``step`` per missed frame).
    max_step
        Largest accepted distance per frame since the track's last detection, pixels/frame (the
        smaller of the two gates applies).  A tight gate only splits tracks into more tracklets,
        which the stitcher joins globally; a loose one can swap identities inside a tracklet.
    oks_weight
        Weight in ``[0, 1]`` of ``1 - OKS`` in the cost; the rest is the normalised keypoint
        distance.
    oks_kappa
        OKS tolerance as a fraction of ``body_size``.
    max_gap
        A track not matched for more than this many frames ends (frames).
    min_score
        Smallest instance score that may be linked.
    measurement_noise
        Standard deviation of the centroid measurement, in body sizes.

    Returns
    -------
    LinkResult
    """
    off = np.asarray(frame_offsets, dtype=np.int64)
    kp = np.asarray(keypoints, dtype=np.float64)
    n_det = kp.shape[0]
    k = kp.shape[1] if kp.ndim == 3 else 0
    if kp.ndim != 3 or kp.shape[2] != 2:
        raise ValidationError(f"keypoints has shape {kp.shape}; expected (N, K, 2)")
    if not body_size > 0:
        raise ValidationError(f"body_size must be > 0 pixels, got {body_size}")
    if not 0.0 <= oks_weight <= 1.0:
        raise ValidationError(f"oks_weight must be in [0, 1], got {oks_weight}")
    if max_gap < 0:
        raise ValidationError(f"max_gap must be >= 0 frames, got {max_gap}")
    step = float(max(step, 1e-3 * body_size))
    q = step  # acceleration noise of the order of the typical speed (pixels/frame²)
    r = measurement_noise * body_size
    usable = np.asarray(scores, dtype=np.float64) >= min_score
    usable &= np.isfinite(kp).all(axis=-1).any(axis=-1)

    tracklet = np.full(n_det, -1, np.int64)
    margin = np.full(n_det, np.inf)
    partner = np.full(n_det, -1, np.int64)

    # active-track state
    ids = np.zeros(0, np.int64)
    tmpl = np.zeros((0, k, 2))  # last known keypoints (filled forward)
    xs = np.zeros((0, 4))
    ps = np.zeros((0, 4, 4))
    last = np.zeros(0, np.int64)
    velocities: list[np.ndarray] = []  # per tracklet, final velocity
    n_tracklets = 0
    p0 = np.diag([r**2, r**2, (2 * step) ** 2, (2 * step) ** 2])

    for t in range(len(off) - 1):
        a, b = int(off[t]), int(off[t + 1])
        if len(ids):
            dead = (t - last - 1) > max_gap  # frames missed since the last match
            if dead.any():
                for tid, x in zip(ids[dead], xs[dead]):
                    velocities[tid] = x[2:].copy()
                keep = ~dead
                ids, tmpl, xs, ps, last = ids[keep], tmpl[keep], xs[keep], ps[keep], last[keep]
        if b == a:
            continue
        idx = np.arange(a, b)[usable[a:b]]
        if len(idx) == 0:
            continue
        det = kp[idx]
        n_tr = len(ids)
        if n_tr:
            dt = (t - last).astype(np.float64)
            xp, pp = _predict(xs, ps, dt, q)
            pred = tmpl + (xp[:, None, :2] - xs[:, None, :2])
            dist = keypoint_distance(pred, det)  # (n_tr, m) pixels
            norm = body_size + step * (dt - 1.0)
            dnorm = dist / norm[:, None]
            cost = (1.0 - oks_weight) * dnorm
            if oks_weight > 0:
                cost = cost + oks_weight * (1.0 - oks(pred, det, body_size, oks_kappa))
            feasible = np.isfinite(dnorm) & (dnorm <= gate) & (dist <= max_step * dt[:, None])
            cmat = np.where(feasible, cost, _INFEASIBLE)
            rows, cols = linear_sum_assignment(cmat)
            ok = feasible[rows, cols]
            rows, cols = rows[ok], cols[ok]
            spare = np.setdiff1d(np.arange(len(idx)), cols)
            # margins on the ungated cost: a gated-out alternative may still be close
            marg, part = swap_margins(np.where(np.isfinite(cost), cost, np.inf), rows, cols, spare)
            # Kalman update of matched tracks
            dmatched = det[cols]
            disp = dmatched - tmpl[rows]
            okd = np.isfinite(disp).all(axis=-1)
            cnt = okd.sum(axis=1)
            mean_disp = np.where(okd[..., None], disp, 0.0).sum(axis=1) / np.maximum(cnt, 1)[:, None]
            z = xs[rows, :2] + mean_disp
            if np.any(cnt == 0):  # no shared keypoint: measure with the detection's centroid shift
                cz, cp = centroids(dmatched), centroids(tmpl[rows])
                z = np.where((cnt == 0)[:, None], xs[rows, :2] + (cz - cp), z)
            xn, pn = _update(xp[rows], pp[rows], z, r)
            shift = xn[:, :2] - xs[rows, :2]
            vis = np.isfinite(dmatched).all(axis=-1)
            tmpl[rows] = np.where(vis[..., None], dmatched, tmpl[rows] + shift[:, None, :])
            xs[rows], ps[rows], last[rows] = xn, pn, t
            tracklet[idx[cols]] = ids[rows]
            margin[idx[cols]] = marg
            partner[idx[cols]] = np.where(part >= 0, ids[rows[np.maximum(part, 0)]], -1)
            new = spare
        else:
            new = np.arange(len(idx))
        if len(new):
            nd = det[new]
            c = centroids(nd)
            new_ids = np.arange(n_tracklets, n_tracklets + len(new))
            n_tracklets += len(new)
            velocities.extend(np.zeros(2) for _ in new)
            ids = np.concatenate([ids, new_ids])
            tmpl = np.concatenate([tmpl, nd])
            xs = np.concatenate([xs, np.concatenate([c, np.zeros((len(new), 2))], axis=1)])
            ps = np.concatenate([ps, np.broadcast_to(p0, (len(new), 4, 4))])
            last = np.concatenate([last, np.full(len(new), t, np.int64)])
            tracklet[idx[new]] = new_ids
    for tid, x in zip(ids, xs):
        velocities[tid] = x[2:].copy()
    vel = np.array(velocities).reshape(-1, 2) if velocities else np.zeros((0, 2))
    return LinkResult(tracklet=tracklet, margin=margin, partner=partner,
                      n_tracklets=n_tracklets, velocity=vel)
