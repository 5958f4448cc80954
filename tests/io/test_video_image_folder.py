"""A folder of images read as a video (time-lapse frames, image sequences): frames in natural order,
the same analysis as the video they came from, SLEAP files that point at the images, and named errors
for folders that cannot be a video."""

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from mapose.cli import main
from mapose.errors import FormatError
from mapose.io.video import VideoReader, probe_video, video_checksum

FLY_VIDEO = Path(__file__).resolve().parents[2] / "data" / "flies_centered_pair" / "centered_pair_low_quality.mp4"


@pytest.fixture(scope="module")
def fly_frames(tmp_path_factory):
    """The first 12 frames of the bundled fly video, decoded, and a folder of them as PNGs named
    frame1.png .. frame12.png (so that alphabetical order would put frame10 before frame2)."""
    folder = tmp_path_factory.mktemp("imgs") / "fly_frames"
    folder.mkdir()
    with VideoReader(FLY_VIDEO) as vr:
        frames = [vr[i] for i in range(12)]
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"frame{i + 1}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("not an image; ignored")
    return folder, frames


def test_a_folder_of_images_reads_as_the_video_it_came_from(fly_frames):
    folder, frames = fly_frames
    with VideoReader(folder) as vr:
        assert (vr.n_frames, vr.width, vr.height, vr.fps, vr.truncated) == (12, 384, 384, None, False)
        assert vr.is_color is False  # the fly video is grey
        for i in (0, 1, 9, 11, -1):
            np.testing.assert_array_equal(vr[i], frames[i])  # natural order: frame10 is the tenth
        streamed = list(vr.iter_frames(3, 12))
        assert [i for i, _ in streamed] == list(range(3, 12))
        for i, img in streamed:
            np.testing.assert_array_equal(img, frames[i])
    info = probe_video(folder)
    assert info["n_frames"] == 12 and info["codec"] == "images"
    assert info["size_bytes"] == sum(p.stat().st_size for p in folder.glob("*.png"))
    assert probe_video(folder, check_decodable=False)["n_frames"] == 12


def test_the_checksum_of_a_folder_follows_its_images(fly_frames, tmp_path):
    folder, _ = fly_frames
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert video_checksum(copy) == video_checksum(folder)
    last = copy / "frame12.png"
    img = cv2.imread(str(last))
    img[0, 0] = 255 - img[0, 0]
    cv2.imwrite(str(last), img)
    assert video_checksum(copy) != video_checksum(folder)


def test_folders_that_cannot_be_a_video_are_named(fly_frames, tmp_path):
    folder, _ = fly_frames
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(FormatError, match="a folder with no images"):
        VideoReader(empty)

    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    cv2.imwrite(str(mixed / "frame5.png"), np.zeros((100, 120, 3), np.uint8))
    (mixed / "frame7.png").write_bytes(b"\x89PNG cut short")
    with VideoReader(mixed) as vr:
        assert vr.n_frames == 12
        with pytest.raises(FormatError, match=r"frame5\.png: frame 4 .* is 120x100 px; the folder's first image is 384x384"):
            vr[4]
        with pytest.raises(FormatError, match=r"frame7\.png: frame 6 .* cannot be read as an image"):
            vr[6]
        with pytest.raises(FormatError, match=r"frame5\.png"):
            list(vr.iter_frames(0, 12))


def test_info_describes_a_folder_of_frames(fly_frames, capsys):
    folder, _ = fly_frames
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "folder of images (frames)" in out and re.search(r"^n_frames: +12$", out, re.M)
