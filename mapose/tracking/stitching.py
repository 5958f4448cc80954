"""Global stitching of tracklets into identities (min-cost flow), a known number of them or a
number that varies.

Each tracklet is a node with capacity 1; a unit of flow from the source to the sink is one animal's
identity over the whole video, passing through the tracklets it owns in time order.  Covering a
tracklet earns a reward proportional to its detections; joining tracklet ``u`` to a later tracklet
``v`` costs a mix of motion continuity across the gap (constant-velocity extrapolation both ways),
body-size change and appearance distance.  Exactly ``n_animals`` units flow (an identity may stay
empty), so the solution is the globally cheapest set of ``n_animals`` non-overlapping chains —
tracklets left out are spurious detections.  When the number varies, as many units flow as the
cheapest solution needs, each paying a cost for starting an identity: two tracklets are joined when
that costs less than a new identity.  Solved exactly with :func:`networkx.network_simplex`.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Optional

import numpy as np

from mapose.errors import ValidationError
from mapose.tracking.costs import body_sizes, centroids

#: Integer resolution of the flow costs (network simplex needs integer weights).
_COST_SCALE = 1000


@dataclass(frozen=True)
class TrackletSummary:
    """Per-tracklet summaries used by the stitcher (arrays indexed by tracklet, ``M`` in all).

    Attributes
    ----------
    start, end
        ``(M,)`` first and last frame.
    n
        ``(M,)`` number of detections.
    weight
        ``(M,)`` sum of the instance scores (clipped to ``[0, 1]``; unknown = 1).
    start_pos, end_pos
        ``(M, K, 2)`` keypoints of the first and last detection, pixels (NaN = missing).
    start_vel, end_vel
        ``(M, 2)`` velocity near the start and the end, pixels/frame: mean displacement of the
        keypoints seen at both ends of a window of up to ``velocity_window`` detections (a centroid
        would jump when keypoints vanish).
    size
        ``(M,)`` median body size (keypoint bounding-box diagonal), pixels.
    shape_start, shape_end
        ``(M, P)`` float32 mean log distance (log pixels) between each pair of keypoints over the first and
        the last ``shape_window`` detections (NaN where a pair is never seen); ``P = K (K - 1) / 2``.
        Comparing pairs seen on both sides measures size and shape change without being fooled
        by keypoints that come and go.
    appearance
        ``(M, D)`` mean appearance descriptor (rows of NaN where unknown) or ``None``.
    """

    start: np.ndarray
    end: np.ndarray
    n: np.ndarray
    weight: np.ndarray
    start_pos: np.ndarray
    end_pos: np.ndarray
    start_vel: np.ndarray
    end_vel: np.ndarray
    size: np.ndarray
    shape_start: np.ndarray
    shape_end: np.ndarray
    appearance: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(self.start.shape[0])


def summarise_tracklets(
    frame: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    tracklet: np.ndarray,
    n_tracklets: int,
    appearance: Optional[np.ndarray] = None,
    velocity_window: int = 5,
    shape_window: int = 10,
) -> TrackletSummary:
    """Summarise tracklets from detections (vectorised over detections).

    Parameters
    ----------
    frame
        ``(N,)`` frame of each detection (sorted).
    keypoints
        ``(N, K, 2)`` pixels.
    scores
        ``(N,)`` instance scores.
    tracklet
        ``(N,)`` tracklet index (-1 = unlinked, ignored).
    n_tracklets
        ``M``.
    appearance
        Optional ``(N, D)`` descriptor per detection (NaN rows = not measured).
    velocity_window
        Detections used at each end to estimate the velocity.
    shape_window
        Detections used at each end to measure the body shape.
    """
    m = int(n_tracklets)
    use = np.nonzero(tracklet >= 0)[0]
    use = use[np.lexsort((frame[use], tracklet[use]))]  # by tracklet, then frame
    tr, fr = tracklet[use], frame[use]
    kps = np.asarray(keypoints[use], float)  # one copy of the linked poses, in that order
    size = body_sizes(kps)
    w = np.clip(np.nan_to_num(np.asarray(scores, float)[use], nan=1.0), 0.0, 1.0)
    first = np.searchsorted(tr, np.arange(m), side="left")
    stop = np.searchsorted(tr, np.arange(m), side="right")
    n = stop - first
    if np.any(n == 0):
        raise ValidationError("every tracklet needs at least one detection")
    last = stop - 1
    wi = np.minimum(velocity_window, n - 1)
    s_far, e_far = first + wi, last - wi
    sv = _mean_shift(kps[first], kps[s_far]) / np.maximum(fr[s_far] - fr[first], 1)[:, None]
    ev = _mean_shift(kps[e_far], kps[last]) / np.maximum(fr[last] - fr[e_far], 1)[:, None]
    # median body size per tracklet: sort sizes within each tracklet
    sz_order = np.lexsort((np.nan_to_num(size, nan=np.inf), tr))
    size_sorted = size[sz_order]
    med = size_sorted[first + (n - 1) // 2]
    length = np.minimum(n, shape_window)
    shape_start = _window_shapes(kps, tr, first, length, m)
    shape_end = _window_shapes(kps, tr, stop - length, length, m)
    app = None
    if appearance is not None:
        a = np.asarray(appearance, float)[use]
        ok = np.isfinite(a).all(axis=1)
        cnt = np.bincount(tr[ok], minlength=m)
        tot = np.zeros((m, a.shape[1]))
        np.add.at(tot, tr[ok], a[ok])
        with np.errstate(invalid="ignore", divide="ignore"):
            app = np.where(cnt[:, None] > 0, tot / cnt[:, None], np.nan)
    return TrackletSummary(
        start=fr[first], end=fr[last], n=n, weight=np.add.reduceat(w, first) if m else np.zeros(0),
        start_pos=kps[first], end_pos=kps[last], start_vel=sv, end_vel=ev, size=med,
        shape_start=shape_start, shape_end=shape_end, appearance=app,
    )


def _window_shapes(kps: np.ndarray, tr: np.ndarray, begin: np.ndarray, length: np.ndarray,
                   m: int, chunk: int = 1024) -> np.ndarray:
    """Mean log pairwise keypoint distance over ``length[t]`` detections from ``begin[t]`` of each
    tracklet ``t`` (``kps`` sorted by tracklet); ``(m, P)`` float32, NaN where a pair is never seen.

    Tracklets are taken a group of about ``chunk`` detections at a time, so the temporary
    ``(detections, P)`` arrays stay bounded however many tracklets a video has."""
    k = kps.shape[1]
    a, b = np.triu_indices(k, 1)
    if len(a) == 0 or m == 0:
        return np.zeros((m, len(a)), np.float32)
    out = np.empty((m, len(a)), np.float32)  # P values per tracklet: float32 halves the largest summary
    ends = np.cumsum(length)
    t0 = 0
    while t0 < m:
        # tracklets t0..t1-1 hold at most `chunk` window detections (at least one tracklet)
        t1 = max(t0 + 1, int(np.searchsorted(ends, ends[t0] - length[t0] + chunk, side="right")))
        ln = length[t0:t1]
        offs = np.arange(int(ln.sum())) - np.repeat(np.cumsum(ln) - ln, ln)
        p = kps[np.repeat(begin[t0:t1], ln) + offs]
        logd = np.log(np.maximum(np.hypot(p[:, a, 0] - p[:, b, 0], p[:, a, 1] - p[:, b, 1]), 0.5))
        ok = np.isfinite(logd)
        starts = np.cumsum(ln) - ln
        tot = np.add.reduceat(np.where(ok, logd, 0.0), starts, axis=0)
        cnt = np.add.reduceat(ok.astype(np.int32), starts, axis=0)
        out[t0:t1] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        t0 = t1
    return out


def _mean_shift(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean displacement ``b - a`` ``(n, 2)`` over keypoints seen in both ``(n, K, 2)`` poses
    (centroid shift when none is shared; 0 when either pose is empty)."""
    d = b - a
    ok = np.isfinite(d).all(axis=-1)
    cnt = ok.sum(axis=1)
    out = np.where(ok[..., None], d, 0.0).sum(axis=1) / np.maximum(cnt, 1)[:, None]
    if np.any(cnt == 0):
        alt = np.nan_to_num(centroids(b) - centroids(a))
        out = np.where((cnt == 0)[:, None], alt, out)
    return out


def _pose_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean distance ``(n,)`` between paired poses ``(n, K, 2)`` over keypoints seen in both
    (centroid distance when none is shared)."""
    d = np.hypot(b[..., 0] - a[..., 0], b[..., 1] - a[..., 1])
    ok = np.isfinite(d)
    cnt = ok.sum(axis=1)
    out = np.where(ok, d, 0.0).sum(axis=1) / np.maximum(cnt, 1)
    if np.any(cnt == 0):
        ca, cb = centroids(a), centroids(b)
        out = np.where(cnt == 0, np.hypot(*(cb - ca).T), out)
    return out


def appearance_weight(tracklet: np.ndarray, frame: np.ndarray, keypoints: np.ndarray,
                      appearance: np.ndarray, body_size: float, near: float = 2.5,
                      min_frames_apart: int = 10, max_per_tracklet: int = 200) -> float:
    """How much appearance tells these animals apart, in ``[0, 1]`` (learned per video).

    Lighting changes across an arena, so appearance is only compared between detections at
    nearby places (within ``near`` body sizes): ``B`` = median distance between two different
    animals seen side by side in one frame, ``W`` = median distance between one tracklet's
    detections at least ``min_frames_apart`` frames apart at nearby places.  The weight is
    ``(B - 2 W) / B`` clipped to ``[0, 1]``: 0 unless two animals differ by more than twice what
    one animal differs from itself (look-alike animals), near 1 when they differ much more.

    Parameters
    ----------
    tracklet, frame
        ``(N,)`` per detection (sorted by frame).
    keypoints
        ``(N, K, 2)`` pixels.
    appearance
        ``(N, D)`` descriptors, NaN rows where not measured.
    body_size
        Pixels.
    """
    c = centroids(keypoints)
    ok = np.isfinite(appearance).all(axis=1) & (tracklet >= 0) & np.isfinite(c).all(axis=1)
    idx = np.nonzero(ok)[0]
    if len(idx) < 4:
        return 0.0
    radius = near * body_size
    between, within = [], []
    f = frame[idx]
    bounds = np.flatnonzero(np.diff(f)) + 1
    for grp in np.split(idx, bounds):  # detections of one frame
        if len(grp) < 2:
            continue
        a, b = np.triu_indices(len(grp), 1)
        d = np.hypot(*(c[grp[a]] - c[grp[b]]).T)
        close = d <= radius
        if close.any():
            between.append(appearance_distance(appearance[grp[a][close]], appearance[grp[b][close]]))
    order = np.argsort(tracklet[idx], kind="stable")
    by_tr = idx[order]
    cuts = np.flatnonzero(np.diff(tracklet[by_tr])) + 1
    for grp in np.split(by_tr, cuts):
        if len(grp) < 2:
            continue
        if len(grp) > max_per_tracklet:
            grp = grp[np.linspace(0, len(grp) - 1, max_per_tracklet).round().astype(int)]
        a, b = np.triu_indices(len(grp), 1)
        keep = (np.abs(frame[grp[a]] - frame[grp[b]]) >= min_frames_apart) & (
            np.hypot(*(c[grp[a]] - c[grp[b]]).T) <= radius)
        if keep.any():
            within.append(appearance_distance(appearance[grp[a][keep]], appearance[grp[b][keep]]))
    if not between or not within:
        return 0.0
    bw, ww = np.concatenate(between), np.concatenate(within)
    bw, ww = bw[np.isfinite(bw)], ww[np.isfinite(ww)]
    if len(bw) == 0 or len(ww) == 0:
        return 0.0
    b, w = float(np.median(bw)), float(np.median(ww))
    return float(np.clip((b - 2.0 * w) / b, 0.0, 1.0)) if b > 0 else 0.0


def appearance_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hellinger distance between non-negative descriptors normalised to sum 1 (``[0, 1]``).

    ``a`` ``(..., D)`` and ``b`` ``(..., D)`` broadcast; NaN where either is unknown.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        an = a / a.sum(axis=-1, keepdims=True)
        bn = b / b.sum(axis=-1, keepdims=True)
        bc = np.sqrt(np.clip(an, 0, None) * np.clip(bn, 0, None)).sum(axis=-1)
    return np.sqrt(np.clip(1.0 - bc, 0.0, 1.0))


def link_costs(
    s: TrackletSummary,
    u: np.ndarray,
    v: np.ndarray,
    *,
    body_size: float,
    step: float,
    max_extrapolation: int = 10,
    size_tolerance: float = 0.15,
    appearance_tolerance: float = 0.2,
    weights: tuple[float, float, float] = (1.0, 0.5, 1.0),
    gap_cost: float = 0.02,
) -> np.ndarray:
    """Cost of continuing tracklet ``u`` with the later tracklet ``v`` (same animal), vectorised.

    ``cost = w_motion * d / (body_size + step * gap) + w_shape * mean|log(l_u / l_v)| /
    size_tolerance + w_app * D_app / appearance_tolerance + gap_cost * (gap - 1)`` where ``d`` is
    the mean of the forward (``u``'s last pose moved on by its velocity) and backward (``v``'s
    first pose moved back) constant-velocity extrapolation errors, in pixels (mean over keypoints
    seen in both poses), over at most ``max_extrapolation`` frames, and ``l`` are the distances
    between pairs of keypoints seen at ``u``'s end and at ``v``'s start (0 for one-keypoint
    skeletons).

    Parameters
    ----------
    s
        Tracklet summaries.
    u, v
        ``(E,)`` tracklet indices with ``s.start[v] > s.end[u]``.

    Returns
    -------
    ``(E,)`` dimensionless costs.
    """
    gap = (s.start[v] - s.end[u]).astype(float)
    g = np.minimum(gap, max_extrapolation)[:, None, None]
    pf = s.end_pos[u] + s.end_vel[u][:, None, :] * g
    pb = s.start_pos[v] - s.start_vel[v][:, None, :] * g
    d = 0.5 * (_pose_distance(pf, s.start_pos[v]) + _pose_distance(pb, s.end_pos[u]))
    motion = d / (body_size + step * gap)
    diff = np.abs(s.shape_end[u] - s.shape_start[v])  # log ratios of shared keypoint distances
    ok = np.isfinite(diff)
    cnt = ok.sum(axis=1)
    sz = np.where(ok, diff, 0.0).sum(axis=1, dtype=np.float64) / np.maximum(cnt, 1) / size_tolerance
    cost = weights[0] * motion + weights[1] * sz + gap_cost * (gap - 1.0)
    if s.appearance is not None:
        app = appearance_distance(s.appearance[u], s.appearance[v]) / appearance_tolerance
        cost = cost + weights[2] * np.where(np.isfinite(app), app, 0.0)
    return cost


@dataclass(frozen=True)
class StitchResult:
    """Output of :func:`stitch_tracklets`.

    Attributes
    ----------
    identity
        ``(M,)`` identity (0..n_animals-1) of each tracklet; -1 = left out (spurious).
    junctions
        ``(J, 4)`` float array of ``(identity, u, v, cost)``: tracklet ``u`` continued by ``v``.
    """

    identity: np.ndarray
    junctions: np.ndarray


def candidate_links(s: TrackletSummary, max_gap: int, max_successors: int,
                    max_cost: float, **cost_kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plausible ``u -> v`` continuations: ``v`` starts 1..``max_gap`` frames after ``u`` ends;
    keep the ``max_successors`` cheapest per ``u`` whose cost is at most ``max_cost``."""
    m = len(s)
    order = np.argsort(s.start, kind="stable")
    starts = s.start[order]
    us, vs, cs = [], [], []
    lo_all = np.searchsorted(starts, s.end + 1, side="left")
    hi_all = np.searchsorted(starts, s.end + max_gap, side="right")
    for u in range(m):
        lo, hi = lo_all[u], hi_all[u]
        if hi <= lo:
            continue
        v = order[lo:hi]
        c = link_costs(s, np.full(len(v), u), v, **cost_kw)
        ok = c <= max_cost
        v, c = v[ok], c[ok]
        if len(v) > max_successors:
            keep = np.argsort(c, kind="stable")[:max_successors]
            v, c = v[keep], c[keep]
        us.append(np.full(len(v), u))
        vs.append(v)
        cs.append(c)
    if not us:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(us), np.concatenate(vs), np.concatenate(cs)


def stitch_tracklets(
    s: TrackletSummary,
    n_animals: Optional[int],
    link_u: np.ndarray,
    link_v: np.ndarray,
    link_cost: np.ndarray,
    cover_reward: float = 2.0,
    new_identity_cost: float = 0.0,
    usable: Optional[np.ndarray] = None,
) -> StitchResult:
    """Assign tracklets to ``n_animals`` identities by min-cost flow (globally optimal).

    Parameters
    ----------
    s
        Tracklet summaries (``M`` tracklets).
    n_animals
        Number of identities (>= 1), or ``None`` for a number that varies: as many as the cheapest
        solution uses, each new identity costing ``new_identity_cost``.
    link_u, link_v, link_cost
        Candidate continuations (see :func:`candidate_links`) and their costs.
    cover_reward
        Reward per (score-weighted) detection for keeping a tracklet; a tracklet is left out only
        when keeping it would cost more than this.
    new_identity_cost
        Cost of starting an identity (dimensionless, as the link costs).  With ``n_animals=None``
        two tracklets are joined when that costs less than this, and a tracklet that joins none
        is kept only when ``cover_reward`` times its score-weighted detections exceeds it.
    usable
        ``(M,)`` bool: tracklets that may be kept (default all); the others are left out.

    Returns
    -------
    StitchResult
    """
    import networkx as nx

    m = len(s)
    if n_animals is None:
        n_animals = max(m, 1)
    elif n_animals < 1:
        raise ValidationError(f"n_animals must be >= 1, got {n_animals}")
    if not new_identity_cost >= 0:
        raise ValidationError(f"new_identity_cost must be >= 0, got {new_identity_cost}")
    if m == 0:
        return StitchResult(np.zeros(0, np.int64), np.zeros((0, 4)))
    # nodes are integers (in of tracklet u: 2u, out: 2u + 1, source 2m, sink 2m + 1), lighter than
    # tuples on videos with thousands of tracklets
    src, snk = 2 * m, 2 * m + 1
    g = nx.DiGraph()
    g.add_node(src, demand=-n_animals)
    g.add_node(snk, demand=n_animals)
    g.add_edge(src, snk, capacity=n_animals, weight=0)
    reward = np.round(cover_reward * s.weight * _COST_SCALE).astype(np.int64)
    birth = int(round(new_identity_cost * _COST_SCALE))
    usable = np.ones(m, bool) if usable is None else np.asarray(usable, bool)
    ok_link = usable[link_u] & usable[link_v] if len(link_u) else np.zeros(0, bool)
    link_u, link_v, link_cost = link_u[ok_link], link_v[ok_link], np.asarray(link_cost)[ok_link]
    for u in range(m):
        if not usable[u]:
            continue
        g.add_edge(src, 2 * u, capacity=1, weight=birth)
        g.add_edge(2 * u, 2 * u + 1, capacity=1, weight=-int(reward[u]))
        g.add_edge(2 * u + 1, snk, capacity=1, weight=0)
    wl = np.round(np.asarray(link_cost) * _COST_SCALE).astype(np.int64)
    for a, b, c in zip(link_u.tolist(), link_v.tolist(), wl.tolist()):
        g.add_edge(2 * a + 1, 2 * b, capacity=1, weight=int(c))
    _, flow = nx.network_simplex(g)
    # the graph and the solver's working structures hold reference cycles: free their ~9 kB per
    # tracklet now rather than at some later garbage collection (a lower peak when writing tracks)
    del g
    gc.collect()
    succ = {}
    for a, b in zip(link_u.tolist(), link_v.tolist()):
        if flow[2 * a + 1].get(2 * b, 0) > 0:
            succ[a] = b
    heads = [u for u in range(m) if flow[src].get(2 * u, 0) > 0]
    # canonical identity order: by first frame, then x, then y of the first detection
    first_c = centroids(s.start_pos)
    heads.sort(key=lambda u: (int(s.start[u]), float(first_c[u, 0]), float(first_c[u, 1])))
    identity = np.full(m, -1, np.int64)
    cost_of = {(a, b): c for a, b, c in zip(link_u.tolist(), link_v.tolist(), np.asarray(link_cost).tolist())}
    junctions = []
    for ident, u in enumerate(heads):
        identity[u] = ident
        while u in succ:
            v = succ[u]
            identity[v] = ident
            junctions.append((ident, u, v, cost_of[(u, v)]))
            u = v
    return StitchResult(identity, np.array(junctions, float).reshape(-1, 4))
