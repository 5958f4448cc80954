"""Finding the video a pose file was made from (:func:`mapose.io.video.video_of_pose`)."""

from __future__ import annotations

import numpy as np

from mapose.core import make_tracks
from mapose.io.video import video_of_pose


def _touch(path):
    path.write_bytes(b"")
    return path


def test_the_recorded_video_then_one_named_like_the_pose_file(tmp_path):
    pose = _touch(tmp_path / "m3v1DLC_resnet50_openfieldOct30shuffle1_1030000.h5")
    assert video_of_pose(pose) is None  # no video at all
    other = _touch(tmp_path / "session2.mp4")
    assert video_of_pose(pose) is None  # one video, but not named like the pose file: no guess
    assert video_of_pose(pose, only_video_nearby=True) == str(other)  # unless a guess is asked for
    video = _touch(tmp_path / "m3v1.mp4")
    assert video_of_pose(pose) == str(video)  # the pose file's name begins with the video's stem
    # a video the tracks name wins; moved beside the pose file it is found there
    ds = make_tracks(np.zeros((2, 2, 1, 1)), keypoints=["a"],
                     video_path=str(tmp_path / "elsewhere" / "session2.mp4"))
    assert video_of_pose(pose, ds) == str(other)


def test_sleap_style_names(tmp_path):
    video = _touch(tmp_path / "fly_clip.mp4")
    assert video_of_pose(tmp_path / "fly_clip.predictions.slp") == str(video)
    assert video_of_pose(tmp_path / "missing_folder" / "x.slp") is None
