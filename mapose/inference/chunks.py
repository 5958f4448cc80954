"""Chunked temporary results that make an analysis resumable.

While a video is analysed, every ``chunk_size`` frames the decoded instances of those frames are
saved atomically as ``<out>.partial/chunk_<c>.npz``.  ``manifest.json`` holds a fingerprint of
everything that changes the results (video, model checksum, preprocessing, decoding options, batch
and chunk sizes); a later run with the same fingerprint continues after the last complete chunk, a
run with another fingerprint discards the stale chunks.  The folder is removed once the final
output is written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np

from mapose.core.detections import Detections
from mapose.core.skeleton import Skeleton
from mapose.errors import FormatError
from mapose.io import atomic_path, atomic_write_text


def fingerprint(spec: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``spec``."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


class ChunkStore:
    """The partial-results folder of one analysis.

    Parameters
    ----------
    folder
        ``<out>.partial`` folder (created on the first save).
    spec
        What the results depend on (JSON-able); its :func:`fingerprint` guards resuming.
    chunk_size
        Frames per chunk.
    first_frame
        Video frame the analysis starts at (chunk ``c`` begins at ``first_frame + c * chunk_size``).
    """

    def __init__(self, folder: str | Path, spec: dict[str, Any], chunk_size: int, first_frame: int = 0):
        self.folder = Path(folder)
        self.spec = spec
        self.key = fingerprint(spec)
        self.chunk_size = int(chunk_size)
        self.first_frame = int(first_frame)
        self.discarded_stale = False

    # ---------------------------------------------------------------- state on disk
    def _chunk_path(self, c: int) -> Path:
        return self.folder / f"chunk_{c:06d}.npz"

    def _manifest(self) -> Optional[dict]:
        p = self.folder / "manifest.json"
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            return None

    def open(self) -> tuple[int, bool]:
        """Prepare the folder; return ``(first chunk to compute, finished)``.

        ``finished`` is true when the last chunk (the end of the video) is already saved.
        """
        man = self._manifest()
        if man is not None and man.get("fingerprint") != self.key:
            shutil.rmtree(self.folder)
            self.discarded_stale = True
            man = None
        if man is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / "manifest.json",
                              json.dumps({"fingerprint": self.key, "spec": self.spec}, indent=1,
                                         sort_keys=True, default=str))
        c = 0
        while self._chunk_path(c).exists():
            with np.load(self._chunk_path(c)) as z:
                last = bool(z["last"])
            c += 1
            if last:
                return c, True
        return c, False

    def save(self, c: int, frames: np.ndarray, keypoints: np.ndarray, keypoint_scores: np.ndarray,
             instance_scores: np.ndarray, n_read: int, last: bool) -> None:
        """Save chunk ``c`` atomically (``n_read`` = frames it covers; ``last`` = video ended)."""
        with atomic_path(self._chunk_path(c)) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, frame=frames, keypoints=keypoints, keypoint_scores=keypoint_scores,
                         instance_scores=instance_scores, n_read=np.int64(n_read),
                         last=np.bool_(last))

    def load(self, skeleton: Skeleton, fps: Optional[float], source: str,
             min_keypoints: int = 1) -> Detections:
        """All saved chunks as one :class:`Detections` (``n_frames`` = the frame after the last analysed).

        Instances with fewer than ``min_keypoints`` keypoints are dropped chunk by chunk, so that
        memory holds only what the caller keeps (the decoder's singletons can outnumber animals).
        """
        parts = []
        n_frames = 0
        c = 0
        while self._chunk_path(c).exists():
            try:
                with np.load(self._chunk_path(c)) as z:
                    kp = z["keypoints"]
                    keep = np.isfinite(kp).all(-1).sum(-1) >= min(min_keypoints, kp.shape[1])
                    parts.append(Detections(
                        frame=z["frame"][keep], keypoints=kp[keep],
                        keypoint_scores=z["keypoint_scores"][keep],
                        instance_scores=z["instance_scores"][keep], skeleton=skeleton,
                        n_frames=self.first_frame + c * self.chunk_size + int(z["n_read"]), fps=fps,
                        source=source,
                    ))
                    n_frames = self.first_frame + c * self.chunk_size + int(z["n_read"])
                    last = bool(z["last"])
            except (OSError, KeyError, ValueError) as exc:
                raise FormatError(
                    f"{self._chunk_path(c)}: unreadable partial result ({exc}); delete {self.folder} "
                    "to start the analysis over"
                ) from exc
            c += 1
            if last:
                break
        if not parts:
            return Detections.empty(skeleton, self.first_frame, fps)
        det = Detections.concatenate(parts)
        return Detections(frame=det.frame, keypoints=det.keypoints, keypoint_scores=det.keypoint_scores,
                          instance_scores=det.instance_scores, skeleton=skeleton, n_frames=n_frames,
                          fps=fps, source=source)

    def remove(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)


__all__ = ["ChunkStore", "fingerprint"]
