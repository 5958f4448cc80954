"""Reading video frames for inference: a background thread that decodes, crops, resizes and batches.

Frames come from :class:`mapose.io.video.VideoReader` (exact seeking, so a resumed run starts at
the right frame; decodable frame count of truncated files).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from mapose.errors import ValidationError


@dataclass(frozen=True)
class VideoInfo:
    """What the analysis needs to know about a video.

    Attributes
    ----------
    path
        The video file.
    n_frames
        Number of frames reported by the container (the reader stops early if it holds fewer).
    fps
        Frames per second (``None`` when unknown).
    width, height
        Frame size in pixels.
    grey
        Whether the first frame is grey (its three channels equal); grey videos are analysed as one
        channel.
    """

    path: Path
    n_frames: int
    fps: Optional[float]
    width: int
    height: int
    grey: bool


def probe_video(path: str | Path) -> VideoInfo:
    """Decodable frame count, fps, size and colour of a video."""
    from mapose.io.video import VideoReader

    with VideoReader(path) as vr:
        return VideoInfo(Path(path), int(vr.n_frames), vr.fps, int(vr.width), int(vr.height),
                         not vr.is_color)


@dataclass(frozen=True)
class Preprocess:
    """How a video frame becomes a model input: crop, then resize.

    Parameters
    ----------
    crop
        ``(x, y, w, h)`` in video pixels, or ``None`` for the whole frame.
    scale
        Resize factor applied after cropping (``1.0``: none).  Coordinates map back with
        :func:`mapose.decode.model_to_video` using ``scale`` and ``origin``.
    grey
        Feed one channel (grey videos) instead of RGB.
    """

    crop: Optional[tuple[int, int, int, int]] = None
    scale: float = 1.0
    grey: bool = False

    def check(self, info: VideoInfo) -> None:
        if not (self.scale > 0 and np.isfinite(self.scale)):
            raise ValidationError(f"scale must be a positive number, got {self.scale}")
        if self.crop is not None:
            x, y, w, h = self.crop
            if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > info.width or y + h > info.height:
                raise ValidationError(
                    f"crop (x={x}, y={y}, w={w}, h={h}) does not fit in the {info.width}x{info.height} "
                    f"frames of {info.path}; expected 0 <= x, x + w <= {info.width}, 0 <= y, "
                    f"y + h <= {info.height}"
                )

    @property
    def origin(self) -> tuple[float, float]:
        return (0.0, 0.0) if self.crop is None else (float(self.crop[0]), float(self.crop[1]))

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """RGB (H, W, 3) frame -> model input uint8 (h, w) grey or (h, w, 3) RGB."""
        import cv2

        img = rgb
        if self.crop is not None:
            x, y, w, h = self.crop
            img = img[y:y + h, x:x + w]
        if self.scale != 1.0:
            interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
            img = cv2.resize(img, None, fx=self.scale, fy=self.scale, interpolation=interp)
        if img.ndim == 2:
            return img if self.grey else np.repeat(img[..., None], 3, axis=2)
        if self.grey:
            return np.ascontiguousarray(img[..., 0])
        return np.ascontiguousarray(img)


def parse_crop(text: str | Sequence[int] | None) -> Optional[tuple[int, int, int, int]]:
    """``"x,y,w,h"`` (video pixels) -> tuple; ``None`` stays ``None``."""
    if text is None:
        return None
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        vals = tuple(int(v) for v in parts)
    except ValueError:
        raise ValidationError(f"crop {text!r} is not four integers x,y,w,h") from None
    if len(vals) != 4:
        raise ValidationError(f"crop {text!r} has {len(vals)} numbers; expected four: x,y,w,h")
    return vals  # type: ignore[return-value]


class BatchReader:
    """Iterate over ``(frame_indices, images)`` batches, decoded by a background thread.

    Memory is bounded by ``queue_size`` batches.  Time spent decoding and preprocessing is in
    :attr:`read_seconds` (thread time, overlapping the consumer's work).

    Parameters
    ----------
    info
        The video (from :func:`probe_video`).
    pre
        Crop/resize/colour.
    start, stop
        Frame range ``[start, stop)``.
    batch_size
        Frames per batch (the last may be shorter).
    queue_size
        Batches decoded ahead.
    """

    def __init__(self, info: VideoInfo, pre: Preprocess, start: int, stop: int, batch_size: int,
                 queue_size: int = 4):
        if batch_size < 1:
            raise ValidationError(f"batch_size must be >= 1, got {batch_size}")
        self.info, self.pre = info, pre
        self.start, self.stop, self.batch_size = int(start), int(stop), int(batch_size)
        self._q: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._stop_evt = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.read_seconds = 0.0

    def _put(self, item) -> bool:
        while not self._stop_evt.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        from mapose.io.video import VideoReader

        try:
            with VideoReader(self.info.path) as vr:
                stop = min(self.stop, vr.n_frames)
                t0 = time.perf_counter()
                idx, imgs = [], []
                for i, rgb in vr.iter_frames(min(self.start, stop), stop, prefetch=0):
                    if self._stop_evt.is_set():
                        return
                    imgs.append(self.pre.apply(rgb))
                    idx.append(i)
                    if len(imgs) == self.batch_size:
                        self.read_seconds += time.perf_counter() - t0
                        if not self._put((np.asarray(idx), np.stack(imgs))):
                            return
                        t0 = time.perf_counter()
                        idx, imgs = [], []
                self.read_seconds += time.perf_counter() - t0
                if imgs:
                    if not self._put((np.asarray(idx), np.stack(imgs))):
                        return
            self._put(None)
        except BaseException as exc:  # hand the error to the consumer, which re-raises it
            self._put(exc)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self._thread = threading.Thread(target=self._work, name="mapose-video-reader", daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._q.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop_evt.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


__all__ = ["BatchReader", "Preprocess", "VideoInfo", "parse_crop", "probe_video"]
