"""Which side of the body each left/right body part is labelled on.

A model trained mostly on folded wings (or on legs that look alike) may not tell a left body part
from its right partner: both channels then peak on both, and the assembly can put the two on one
spot or swap them.  The labels say which is which.  Along a body axis through two body parts
without a partner (for a fly, head and abdomen), a person labels the left wing tip on one side and
the right on the other, whenever the two lie on opposite sides.  :func:`learn_body_sides` reads
that rule off the training labels; :mod:`mapose.decode.assembly` uses it to separate a left/right
pair left on one spot (step 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from mapose.core.skeleton import Skeleton

#: Labelled animals with the two parts of a pair on opposite sides that a rule needs ...
MIN_ANIMALS = 5
#: ... and the share of them that must agree on which part lies on which side.
AGREEMENT = 0.9
#: A part counts as on one side when it lies at least this fraction of the axis length off the
#: axis (folded wing tips, labelled just across it either way, count on neither).
MARGIN = 0.05


@dataclass(frozen=True)
class BodySides:
    """``axis``: two keypoints ``(p, q)`` whose line is the body axis; ``side``: ``(K,)`` +1 or -1,
    the side of the axis (sign of ``cross(q - p, x - p)`` in image coordinates) on which each
    left/right part is labelled, 0 for parts without a rule; ``partner``: ``(K,)`` each keypoint's
    left/right partner (itself when it has none)."""

    axis: tuple[int, int]
    side: np.ndarray
    partner: np.ndarray

    def to_json(self, skeleton: Skeleton) -> dict:
        names = skeleton.keypoints
        return {"axis": [names[self.axis[0]], names[self.axis[1]]],
                "side": {names[k]: int(s) for k, s in enumerate(self.side) if s}}

    @staticmethod
    def from_json(d: Optional[dict], skeleton: Skeleton) -> Optional["BodySides"]:
        """``None`` for a missing record or one naming parts the skeleton does not have."""
        if not d:
            return None
        names = list(skeleton.keypoints)
        axis, sides = list(d.get("axis", ())), dict(d.get("side", {}))
        if len(axis) != 2 or any(n not in names for n in [*axis, *sides]):
            return None
        side = np.zeros(len(names), dtype=np.int64)
        for n, s in sides.items():
            side[names.index(n)] = int(np.sign(s))
        return BodySides((names.index(axis[0]), names.index(axis[1])), side, skeleton.partners())


def side_of(points: np.ndarray, p: np.ndarray, q: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """Sign of ``cross(q - p, x - p)`` for points ``(..., 2)``: 0 within ``margin`` axis lengths of
    the axis line, or when a point is missing."""
    ax = np.asarray(q, dtype=np.float64) - np.asarray(p, dtype=np.float64)
    d = np.asarray(points, dtype=np.float64) - np.asarray(p, dtype=np.float64)
    c = ax[..., 0] * d[..., 1] - ax[..., 1] * d[..., 0]  # signed distance x axis length
    far = np.abs(c) > margin * (ax[..., 0] ** 2 + ax[..., 1] ** 2)
    return np.where(far, np.sign(np.nan_to_num(c, nan=0.0)), 0).astype(np.int64)


def learn_body_sides(keypoints: np.ndarray, skeleton: Skeleton) -> Optional[BodySides]:
    """The side rule of the labelled animals ``(N, K, 2)`` (NaN = not labelled), or ``None`` when
    the skeleton has no left/right pairs, fewer than two unpaired parts, or no pair follows a rule.

    The axis is the two unpaired body parts farthest apart (median over the animals that have both).
    A pair gets a rule when at least :data:`MIN_ANIMALS` animals have its two parts on opposite
    sides (each at least :data:`MARGIN` axis lengths off the axis) and at least :data:`AGREEMENT`
    of them put the same part on the same side."""
    kp = np.asarray(keypoints, dtype=np.float64)
    k = skeleton.n_keypoints
    if not skeleton.symmetry or kp.ndim != 3 or kp.shape[1:] != (k, 2) or not len(kp):
        return None
    paired = {i for ab in skeleton.symmetry for i in ab}
    single = [i for i in range(k) if i not in paired]
    best, axis = -1.0, None
    for ii, p in enumerate(single):
        for q in single[ii + 1:]:
            d = np.hypot(*(kp[:, q] - kp[:, p]).T)
            d = d[np.isfinite(d)]
            if len(d) >= MIN_ANIMALS and np.median(d) > best:
                best, axis = float(np.median(d)), (p, q)
    if axis is None or best <= 0:
        return None
    p, q = axis
    side = np.zeros(k, dtype=np.int64)
    for a, b in skeleton.symmetry:
        sa = side_of(kp[:, a], kp[:, p], kp[:, q])
        sb = side_of(kp[:, b], kp[:, p], kp[:, q])
        opposite = sa * sb < 0
        if opposite.sum() < MIN_ANIMALS:
            continue
        a_pos = float((sa[opposite] > 0).mean())
        if a_pos >= AGREEMENT:
            side[a], side[b] = 1, -1
        elif a_pos <= 1 - AGREEMENT:
            side[a], side[b] = -1, 1
    if not side.any():
        return None
    return BodySides(axis, side, skeleton.partners())
