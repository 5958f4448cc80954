"""Video files: frame-accurate random access, sequential streaming, metadata, writing.

Frames are always returned as ``uint8`` arrays ``(height, width, 3)`` in RGB order (grey videos
give three equal channels; :attr:`VideoReader.is_color` tells them apart).

Frame counts and truncated files
--------------------------------
A container states how many frames it holds, but a file cut short (an interrupted copy or
recording) still claims them all.  On opening, :class:`VideoReader` decodes the last claimed frame
(one seek, about one keyframe interval of decoding); when that fails it finds the last decodable
frame by bisection (about ``log2(n)`` seeks).  So :attr:`VideoReader.n_frames` is the number of
*decodable* frames and :attr:`VideoReader.claimed_n_frames` what the container says; asking for a
frame past the decodable ones raises a :class:`~mapose.errors.FormatError` naming the last frame
that can be read.  Damage in the middle of a file is found only when decoding reaches it
(:meth:`VideoReader.iter_frames` raises there, naming the last decoded frame).

SLEAP packages
--------------
A path ``"<file.pkg.slp>#video0"`` opens the frames embedded in a SLEAP package (what
:func:`mapose.io.slp.read_labels` puts in an ``ImageRef`` when the package's source video cannot be
found).  Frame indices are those of the original video; only the embedded frames can be read and
:meth:`VideoReader.iter_frames` yields only them.

Image folders
-------------
A folder of images (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``, ``.tiff``; time-lapse
frames, a camera's image sequence) opens as a video whose frames are the images in natural order
(``img2.png`` before ``img10.png``).  It has no frame rate.  Every image must have the first one's
size; one that cannot be read or has another size raises a
:class:`~mapose.errors.FormatError` naming it when it is reached.

Seeking
-------
OpenCV seeks to the keyframe before the wanted frame and decodes forward.  After every seek the
reader checks the position the decoder reports; if it is not the requested frame (inexact seeking
on some codecs), it decodes forward from the start of the file instead, which is exact.  Reading
frames in increasing order never seeks when the next wanted frame is close (``<= 32`` frames
ahead): it decodes forward, which is both faster and exact.  ``exact_seek=True`` never uses the
container's seek at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from mapose.errors import FormatError, MaposeError, ValidationError
from mapose.io._files import PathLike, atomic_path, require_file

#: Frames ahead of the current position that are decoded rather than sought.
FORWARD_DECODE_LIMIT = 32

#: Extensions of the images a folder given as a video is read from.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: file extensions taken for videos
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".wmv")


class FrameIndexError(MaposeError, IndexError):
    """A frame index outside the video's frames."""


def _cv2():
    import cv2

    return cv2


def _open_capture(path: Path):
    cv2 = _cv2()
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise FormatError(
            f"{path}: cannot open as a video (not a video file, an unsupported codec, or a file "
            "cut short before its index)"
        )
    return cap


def _to_rgb(img: np.ndarray) -> np.ndarray:
    cv2 = _cv2()
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class VideoReader:
    """Read frames of a video file by index or as a stream.

    Parameters
    ----------
    path
        Video file (anything OpenCV/FFmpeg decodes: mp4, avi, mov, mkv ...).
    exact_seek
        Never use the container's seek; decode forward (from the start when going back).
        Slow for random access on long videos but exact on any codec.

    Attributes
    ----------
    n_frames : int
        Number of decodable frames (see the module docs on truncated files).
    claimed_n_frames : int
        Frame count written in the container.
    fps : float or None
        Frames per second (None when the container states none).
    width, height : int
        Frame size in pixels.
    is_color : bool
        False when the first frame's three channels are equal (a grey video).

    Examples
    --------
    >>> with VideoReader("clip.mp4") as vr:               # doctest: +SKIP
    ...     first = vr[0]                                 # (H, W, 3) uint8 RGB
    ...     for i, frame in vr.iter_frames(100, 200):     # frames 100..199 in order
    ...         pass
    """

    def __init__(self, path: PathLike, exact_seek: bool = False) -> None:
        cv2 = _cv2()
        self.exact_seek = bool(exact_seek)
        self._lock = threading.RLock()
        self._emb: Optional[_EmbeddedFrames] = None
        self._images: Optional[_ImageFolder] = None
        self._cap = None
        text = str(path)
        if Path(text).is_dir():
            self.path = Path(text)
            self._init_images()
            return
        if "#" in text and not Path(text).exists():
            base, key = text.rsplit("#", 1)
            self.path = require_file(base, "SLEAP package with embedded frames")
            self._init_embedded(key)
            return
        self.path = require_file(path, "video file")
        self._cap = _open_capture(self.path)
        self._pos = 0  # index of the frame the next read() returns
        cap = self._cap
        self.width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: Optional[float] = fps if np.isfinite(fps) and fps > 0 else None
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        self.codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        self.claimed_n_frames = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)
        first = self._read_next()
        if first is None:
            self.close()
            raise FormatError(f"{self.path}: no frame can be decoded (empty, damaged or truncated video)")
        self.is_color = not (
            np.array_equal(first[..., 0], first[..., 1]) and np.array_equal(first[..., 1], first[..., 2])
        )
        if self.width <= 0 or self.height <= 0:
            self.height, self.width = first.shape[:2]
        self.n_frames = self._decodable_count(first)
        self.truncated = self.n_frames < self.claimed_n_frames

    def _init_embedded(self, key: str) -> None:
        self._emb = _EmbeddedFrames(self.path, key)
        e = self._emb
        self.fps, self.codec = e.fps, e.format
        self.height, self.width = e.height, e.width
        self.claimed_n_frames = self.n_frames = e.n_frames
        self.truncated = False
        self.is_color = e.channels == 3

    def _init_images(self) -> None:
        self._images = im = _ImageFolder(self.path)
        self.fps, self.codec = None, "images"
        self.height, self.width = im.height, im.width
        self.claimed_n_frames = self.n_frames = len(im.files)
        self.truncated = False
        self.is_color = im.is_color

    # ------------------------------------------------------------------ low level
    def _read_next(self) -> Optional[np.ndarray]:
        ok, img = self._cap.read()
        if not ok or img is None:
            return None
        self._pos += 1
        return _to_rgb(img)

    def _reopen(self) -> None:
        self._cap.release()
        self._cap = _open_capture(self.path)
        self._pos = 0

    def _seek_read(self, i: int) -> Optional[np.ndarray]:
        """Seek with the container and read frame ``i``; None if the decoder lands elsewhere."""
        cv2 = _cv2()
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, img = self._cap.read()
        landed = int(round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)))
        if not ok or img is None or landed != i + 1:
            self._reopen()  # leave the decoder in a known state
            return None
        self._pos = i + 1
        return _to_rgb(img)

    def _decode_forward_to(self, i: int) -> Optional[np.ndarray]:
        if i < self._pos:
            self._reopen()
        while self._pos < i:
            if not self._cap.grab():
                return None
            self._pos += 1
        return self._read_next()

    def _decodable_count(self, first: np.ndarray) -> int:
        n = self.claimed_n_frames
        if n <= 1:
            # Unknown count (some streams): count by decoding.
            count = 1
            while self._cap.grab():
                count += 1
            self._reopen()
            return count
        if self._seek_read(n - 1) is not None:
            self._reopen()
            return n
        lo, hi = 0, n - 1  # frame lo decodes, frame hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._seek_read(mid) is not None:
                lo = mid
            else:
                hi = mid
        # Bisection relies on the landing check of _seek_read (the decoder reports the frame it
        # reached); a truncated mp4 makes seeks past the cut land on the last decodable frame.
        self._reopen()
        return lo + 1

    def _check_index(self, i: int) -> int:
        i = int(i)
        if i < 0:
            i += self.n_frames
        if i < 0 or i >= max(self.claimed_n_frames, self.n_frames):
            raise FrameIndexError(
                f"{self.path}: frame {i} is outside the video's {self.n_frames} frames (0..{self.n_frames - 1})"
            )
        if i >= self.n_frames:
            raise FormatError(
                f"{self.path}: truncated video: the container claims {self.claimed_n_frames} frames but "
                f"decoding stops after frame {self.n_frames - 1}; frame {i} cannot be read"
            )
        return i

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return self.n_frames

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(n_frames, height, width, 3)``."""
        return (self.n_frames, self.height, self.width, 3)

    def __getitem__(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based; negative counts from the end) as ``(H, W, 3)`` uint8 RGB."""
        if isinstance(index, slice):
            return np.stack([self[i] for i in range(*index.indices(self.n_frames))])
        i = self._check_index(index)
        if self._emb is not None:
            return self._emb.frame(i)
        if self._images is not None:
            return self._images.frame(i)
        with self._lock:
            if self._cap is None:
                raise MaposeError(f"{self.path}: the video reader is closed")
            if self.exact_seek or 0 <= i - self._pos <= FORWARD_DECODE_LIMIT:
                img = self._decode_forward_to(i)
            else:
                img = self._seek_read(i)
                if img is None:
                    img = self._decode_forward_to(i)
        if img is None:
            raise FormatError(
                f"{self.path}: frame {i} cannot be decoded (damaged video; the container claims "
                f"{self.claimed_n_frames} frames)"
            )
        return img

    def iter_frames(
        self, start: int = 0, stop: Optional[int] = None, prefetch: int = 8
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Decode frames ``start..stop-1`` in order; yields ``(frame_index, frame)``.

        Decoding runs in a background thread with at most ``prefetch`` frames waiting, so memory
        stays bounded whatever the video's length.  Uses its own decoder: random access on the
        same reader is not disturbed.

        Parameters
        ----------
        start, stop
            Frame range (``stop`` defaults to :attr:`n_frames`; it may not exceed it).
        prefetch
            Frames decoded ahead (0 = decode in the calling thread).

        Raises
        ------
        FormatError
            If decoding stops before ``stop`` (damaged or truncated file), naming the last frame
            decoded.
        """
        stop = self.n_frames if stop is None else int(stop)
        start = int(start)
        if not 0 <= start <= stop:
            raise FrameIndexError(f"{self.path}: invalid frame range {start}..{stop}")
        if stop > self.n_frames:
            self._check_index(stop - 1)  # raises the truncation / range error
        if self._emb is not None:  # only the frames the package holds
            for i in self._emb.frame_numbers:
                if start <= i < stop:
                    yield int(i), self._emb.frame(int(i))
            return
        if prefetch <= 0:
            yield from self._iter_sync(start, stop)
            return
        q: "queue.Queue" = queue.Queue(maxsize=int(prefetch))
        halt = threading.Event()
        worker = threading.Thread(target=self._producer, args=(start, stop, q, halt), daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            halt.set()
            while worker.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    worker.join(0.05)

    def _iter_sync(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        if self._images is not None:
            for i in range(start, stop):
                yield i, self._images.frame(i)
            return
        cv2 = _cv2()
        cap = _open_capture(self.path)
        try:
            pos = 0
            if start > FORWARD_DECODE_LIMIT and not self.exact_seek:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
                pos = int(round(cap.get(cv2.CAP_PROP_POS_FRAMES)))
                if pos != start:
                    cap.release()
                    cap = _open_capture(self.path)
                    pos = 0
            while pos < start:
                if not cap.grab():
                    raise FormatError(
                        f"{self.path}: decoding stops after frame {pos - 1}; cannot reach frame {start}"
                    )
                pos += 1
            for i in range(start, stop):
                ok, img = cap.read()
                if not ok or img is None:
                    raise FormatError(
                        f"{self.path}: decoding stops after frame {i - 1} of {self.claimed_n_frames} "
                        "claimed (damaged or truncated video)"
                    )
                yield i, _to_rgb(img)
        finally:
            cap.release()

    def _producer(self, start: int, stop: int, q: "queue.Queue", halt: threading.Event) -> None:
        def put(item) -> bool:
            while not halt.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for item in self._iter_sync(start, stop):
                if not put(item):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        if getattr(self, "_lock", None) is None:
            return
        with self._lock:
            if getattr(self, "_cap", None) is not None:
                self._cap.release()
                self._cap = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:  # no module globals here: at interpreter exit they may already be gone
            self.close()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        return (
            f"VideoReader({str(self.path)!r}, {self.n_frames} frames, {self.width}x{self.height}, "
            f"fps={self.fps})"
        )

    def info(self) -> dict:
        """Metadata as a plain dict (see :func:`probe_video`)."""
        return {
            "path": str(self.path),
            "n_frames": self.n_frames,
            "claimed_n_frames": self.claimed_n_frames,
            "truncated": self.truncated,
            "fps": self.fps,
            "duration_s": (self.n_frames / self.fps) if self.fps else None,
            "width": self.width,
            "height": self.height,
            "is_color": self.is_color,
            "codec": self.codec,
            "size_bytes": (self._images.size_bytes() if self._images is not None
                           else self.path.stat().st_size),
        }


def probe_video(path: PathLike, check_decodable: bool = True) -> dict:
    """Metadata of a video file.

    Parameters
    ----------
    path
        Video file.
    check_decodable
        Decode the first and last frames to find truncation and the true frame count (a fraction
        of a second).  When False only the container's header is read: ``n_frames`` is then the
        claimed count, ``truncated`` and ``is_color`` are None.

    Returns
    -------
    dict
        ``path``, ``n_frames`` (decodable), ``claimed_n_frames`` (container), ``truncated``,
        ``fps``, ``duration_s`` (seconds), ``width``/``height`` (pixels), ``is_color``, ``codec``
        (FourCC), ``size_bytes``.

    Raises
    ------
    MissingFileError, FormatError
        Missing file; a file that is not a decodable video.
    """
    if check_decodable or Path(path).is_dir():
        with VideoReader(path) as vr:
            return vr.info()
    cv2 = _cv2()
    p = require_file(path, "video file")
    cap = _open_capture(p)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps_val = fps if np.isfinite(fps) and fps > 0 else None
        n = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0), 0)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        return {
            "path": str(p),
            "n_frames": n,
            "claimed_n_frames": n,
            "truncated": None,
            "fps": fps_val,
            "duration_s": n / fps_val if fps_val else None,
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "is_color": None,
            "codec": "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 "),
            "size_bytes": p.stat().st_size,
        }
    finally:
        cap.release()


def video_checksum(path: PathLike, block: int = 1 << 20) -> str:
    """Fast fingerprint of a video for provenance: sha256 of its size, first and last ``block`` bytes.

    Reads at most ``2 * block`` bytes (1 MiB each by default) whatever the file size.

    A folder of images is fingerprinted by its images' names and sizes and the first and last
    image's bytes.

    Returns
    -------
    str
        ``"sha256-head-tail:<hex digest>"``.
    """
    if Path(path).is_dir():
        files = image_files(Path(path))
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.name}\0{f.stat().st_size}\n".encode())
        for f in dict.fromkeys((files[0], files[-1])):
            h.update(video_checksum(f, block).encode())
        return f"sha256-head-tail:{h.hexdigest()}"
    p = require_file(path, "video file")
    size = p.stat().st_size
    h = hashlib.sha256()
    h.update(str(size).encode())
    with open(p, "rb") as f:
        h.update(f.read(block))
        if size > block:
            f.seek(max(size - block, block))
            h.update(f.read(block))
    return f"sha256-head-tail:{h.hexdigest()}"


class VideoWriter:
    """Write an mp4 (codec ``mp4v``) atomically: frames go to a temporary file renamed on close.

    Parameters
    ----------
    path
        Output file; written only when :meth:`close` succeeds (nothing partial on errors).
    fps
        Frames per second (> 0).
    size
        ``(width, height)`` in pixels.
    codec
        FourCC (default ``"mp4v"``, available in every OpenCV build).

    Examples
    --------
    >>> with VideoWriter("out.mp4", fps=30, size=(640, 480)) as vw:   # doctest: +SKIP
    ...     vw.write(frame_rgb)          # (480, 640, 3) uint8 RGB, or (480, 640) grey
    """

    def __init__(self, path: PathLike, fps: float, size: tuple[int, int], codec: str = "mp4v") -> None:
        cv2 = _cv2()
        if not (fps and np.isfinite(fps) and fps > 0):
            raise ValidationError(f"VideoWriter fps must be a positive number, got {fps!r}")
        w, h = (int(v) for v in size)
        if w <= 0 or h <= 0:
            raise ValidationError(f"VideoWriter size must be (width, height) > 0, got {size!r}")
        self.path = Path(path)
        self.size = (w, h)
        self.fps = float(fps)
        self.n_written = 0
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self._vw = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*codec), self.fps, (w, h))
        if not self._vw.isOpened():
            self._abort()
            raise FormatError(f"{self.path}: OpenCV cannot write video with codec {codec!r}")

    def write(self, frame: np.ndarray) -> None:
        """Append one frame: uint8 ``(height, width, 3)`` RGB or ``(height, width)`` grey."""
        cv2 = _cv2()
        if self._vw is None:
            raise MaposeError(f"{self.path}: the video writer is closed")
        img = np.asarray(frame)
        w, h = self.size
        if img.shape[:2] != (h, w) or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
            raise ValidationError(
                f"frame of shape {img.shape} does not fit {self.path} of size {w}x{h}; "
                f"expected ({h}, {w}, 3) RGB or ({h}, {w})"
            )
        if img.dtype != np.uint8:
            raise ValidationError(f"frame dtype is {img.dtype}; expected uint8")
        bgr = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR if img.ndim == 2 else cv2.COLOR_RGB2BGR)
        self._vw.write(bgr)
        self.n_written += 1

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._vw is None:
            return
        self._vw.release()
        self._vw = None
        self._stack.close()  # renames the temporary file onto ``path``

    def _abort(self) -> None:
        if self._vw is not None:
            self._vw.release()
            self._vw = None
        with contextlib.suppress(_Abort):
            self._stack.__exit__(_Abort, _Abort(), None)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()

    def __del__(self) -> None:
        try:  # no module globals here: at interpreter exit they may already be gone
            if self._vw is not None:
                self._abort()
        except Exception:  # noqa: BLE001
            pass


class _EmbeddedFrames:
    """Frames stored inside a SLEAP package (``.pkg.slp``): group ``key`` (e.g. ``video0``) with a
    ``video`` dataset of encoded images (PNG/JPEG bytes, one row per frame) or raw arrays, and
    ``frame_numbers`` giving each row's frame index in the original video."""

    def __init__(self, path: Path, key: str) -> None:
        import h5py

        self.path, self.key = path, key.split("/")[0]
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise FormatError(f"{path}: cannot open as HDF5 ({exc})") from exc
        with f:
            if self.key not in f or "video" not in f[self.key]:
                groups = [k for k in f if isinstance(f[k], h5py.Group) and "video" in f[k]]
                raise FormatError(
                    f"{path}: no embedded video {self.key!r}; embedded videos: {', '.join(groups) or 'none'}"
                )
            d = f[self.key]["video"]
            attrs = dict(d.attrs)
            self.frame_numbers = np.asarray(
                f[self.key]["frame_numbers"][()] if "frame_numbers" in f[self.key] else np.arange(len(d)),
                dtype=np.int64,
            )
        fmt = attrs.get("format", "")
        self.format = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
        self.channel_order = str(attrs.get("channel_order", "RGB"))
        self.channels = int(attrs.get("channels", 1))
        self.height, self.width = int(attrs.get("height", 0)), int(attrs.get("width", 0))
        fps = float(attrs.get("fps", 0) or 0)
        self.fps = fps if np.isfinite(fps) and fps > 0 else None
        last = int(self.frame_numbers.max()) + 1 if len(self.frame_numbers) else 0
        self.n_frames = max(int(attrs.get("frames", 0) or 0), last)
        self.row = {int(f): r for r, f in enumerate(self.frame_numbers)}
        if (self.height <= 0 or self.width <= 0) and len(self.frame_numbers):
            self.height, self.width = self.frame(int(self.frame_numbers[0])).shape[:2]

    def frame(self, i: int) -> np.ndarray:
        import h5py

        cv2 = _cv2()
        if i not in self.row:
            raise FormatError(
                f"{self.path}: frame {i} is not embedded in this SLEAP package "
                f"({len(self.row)} frames are, e.g. {sorted(self.row)[:5]})"
            )
        with h5py.File(self.path, "r") as f:
            data = f[self.key]["video"][self.row[i]]
        if self.format:
            img = cv2.imdecode(np.frombuffer(np.asarray(data).tobytes(), np.uint8), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise FormatError(f"{self.path}: embedded frame {i} cannot be decoded ({self.format})")
            bgr = self.channel_order.upper() == "BGR"
        else:
            img = np.asarray(data, dtype=np.uint8)
            bgr = False
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if img.ndim == 2:
            return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if bgr else np.ascontiguousarray(img[..., :3])


def image_files(folder: PathLike) -> list[Path]:
    """The images of ``folder`` that :class:`VideoReader` reads as its frames, in natural order
    (``img2.png`` before ``img10.png``); raises :class:`~mapose.errors.FormatError` when it holds none."""
    import re

    def natural(p: Path):
        return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]

    folder = Path(folder)
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                   key=natural)
    if not files:
        raise FormatError(f"{folder}: a folder with no images ({', '.join(IMAGE_SUFFIXES)}); "
                          "expected a video file or a folder of frames")
    return files


class _ImageFolder:
    """The images of a folder as the frames of a video (see the module docs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = image_files(path)
        first = self._read(0)
        self.height, self.width = first.shape[:2]
        self.is_color = not (np.array_equal(first[..., 0], first[..., 1])
                             and np.array_equal(first[..., 1], first[..., 2]))

    def _read(self, i: int) -> np.ndarray:
        cv2 = _cv2()
        f = self.files[i]
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise FormatError(f"{f}: frame {i} of the image folder {self.path} cannot be read as an image")
        return _to_rgb(img)

    def frame(self, i: int) -> np.ndarray:
        img = self._read(i)
        if img.shape[:2] != (self.height, self.width):
            raise FormatError(
                f"{self.files[i]}: frame {i} of the image folder {self.path} is {img.shape[1]}x{img.shape[0]} "
                f"px; the folder's first image is {self.width}x{self.height} (a video's frames share one size)"
            )
        return img

    def size_bytes(self) -> int:
        return int(sum(f.stat().st_size for f in self.files))


class _Abort(Exception):
    """Internal: unwinds the atomic write without renaming the temporary file."""


def video_of_pose(pose_path: PathLike, ds=None, only_video_nearby: bool = False) -> Optional[str]:
    """The video a pose file was made from, when it can be told: the ``video_path`` its tracks
    record (or a file of that name beside the pose file), else a video beside it whose name starts
    with the pose file's stem or begins it (``m3v1.mp4`` for ``m3v1DLC_resnet50....h5``).
    ``only_video_nearby``: else the only video in the pose file's folder (a guess, for defaults a
    person sees).  ``None`` when none is found."""
    pp = Path(pose_path)
    if ds is not None and ds.attrs.get("video_path"):
        p = Path(ds.attrs["video_path"])
        if p.exists():
            return str(p)
        if (pp.parent / p.name).exists():
            return str(pp.parent / p.name)
    if not pp.parent.is_dir():
        return None
    videos = sorted(c for c in pp.parent.iterdir() if c.suffix.lower() in VIDEO_SUFFIXES)
    stem = pp.name.split(".")[0]
    for cand in videos:
        if cand.stem.startswith(stem) or stem.startswith(cand.stem):
            return str(cand)
    return str(videos[0]) if only_video_nearby and len(videos) == 1 else None


__all__ = [
    "FrameIndexError",
    "IMAGE_SUFFIXES",
    "VideoReader",
    "VIDEO_SUFFIXES",
    "VideoWriter",
    "image_files",
    "probe_video",
    "video_checksum",
    "video_of_pose",
]
