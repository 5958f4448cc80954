"""Compiled (numba) per-frame kernels of the linker: cost matrix, swap margins, Kalman update.

The linker calls these once per frame; the Hungarian assignment itself stays
:func:`scipy.optimize.linear_sum_assignment`.  They are loops over tracks, detections and
keypoints written for numba; :mod:`mapose.tracking.costs` holds the equivalent numpy functions
(used by the tests to check these kernels).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def frame_costs(tmpl, vel, last, t, det, body_size, step, oks_weight, sigma, gate, max_step):
    """Cost ``(n, m)`` between constant-velocity predictions of ``n`` tracks and ``m`` detections,
    and whether each pair passes the gates.

    ``tmpl (n, K, 2)`` last keypoints (NaN = never seen), ``vel (n, 2)`` pixels/frame, ``last (n,)``
    frame of the last match, ``det (m, K, 2)``.  The cost is
    ``(1 - w) * d / (body_size + step * (dt - 1)) + w * (1 - OKS)`` with ``d`` the mean distance
    over keypoints seen in both (centroid distance when none is shared).
    """
    n, k = tmpl.shape[0], tmpl.shape[1]
    m = det.shape[0]
    cost = np.empty((n, m))
    feas = np.zeros((n, m), dtype=np.bool_)
    inv2s2 = 0.5 / (sigma * sigma)
    for i in range(n):
        dt = float(t - last[i])
        sx = vel[i, 0] * dt
        sy = vel[i, 1] * dt
        norm = body_size + step * (dt - 1.0)
        for j in range(m):
            tot = 0.0
            sim = 0.0
            cnt = 0
            for kk in range(k):
                dx = tmpl[i, kk, 0] + sx - det[j, kk, 0]
                dy = tmpl[i, kk, 1] + sy - det[j, kk, 1]
                d2 = dx * dx + dy * dy
                if math.isfinite(d2):
                    tot += math.sqrt(d2)
                    sim += math.exp(-d2 * inv2s2)
                    cnt += 1
            if cnt > 0:
                dist = tot / cnt
                oks = sim / cnt
            else:  # no keypoint seen in both: centroid distance, no keypoint similarity
                cx = cy = 0.0
                c1 = 0
                ex = ey = 0.0
                c2 = 0
                for kk in range(k):
                    if math.isfinite(tmpl[i, kk, 0]) and math.isfinite(tmpl[i, kk, 1]):
                        cx += tmpl[i, kk, 0] + sx
                        cy += tmpl[i, kk, 1] + sy
                        c1 += 1
                    if math.isfinite(det[j, kk, 0]) and math.isfinite(det[j, kk, 1]):
                        ex += det[j, kk, 0]
                        ey += det[j, kk, 1]
                        c2 += 1
                if c1 == 0 or c2 == 0:
                    cost[i, j] = np.inf
                    continue
                dist = math.hypot(cx / c1 - ex / c2, cy / c1 - ey / c2)
                oks = 0.0
            dn = dist / norm
            cost[i, j] = (1.0 - oks_weight) * dn + oks_weight * (1.0 - oks)
            feas[i, j] = dn <= gate and dist <= max_step * dt
    return cost, feas


@njit(cache=True)
def swap_margins(cost, rows, cols, spare):
    """Same as :func:`mapose.tracking.costs.swap_margins` (compiled)."""
    p = rows.shape[0]
    margin = np.full(p, np.inf)
    partner = np.full(p, -1, dtype=np.int64)
    for a in range(p):
        ra, ca = rows[a], cols[a]
        own_a = cost[ra, ca]
        for b in range(p):
            if b == a:
                continue
            rb, cb = rows[b], cols[b]
            d = cost[ra, cb] + cost[rb, ca] - own_a - cost[rb, cb]
            if d < margin[a]:  # NaN never passes
                margin[a] = d
                partner[a] = b
        for jj in range(spare.shape[0]):
            d = cost[ra, spare[jj]] - own_a
            if d < margin[a]:
                margin[a] = d
                partner[a] = -2 - jj
    return margin, partner


@njit(cache=True)
def kalman_update(rows, cols, det, tmpl, pos, vel, pvar, last, t, q, r):
    """Update matched tracks in place: the measured position is the track's position moved by the
    mean displacement of the keypoints seen in both frames (centroid shift when none is shared);
    a constant-velocity Kalman filter (same for x and y; covariance ``pvar`` = var pos, cov
    pos-vel, var vel) smooths it.  Keypoints missing in the detection are carried by the motion."""
    k = tmpl.shape[1]
    q2 = q * q
    r2 = r * r
    for a in range(rows.shape[0]):
        i, j = rows[a], cols[a]
        dt = float(t - last[i])
        # predict
        px = pos[i, 0] + vel[i, 0] * dt
        py = pos[i, 1] + vel[i, 1] * dt
        dt2 = dt * dt
        p00 = pvar[i, 0] + 2.0 * dt * pvar[i, 1] + dt2 * pvar[i, 2] + q2 * dt2 * dt2 / 4.0
        p01 = pvar[i, 1] + dt * pvar[i, 2] + q2 * dt2 * dt / 2.0
        p11 = pvar[i, 2] + q2 * dt2
        # measurement
        sx = sy = 0.0
        cnt = 0
        for kk in range(k):
            dx = det[j, kk, 0] - tmpl[i, kk, 0]
            dy = det[j, kk, 1] - tmpl[i, kk, 1]
            if math.isfinite(dx) and math.isfinite(dy):
                sx += dx
                sy += dy
                cnt += 1
        if cnt > 0:
            zx = pos[i, 0] + sx / cnt
            zy = pos[i, 1] + sy / cnt
        else:
            cx = cy = ex = ey = 0.0
            c1 = c2 = 0
            for kk in range(k):
                if math.isfinite(tmpl[i, kk, 0]) and math.isfinite(tmpl[i, kk, 1]):
                    cx += tmpl[i, kk, 0]
                    cy += tmpl[i, kk, 1]
                    c1 += 1
                if math.isfinite(det[j, kk, 0]) and math.isfinite(det[j, kk, 1]):
                    ex += det[j, kk, 0]
                    ey += det[j, kk, 1]
                    c2 += 1
            zx = pos[i, 0] + ex / c2 - cx / c1
            zy = pos[i, 1] + ey / c2 - cy / c1
        # update
        s = p00 + r2
        k0 = p00 / s
        k1 = p01 / s
        ix = zx - px
        iy = zy - py
        nx = px + k0 * ix
        ny = py + k0 * iy
        vel[i, 0] += k1 * ix
        vel[i, 1] += k1 * iy
        pvar[i, 0] = (1.0 - k0) * p00
        pvar[i, 1] = (1.0 - k0) * p01
        pvar[i, 2] = p11 - k1 * p01
        mx = nx - pos[i, 0]
        my = ny - pos[i, 1]
        pos[i, 0] = nx
        pos[i, 1] = ny
        for kk in range(k):
            if math.isfinite(det[j, kk, 0]) and math.isfinite(det[j, kk, 1]):
                tmpl[i, kk, 0] = det[j, kk, 0]
                tmpl[i, kk, 1] = det[j, kk, 1]
            else:
                tmpl[i, kk, 0] += mx
                tmpl[i, kk, 1] += my
        last[i] = t
