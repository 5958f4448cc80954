"""Frame-to-frame linking of detections into tracklets.

A constant-velocity Kalman filter on each track's centroid predicts where its keypoints will be;
the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) matches the predictions to
the detections of the next frame on a cost that mixes keypoint distance and OKS; a gate refuses
implausible matches; unmatched detections start new tracks and tracks unseen for more than
``max_gap`` frames end.  Everything inside a frame is vectorised over tracks, detections and
keypoints (compiled kernels in :mod:`mapose.tracking._kernels`); the only Python loop is over
frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mapose.errors import ValidationError
from mapose.tracking import _kernels as _k
from mapose.tracking.costs import centroids

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
    kp = np.ascontiguousarray(keypoints, dtype=np.float64)
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
        spare_partner = ()
        if len(ids):
            cost, feasible = _k.frame_costs(tmpl, vel, last, t, det, body_size, step, oks_weight,
                                            sigma, gate, max_step)
            rows, cols = linear_sum_assignment(np.where(feasible, cost, _INFEASIBLE))
            ok = feasible[rows, cols]
            if not ok.all():
                rows, cols = rows[ok], cols[ok]
            taken = np.zeros(m, bool)
            taken[cols] = True
            spare = np.nonzero(~taken)[0]
            # margins on the ungated cost: a gated-out alternative may still be close
            marg, part = _k.swap_margins(cost, rows, cols, spare)
            _k.kalman_update(rows, cols, det, tmpl, pos, vel, pvar, last, t, q, r)
            tracklet[idx[cols]] = ids[rows]
            margin[idx[cols]] = marg
            partner[idx[cols]] = np.where(part >= 0, ids[rows[np.maximum(part, 0)]], -1)
            spare_partner = np.nonzero(part <= -2)[0]  # filled once the spares are born below
            new = spare
        else:
            new = np.arange(m)
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
