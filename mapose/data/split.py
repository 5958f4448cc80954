"""Train/validation splits of labelled frames that never put neighbouring frames on both sides."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mapose.errors import ConfigError


def split_frames(
    videos: Sequence[str],
    frames: Sequence[int],
    method: str = "blocks",
    *,
    threshold: int = 0,
    val_videos: Sequence[str] = (),
    n_blocks: int = 10,
    val_fraction: float = 0.1,
    seed: int = 0,
    val_blocks: Sequence[int] = (),
) -> np.ndarray:
    """Boolean validation mask over labelled frames.

    Parameters
    ----------
    videos
        Video (or image-folder) key of each labelled frame.
    frames
        Frame index of each labelled frame in its video.
    method
        ``frame_threshold`` (frame ``>= threshold`` validates), ``video`` (frames of the videos whose
        key contains one of ``val_videos`` validate; empty = the last video), ``blocks``
        (per video, the labelled frames sorted by time are cut into ``n_blocks`` contiguous blocks
        and ``round(val_fraction * n_blocks)`` of them, at least one, validate) or ``none``.
    seed
        Seed of the block choice.
    val_blocks
        ``blocks`` only: these block indices (0-based, in time order, the same in every video)
        validate instead of a seeded choice; one block per fold is a cross-validation.

    Returns
    -------
    ndarray
        ``(N,)`` bool, True = validation.
    """
    videos = [str(v) for v in videos]
    frames = np.asarray(frames, dtype=np.int64)
    n = len(frames)
    if len(videos) != n:
        raise ValueError(f"{len(videos)} video keys for {n} frames")
    val = np.zeros(n, bool)
    if method == "none":
        return val
    if method == "frame_threshold":
        val = frames >= threshold
    elif method == "video":
        keys = list(dict.fromkeys(videos))
        chosen = [k for k in keys if any(s in k for s in val_videos)] if val_videos else keys[-1:]
        if val_videos and not chosen:
            raise ConfigError(
                f"split.val_videos {list(val_videos)} match none of the videos: {', '.join(keys)}"
            )
        if len(chosen) == len(keys):
            raise ConfigError("split by video needs at least one video left for training; "
                              f"videos: {', '.join(keys)}")
        val = np.array([v in chosen for v in videos])
    elif method == "blocks":
        rng = np.random.default_rng(seed)
        for key in dict.fromkeys(videos):
            idx = np.flatnonzero(np.array(videos) == key)
            idx = idx[np.argsort(frames[idx], kind="stable")]
            nb = max(1, min(n_blocks, len(idx)))
            blocks = np.array_split(idx, nb)
            if len(val_blocks):
                bad = [b for b in val_blocks if not 0 <= int(b) < nb]
                if bad:
                    raise ConfigError(f"split.val_blocks {bad}: video {key} has {nb} blocks "
                                      f"(0 to {nb - 1}; {len(idx)} labelled frames, n_blocks {n_blocks})")
                pick = sorted({int(b) for b in val_blocks})
                if len(pick) == nb:
                    raise ConfigError(f"split.val_blocks {list(val_blocks)} are all {nb} blocks of video "
                                      f"{key}: nothing left to train on")
            else:
                n_val = max(1, int(round(val_fraction * nb))) if len(idx) > 1 else 0
                pick = rng.choice(nb, size=min(n_val, nb - 1) if nb > 1 else 0, replace=False)
            for b in pick:
                val[blocks[b]] = True
    else:
        raise ConfigError(f"unknown split method {method!r}; allowed: frame_threshold, video, blocks, none")
    if method != "none" and val.all():
        raise ConfigError(f"split {method!r} leaves no training frames (threshold={threshold})")
    if method == "frame_threshold" and not val.any():
        raise ConfigError(f"split frame_threshold {threshold}: no labelled frame is at or after it (the last "
                          f"is frame {int(frames.max()) if n else 'none'}), so nothing would validate; "
                          "lower it or use --val-fraction")
    return val
