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
        ``(N,)`` tracklet index of the competing track (or of the unmatched detection, which starts
        a tracklet) behind ``margin``; -1 = none.
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


def _predict(pvar: np.ndarray, dt: np.ndarray, q: float) -> np.ndarray:
    """Constant-velocity prediction of the covariance over ``dt`` ``(n,)`` frames.

    x and y have the same dynamics and noise, so one ``(pos, vel)`` covariance per track serves
    both axes: ``pvar`` is ``(n, 3)`` = (var pos, cov pos-vel, var vel) in pixels², pixels²/frame
    and pixels²/frame²; ``q`` is the white-acceleration noise (pixels/frame², standard deviation).
    """
    p00, p01, p11 = pvar[:, 0], pvar[:, 1], pvar[:, 2]
    q2 = q * q
    dt2 = dt * dt
    return np.stack([p00 + 2.0 * dt * p01 + dt2 * p11 + q2 * dt2 * dt2 / 4.0,
                     p01 + dt * p11 + q2 * dt2 * dt / 2.0,
                     p11 + q2 * dt2], axis=1)


def _update(pos: np.ndarray, vel: np.ndarray, pvar: np.ndarray, z: np.ndarray,
            r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kalman update of predicted positions ``(n, 2)``, velocities ``(n, 2)`` and covariances
    ``(n, 3)`` with position measurements ``z`` ``(n, 2)`` of noise ``r`` pixels (std)."""
    s = pvar[:, 0] + r * r
    k0 = pvar[:, 0] / s
    k1 = pvar[:, 1] / s
    innov = z - pos
    pos = pos + k0[:, None] * innov
    vel = vel + k1[:, None] * innov
    pn = np.stack([(1.0 - k0) * pvar[:, 0], (1.0 - k0) * pvar[:, 1],
                   pvar[:, 2] - k1 * pvar[:, 1]], axis=1)
    return pos, vel, pn


def _frame_costs(pred: np.ndarray, det: np.ndarray, clean: bool, oks_weight: float,
                 sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean keypoint distance ``(n, m)`` (pixels) and ``1 - OKS`` (or zeros) between predicted
    poses and detections; ``clean`` = no NaN anywhere (fast path)."""
    if not clean:
        dist = keypoint_distance(pred, det)
        if oks_weight > 0:
            return dist, 1.0 - oks(pred, det, sigma, 1.0)
        return dist, np.zeros_like(dist)
    diff = pred[:, None] - det[None]
    d2 = (diff * diff).sum(axis=-1)  # (n, m, K)
    dist = np.sqrt(d2).mean(axis=-1)
    if oks_weight > 0:
        return dist, 1.0 - np.exp(d2 * (-0.5 / (sigma * sigma))).mean(axis=-1)
    return dist, np.zeros_like(dist)


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
    finite_det = np.isfinite(kp).all(axis=(1, 2))
    sigma = oks_kappa * body_size

    # active-track state
    ids = np.zeros(0, np.int64)
    tmpl = np.zeros((0, k, 2))  # last known keypoints (carried forward by the motion)
    pos = np.zeros((0, 2))  # Kalman position (pixels) and velocity (pixels/frame)
    vel = np.zeros((0, 2))
    pvar = np.zeros((0, 3))
    last = np.zeros(0, np.int64)
    velocities: list[np.ndarray] = []  # per tracklet, final velocity
    n_tracklets = 0
    p0 = np.array([r**2, 0.0, (2 * step) ** 2])
    all_usable = bool(usable.all())

    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(len(off) - 1):
            a, b = int(off[t]), int(off[t + 1])
            if len(ids) and t - int(last.min()) - 1 > max_gap:
                dead = (t - last - 1) > max_gap  # frames missed since the last match
                for tid, v in zip(ids[dead], vel[dead]):
                    velocities[tid] = v.copy()
                keep = ~dead
                ids, tmpl, pos, vel, pvar, last = (ids[keep], tmpl[keep], pos[keep], vel[keep],
                                                   pvar[keep], last[keep])
            if b == a:
                continue
            idx = np.arange(a, b) if all_usable else np.arange(a, b)[usable[a:b]]
            m = len(idx)
            if m == 0:
                continue
            det = kp[a:b] if all_usable else kp[idx]
            n_tr = len(ids)
            if n_tr:
                dt = (t - last).astype(np.float64)
                shift_p = vel * dt[:, None]
                pvp = _predict(pvar, dt, q)
                pred = tmpl + shift_p[:, None, :]
                clean = bool(finite_det[a:b].all()) and not np.isnan(tmpl).any()
                dist, oks_cost = _frame_costs(pred, det, clean, oks_weight, sigma)
                dnorm = dist / (body_size + step * (dt - 1.0))[:, None]
                cost = (1.0 - oks_weight) * dnorm + oks_weight * oks_cost
                feasible = (dnorm <= gate) & (dist <= max_step * dt[:, None])
                rows, cols = linear_sum_assignment(np.where(feasible, cost, _INFEASIBLE))
                ok = feasible[rows, cols]
                if not ok.all():
                    rows, cols = rows[ok], cols[ok]
                taken = np.zeros(m, bool)
                taken[cols] = True
                spare = np.nonzero(~taken)[0]
                # margins on the ungated cost: a gated-out alternative may still be close
                marg, part = swap_margins(cost if clean else np.where(np.isnan(cost), np.inf, cost),
                                          rows, cols, spare)
                # Kalman update of matched tracks; the measured position is the last one moved by
                # the mean displacement of the keypoints seen in both frames
                dmatched = det[cols]
                old = tmpl[rows]
                disp = dmatched - old
                if clean:
                    z = pos[rows] + disp.mean(axis=1)
                else:
                    okd = np.isfinite(disp).all(axis=-1)
                    cnt = okd.sum(axis=1)
                    z = pos[rows] + np.where(okd[..., None], disp, 0.0).sum(axis=1) / np.maximum(cnt, 1)[:, None]
                    if np.any(cnt == 0):  # no shared keypoint: use the centroid shift
                        z = np.where((cnt == 0)[:, None], pos[rows] + (centroids(dmatched) - centroids(old)), z)
                pn, vn, cn = _update(pos[rows] + shift_p[rows], vel[rows], pvp[rows], z, r)
                moved = pn - pos[rows]
                if clean:
                    tmpl[rows] = dmatched
                else:
                    vis = np.isfinite(dmatched).all(axis=-1)
                    tmpl[rows] = np.where(vis[..., None], dmatched, old + moved[:, None, :])
                pos[rows], vel[rows], pvar[rows], last[rows] = pn, vn, cn, t
                tracklet[idx[cols]] = ids[rows]
                margin[idx[cols]] = marg
                partner[idx[cols]] = np.where(part >= 0, ids[rows[np.maximum(part, 0)]], -1)
                spare_partner = np.nonzero(part <= -2)[0]  # filled once the spares are born below
                new = spare
            else:
                new = np.arange(m)
                spare_partner = ()
            if len(new):
                nd = det[new]
                new_ids = np.arange(n_tracklets, n_tracklets + len(new))
                n_tracklets += len(new)
                velocities.extend(np.zeros(2) for _ in new)
                ids = np.concatenate([ids, new_ids])
                tmpl = np.concatenate([tmpl, nd])
                pos = np.concatenate([pos, centroids(nd)])
                vel = np.concatenate([vel, np.zeros((len(new), 2))])
                pvar = np.concatenate([pvar, np.broadcast_to(p0, (len(new), 3))])
                last = np.concatenate([last, np.full(len(new), t, np.int64)])
                tracklet[idx[new]] = new_ids
                if len(spare_partner):  # the competitor was a detection that starts a new tracklet
                    partner[idx[cols[spare_partner]]] = new_ids[-2 - part[spare_partner]]
    for tid, v in zip(ids, vel):
        velocities[tid] = v.copy()
    vel = np.array(velocities).reshape(-1, 2) if velocities else np.zeros((0, 2))
    return LinkResult(tracklet=tracklet, margin=margin, partner=partner,
                      n_tracklets=n_tracklets, velocity=vel)
