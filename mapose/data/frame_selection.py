"""Choosing the video frames worth labelling next.

A pose model learns from 50-200 labelled frames; which frames matters as much as how many.  Four
ways to choose them, one per ``method``:

- ``uniform``: evenly spaced over the video;
- ``kmeans``: frames that look different -- every frame of a candidate set is shrunk to a small grey
  thumbnail, the thumbnails are clustered with k-means and the frame nearest each cluster centre is
  taken (DeepLabCut's frame extraction works this way);
- ``pose`` (needs a pose file of the video): frames whose animals hold different postures -- each
  animal's pose becomes its pairwise keypoint distances (the same whatever the animal's position and
  heading), the poses are clustered with k-means, and for each cluster the frame nearest its centre
  is taken, so rare postures get a frame as soon as they form a cluster of their own;
- ``uncertain`` (needs a pose file with confidences, e.g. ``mapose analyze`` output): the frames
  where the model is least sure -- animals missing, keypoints missing or at low confidence.
  Confident mistakes escape it.  How far the model's test-time views (quarter turns) disagree was
  measured as a score for them and not kept: on the two-fly sample's five cross-validation folds
  (55 held-out frames) the fifth of the frames it ranked first held 23 % of the squared
  error and 41 % of the missed body parts, against 22 % and 39 % for this confidence score (a
  random fifth: 20 %; the truly worst fifth: 63 % of the squared error); per body part it told
  the ones more than 10 px off less well than confidence (ROC AUC 0.72 vs 0.80).  The worst frames
  (a grooming fly, a mislabelled one) are ones every view gets wrong the same way; ``pose`` finds
  such rare postures.

All methods keep chosen frames at least ``min_gap`` frames apart and away from frames already
labelled (``exclude``).  Videos are read as a stream: memory holds one thumbnail per candidate.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pandas as pd
import xarray as xr

from mapose.errors import ValidationError

METHODS = ("uniform", "kmeans", "pose", "uncertain")


def candidate_frames(n_frames: int, max_candidates: int, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
    """At most ``max_candidates`` evenly spaced frame indices of ``start..stop-1``."""
    stop = n_frames if stop is None else min(int(stop), n_frames)
    start = max(int(start), 0)
    if stop <= start:
        raise ValidationError(f"empty frame range {start}..{stop} (the video has {n_frames} frames)")
    if max_candidates < 1:
        raise ValidationError(f"max_candidates must be >= 1, got {max_candidates}")
    n = stop - start
    if n <= max_candidates:
        return np.arange(start, stop)
    return np.unique(np.linspace(start, stop - 1, max_candidates).round().astype(np.int64))


def thumbnails(video: str | Path, frames: np.ndarray, size: int = 24) -> np.ndarray:
    """``(len(frames), size * size)`` float32 grey thumbnails of the given frames (streamed in order).

    Each thumbnail is standardised (zero mean, unit variance), so a change of overall brightness
    does not make frames look different.
    """
    import cv2

    from mapose.io.video import VideoReader

    frames = np.asarray(frames, np.int64)
    out = np.zeros((len(frames), size * size), np.float32)
    if not len(frames):
        return out
    want = {int(f): j for j, f in enumerate(frames)}
    with VideoReader(video) as vr:
        dense = len(frames) * 4 >= (frames.max() - frames.min() + 1)
        if dense:  # decode through the range; cheaper than seeking
            it = ((i, img) for i, img in vr.iter_frames(int(frames.min()), int(frames.max()) + 1) if i in want)
        else:
            it = ((int(f), vr[int(f)]) for f in frames)
        for i, img in it:
            grey = img[..., 0] if img.ndim == 3 else img
            t = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
            out[want[i]] = (t - t.mean()) / (t.std() + 1e-6)
    return out


def kmeans_representatives(features: np.ndarray, n: int, seed: int = 0) -> list[np.ndarray]:
    """Cluster ``features`` into at most ``n`` groups; each group's rows, nearest its centre first."""
    from sklearn.cluster import KMeans

    features = np.asarray(features, np.float64)
    k = int(min(n, len(np.unique(features, axis=0))))
    if k < 1:
        return []
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(features)
    d = np.linalg.norm(features - km.cluster_centers_[km.labels_], axis=1)
    groups = []
    for c in range(k):
        rows = np.flatnonzero(km.labels_ == c)
        groups.append(rows[np.argsort(d[rows], kind="stable")])
    # big clusters first: with min_gap conflicts, the common appearances get their frame first
    groups.sort(key=len, reverse=True)
    return groups


def _positions(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame numbers ``(T,)``, positions ``(T, I, K, 2)`` and confidences ``(T, I, K)`` of Tracks."""
    pos = ds["position"].transpose("time", "individuals", "keypoints", "space").values.astype(np.float64)
    if "confidence" in ds:
        conf = ds["confidence"].transpose("time", "individuals", "keypoints").values.astype(np.float64)
    else:
        conf = np.ones(pos.shape[:3])
    frames = ds["frame"].values.astype(np.int64) if "frame" in ds.coords or "frame" in ds else np.arange(len(pos))
    return frames, pos, conf


def pose_features(ds: xr.Dataset, min_keypoints: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Per animal and frame, its pairwise keypoint distances (invariant to position and heading).

    Returns ``(frames, features)``: one row per animal-frame with at least ``min_keypoints`` of
    its keypoints present; missing distances take the median of their column.
    """
    frames, pos, _ = _positions(ds)
    t_n, i_n, k_n, _ = pos.shape
    if k_n < 2:
        raise ValidationError("the pose method needs animals with at least 2 keypoints")
    a, b = np.triu_indices(k_n, 1)
    flat = pos.reshape(t_n * i_n, k_n, 2)
    present = np.isfinite(flat).all(axis=-1).mean(axis=1)
    keep = present >= min_keypoints
    d = np.linalg.norm(flat[keep][:, a] - flat[keep][:, b], axis=-1)
    if not len(d):
        raise ValidationError(f"no animal in the pose file has {min_keypoints:.0%} of its keypoints")
    with warnings.catch_warnings():  # a pair of keypoints never seen together: all-NaN column
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nan_to_num(np.nanmedian(d, axis=0), nan=0.0)
    d = np.where(np.isfinite(d), d, med)
    rows = np.repeat(frames, i_n)[keep]
    return rows, d


def frame_uncertainty(ds: xr.Dataset, n_animals: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
    """How unsure the pose file is about each frame: ``(frames, score)``, score in ``[0, 1]``.

    The score is one minus the mean keypoint confidence over ``n_animals`` animals (default: the
    number of individuals in the file); a missing keypoint or a missing animal counts as confidence
    0, so frames where the model lost an animal or a body part come first.  Frames with more animals
    than ``n_animals`` use their ``n_animals`` most confident ones.
    """
    frames, pos, conf = _positions(ds)
    t_n, i_n, k_n, _ = pos.shape
    n_animals = i_n if n_animals is None else int(n_animals)
    if n_animals < 1:
        raise ValidationError(f"n_animals must be >= 1, got {n_animals}")
    c = np.where(np.isfinite(pos).all(axis=-1), np.nan_to_num(conf, nan=1.0), 0.0)  # (T, I, K)
    c = np.clip(c, 0.0, 1.0)
    per_animal = np.sort(c.mean(axis=2), axis=1)[:, ::-1]  # most confident first
    if per_animal.shape[1] < n_animals:
        per_animal = np.pad(per_animal, ((0, 0), (0, n_animals - per_animal.shape[1])))
    return frames, 1.0 - per_animal[:, :n_animals].mean(axis=1)


def _near(sorted_frames: np.ndarray, f: int, gap: int) -> bool:
    """Whether a frame of ``sorted_frames`` lies closer than ``gap`` to ``f`` (binary search)."""
    j = int(np.searchsorted(sorted_frames, f))
    return (j < len(sorted_frames) and sorted_frames[j] - f < gap) or (j > 0 and f - sorted_frames[j - 1] < gap)


def _spaced(order: Iterable[int], n: int, min_gap: int, taken: list[int], blocked: np.ndarray) -> list[int]:
    """Greedily take frames from ``order`` that are ``>= min_gap`` from ``taken`` and ``blocked``."""
    out: list[int] = []
    for f in order:
        if len(out) >= n:
            break
        f = int(f)
        if any(abs(f - t) < min_gap for t in taken) or _near(blocked, f, min_gap):
            continue
        taken.append(f)
        out.append(f)
    return out


def suggest_frames(
    video: str | Path,
    n: int,
    method: str = "kmeans",
    tracks: Optional[xr.Dataset] = None,
    exclude: Iterable[int] = (),
    min_gap: int = 10,
    max_candidates: int = 2000,
    start: int = 0,
    stop: Optional[int] = None,
    n_animals: Optional[int] = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Choose up to ``n`` frames of ``video`` to label (see the module docs for the methods).

    Parameters
    ----------
    video
        The video (its frame count bounds every method).
    n
        How many frames to choose.
    method
        ``uniform``, ``kmeans``, ``pose`` or ``uncertain``.
    tracks
        Tracks of ``video`` (``pose`` and ``uncertain`` only).
    exclude
        Frame indices already labelled; chosen frames keep ``min_gap`` from them.
    min_gap
        Smallest distance in frames between two chosen frames (0 or 1: any).
    max_candidates
        ``kmeans``: frames thumbnailed (evenly spaced); bounds time and memory on long videos.
    start, stop
        Frame range to choose from.
    n_animals
        ``uncertain``: how many animals each frame should hold (default: the file's individuals).
    seed
        Random seed of k-means.

    Returns
    -------
    DataFrame with columns ``frame`` (sorted), ``method`` and ``score`` (``uncertain``: the
    uncertainty; ``kmeans`` / ``pose``: the size of the cluster the frame stands for; ``uniform``: 0).
    """
    from mapose.io.video import VideoReader

    if method not in METHODS:
        raise ValidationError(f"unknown frame-selection method {method!r}; expected one of {', '.join(METHODS)}")
    if n < 1:
        raise ValidationError(f"the number of frames to choose must be >= 1, got {n}")
    with VideoReader(video) as vr:
        n_frames = int(vr.n_frames)
    stop = n_frames if stop is None else min(int(stop), n_frames)
    min_gap = max(int(min_gap), 1)
    blocked = np.asarray(sorted(set(int(f) for f in exclude)), np.int64)
    taken: list[int] = []
    scores: dict[int, float] = {}
    if method in ("pose", "uncertain"):
        if tracks is None:
            raise ValidationError(f"method {method!r} needs the video's pose file (tracks)")
    if method == "uniform":
        # evenly spaced picks, then (when some fall near excluded frames) the frames between them
        first = candidate_frames(n_frames, n, start, stop)
        rest = np.setdiff1d(candidate_frames(n_frames, n * 8, start, stop), first)
        chosen = _spaced(np.concatenate([first, rest]), n, min_gap, taken, blocked)
        scores = {f: 0.0 for f in chosen}
    elif method == "kmeans":
        cand = candidate_frames(n_frames, max_candidates, start, stop)
        feats = thumbnails(video, cand)
        chosen = _from_clusters(kmeans_representatives(feats, n, seed), cand, n, min_gap, taken, blocked, scores)
    elif method == "pose":
        rows, feats = pose_features(tracks)
        inside = (rows >= start) & (rows < stop)
        rows, feats = rows[inside], feats[inside]
        if not len(rows):
            raise ValidationError(f"the pose file has no animal in frames {start}..{stop}")
        if len(rows) > 20 * max_candidates:  # k-means on a spread-out subset keeps long videos fast
            sub = np.linspace(0, len(rows) - 1, 20 * max_candidates).round().astype(np.int64)
            rows, feats = rows[sub], feats[sub]
        scale = feats.std(axis=0)
        feats = feats / np.where(scale > 0, scale, 1.0)
        chosen = _from_clusters(kmeans_representatives(feats, n, seed), rows, n, min_gap, taken, blocked, scores)
    else:  # uncertain
        frames, u = frame_uncertainty(tracks, n_animals)
        inside = (frames >= start) & (frames < stop) & (frames < n_frames)
        frames, u = frames[inside], u[inside]
        order = np.argsort(-u, kind="stable")
        chosen = _spaced(frames[order], n, min_gap, taken, blocked)
        lookup = dict(zip(frames.tolist(), u.tolist()))
        scores = {f: float(lookup[f]) for f in chosen}
    chosen = sorted(chosen)
    return pd.DataFrame({"frame": np.asarray(chosen, np.int64), "method": method,
                         "score": [scores[f] for f in chosen]})


def _from_clusters(groups, frames_of_rows, n, min_gap, taken, blocked, scores) -> list[int]:
    """One frame per cluster (the one nearest its centre that respects the gaps), biggest clusters
    first; when clusters have no such frame left (all near excluded frames), further rounds take a
    second frame from the others until ``n`` are chosen or no frame is left."""
    chosen: list[int] = []
    while len(chosen) < n:
        before = len(chosen)
        for rows in groups:
            got = _spaced(frames_of_rows[rows], 1, min_gap, taken, blocked)
            if got:
                chosen += got
                scores[got[0]] = float(len(rows))
            if len(chosen) >= n:
                break
        if len(chosen) == before:
            break
    return chosen
