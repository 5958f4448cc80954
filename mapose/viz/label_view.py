"""The picture of a frame being labelled: a zoomed crop with the animals drawn on it, and the
mapping between its pixels and the frame's (used by the dashboard's Labelling page).

Frame coordinates put pixel centres at integers (as everywhere in mapose); a displayed pixel
``(u, v)`` covers frame coordinates ``x0 + (u + 0.5) / scale - 0.5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from mapose.core.skeleton import Skeleton
from mapose.errors import ValidationError
from mapose.viz.overlay import _pt, identity_colour

#: Colour of predictions not yet corrected (RGB).
PREDICTED_COLOUR = (200, 200, 200)


@dataclass(frozen=True)
class LabelView:
    """A crop of a frame, ``(x0, y0)`` its top-left frame pixel, ``width`` x ``height`` frame
    pixels, shown ``scale`` times larger."""

    x0: int
    y0: int
    width: int
    height: int
    scale: float

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` of the displayed picture, pixels."""
        return int(round(self.width * self.scale)), int(round(self.height * self.scale))

    def to_frame(self, u: float, v: float) -> tuple[float, float]:
        """Frame coordinates of displayed pixel ``(u, v)``."""
        return (self.x0 + (float(u) + 0.5) / self.scale - 0.5,
                self.y0 + (float(v) + 0.5) / self.scale - 0.5)

    def shifted(self, dx: float, dy: float, frame_size: tuple[int, int]) -> "LabelView":
        """The same crop moved by ``(dx, dy)`` frame pixels, kept inside a ``(width, height)`` frame."""
        x0 = int(np.clip(round(self.x0 + dx), 0, max(int(frame_size[0]) - self.width, 0)))
        y0 = int(np.clip(round(self.y0 + dy), 0, max(int(frame_size[1]) - self.height, 0)))
        return LabelView(x0, y0, self.width, self.height, self.scale)

    def to_display(self, points: np.ndarray) -> np.ndarray:
        """Displayed coordinates of frame points ``(..., 2)`` (NaN stays NaN)."""
        p = np.asarray(points, np.float64)
        return (p - np.array([self.x0, self.y0]) + 0.5) * self.scale - 0.5


def make_view(frame_size: tuple[int, int], centre: Optional[tuple[float, float]] = None, zoom: float = 1.0,
              max_display: int = 900) -> LabelView:
    """The crop of a ``(width, height)`` frame ``zoom`` times magnified around ``centre`` (the
    frame's centre when None), fitted into ``max_display`` pixels on its longer side."""
    w, h = int(frame_size[0]), int(frame_size[1])
    if w <= 0 or h <= 0:
        raise ValidationError(f"frame size {frame_size} must be positive")
    if not zoom >= 1:
        raise ValidationError(f"zoom {zoom} must be at least 1")
    cw, ch = max(1, int(round(w / zoom))), max(1, int(round(h / zoom)))
    cx, cy = (w / 2, h / 2) if centre is None or not np.isfinite(centre).all() else centre
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    scale = float(max_display) / max(cw, ch)
    return LabelView(x0, y0, cw, ch, scale)


def fit_view(frame_size: tuple[int, int], points: np.ndarray, zoom: Optional[float] = None,
             max_display: int = 900, margin: float = 2.5, min_size: float = 40.0,
             max_zoom: float = 8.0) -> LabelView:
    """A view centred on ``points`` ``(N, 2)`` (NaN ignored; the whole frame when none).

    With ``zoom`` None the magnification makes the points' extent (at least ``min_size`` pixels)
    fill ``1 / margin`` of the view, between 1 and ``max_zoom``."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        return make_view(frame_size, None, 1.0 if zoom is None else zoom, max_display)
    lo, hi = p.min(axis=0), p.max(axis=0)
    if zoom is None:
        extent = max(float((hi - lo).max()), min_size)
        zoom = float(np.clip(min(frame_size) / (margin * extent), 1.0, max_zoom))
    return make_view(frame_size, tuple((lo + hi) / 2), zoom, max_display)


def draw_label_frame(
    image: np.ndarray,
    view: LabelView,
    skeleton: Skeleton,
    points: Sequence[np.ndarray],
    user: Sequence[bool],
    colour_index: Sequence[int],
    selected: Optional[tuple[int, int]] = None,
    radius: int = 5,
    names: bool = True,
) -> np.ndarray:
    """The crop of ``image`` seen through ``view`` with animals drawn on it.

    Parameters
    ----------
    image
        ``(H, W, 3)`` uint8 RGB frame.
    view
        Crop and magnification (:func:`make_view`).
    skeleton
        Keypoint names and edges.
    points
        One ``(K, 2)`` array per animal, frame pixels (NaN = not placed).
    user
        Per animal: True for a person's labels (filled discs), False for a prediction (rings).
    colour_index
        Per animal: index into the identity palette.
    selected
        ``(animal, keypoint)`` to ring in white and name, or None.
    radius
        Disc radius in displayed pixels.
    names
        Write the body-part names of the selected animal.

    Returns
    -------
    numpy.ndarray
        ``view.display_size`` RGB uint8 picture.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValidationError(f"image has shape {img.shape} and dtype {img.dtype}; expected (H, W, 3) uint8")
    crop = img[view.y0:view.y0 + view.height, view.x0:view.x0 + view.width]
    interp = cv2.INTER_NEAREST if view.scale >= 3 else cv2.INTER_LINEAR
    out = np.ascontiguousarray(cv2.resize(crop, view.display_size, interpolation=interp))
    for a, (pts, is_user, ci) in enumerate(zip(points, user, colour_index)):
        d = view.to_display(pts)
        ok = np.isfinite(d).all(axis=1)
        col = identity_colour(ci) if is_user else PREDICTED_COLOUR
        for s, t in skeleton.edges:
            if ok[s] and ok[t]:
                cv2.line(out, _pt(d[s]), _pt(d[t]), col, 1, cv2.LINE_AA)
        for k in np.flatnonzero(ok):
            if is_user:
                cv2.circle(out, _pt(d[k]), radius, col, -1, cv2.LINE_AA)
                cv2.circle(out, _pt(d[k]), radius, (0, 0, 0), 1, cv2.LINE_AA)
            else:
                cv2.circle(out, _pt(d[k]), radius, col, 1, cv2.LINE_AA)
            if names and selected is not None and selected[0] == a:
                cv2.putText(out, skeleton.keypoints[k], (_pt(d[k])[0] + radius + 2, _pt(d[k])[1] - 2),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.4, col, 1, cv2.LINE_AA)
    if selected is not None and 0 <= selected[0] < len(points):
        p = view.to_display(points[selected[0]][selected[1]])
        if np.isfinite(p).all():
            cv2.circle(out, _pt(p), radius + 4, (255, 255, 255), 2, cv2.LINE_AA)
    return out
