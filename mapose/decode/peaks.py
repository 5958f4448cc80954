"""Peak finding on keypoint heatmaps and sub-pixel refinement.

All functions take one frame's maps (no batch axis) as numpy arrays and are vectorised over the
keypoint channels.  Coordinates returned here are in *output cells* (fractional column, row); convert
them with :func:`mapose.decode.geometry.cell_to_pixel`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mapose.errors import ValidationError


@dataclass(frozen=True)
class Peaks:
    """Keypoint candidates of one frame, flat over all keypoint types.

    Attributes
    ----------
    keypoint
        ``(M,)`` int64, keypoint (channel) index of each candidate.
    col, row
        ``(M,)`` float64, refined position in output cells (fractional).
    score
        ``(M,)`` float64, heatmap value at the peak cell, in ``[0, 1]``.
    """

    keypoint: np.ndarray
    col: np.ndarray
    row: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return int(self.keypoint.shape[0])

    def take(self, index: np.ndarray) -> "Peaks":
        """Subset (or reorder) of the candidates."""
        return Peaks(self.keypoint[index], self.col[index], self.row[index], self.score[index])


def _check_maps(heatmap: np.ndarray) -> np.ndarray:
    hm = np.asarray(heatmap)
    if hm.ndim != 3:
        raise ValidationError(f"heatmap has shape {hm.shape}; expected (keypoints, h, w)")
    return hm.astype(np.float32, copy=False)


def find_peaks(
    heatmap: np.ndarray,
    threshold: float = 0.1,
    nms_radius: int = 1,
    max_peaks: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local maxima of every heatmap channel (non-maximum suppression with a maximum filter).

    Parameters
    ----------
    heatmap
        ``(K, h, w)`` probabilities in ``[0, 1]``.
    threshold
        Minimum heatmap value of a peak.
    nms_radius
        Half-size, in output cells, of the square window in which a peak must be the maximum.  Flat
        tops (equal neighbouring values) give one peak: the first in row-major order.
    max_peaks
        Keep at most this many peaks per keypoint (the highest).  ``None`` keeps all.

    Returns
    -------
    keypoint, row, col, score
        ``(M,)`` arrays: channel, integer row and column (output cells) and heatmap value, sorted
        by keypoint then by decreasing score (ties by row, then column).
    """
    hm = _check_maps(heatmap)
    if nms_radius < 0:
        raise ValidationError(f"nms_radius must be >= 0 cells, got {nms_radius}")
    # Same result as ``hm == maximum_filter(hm, 2 * nms_radius + 1) & hm >= threshold`` but only the
    # (few) cells above the threshold are compared with their neighbours.
    k, r, c = np.nonzero(hm >= threshold)
    s = hm[k, r, c]
    if len(k) and nms_radius > 0:
        rad = int(nms_radius)
        pad = np.pad(hm, ((0, 0), (rad, rad), (rad, rad)), constant_values=-np.inf)
        is_max = np.ones(len(k), dtype=bool)
        for dr in range(-rad, rad + 1):
            for dc in range(-rad, rad + 1):
                if dr or dc:
                    is_max &= s >= pad[k, r + rad + dr, c + rad + dc]
        k, r, c, s = k[is_max], r[is_max], c[is_max], s[is_max]
    s = s.astype(np.float64)
    order = np.lexsort((c, r, -s, k))
    k, r, c, s = k[order], r[order], c[order], s[order]
    if len(k) > 1:
        # Plateaus: several cells of one window share the maximum; keep the first (by order above).
        keep = _suppress_plateaus(k, r, c, s, nms_radius)
        k, r, c, s = k[keep], r[keep], c[keep], s[keep]
    if max_peaks is not None and len(k):
        first = np.searchsorted(k, k, side="left")
        rank = np.arange(len(k)) - first
        keep = rank < int(max_peaks)
        k, r, c, s = k[keep], r[keep], c[keep], s[keep]
    return k.astype(np.int64), r.astype(np.int64), c.astype(np.int64), s


def _suppress_plateaus(
    k: np.ndarray, r: np.ndarray, c: np.ndarray, s: np.ndarray, radius: int
) -> np.ndarray:
    """Boolean mask dropping a peak when an earlier peak of the same keypoint and the *same* value
    lies within ``radius`` (only equal neighbours survive the maximum filter together)."""
    keep = np.ones(len(k), dtype=bool)
    if radius == 0 or len(k) < 2:
        return keep
    # Groups of equal (keypoint, value); only those with several members can hold plateaus.
    same = (np.diff(k) == 0) & (np.diff(s) == 0)
    starts = np.flatnonzero(np.r_[True, ~same])
    ends = np.r_[starts[1:], len(k)]
    for lo, hi in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
        rr, cc = r[lo:hi], c[lo:hi]
        near = (np.abs(rr[:, None] - rr[None, :]) <= radius) & (np.abs(cc[:, None] - cc[None, :]) <= radius)
        local = np.ones(hi - lo, dtype=bool)
        for i in range(hi - lo):  # greedy in (row, col) order: the first cell of a plateau wins
            if local[i]:
                local[i + 1:] &= ~near[i, i + 1:]
        keep[lo:hi] = local
    return keep


def refine_with_offsets(
    offset: np.ndarray, keypoint: np.ndarray, row: np.ndarray, col: np.ndarray, max_offset: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-cell positions from an offset head.

    Parameters
    ----------
    offset
        ``(2K, h, w)``; channel ``2k`` is dx and ``2k + 1`` is dy of keypoint ``k``, in output cells.
    keypoint, row, col
        Integer peaks from :func:`find_peaks`.
    max_offset
        Offsets are clipped to ``[-max_offset, max_offset]`` cells (guards against wild outputs).

    Returns
    -------
    col, row
        Refined fractional cell coordinates, float64.
    """
    off = np.asarray(offset)
    if off.ndim != 3 or off.shape[0] % 2:
        raise ValidationError(f"offset has shape {off.shape}; expected (2 * keypoints, h, w)")
    dx = np.clip(off[2 * keypoint, row, col].astype(np.float64), -max_offset, max_offset)
    dy = np.clip(off[2 * keypoint + 1, row, col].astype(np.float64), -max_offset, max_offset)
    return col + dx, row + dy


def refine_quadratic(
    heatmap: np.ndarray, keypoint: np.ndarray, row: np.ndarray, col: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-cell positions by a parabola through the log-heatmap at the peak and its 4 neighbours.

    Exact for Gaussian-shaped peaks (the log of a Gaussian is a parabola).  The shift is limited to
    half a cell per axis; peaks on the map border are not shifted along that axis.

    Returns
    -------
    col, row
        Refined fractional cell coordinates, float64.
    """
    hm = _check_maps(heatmap)
    _, h, w = hm.shape
    logm = np.log(np.clip(hm, 1e-6, None).astype(np.float64))

    def shift(lo_r, lo_c, hi_r, hi_c, ok):
        f0 = logm[keypoint, row, col]
        fm = logm[keypoint, np.clip(lo_r, 0, h - 1), np.clip(lo_c, 0, w - 1)]
        fp = logm[keypoint, np.clip(hi_r, 0, h - 1), np.clip(hi_c, 0, w - 1)]
        den = fm - 2.0 * f0 + fp
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(den < 0, 0.5 * (fm - fp) / den, 0.0)
        return np.where(ok, np.clip(d, -0.5, 0.5), 0.0)

    dx = shift(row, col - 1, row, col + 1, (col > 0) & (col < w - 1))
    dy = shift(row - 1, col, row + 1, col, (row > 0) & (row < h - 1))
    return col + dx, row + dy


def detect_peaks(
    heatmap: np.ndarray,
    offset: np.ndarray | None = None,
    *,
    threshold: float = 0.1,
    nms_radius: int = 1,
    max_peaks: int | None = None,
    max_offset: float = 2.0,
) -> Peaks:
    """Find and refine the keypoint candidates of one frame.

    Uses the offset head when given, else :func:`refine_quadratic` on the heatmap.

    Returns
    -------
    Peaks
        Candidates in output-cell coordinates.
    """
    k, r, c, s = find_peaks(heatmap, threshold, nms_radius, max_peaks)
    if offset is not None:
        if np.asarray(offset).shape[0] != 2 * np.asarray(heatmap).shape[0]:
            raise ValidationError(
                f"offset has {np.asarray(offset).shape[0]} channels; expected 2 x "
                f"{np.asarray(heatmap).shape[0]} keypoints"
            )
        col, row = refine_with_offsets(offset, k, r, c, max_offset)
    else:
        col, row = refine_quadratic(heatmap, k, r, c)
    return Peaks(k, col, row, s)


__all__ = ["Peaks", "detect_peaks", "find_peaks", "refine_quadratic", "refine_with_offsets"]
