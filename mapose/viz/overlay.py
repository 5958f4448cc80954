"""Drawing poses on images: keypoints, skeleton edges, identity colours, trails, names.

Pure functions of arrays (RGB ``uint8`` images in, new images out); used by
:mod:`mapose.viz.video` to render labelled videos.  Colours are fixed by individual *index*, so an
animal keeps its colour in every frame and in every video of the same pose file.
"""

from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np

from mapose.core.skeleton import Skeleton
from mapose.errors import ValidationError

#: Identity colours (RGB), by individual index (cycled beyond 12): colour-blind-friendly first.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0),    # orange
    (86, 180, 233),   # sky blue
    (0, 158, 115),    # bluish green
    (240, 228, 66),   # yellow
    (204, 121, 167),  # reddish purple
    (213, 94, 0),     # vermillion
    (0, 114, 178),    # blue
    (255, 255, 255),  # white
    (148, 103, 189),  # purple
    (140, 86, 75),    # brown
    (127, 127, 127),  # grey
    (188, 189, 34),   # olive
)


def identity_colour(index: int, palette: Sequence[tuple[int, int, int]] = PALETTE) -> tuple[int, int, int]:
    """RGB colour of individual ``index`` (fixed; cycles through ``palette``)."""
    return tuple(int(c) for c in palette[int(index) % len(palette)])  # type: ignore[return-value]


def _pt(xy: np.ndarray) -> tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def draw_poses(
    image: np.ndarray,
    positions: np.ndarray,
    confidence: Optional[np.ndarray],
    skeleton: Skeleton,
    *,
    threshold: float = 0.0,
    radius: int = 3,
    thickness: int = 1,
    names: Optional[Sequence[str]] = None,
    trails: Optional[np.ndarray] = None,
    palette: Sequence[tuple[int, int, int]] = PALETTE,
) -> np.ndarray:
    """Draw the animals of one frame on a copy of ``image``.

    Parameters
    ----------
    image
        ``(H, W, 3)`` RGB or ``(H, W)`` grey uint8 frame.
    positions
        ``(I, K, 2)`` x, y in pixels of individual ``i`` (NaN = missing).
    confidence
        ``(I, K)`` keypoint confidences, or ``None`` (all shown).  Keypoints below ``threshold``
        (and edges touching them) are not drawn; NaN confidence counts as shown.
    skeleton
        Gives the ``K`` keypoints and the edges drawn between them.
    threshold
        Minimum confidence of a drawn keypoint.
    radius, thickness
        Keypoint disc radius and line thickness, pixels.
    names
        Labels written beside each individual (``None``: none).
    trails
        ``(T, I, 2)`` past positions (oldest first, NaN = missing) drawn as a polyline per animal.
    palette
        Colours by individual index.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` RGB uint8 image.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValidationError(f"image has shape {img.shape} and dtype {img.dtype}; expected (H, W, 3) uint8")
    img = np.ascontiguousarray(img).copy()
    pos = np.asarray(positions, dtype=np.float64)
    k = skeleton.n_keypoints
    if pos.ndim != 3 or pos.shape[1:] != (k, 2):
        raise ValidationError(f"positions have shape {pos.shape}; expected (individuals, {k}, 2)")
    n = pos.shape[0]
    shown = np.isfinite(pos).all(-1)
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64)
        if conf.shape != (n, k):
            raise ValidationError(f"confidence has shape {conf.shape}; expected ({n}, {k})")
        shown &= ~(conf < threshold)  # NaN confidence: shown
    if trails is not None:
        tr = np.asarray(trails, dtype=np.float64)
        if tr.ndim != 3 or tr.shape[1:] != (n, 2):
            raise ValidationError(f"trails have shape {tr.shape}; expected (T, {n}, 2)")
        for i in range(n):
            col = identity_colour(i, palette)
            ok = np.isfinite(tr[:, i]).all(-1)
            # draw consecutive visible segments only (a gap breaks the trail)
            for a in range(len(tr) - 1):
                if ok[a] and ok[a + 1]:
                    cv2.line(img, _pt(tr[a, i]), _pt(tr[a + 1, i]), col, 1, cv2.LINE_AA)
    for i in range(n):
        col = identity_colour(i, palette)
        for s, d in skeleton.edges:
            if shown[i, s] and shown[i, d]:
                cv2.line(img, _pt(pos[i, s]), _pt(pos[i, d]), col, thickness, cv2.LINE_AA)
        for j in np.flatnonzero(shown[i]):
            cv2.circle(img, _pt(pos[i, j]), radius, col, -1, cv2.LINE_AA)
        if names is not None and shown[i].any():
            x, y = _pt(pos[i][shown[i]].min(axis=0))
            cv2.putText(img, str(names[i]), (x, max(y - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        col, 1, cv2.LINE_AA)
    return img


def trail_points(positions: np.ndarray, keypoint: Optional[int] = None) -> np.ndarray:
    """Point followed by a trail: keypoint ``keypoint`` or the centroid of the visible keypoints.

    Parameters
    ----------
    positions
        ``(T, I, K, 2)``.

    Returns
    -------
    numpy.ndarray
        ``(T, I, 2)`` (NaN where nothing is visible).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if keypoint is not None:
        return pos[:, :, keypoint]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no point
        return np.nanmean(pos, axis=2)


__all__ = ["PALETTE", "draw_poses", "identity_colour", "trail_points"]
