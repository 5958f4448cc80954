"""``analyze_video`` on a folder of images gives what it gives on the video the images came from, and
a SLEAP file written from it points at the images (SLEAP opens it as an image sequence)."""

import cv2
import numpy as np
import pytest
from inference_synthetic import DotModel, write_video

from mapose.inference import DecodeOptions, analyze_video
from mapose.io import read_tracks
from mapose.io.video import VideoReader


@pytest.fixture(scope="module")
def video_and_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder_analysis")
    video = root / "dots_for_folder.avi"
    write_video(video, 30)
    folder = root / "dots_frames"
    folder.mkdir()
    with VideoReader(video) as vr:
        for i in range(vr.n_frames):
            cv2.imwrite(str(folder / f"img_{i}.png"), cv2.cvtColor(vr[i], cv2.COLOR_RGB2BGR))
    return video, folder


def test_a_folder_of_frames_is_analysed_like_its_video(video_and_folder, tmp_path):
    video, folder = video_and_folder
    opts = DecodeOptions(merge_radius=12)
    analyze_video(DotModel(), video, tmp_path / "video.h5", n_animals=2, batch_size=4, decode=opts,
                  progress=False)
    res = analyze_video(DotModel(), folder, tmp_path / "folder.slp", n_animals=2, batch_size=4, decode=opts,
                        chunk_size=8, progress=False)
    assert res.n_frames == 30
    a, b = read_tracks(tmp_path / "video.h5"), read_tracks(tmp_path / "folder.slp")
    np.testing.assert_allclose(b["position"].transpose(*a["position"].dims).values, a["position"].values,
                               atol=1e-3)
    assert np.isfinite(b["position"].values).all()
    assert b.attrs["video_path"] == str(folder)  # the folder reads back as the video

    import sleap_io as sio

    labels = sio.load_slp(str(tmp_path / "folder.slp"), open_videos=False)
    files = labels.videos[0].backend_metadata["filenames"]
    assert len(files) == 30 and files[0].endswith("img_0.png") and files[10].endswith("img_10.png")
