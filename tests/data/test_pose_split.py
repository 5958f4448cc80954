"""Train/validation splits."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.data.split import split_frames
from mapose.errors import ConfigError


def test_frame_threshold_split():
    frames = [0, 100, 650, 700, 852]
    val = split_frames(["v"] * 5, frames, "frame_threshold", threshold=700)
    assert val.tolist() == [False, False, False, True, True]


def test_blocks_are_contiguous_in_time():
    frames = np.arange(0, 1000, 10)
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(frames))
    val = split_frames(["v"] * len(frames), frames[perm], "blocks", n_blocks=10, val_fraction=0.2)
    v_sorted = val[np.argsort(frames[perm])]
    assert v_sorted.sum() == 20
    changes = np.flatnonzero(np.diff(v_sorted.astype(int)) != 0)
    assert len(changes) <= 4  # at most two validation blocks -> at most 4 boundaries


def test_video_split_and_errors():
    val = split_frames(["a.mp4", "a.mp4", "b.mp4"], [0, 1, 0], "video", val_videos=("b.mp4",))
    assert val.tolist() == [False, False, True]
    with pytest.raises(ConfigError, match="match none"):
        split_frames(["a.mp4"], [0], "video", val_videos=("zzz",))
    with pytest.raises(ConfigError, match="allowed"):
        split_frames(["a"], [0], "random")


def test_val_blocks_choose_the_folds_of_a_cross_validation():
    frames = np.arange(0, 550, 10)  # 55 labelled frames, shuffled, in two videos
    videos = ["a.mp4"] * 30 + ["b.mp4"] * 25
    perm = np.random.default_rng(0).permutation(55)
    fr, vi = frames[perm], [videos[i] for i in perm]
    seen = np.zeros(55, int)
    for fold in range(5):
        val = split_frames(vi, fr, "blocks", n_blocks=5, val_blocks=[fold])
        for v, n in (("a.mp4", 30), ("b.mp4", 25)):
            own = np.array(vi) == v
            order = np.argsort(fr[own])
            expect = np.zeros(n, bool)
            expect[np.array_split(np.arange(n), 5)[fold]] = True
            assert val[own][order].tolist() == expect.tolist()  # block `fold` of each video, in time order
        seen += val
    assert (seen == 1).all()  # every frame held out exactly once over the folds
    with pytest.raises(ConfigError, match=r"val_blocks \[5\].*5 blocks"):
        split_frames(vi, fr, "blocks", n_blocks=5, val_blocks=[5])
    with pytest.raises(ConfigError, match="nothing left to train on"):
        split_frames(vi, fr, "blocks", n_blocks=2, val_blocks=[0, 1])
