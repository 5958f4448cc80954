"""Choosing frames to label: real sample videos and pose files (bundled in data/)."""

from __future__ import annotations

import numpy as np
import pytest

from mapose.data.frame_selection import (candidate_frames, frame_uncertainty, pose_features,
                                         suggest_frames)
from mapose.errors import ValidationError
from mapose.io import read_tracks


@pytest.fixture(scope="module")
def dreem(data_dir):
    """The 128-frame two-fly clip and its proofread tracks."""
    return data_dir / "flies_dreem" / "two_flies.mp4", read_tracks(data_dir / "flies_dreem" / "two_flies.slp")


def test_candidates_are_evenly_spaced_and_bounded():
    assert candidate_frames(10, 100).tolist() == list(range(10))
    c = candidate_frames(100_000, 50, start=1000, stop=2000)
    assert len(c) == 50 and c[0] == 1000 and c[-1] == 1999 and np.ptp(np.diff(c)) <= 1
    with pytest.raises(ValidationError, match="empty frame range"):
        candidate_frames(100, 10, start=50, stop=50)


def test_kmeans_frames_differ_and_keep_away_from_labelled_frames(data_dir):
    video = data_dir / "flies_centered_pair" / "centered_pair_low_quality.mp4"
    labelled = list(range(0, 1100, 50))
    t = suggest_frames(video, 15, "kmeans", exclude=labelled, min_gap=10)
    f = t["frame"].to_numpy()
    assert len(f) == 15 and (np.diff(f) >= 10).all() and f.max() < 1100
    assert np.abs(f[:, None] - np.array(labelled)[None]).min() >= 10
    assert (t["method"] == "kmeans").all() and (t["score"] >= 1).all()
    # the same seed gives the same frames
    assert suggest_frames(video, 15, "kmeans", exclude=labelled, min_gap=10)["frame"].tolist() == f.tolist()


def test_uniform_frames_fill_in_around_excluded_ones(dreem):
    video, _ = dreem
    t = suggest_frames(video, 4, "uniform", min_gap=1)
    assert t["frame"].tolist() == [0, 42, 85, 127]
    t = suggest_frames(video, 4, "uniform", exclude=[42], min_gap=5)
    f = t["frame"].to_numpy()
    assert len(f) == 4 and 42 not in f and np.abs(f - 42).min() >= 5


def test_uncertain_frames_are_where_animals_or_parts_are_missing_or_unsure(dreem):
    video, ds = dreem
    ds = ds.copy(deep=True)
    ds["confidence"].loc[{"time": ds.time[40]}] = 0.2       # every keypoint unsure
    ds["position"].loc[{"time": ds.time[90], "individuals": ds.individuals[1]}] = np.nan  # an animal lost
    half = ds.keypoints[: ds.sizes["keypoints"] // 2]
    ds["position"].loc[{"time": ds.time[7], "keypoints": half}] = np.nan  # half the body parts lost
    frames, u = frame_uncertainty(ds)
    present40 = np.isfinite(ds["position"].isel(time=40)).all("space").mean()  # a few are unlabelled
    assert u[40] == pytest.approx(1 - 0.2 * float(present40)) and u[90] == pytest.approx(0.5)
    assert np.sort(u)[:-3].max() < 0.35  # the proofread tracks are otherwise sure
    t = suggest_frames(video, 3, "uncertain", tracks=ds, min_gap=5)
    assert t["frame"].tolist() == [7, 40, 90]
    assert t.set_index("frame")["score"][40] == pytest.approx(u[40])
    # a frame expected to hold 3 animals is unsure about the third one
    assert frame_uncertainty(ds, n_animals=3)[1][0] == pytest.approx(1 - (1 - u[0]) * 2 / 3)


def test_pose_frames_include_a_rare_posture(dreem):
    video, ds = dreem
    ds = ds.copy(deep=True)
    # a posture held in 6 frames only: one fly's first two keypoints moved 25 px aside
    sel = {"time": ds.time[100:106], "individuals": ds.individuals[0], "keypoints": ds.keypoints[:2]}
    ds["position"].loc[sel] = ds["position"].loc[sel] + 25.0
    rows, feats = pose_features(ds)
    assert feats.shape[1] == ds.sizes["keypoints"] * (ds.sizes["keypoints"] - 1) // 2
    t = suggest_frames(video, 4, "pose", tracks=ds, min_gap=5)
    f = t["frame"].to_numpy()
    assert len(f) == 4 and ((f >= 100) & (f < 106)).any()
    rare = t[(t.frame >= 100) & (t.frame < 106)]
    assert rare["score"].iloc[0] <= 12  # it stands for a small cluster (6 animal-frames, maybe a few more)


def test_pose_features_ignore_position_and_heading(dreem):
    _, ds = dreem
    moved = ds.copy(deep=True)
    a = 0.7
    x, y = ds["position"].sel(space="x"), ds["position"].sel(space="y")
    moved["position"].loc[{"space": "x"}] = np.cos(a) * x - np.sin(a) * y + 100
    moved["position"].loc[{"space": "y"}] = np.sin(a) * x + np.cos(a) * y - 40
    np.testing.assert_allclose(pose_features(moved)[1], pose_features(ds)[1], atol=1e-6)


def test_bad_requests_say_what_is_wrong(dreem):
    video, ds = dreem
    with pytest.raises(ValidationError, match="unknown frame-selection method"):
        suggest_frames(video, 3, "random")
    with pytest.raises(ValidationError, match="needs the video's pose file"):
        suggest_frames(video, 3, "uncertain")
    with pytest.raises(ValidationError, match=">= 1"):
        suggest_frames(video, 0, "uniform")
    with pytest.raises(ValidationError, match="no animal"):
        suggest_frames(video, 3, "pose", tracks=ds, start=500, stop=600)
