"""Part-affinity-field (PAF) line integrals for candidate skeleton edges.

A PAF has two channels per skeleton edge ``e = (source, destination)``: channel ``2e`` is the x- and
``2e + 1`` the y-component of the unit vector pointing from source to destination, on the pixels of
the limb (zero elsewhere).  The score of a candidate connection between a source peak and a
destination peak is the mean, over ``n_samples`` points evenly spaced on the segment between them,
of the dot product of the field with the segment's unit direction (a discrete line integral).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from mapose.decode.peaks import Peaks
from mapose.errors import ValidationError


@dataclass(frozen=True)
class Connections:
    """Scored candidate connections of one frame, flat over all edges.

    Attributes
    ----------
    edge
        ``(P,)`` int64, index of the skeleton edge.
    src, dst
        ``(P,)`` int64, indices into the frame's :class:`~mapose.decode.peaks.Peaks` of the source and
        destination candidates.
    score
        ``(P,)`` float64, mean PAF alignment along the segment minus a length penalty (``<= 1``).
    valid
        ``(P,)`` bool, whether the connection passes the alignment criteria.
    """

    edge: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return int(self.edge.shape[0])


#: A connection may be at most this many times longer than the longest of its edge in the training
#: labels (:func:`mapose.decode.frame.edge_length_limits`).
EDGE_LENGTH_SLACK = 2.0


def candidate_pairs(
    peaks: Peaks, edges: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (source candidate, destination candidate) pair of every edge.

    Returns
    -------
    edge, src, dst
        ``(P,)`` int64 arrays; ``src``/``dst`` index ``peaks``.
    """
    order = np.argsort(peaks.keypoint, kind="stable")
    n_kp = int(peaks.keypoint.max()) + 1 if len(peaks) else 0
    bounds = np.searchsorted(peaks.keypoint[order], np.arange(n_kp + 1))
    out_e, out_s, out_d = [], [], []
    for e, (a, b) in enumerate(edges):
        if a >= n_kp or b >= n_kp:
            continue
        ia, ib = order[bounds[a]:bounds[a + 1]], order[bounds[b]:bounds[b + 1]]
        if len(ia) == 0 or len(ib) == 0:
            continue
        out_s.append(np.repeat(ia, len(ib)))
        out_d.append(np.tile(ib, len(ia)))
        out_e.append(np.full(len(ia) * len(ib), e, dtype=np.int64))
    if not out_e:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    return np.concatenate(out_e), np.concatenate(out_s), np.concatenate(out_d)


def score_connections(
    paf: np.ndarray,
    peaks: Peaks,
    edges: Sequence[tuple[int, int]],
    *,
    n_samples: int = 10,
    min_sample_score: float = 0.05,
    min_fraction: float = 0.8,
    max_length: float | None = None,
    edge_limits: np.ndarray | None = None,
) -> Connections:
    """Score all candidate connections of all edges at once (vectorised line integrals).

    Parameters
    ----------
    paf
        ``(2E, h, w)`` part-affinity fields of one frame.
    peaks
        Candidates in output-cell coordinates.
    edges
        Skeleton edges ``(source, destination)`` (``E`` of them).
    n_samples
        Points sampled on each segment (end points included); nearest-cell lookup.
    min_sample_score
        A sample "agrees" when its dot product exceeds this.
    min_fraction
        A connection is valid when at least this fraction of samples agree and its score is > 0.
    max_length
        Segments longer than this (output cells) are penalised by ``max_length / length - 1``
        (OpenPose's distance prior).  Default: half the larger map side.
    edge_limits
        ``(E,)`` longest allowed segment of each edge (output cells; NaN: no limit).  Longer
        connections are invalid and score 0: with the limits learned from the training labels
        (:func:`mapose.decode.frame.edge_length_limits`) they are not limbs, whatever field they cross.

    Returns
    -------
    Connections
    """
    paf = np.asarray(paf)
    if paf.ndim != 3 or paf.shape[0] != 2 * len(edges):
        raise ValidationError(
            f"paf has shape {paf.shape}; expected (2 x {len(edges)} edges, h, w)"
        )
    _, h, w = paf.shape
    edge, src, dst = candidate_pairs(peaks, edges)
    if len(edge) == 0:
        z = np.zeros(0)
        return Connections(edge, src, dst, z, np.zeros(0, dtype=bool))
    if max_length is None:
        max_length = max(h, w) / 2.0
    p0 = np.stack([peaks.col[src], peaks.row[src]], axis=1)  # (P, 2) x, y in cells
    p1 = np.stack([peaks.col[dst], peaks.row[dst]], axis=1)
    vec = p1 - p0
    length = np.hypot(vec[:, 0], vec[:, 1])
    short = length < 1e-6
    unit = vec / np.where(short, 1.0, length)[:, None]
    t = np.linspace(0.0, 1.0, n_samples)
    pts = p0[:, None, :] + t[None, :, None] * vec[:, None, :]  # (P, N, 2)
    cc = np.clip(np.rint(pts[..., 0]).astype(np.int64), 0, w - 1)
    rr = np.clip(np.rint(pts[..., 1]).astype(np.int64), 0, h - 1)
    ch = 2 * edge[:, None]
    fx = paf[ch, rr, cc].astype(np.float64)
    fy = paf[ch + 1, rr, cc].astype(np.float64)
    dots = fx * unit[:, None, 0] + fy * unit[:, None, 1]
    # Coincident peaks have no direction: the field's magnitude there is the best evidence.
    dots = np.where(short[:, None], np.hypot(fx, fy), dots)
    score = dots.mean(axis=1)
    with np.errstate(divide="ignore"):
        penalty = np.minimum(0.0, max_length / np.maximum(length, 1e-6) - 1.0)
    score = score + penalty
    frac = (dots > min_sample_score).mean(axis=1)
    valid = (frac >= min_fraction) & (score > 0)
    if edge_limits is not None:
        lim = np.asarray(edge_limits, dtype=np.float64)
        if lim.shape != (len(edges),):
            raise ValidationError(f"edge_limits has {lim.size} values; expected one per edge ({len(edges)})")
        too_long = length > np.where(np.isfinite(lim), lim, np.inf)[edge]
        valid &= ~too_long
        score = np.where(too_long, 0.0, score)  # not even a weak link (assembly step 4)
    return Connections(edge, src, dst, score, valid)


__all__ = ["Connections", "candidate_pairs", "score_connections"]
