"""Assembly of keypoint candidates into animal instances along the skeleton.

Algorithm (per frame):

1. Candidates are put in a canonical order (keypoint, decreasing score, row, column), so the result
   never depends on the order in which they were given.
2. Every candidate connection of every edge is scored by its PAF line integral
   (:func:`mapose.decode.paf.score_connections`).
3. Per edge, the valid connections are matched one-to-one with the Hungarian algorithm (maximum
   total rank).  A connection's rank is its PAF score times the geometric mean of its two
   candidates' heatmap peaks (``peak_weight`` = 1; 0 ranks by the PAF alone): a field can point at a
   spot the heatmap barely believes is that body part.  Edges are then processed from the most reliable
   (highest mean matched rank) to the least, and within an edge from the best connection down.  A
   connection creates an instance, grows one, or merges two -- but never merges two instances that
   both already hold a keypoint of the same type, and never gives an instance a second candidate of
   one keypoint type.
4. Fragments left by a weak limb (a leg tip whose PAF fades half-way) are attached to a larger
   instance over the best remaining connection whose PAF score reaches ``attach_score`` even though
   it failed the strict criteria -- again only when their keypoint types are disjoint, smaller part
   first into the larger one, best connection first.
5. Two body parts of one animal on one spot (within ``coincident_radius`` cells): the spot is
   left to the part whose heatmap peaks higher there; when another candidate of the other part's
   type is joined to the animal by a valid connection, belongs to no animal and lies on no animal's
   body part, that part moves there (the best-ranked such connection; the candidate left behind
   becomes a singleton).  Folded wing tips legitimately coincide, so coincidence alone is not an
   error; a free, connected second candidate is the evidence.  A left/right pair with a side rule
   learned from the labels (:mod:`mapose.decode.sides`) may also take a candidate of its partner's
   type, on the other side of the body axis, and the part labelled on that side takes it.
6. Skeletons whose graph is not connected (or models with no PAF head) give fragments that each lie
   in one connected component.  Fragments of *different* components are merged greedily, closest
   centroids first, while their keypoint sets are disjoint and the distance is at most
   ``merge_radius``.
7. Instances with at least two keypoints (or a whole one-keypoint component) are ranked by instance
   score = (sum of their keypoint scores) / K, and the best ``max_animals`` are kept.
8. Candidates left out of every instance (a weak or conflicting connection) become *singletons*:
   instances holding that one keypoint, with instance score ``keypoint score / K`` (<= 1/K).  They
   are never attached to a possibly wrong animal; callers that want only animals drop them with
   :func:`mapose.decode.filter_instances` (``min_keypoints=2``) or with an instance-score threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from mapose.decode.paf import EDGE_LENGTH_SLACK, Connections, score_connections
from mapose.decode.peaks import Peaks
from mapose.decode.sides import BodySides, side_of
from mapose.errors import ValidationError


@dataclass(frozen=True)
class Assembly:
    """Instances of one frame as indices into its (canonically ordered) candidates.

    Attributes
    ----------
    peaks
        The candidates, in canonical order.
    members
        ``(n, K)`` int64: ``members[i, k]`` is the candidate of keypoint ``k`` in instance ``i``,
        ``-1`` when missing.
    instance_scores
        ``(n,)`` float64, sum of keypoint scores / K.
    singleton
        ``(n,)`` bool, instance is an unassembled single keypoint.
    """

    peaks: Peaks
    members: np.ndarray
    instance_scores: np.ndarray
    singleton: np.ndarray


def canonical_order(peaks: Peaks) -> np.ndarray:
    """Index that sorts candidates by keypoint, decreasing score, row, column."""
    return np.lexsort((peaks.col, peaks.row, -peaks.score, peaks.keypoint))


def skeleton_components(n_keypoints: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """``(K,)`` connected-component label of every keypoint in the (undirected) skeleton graph
    (labels numbered by first keypoint)."""
    return np.array(_components(int(n_keypoints), tuple((int(a), int(b)) for a, b in edges)))


@lru_cache(maxsize=64)
def _components(n: int, edges: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [root(i) for i in range(n)]
    relabel = {r: j for j, r in enumerate(dict.fromkeys(roots))}
    return tuple(relabel[r] for r in roots)


def _match_edges(conn: Connections, n_edges: int) -> list[tuple[float, int, np.ndarray]]:
    """Hungarian matching of the valid connections of each edge.

    Returns ``(reliability, edge, selected connection indices sorted by decreasing score)``.
    """
    out = []
    valid = np.flatnonzero(conn.valid)
    if len(valid) == 0:
        return out
    ev = conn.edge[valid]
    for e in np.unique(ev):
        idx = valid[ev == e]
        su, si = np.unique(conn.src[idx], return_inverse=True)
        du, di = np.unique(conn.dst[idx], return_inverse=True)
        big = -1e6
        m = np.full((len(su), len(du)), big)
        m[si, di] = conn.score[idx]
        pick = np.full((len(su), len(du)), -1, dtype=np.int64)
        pick[si, di] = idx
        r, c = linear_sum_assignment(m, maximize=True)
        sel = pick[r, c]
        sel = sel[sel >= 0]
        if len(sel) == 0:
            continue
        sel = sel[np.lexsort((sel, -conn.score[sel]))]
        out.append((float(conn.score[sel].mean()), int(e), sel))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out


def _link(conn: Connections, peaks: Peaks, n_keypoints: int, n_edges: int) -> np.ndarray:
    """Greedy union of matched connections into instances; returns ``members`` (n, K)."""
    m = len(peaks)
    owner = np.full(m, -1, dtype=np.int64)
    inst: list[np.ndarray] = []
    alive: list[bool] = []
    for _, _, sel in _match_edges(conn, n_edges):
        for j in sel:
            a, b = int(conn.src[j]), int(conn.dst[j])
            ka, kb = int(peaks.keypoint[a]), int(peaks.keypoint[b])
            ia, ib = int(owner[a]), int(owner[b])
            if ia < 0 and ib < 0:
                row = np.full(n_keypoints, -1, dtype=np.int64)
                row[ka], row[kb] = a, b
                inst.append(row)
                alive.append(True)
                owner[a] = owner[b] = len(inst) - 1
            elif ia >= 0 and ib < 0:
                if inst[ia][kb] < 0:
                    inst[ia][kb] = b
                    owner[b] = ia
            elif ib >= 0 and ia < 0:
                if inst[ib][ka] < 0:
                    inst[ib][ka] = a
                    owner[a] = ib
            elif ia != ib:
                ra, rb = inst[ia], inst[ib]
                if np.any((ra >= 0) & (rb >= 0)):
                    continue  # both already have a keypoint of the same type: different animals
                keep, drop = min(ia, ib), max(ia, ib)
                inst[keep] = np.where(inst[keep] >= 0, inst[keep], inst[drop])
                owner[inst[drop][inst[drop] >= 0]] = keep
                alive[drop] = False
    rows = [r for r, ok in zip(inst, alive) if ok]
    # Unlinked candidates become one-keypoint fragments.
    for p in np.flatnonzero(owner < 0):
        row = np.full(n_keypoints, -1, dtype=np.int64)
        row[peaks.keypoint[p]] = p
        rows.append(row)
    if not rows:
        return np.zeros((0, n_keypoints), dtype=np.int64)
    return np.stack(rows)


def _attach_fragments(members: np.ndarray, conn: Connections, min_score: float) -> np.ndarray:
    """Merge instances joined by a connection scoring at least ``min_score`` (valid or not), the
    smaller into the larger, best connection first, while their keypoint types stay disjoint."""
    if len(members) < 2 or len(conn.score) == 0:
        return members
    owner = np.full(int(max(members.max(), conn.src.max(), conn.dst.max())) + 1, -1, dtype=np.int64)
    for i, row in enumerate(members):
        owner[row[row >= 0]] = i
    ia, ib = owner[conn.src], owner[conn.dst]
    cand = np.flatnonzero((conn.score >= min_score) & (ia >= 0) & (ib >= 0) & (ia != ib))
    if len(cand) == 0:
        return members
    cand = cand[np.lexsort((cand, -conn.score[cand]))]
    rows = [r.copy() for r in members]
    alive = np.ones(len(rows), dtype=bool)
    parent = np.arange(len(rows))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for j in cand:
        a, b = find(int(ia[j])), find(int(ib[j]))
        if a == b or np.any((rows[a] >= 0) & (rows[b] >= 0)):
            continue
        na, nb = int((rows[a] >= 0).sum()), int((rows[b] >= 0).sum())
        big, small = (a, b) if (na, -a) > (nb, -b) else (b, a)
        rows[big] = np.where(rows[big] >= 0, rows[big], rows[small])
        parent[small] = big
        alive[small] = False
    return np.stack([r for r, ok in zip(rows, alive) if ok])


def _separate_coincident(members: np.ndarray, conn: Connections, rank: np.ndarray, peaks: Peaks,
                         radius: float, sides: BodySides | None = None,
                         edge_limits: np.ndarray | None = None, pair_min_score: float = 0.1) -> np.ndarray:
    """Two body parts of one animal on one spot: the one that peaks lower there moves to another
    candidate of its type when a valid connection joins that candidate to the animal, no animal
    holds it and it lies on no body part of an animal (the best-ranked connection).

    A left/right pair with a side rule (``sides``, learned from the labels): a candidate of either
    part's type on the other side of the animal's body axis will do, joined by a connection whose
    field score reaches ``pair_min_score`` and that is no longer than the longest labelled length of
    its edge (``edge_limits`` / :data:`~mapose.decode.paf.EDGE_LENGTH_SLACK`), and the part labelled
    on that side moves there.  A model that cannot tell the two sides apart puts both channels'
    peaks and fields on both wings, so neither field points cleanly at the second one.  Candidates
    moved away stay singletons."""
    n_kp = (members >= 0).sum(1)
    # a left/right pair may use weaker connections, up to the longest labelled length of the edge
    within = np.ones(len(conn.edge), dtype=bool)
    if sides is not None and edge_limits is not None and len(conn.edge):
        length = np.hypot(peaks.col[conn.dst] - peaks.col[conn.src],
                          peaks.row[conn.dst] - peaks.row[conn.src])
        within = ~(length > np.asarray(edge_limits, dtype=np.float64)[conn.edge] / EDGE_LENGTH_SLACK)
    usable = conn.valid if sides is None else conn.valid | ((conn.score >= pair_min_score) & within)
    pool = np.flatnonzero(usable)
    animals = np.flatnonzero(n_kp >= 3)
    if len(pool) == 0 or len(animals) == 0:
        return members
    owner = np.full(len(peaks), -1, dtype=np.int64)
    for i, row in enumerate(members):
        owner[row[row >= 0]] = i
    used = members[animals][members[animals] >= 0]
    # candidates on a body part of an animal (its own or another type) are taken
    near = np.hypot(peaks.col[:, None] - peaks.col[used][None],
                    peaks.row[:, None] - peaks.row[used][None]) <= radius
    taken = near.any(1)
    members = members.copy()
    alive = np.ones(len(members), dtype=bool)
    moved = np.zeros(len(peaks), dtype=bool)
    extra = []
    src, dst, valid, within = conn.src[pool], conn.dst[pool], conn.valid[pool], within[pool]
    ksrc, kdst = peaks.keypoint[src], peaks.keypoint[dst]
    xy = np.stack([peaks.col, peaks.row], axis=1)
    for i in animals:
        row = members[i]
        present = np.flatnonzero(row >= 0)
        x, y = peaks.col[row[present]], peaks.row[row[present]]
        close = np.hypot(x[:, None] - x[None], y[:, None] - y[None]) <= radius
        for u, v in zip(*np.nonzero(np.triu(close, 1))):
            # the spot belongs to the part that peaks higher there: only the other one may move
            k = min((present[u], present[v]), key=lambda q: (peaks.score[row[q]], q))
            other = present[v] if k == present[u] else present[u]
            if moved[row[k]] or moved[row[other]]:
                continue
            pair = (sides is not None and sides.partner[k] == other and sides.side[k] != 0
                    and (row[list(sides.axis)] >= 0).all())
            types = [k, other] if pair else [k]
            # connections from this animal to another candidate of those types
            cand = np.where(np.isin(kdst, types) & (owner[src] == i), dst,
                            np.where(np.isin(ksrc, types) & (owner[dst] == i), src, -1))
            ok = (cand >= 0) & (within if pair else valid)
            ok[ok] = (cand[ok] != row[k]) & ~taken[cand[ok]] & ~moved[cand[ok]]
            ok[ok] = (owner[cand[ok]] < 0) | (n_kp[owner[cand[ok]]] <= 1)
            if pair:  # on the other side of the body axis than the spot
                ends = xy[row[list(sides.axis)]]
                spot = side_of(xy[row[k]], ends[0], ends[1])
                there = np.zeros(len(cand), dtype=np.int64)
                there[ok] = side_of(xy[cand[ok]], ends[0], ends[1])
                ok &= (there != 0) & (there != spot)
            if not ok.any():
                continue
            best = np.flatnonzero(ok)[np.argmax(rank[pool[ok]])]
            cand = int(cand[best])
            if pair and sides.side[k] != there[best]:
                k = other  # the part labelled on the candidate's side moves
            if owner[cand] >= 0:
                alive[owner[cand]] = False
            old = row[k]
            row[k] = cand
            owner[cand], owner[old] = i, -1
            moved[old] = moved[cand] = True
            lone = np.full(members.shape[1], -1, dtype=np.int64)
            lone[k] = old
            extra.append(lone)
    out = members[alive]
    return np.concatenate([out, np.stack(extra)]) if extra else out


def _centroids(members: np.ndarray, peaks: Peaks) -> np.ndarray:
    has = members >= 0
    idx = np.where(has, members, 0)
    x = np.where(has, peaks.col[idx], 0.0).sum(1) / has.sum(1)
    y = np.where(has, peaks.row[idx], 0.0).sum(1) / has.sum(1)
    return np.stack([x, y], axis=1)


def _merge_components(
    members: np.ndarray, peaks: Peaks, comp: np.ndarray, merge_radius: float | None
) -> np.ndarray:
    """Merge fragments lying in different skeleton components, closest centroids first."""
    if len(members) < 2:
        return members
    comp_size = np.bincount(comp)
    n_kp = (members >= 0).sum(1)
    first_kp = np.argmax(members >= 0, axis=1)
    # A lone keypoint of a multi-keypoint component failed to connect: it stays a singleton.
    eligible = (n_kp >= 2) | (comp_size[comp[first_kp]] == 1)
    groups = [members[i].copy() for i in np.flatnonzero(eligible)]
    rest = [members[i] for i in np.flatnonzero(~eligible)]
    limit = np.inf if merge_radius is None else float(merge_radius)
    while len(groups) > 1:
        g = np.stack(groups)
        cen = _centroids(g, peaks)
        d = np.hypot(cen[:, None, 0] - cen[None, :, 0], cen[:, None, 1] - cen[None, :, 1])
        has = g >= 0
        overlap = (has[:, None, :] & has[None, :, :]).any(-1)
        d = np.where(overlap | np.eye(len(g), dtype=bool), np.inf, d)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if not np.isfinite(d[i, j]) or d[i, j] > limit:
            break
        i, j = min(i, j), max(i, j)
        groups[i] = np.where(groups[i] >= 0, groups[i], groups[j])
        del groups[j]
    rows = groups + rest
    return np.stack(rows) if rows else members[:0]


def assemble(
    peaks: Peaks,
    paf: np.ndarray | None,
    edges: Sequence[tuple[int, int]],
    n_keypoints: int,
    *,
    max_animals: int | None = None,
    keep_singletons: bool = True,
    merge_radius: float | None = None,
    n_samples: int = 10,
    min_sample_score: float = 0.05,
    min_fraction: float = 0.8,
    max_length: float | None = None,
    edge_limits: np.ndarray | None = None,
    attach_score: float | None = 0.3,
    peak_weight: float = 1.0,
    coincident_radius: float | None = 1.0,
    sides: BodySides | None = None,
) -> Assembly:
    """Group keypoint candidates into instances (see the module docstring for the algorithm).

    Parameters
    ----------
    peaks
        Candidates of one frame in output-cell coordinates (any order).
    paf
        ``(2E, h, w)`` part-affinity fields, or ``None`` (no PAF head: assembly by proximity only).
    edges
        Skeleton edges; ignored when ``paf`` is ``None``.
    n_keypoints
        ``K``.
    max_animals
        Keep at most this many assembled instances (the highest instance scores).
    keep_singletons
        Also return unassembled candidates as one-keypoint instances (flagged in ``singleton``).
    merge_radius
        Largest centroid distance (output cells) for merging fragments of different skeleton
        components; ``None``: no limit.
    n_samples, min_sample_score, min_fraction, max_length, edge_limits
        PAF scoring options, see :func:`mapose.decode.paf.score_connections`.
    attach_score
        Minimum PAF score of a connection that attaches a fragment to a larger instance in the
        second pass (step 4); ``None`` switches the pass off.
    peak_weight
        Exponent of the candidates' heatmap peaks in the rank of a connection (step 3); 0: rank by
        the PAF score alone.
    coincident_radius
        Distance (output cells) under which two body parts of one animal count as on one spot
        (step 5); ``None`` switches the step off.
    sides
        Which side of the body axis each left/right part is labelled on
        (:func:`mapose.decode.sides.learn_body_sides`), for step 5; ``None``: no such rule.

    Returns
    -------
    Assembly
        Instances sorted by decreasing instance score (singletons last).
    """
    if max_animals is not None and max_animals < 1:
        raise ValidationError(f"max_animals must be >= 1 or None, got {max_animals}")
    if len(peaks) and (peaks.keypoint.min() < 0 or peaks.keypoint.max() >= n_keypoints):
        raise ValidationError(
            f"candidate keypoint index {int(peaks.keypoint.max())} outside 0..{n_keypoints - 1}"
        )
    peaks = peaks.take(canonical_order(peaks))
    use_edges = list(edges) if paf is not None else []
    if use_edges:
        conn = score_connections(
            paf, peaks, use_edges, n_samples=n_samples, min_sample_score=min_sample_score,
            min_fraction=min_fraction, max_length=max_length, edge_limits=edge_limits,
        )
        rank = conn
        if peak_weight:
            both = np.sqrt(peaks.score[conn.src] * peaks.score[conn.dst]) ** float(peak_weight)
            rank = Connections(conn.edge, conn.src, conn.dst, conn.score * both, conn.valid)
        members = _link(rank, peaks, n_keypoints, len(use_edges))
        if attach_score is not None:
            members = _attach_fragments(members, conn, float(attach_score))
        if coincident_radius is not None:
            members = _separate_coincident(members, conn, rank.score, peaks, float(coincident_radius),
                                           sides, edge_limits)
    elif max_animals == 1:
        # One animal and no PAF: the best candidate of every keypoint (first in canonical order).
        members = np.full((1, n_keypoints), -1, dtype=np.int64)
        if len(peaks):
            first = np.flatnonzero(np.r_[True, np.diff(peaks.keypoint) != 0])
            members[0, peaks.keypoint[first]] = first
            unused = np.setdiff1d(np.arange(len(peaks)), first)
            lone = np.full((len(unused), n_keypoints), -1, dtype=np.int64)
            lone[np.arange(len(unused)), peaks.keypoint[unused]] = unused
            members = np.concatenate([members, lone])
        else:
            members = members[:0]
    else:
        members = _link(
            Connections(*(np.zeros(0, dtype=np.int64),) * 3, np.zeros(0), np.zeros(0, dtype=bool)),
            peaks, n_keypoints, 0,
        )
    comp = skeleton_components(n_keypoints, use_edges)
    if comp.max(initial=0) > 0 and not (max_animals == 1 and not use_edges):
        members = _merge_components(members, peaks, comp, merge_radius)
    if len(members) == 0:
        return Assembly(peaks, members, np.zeros(0), np.zeros(0, dtype=bool))
    has = members >= 0
    scores = np.where(has, peaks.score[np.where(has, members, 0)], 0.0).sum(1) / n_keypoints
    n_kp = has.sum(1)
    comp_size = np.bincount(comp)
    first_kp = np.argmax(has, axis=1)
    singleton = (n_kp == 1) & (comp_size[comp[first_kp]] > 1) if n_keypoints > 1 else np.zeros(
        len(members), dtype=bool
    )
    if max_animals == 1 and not use_edges and n_keypoints > 1:
        singleton = np.arange(len(members)) > 0
    # Order: animals by decreasing score (ties by their first candidate), then singletons.
    key_first = np.where(has, members, np.iinfo(np.int64).max).min(1)
    order = np.lexsort((key_first, -scores, singleton))
    members, scores, singleton = members[order], scores[order], singleton[order]
    if max_animals is not None:
        animal_rank = np.cumsum(~singleton) - 1
        keep = singleton | (animal_rank < max_animals)
        members, scores, singleton = members[keep], scores[keep], singleton[keep]
    if not keep_singletons:
        members, scores, singleton = members[~singleton], scores[~singleton], singleton[~singleton]
    return Assembly(peaks, members, scores, singleton)


__all__ = ["Assembly", "assemble", "canonical_order", "skeleton_components"]
