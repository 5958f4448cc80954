"""Appearance descriptors of animals: intensity/colour histograms inside each keypoint hull.

Look-alike animals (two flies, three black mice) differ little in motion and shape but often in
size, brightness, markings or colour.  :func:`hull_histograms` is a pure function of one image and
the keypoints found in it; :func:`video_descriptors` reads the frames (sampled evenly over the
video) and returns one descriptor per detection, NaN for detections in frames that were not read.
The tracker averages them per tracklet for stitching and per identity to re-identify animals after
occlusions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from mapose.errors import ValidationError

#: Histogram bins per channel.
DEFAULT_BINS = 16


def _iter_frames(video: str | Path, wanted: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame index, RGB image)`` for the wanted frames in increasing order (frames past
    the decodable end of the video are skipped)."""
    from mapose.io.video import VideoReader

    wanted = sorted(set(int(w) for w in wanted))
    if not wanted:
        return
    with VideoReader(video) as reader:
        for f in wanted:
            if f >= reader.n_frames:
                return
            yield f, reader[f]


def hull_histograms(image: np.ndarray, keypoints: np.ndarray, pad: float,
                    bins: int = DEFAULT_BINS) -> np.ndarray:
    """Normalised intensity (grey) or hue/saturation/value (colour) histograms inside each
    animal's keypoint hull, dilated by ``pad`` pixels.

    Parameters
    ----------
    image
        ``(H, W)`` or ``(H, W, 3)`` uint8 frame (RGB, as :class:`mapose.io.video.VideoReader`
        returns it).
    keypoints
        ``(n, K, 2)`` pixels of the animals in this frame, NaN = missing.
    pad
        Dilation of the hull, pixels (also the disc radius for single-keypoint animals).
    bins
        Bins per channel.

    Returns
    -------
    ``(n, bins)`` (grey) or ``(n, 3 * bins)`` (colour); each row sums to 1 (per channel block),
    NaN where the hull has no pixel inside the image.
    """
    import cv2

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    colour = img.ndim == 3 and not (np.array_equal(img[..., 0], img[..., 1])
                                    and np.array_equal(img[..., 1], img[..., 2]))
    if img.ndim == 3 and not colour:
        img = img[..., 0]
    chans = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV) if colour else img[..., None]
    nch = chans.shape[2]
    h, w = img.shape[:2]
    kp = np.asarray(keypoints, float)
    out = np.full((kp.shape[0], nch * bins), np.nan)
    p = max(int(round(pad)), 1)
    scale = np.array([180.0 if (colour and c == 0) else 256.0 for c in range(nch)])
    for i, pts in enumerate(kp):  # one animal at a time: a crop, a hull, a histogram
        vis = pts[np.isfinite(pts).all(axis=1)]
        if len(vis) == 0:
            continue
        x0, y0 = np.floor(vis.min(axis=0)).astype(int) - p
        x1, y1 = np.ceil(vis.max(axis=0)).astype(int) + p + 1
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        local = np.round(vis - [x0, y0]).astype(np.int32)
        if len(local) >= 3:
            hull = cv2.convexHull(local)
            cv2.fillConvexPoly(mask, hull, 1)
            cv2.polylines(mask, [hull], True, 1, thickness=2 * p)
        elif len(local) == 2:
            cv2.line(mask, tuple(map(int, local[0])), tuple(map(int, local[1])), 1, thickness=2 * p)
        else:
            cv2.circle(mask, tuple(map(int, local[0])), p, 1, thickness=-1)
        m = mask[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0].astype(bool)
        if not m.any():
            continue
        px = chans[cy0:cy1, cx0:cx1][m].astype(float)  # (P, nch)
        idx = np.minimum((px / scale * bins).astype(int), bins - 1) + np.arange(nch) * bins
        hist = np.bincount(idx.ravel(), minlength=nch * bins).astype(float)
        out[i] = hist / len(px)
    return out


def isolated(frame: np.ndarray, keypoints: np.ndarray, min_distance: float) -> np.ndarray:
    """``(N,)`` True for detections whose keypoint centroid is at least ``min_distance`` pixels
    from every other detection of the same frame (their hulls do not mix two animals)."""
    from mapose.tracking.costs import centroids

    frame = np.asarray(frame, np.int64)
    c = centroids(keypoints)
    out = np.ones(len(frame), bool)
    if len(frame) < 2:
        return out
    counts = np.bincount(frame)
    lo = np.searchsorted(frame, np.nonzero(counts >= 2)[0], side="left")
    for a in lo:
        b = a + counts[frame[a]]
        cc = c[a:b]
        d = np.hypot(cc[:, None, 0] - cc[None, :, 0], cc[:, None, 1] - cc[None, :, 1])
        np.fill_diagonal(d, np.inf)
        out[a:b] = ~(np.nan_to_num(d, nan=np.inf) < min_distance).any(axis=1)
    return out


def video_descriptors(
    video: str | Path,
    frame: np.ndarray,
    keypoints: np.ndarray,
    pad: float,
    max_frames: int = 600,
    must_frames: Optional[np.ndarray] = None,
    bins: int = DEFAULT_BINS,
    use: Optional[np.ndarray] = None,
    frame_offset: int = 0,
) -> np.ndarray:
    """Appearance descriptor of each detection, from frames sampled evenly over the video.

    Parameters
    ----------
    video
        Path of the video the detections come from.
    frame
        ``(N,)`` frame index of each detection (sorted).
    keypoints
        ``(N, K, 2)`` pixels.
    pad
        Hull dilation, pixels.
    max_frames
        Largest number of frames read (evenly spaced over the frames that hold detections).
    must_frames
        Frames read in any case (e.g. tracklet ends, where re-identification happens).
    bins
        Histogram bins per channel.
    use
        ``(N,)`` detections to describe (e.g. :func:`isolated` ones); the others get NaN.
    frame_offset
        Video frame number of ``frame`` 0 (detections of a part of a video, counted from its start).

    Returns
    -------
    ``(N, D)``; rows of NaN for detections in frames not read or not in ``use``.
    """
    frame = np.asarray(frame, np.int64)
    use = np.ones(len(frame), bool) if use is None else np.asarray(use, bool)
    uniq = np.unique(frame[use])
    if len(uniq) > max_frames:
        pick = uniq[np.linspace(0, len(uniq) - 1, max_frames).round().astype(int)]
    else:
        pick = uniq
    if must_frames is not None and len(must_frames):
        pick = np.union1d(pick, np.intersect1d(np.asarray(must_frames, np.int64), uniq))
    desc: Optional[np.ndarray] = None
    off_lo = np.searchsorted(frame, pick, side="left")
    off_hi = np.searchsorted(frame, pick, side="right")
    where = dict(zip(pick.tolist(), zip(off_lo.tolist(), off_hi.tolist())))
    for f, img in _iter_frames(video, pick + int(frame_offset)):
        lo, hi = where[f - int(frame_offset)]
        h = hull_histograms(img, keypoints[lo:hi], pad, bins)
        if desc is None:
            desc = np.full((len(frame), h.shape[1]), np.nan)
        desc[lo:hi] = np.where(use[lo:hi, None], h, np.nan)
    if desc is None:
        raise ValidationError(f"{video}: no frame could be read for appearance descriptors")
    return desc
