"""Drawing for the dashboard's Behaviour annotation page: an ethogram strip (one row per behaviour and
subject, annotated bouts in colour, a classifier's predicted bouts as thin bars under them, the
current frame as a line), drawn straight into an RGB array so it is redrawn in milliseconds for
100,000-frame videos."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mapose.viz.overlay import identity_colour


def bins_any(on: np.ndarray, width: int) -> np.ndarray:
    """``(width,)`` bool: whether any frame of each of ``width`` equal spans of ``on`` is set."""
    on = np.asarray(on, bool)
    n = len(on)
    if n == 0:
        return np.zeros(width, bool)
    edges = np.minimum((np.arange(width) * n) // width, n - 1)
    return np.add.reduceat(on.astype(np.int32), edges) > 0


def ethogram_strip(rows: Sequence[np.ndarray], width: int = 1000, row_height: int = 18,
                   predicted: Optional[Sequence[Optional[np.ndarray]]] = None,
                   cursor: Optional[int] = None, colours: Optional[Sequence[int]] = None,
                   highlight: Optional[int] = None, annotated: Optional[np.ndarray] = None) -> np.ndarray:
    """``(len(rows) * row_height, width, 3)`` uint8 image of the bouts in ``rows`` (bool per frame,
    all of one length).

    ``predicted``: per row, a classifier's 0/1 per frame (or None), drawn as a thin bar at the
    bottom of the row.  ``cursor``: the current frame, a dark line.  ``colours``: palette index per
    row (:func:`mapose.viz.overlay.identity_colour`).  ``highlight``: the row being edited, on a
    light background.  ``annotated``: bool per frame, the frames someone looked at; spans without
    any are shaded grey on every row."""
    n_rows = max(len(rows), 1)
    img = np.full((n_rows * row_height, width, 3), 250, np.uint8)
    if annotated is not None:
        img[:, ~bins_any(annotated, width)] = 200
    n = len(rows[0]) if len(rows) else 0
    for r, on in enumerate(rows):
        top = r * row_height
        if r == highlight:
            img[top:top + row_height] = np.minimum(img[top:top + row_height], 232)
        img[top + row_height - 1] = 215  # row separator
        colour = identity_colour(colours[r] if colours is not None else r)
        cols = bins_any(on, width)
        img[top + 2:top + row_height - 6, cols] = colour
        pred = predicted[r] if predicted is not None and r < len(predicted) else None
        if pred is not None:
            img[top + row_height - 5:top + row_height - 2, bins_any(pred, width)] = (90, 90, 90)
    if cursor is not None and n:
        x = min(int(cursor) * width // n, width - 1)
        img[:, max(x - 1, 0):x + 1] = (200, 0, 0)
    return img


def strip_frame(x: float, width: int, n_frames: int) -> int:
    """The frame under pixel column ``x`` of a strip ``width`` pixels wide."""
    return int(np.clip(int(x) * n_frames // max(width, 1), 0, max(n_frames - 1, 0)))
