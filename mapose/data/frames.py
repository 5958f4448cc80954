"""Decoding the labelled images of :class:`~mapose.core.labels.Labels` once, into memory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from mapose.core.labels import Labels
from mapose.errors import MissingFileError


def resolve_media(labels: Labels, path: str) -> Path:
    """Existing file for a video/image path written in a label file.

    Tries the path as written (relative to ``labels.root``), then a file of the same name beside the
    label file (label files often carry the labeller's absolute paths).
    """
    folders = [Path(f) for f in (labels.root, Path(labels.source).parent if labels.source else "") if f]
    return find_media(path, folders, labels.source or "?")


def find_media(path: str, folders: Sequence[Path], owner: str) -> Path:
    """Existing file for the image/video ``path`` named in the file ``owner``: the path as written
    (relative to the first of ``folders``), else a file of that name in one of ``folders``."""
    text = str(path).replace("\\", "/")
    p = Path(text)
    cands = [p if p.is_absolute() or not folders else Path(folders[0]) / p]
    cands += [Path(f) / p.name for f in folders]
    for c in cands:
        if c.exists():
            return c
    raise MissingFileError(
        f"{path}: image/video of label file {owner} not found; tried "
        + ", ".join(str(c) for c in dict.fromkeys(cands))
    )


def read_image(path: Path) -> np.ndarray:
    """An image file as ``(H, W, C)`` uint8 (C = 1 grey or 3 RGB; 16-bit scaled, alpha dropped)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MissingFileError(f"{path}: not a readable image")
    if img.dtype != np.uint8:
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(float(img.max()), 1.0))
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    return _bgr_to_rgb(img)


def _read_video_frames(path: Path, frames: list[int]) -> dict[int, np.ndarray]:
    """Frames of a video, decoded sequentially (exact; seeking in mp4 can be off by a frame)."""
    try:  # the project's reader when present
        from mapose.io.video import VideoReader  # type: ignore[import-not-found]
    except ImportError:
        VideoReader = None  # noqa: N806
    wanted = sorted(set(int(f) for f in frames))
    if VideoReader is not None:
        with VideoReader(path) as vr:
            return {f: _as_hwc(np.asarray(vr[f])) for f in wanted}
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise MissingFileError(f"{path}: cannot open video")
    out: dict[int, np.ndarray] = {}
    i = 0
    try:
        for f in wanted:
            while i < f:
                if not cap.grab():
                    break
                i += 1
            ok, img = cap.read()
            if not ok:
                raise MissingFileError(f"{path}: frame {f} could not be decoded (video too short?)")
            i += 1
            out[f] = _bgr_to_rgb(img)
    finally:
        cap.release()
    return out


def _bgr_to_rgb(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return img[..., None]
    if img.shape[2] == 3 and np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]):
        return np.ascontiguousarray(img[..., :1])  # grey video stored as BGR
    return np.ascontiguousarray(img[..., ::-1])


def _as_hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.dtype != np.uint8:
        raise MissingFileError(f"video frames must be 8-bit; got {img.dtype}")
    return np.ascontiguousarray(img)


def load_images(labels: Labels, indices: Optional[Sequence[int]] = None) -> list[Optional[np.ndarray]]:
    """The labelled images of ``labels`` as ``(H, W, C)`` uint8 (C = 1 grey or 3 RGB), in order.

    With ``indices``, only those images are decoded; the others are ``None`` in the list.
    """
    out: list[np.ndarray | None] = [None] * len(labels.images)
    wanted = range(len(labels.images)) if indices is None else sorted(set(int(i) for i in indices))
    by_video: dict[str, list[int]] = {}
    for i in wanted:
        ref = labels.images[i]
        if ref.video:
            by_video.setdefault(ref.video, []).append(i)
        else:
            out[i] = read_image(resolve_media(labels, ref.image))
    for video, idx in by_video.items():
        p = resolve_media(labels, video)
        frames = _read_video_frames(p, [labels.images[i].frame for i in idx])
        for i in idx:
            out[i] = frames[labels.images[i].frame]
    return out  # type: ignore[return-value]
