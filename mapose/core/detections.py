"""The :class:`Detections` type: per-frame animal instances before identities exist."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Optional, Sequence

import numpy as np

from mapose.core.skeleton import Skeleton
from mapose.errors import ValidationError


@dataclass(frozen=True, repr=False)
class Detections:
    """Animal instances found in video frames, flat over all frames (a frame may hold 0..N).

    Arrays are indexed by instance ``i`` (``N`` instances in all, sorted by frame).

    Parameters
    ----------
    frame
        ``(N,)`` int64, frame index (0-based, in the video) of each instance.
    keypoints
        ``(N, K, 2)`` float64, ``(x, y)`` in pixels of the full-resolution frame; NaN = missing.
    keypoint_scores
        ``(N, K)`` float64 in ``[0, 1]`` (NaN where the keypoint is missing).
    instance_scores
        ``(N,)`` float64, confidence of each instance.
    skeleton
        The :class:`Skeleton` whose keypoints give the ``K`` axis.
    n_frames
        Number of frames in the source video (frames ``0..n_frames-1``; frames without instances are
        allowed).  Defaults to ``max(frame) + 1``.
    track_id
        Optional ``(N,)`` int64 identity/track index of each instance (-1 = unknown).
    track_names
        Names of the track ids (``track_names[track_id]``), when known.
    fps
        Frames per second of the source video, when known.
    source
        Free text: where the detections came from (file, model).
    """

    frame: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    instance_scores: np.ndarray
    skeleton: Skeleton
    n_frames: int = -1
    track_id: Optional[np.ndarray] = None
    track_names: tuple[str, ...] = ()
    fps: Optional[float] = None
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.skeleton, Skeleton):
            raise ValidationError(f"Detections.skeleton must be a Skeleton (mapose.core.Skeleton); got "
                                  f"{type(self.skeleton).__name__}")
        frame = np.asarray(self.frame, dtype=np.int64).reshape(-1)
        n = frame.shape[0]
        k = self.skeleton.n_keypoints
        kp = np.asarray(self.keypoints, dtype=np.float64)
        if kp.size == 0 and n == 0:
            kp = kp.reshape(0, k, 2)
        if kp.shape != (n, k, 2):
            raise ValidationError(
                f"Detections.keypoints has shape {kp.shape}; expected ({n}, {k}, 2) "
                f"(instances, keypoints of the skeleton, xy)"
            )
        ks = np.asarray(self.keypoint_scores, dtype=np.float64)
        if ks.size == 0 and n == 0:
            ks = ks.reshape(0, k)
        if ks.shape != (n, k):
            raise ValidationError(f"Detections.keypoint_scores has shape {ks.shape}; expected ({n}, {k})")
        inst = np.asarray(self.instance_scores, dtype=np.float64).reshape(-1)
        if inst.shape != (n,):
            raise ValidationError(f"Detections.instance_scores has shape {inst.shape}; expected ({n},)")
        if n and frame.min() < 0:
            raise ValidationError(f"Detections.frame has negative frame index {int(frame.min())}")
        tid = None
        if self.track_id is not None:
            tid = np.asarray(self.track_id, dtype=np.int64).reshape(-1)
            if tid.shape != (n,):
                raise ValidationError(f"Detections.track_id has shape {tid.shape}; expected ({n},)")
            if self.track_names and n and tid.max() >= len(self.track_names):
                raise ValidationError(
                    f"track_id {int(tid.max())} has no name; track_names has {len(self.track_names)}"
                )
        n_frames = int(self.n_frames)
        if n_frames < 0:
            n_frames = int(frame.max()) + 1 if n else 0
        elif n and frame.max() >= n_frames:
            raise ValidationError(
                f"Detections.frame has index {int(frame.max())} but n_frames is {n_frames}"
            )
        # Keep instances sorted by frame (stable, so the order within a frame is kept).
        if n and np.any(np.diff(frame) < 0):
            order = np.argsort(frame, kind="stable")
            frame, kp, ks, inst = frame[order], kp[order], ks[order], inst[order]
            tid = tid[order] if tid is not None else None
        for name, arr in (("frame", frame), ("keypoints", kp), ("keypoint_scores", ks),
                          ("instance_scores", inst), ("track_id", tid)):
            if arr is not None:
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "n_frames", n_frames)
        object.__setattr__(self, "track_names", tuple(str(t) for t in self.track_names))

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return int(self.frame.shape[0])

    def __repr__(self) -> str:
        """One line (the arrays are summarised, not printed)."""
        ids = ""
        if self.track_id is not None:
            known = self.track_id[self.track_id >= 0]
            names = self.track_names or tuple(str(t) for t in np.unique(known))
            ids = f", identities {list(names)}" if len(known) else ", no identities"
        fps = f", {self.fps:g} fps" if self.fps else ""
        src = f", from {self.source!r}" if self.source else ""
        return (f"Detections({len(self)} instances over {self.n_frames} frames, "
                f"{self.n_keypoints} keypoints{ids}{fps}{src})")

    @property
    def n_keypoints(self) -> int:
        return self.skeleton.n_keypoints

    def frame_slices(self) -> np.ndarray:
        """``(n_frames + 1,)`` offsets: instances of frame ``t`` are ``[offsets[t], offsets[t+1])``."""
        return np.searchsorted(self.frame, np.arange(self.n_frames + 1), side="left")

    def iter_frames(self) -> Iterator[tuple[int, slice]]:
        """Yield ``(frame, slice into the instance arrays)`` for every frame, empty ones included."""
        off = self.frame_slices()
        for t in range(self.n_frames):
            yield t, slice(int(off[t]), int(off[t + 1]))

    def counts(self) -> np.ndarray:
        """Number of instances in each frame, ``(n_frames,)``."""
        return np.bincount(self.frame, minlength=self.n_frames)

    # ------------------------------------------------------------------ transforms
    def select(self, mask_or_index: np.ndarray) -> "Detections":
        """Subset of the instances (boolean mask or integer index)."""
        idx = np.asarray(mask_or_index)
        return replace(
            self,
            frame=self.frame[idx],
            keypoints=self.keypoints[idx],
            keypoint_scores=self.keypoint_scores[idx],
            instance_scores=self.instance_scores[idx],
            track_id=None if self.track_id is None else self.track_id[idx],
        )

    def without_identities(self) -> "Detections":
        """Copy with ``track_id`` and ``track_names`` dropped."""
        return replace(self, track_id=None, track_names=())

    @staticmethod
    def concatenate(parts: Sequence["Detections"]) -> "Detections":
        """Join detections of the same skeleton (e.g. chunks of one video)."""
        if not parts:
            raise ValidationError("concatenate needs at least one Detections")
        sk = parts[0].skeleton
        for p in parts[1:]:
            sk.check_same_keypoints(p.skeleton, "detections to concatenate")
        has_tid = all(p.track_id is not None for p in parts)
        return Detections(
            frame=np.concatenate([p.frame for p in parts]),
            keypoints=np.concatenate([p.keypoints for p in parts]),
            keypoint_scores=np.concatenate([p.keypoint_scores for p in parts]),
            instance_scores=np.concatenate([p.instance_scores for p in parts]),
            skeleton=sk,
            n_frames=max(p.n_frames for p in parts),
            track_id=np.concatenate([p.track_id for p in parts]) if has_tid else None,
            track_names=parts[0].track_names if has_tid else (),
            fps=parts[0].fps,
            source=parts[0].source,
        )

    @classmethod
    def empty(cls, skeleton: Skeleton, n_frames: int = 0, fps: Optional[float] = None) -> "Detections":
        k = skeleton.n_keypoints
        return cls(
            frame=np.zeros(0, np.int64),
            keypoints=np.zeros((0, k, 2)),
            keypoint_scores=np.zeros((0, k)),
            instance_scores=np.zeros(0),
            skeleton=skeleton,
            n_frames=n_frames,
            fps=fps,
        )
