"""Global stitching of tracklets into a known number of identities (min-cost flow).

Each tracklet is a node with capacity 1; a unit of flow from the source to the sink is one animal's
identity over the whole video, passing through the tracklets it owns in time order.  Covering a
tracklet earns a reward proportional to its detections; joining tracklet ``u`` to a later tracklet
``v`` costs a mix of motion continuity across the gap (constant-velocity extrapolation both ways),
body-size change and appearance distance.  Exactly ``n_animals`` units flow (an identity may stay
empty), so the solution is the globally cheapest set of ``n_animals`` non-overlapping chains —
tracklets left out are spurious detections.  Solved exactly with :func:`networkx.network_simplex`.
"""

from __future__ import annotations

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
        ``(M, 2)`` centroid at the first and last detection, pixels.
    start_vel, end_vel
        ``(M, 2)`` velocity near the start and the end, pixels/frame.
    size
        ``(M,)`` median body size, pixels.
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
    """
    m = int(n_tracklets)
    use = tracklet >= 0
    tr, fr = tracklet[use], frame[use]
    cen = centroids(keypoints[use])
    size = body_sizes(keypoints[use])
    w = np.clip(np.nan_to_num(np.asarray(scores, float)[use], nan=1.0), 0.0, 1.0)
    order = np.lexsort((fr, tr))  # by tracklet, then frame
    tr, fr, cen, size, w = tr[order], fr[order], cen[order], size[order], w[order]
    first = np.searchsorted(tr, np.arange(m), side="left")
    stop = np.searchsorted(tr, np.arange(m), side="right")
    n = stop - first
    if np.any(n == 0):
        raise ValidationError("every tracklet needs at least one detection")
    last = stop - 1
    wi = np.minimum(velocity_window, n - 1)
    s_far, e_far = first + wi, last - wi
    with np.errstate(invalid="ignore", divide="ignore"):
        sv = (cen[s_far] - cen[first]) / np.maximum(fr[s_far] - fr[first], 1)[:, None]
        ev = (cen[last] - cen[e_far]) / np.maximum(fr[last] - fr[e_far], 1)[:, None]
    sv = np.nan_to_num(sv)
    ev = np.nan_to_num(ev)
    # median body size per tracklet: sort sizes within each tracklet
    sz_order = np.lexsort((np.nan_to_num(size, nan=np.inf), tr))
    size_sorted = size[sz_order]
    med = size_sorted[first + (n - 1) // 2]
    app = None
    if appearance is not None:
        a = np.asarray(appearance, float)[use][order]
        ok = np.isfinite(a).all(axis=1)
        cnt = np.bincount(tr[ok], minlength=m)
        tot = np.zeros((m, a.shape[1]))
        np.add.at(tot, tr[ok], a[ok])
        with np.errstate(invalid="ignore", divide="ignore"):
            app = np.where(cnt[:, None] > 0, tot / cnt[:, None], np.nan)
    return TrackletSummary(
        start=fr[first], end=fr[last], n=n, weight=np.add.reduceat(w, first) if m else np.zeros(0),
        start_pos=cen[first], end_pos=cen[last], start_vel=sv, end_vel=ev, size=med, appearance=app,
    )


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

    ``cost = w_motion * d / (body_size + step * gap) + w_size * |log(size_u / size_v)| /
    size_tolerance + w_app * D_app / appearance_tolerance + gap_cost * (gap - 1)`` where ``d`` is
    the mean of the forward (from ``u``'s end) and backward (from ``v``'s start) constant-velocity
    extrapolation errors, in pixels, over at most ``max_extrapolation`` frames.

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
    g = np.minimum(gap, max_extrapolation)[:, None]
    pf = s.end_pos[u] + s.end_vel[u] * g
    pb = s.start_pos[v] - s.start_vel[v] * g
    d = 0.5 * (np.hypot(*(pf - s.start_pos[v]).T) + np.hypot(*(pb - s.end_pos[u]).T))
    motion = d / (body_size + step * gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        sz = np.abs(np.log(s.size[u] / s.size[v])) / size_tolerance
    sz = np.where(np.isfinite(sz), sz, 0.0)
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
    n_animals: int,
    link_u: np.ndarray,
    link_v: np.ndarray,
    link_cost: np.ndarray,
    cover_reward: float = 2.0,
) -> StitchResult:
    """Assign tracklets to ``n_animals`` identities by min-cost flow (globally optimal).

    Parameters
    ----------
    s
        Tracklet summaries (``M`` tracklets).
    n_animals
        Number of identities (>= 1).
    link_u, link_v, link_cost
        Candidate continuations (see :func:`candidate_links`) and their costs.
    cover_reward
        Reward per (score-weighted) detection for keeping a tracklet; a tracklet is left out only
        when keeping it would cost more than this.

    Returns
    -------
    StitchResult
    """
    import networkx as nx

    if n_animals < 1:
        raise ValidationError(f"n_animals must be >= 1, got {n_animals}")
    m = len(s)
    if m == 0:
        return StitchResult(np.zeros(0, np.int64), np.zeros((0, 4)))
    g = nx.DiGraph()
    g.add_node("S", demand=-n_animals)
    g.add_node("T", demand=n_animals)
    g.add_edge("S", "T", capacity=n_animals, weight=0)
    reward = np.round(cover_reward * s.weight * _COST_SCALE).astype(np.int64)
    for u in range(m):
        g.add_edge("S", ("i", u), capacity=1, weight=0)
        g.add_edge(("i", u), ("o", u), capacity=1, weight=-int(reward[u]))
        g.add_edge(("o", u), "T", capacity=1, weight=0)
    wl = np.round(np.asarray(link_cost) * _COST_SCALE).astype(np.int64)
    for a, b, c in zip(link_u.tolist(), link_v.tolist(), wl.tolist()):
        g.add_edge(("o", a), ("i", b), capacity=1, weight=int(c))
    _, flow = nx.network_simplex(g)
    succ = {}
    for a, b in zip(link_u.tolist(), link_v.tolist()):
        if flow[("o", a)].get(("i", b), 0) > 0:
            succ[a] = b
    heads = [u for u in range(m) if flow["S"].get(("i", u), 0) > 0]
    # canonical identity order: by first frame, then x, then y of the first detection
    heads.sort(key=lambda u: (int(s.start[u]), float(s.start_pos[u, 0]), float(s.start_pos[u, 1])))
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
