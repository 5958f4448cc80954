"""Overlays and labelled videos: colours by identity, threshold, trails, streaming atomic output."""

import cv2
import numpy as np
import pytest

from mapose.core import Skeleton, make_tracks
from mapose.errors import ValidationError
from mapose.viz.overlay import PALETTE, draw_poses, identity_colour, trail_points
from mapose.viz.video import render_labelled_video

SK = Skeleton.from_names(["head", "thorax", "tail"], edges=[("head", "thorax"), ("thorax", "tail")])


def poses():
    p = np.array([[[20, 20], [40, 20], [60, 20]],
                  [[20, 60], [40, 60], [60, 60]]], float)
    c = np.array([[0.9, 0.9, 0.9], [0.9, 0.2, 0.9]])
    return p, c


def test_identity_colours_are_fixed_by_index():
    assert identity_colour(0) == PALETTE[0] and identity_colour(1) == PALETTE[1]
    assert identity_colour(len(PALETTE)) == PALETTE[0]
    p, c = poses()
    img = draw_poses(np.zeros((80, 80, 3), np.uint8), p, c, SK, threshold=0.5)
    assert tuple(img[20, 20]) == PALETTE[0]  # keypoint disc
    edge = img[20, 30].astype(int)  # anti-aliased edge: the hue of the identity colour
    assert np.abs(edge / edge.max() - np.array(PALETTE[0]) / max(PALETTE[0])).max() < 0.1
    assert tuple(img[60, 20]) == PALETTE[1]


def test_threshold_hides_keypoints_and_their_edges():
    p, c = poses()
    img = draw_poses(np.zeros((80, 80), np.uint8), p, c, SK, threshold=0.5)
    assert img.shape == (80, 80, 3)
    assert tuple(img[60, 40]) == (0, 0, 0)  # thorax of animal 1 below threshold
    assert tuple(img[60, 30]) == (0, 0, 0)  # so are both edges touching it
    assert tuple(img[60, 60]) == PALETTE[1]
    all_shown = draw_poses(np.zeros((80, 80, 3), np.uint8), p, c, SK, threshold=0.0)
    assert tuple(all_shown[60, 40]) == PALETTE[1]
    p[0, 2] = np.nan  # missing keypoint: not drawn, no crash
    img = draw_poses(np.zeros((80, 80, 3), np.uint8), p, None, SK)
    assert tuple(img[20, 60]) == (0, 0, 0)


def test_trails_and_bad_shapes():
    pos = np.full((5, 1, 3, 2), np.nan)
    pos[:, 0, 1] = np.stack([np.arange(5) * 10 + 10, np.full(5, 70)], axis=1)
    tr = trail_points(pos)
    np.testing.assert_allclose(tr[:, 0], pos[:, 0, 1])
    img = draw_poses(np.zeros((80, 80, 3), np.uint8), pos[-1, :], None, SK, trails=tr, radius=1)
    assert tuple(img[70, 25]) != (0, 0, 0)  # between trail points 1 and 2
    with pytest.raises(ValidationError, match="positions"):
        draw_poses(np.zeros((8, 8, 3), np.uint8), np.zeros((1, 2, 2)), None, SK)


def _video(path, n=12, w=96, h=80):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for _ in range(n):
        vw.write(np.full((h, w, 3), 30, np.uint8))
    vw.release()


def test_render_labelled_video(tmp_path):
    vid = tmp_path / "v.avi"
    _video(vid)
    p, c = poses()
    t = 10
    pos = np.repeat(p[None], t, axis=0) + np.arange(t)[:, None, None, None] * [1.0, 0.0]
    conf = np.repeat(c[None], t, axis=0)
    ds = make_tracks(pos.transpose(0, 3, 2, 1), conf.transpose(0, 2, 1), skeleton=SK,
                     individuals=["f", "m"], frames=np.arange(1, 11), fps=10.0)
    out = tmp_path / "labelled.mp4"
    n = render_labelled_video(vid, ds, out, threshold=0.5, trail=3, start=0, stop=12, progress=False)
    assert n == 12 and out.exists()
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f[..., ::-1])
    assert len(frames) == 12
    f5 = frames[5].astype(int)  # tracks time 4: x shifted by 4
    assert np.abs(f5[20, 24] - PALETTE[0]).max() < 60  # head of "f" in its colour
    assert np.abs(f5[60, 24] - PALETTE[1]).max() < 60
    assert np.abs(frames[0].astype(int)[20, 20] - 30).max() < 20  # frame 0 has no pose
    with pytest.raises(ValidationError, match="frame range"):
        render_labelled_video(vid, ds, tmp_path / "bad.mp4", start=5, stop=50, progress=False)
    assert not (tmp_path / "bad.mp4").exists()
    # the source video is never the output (the same file under another spelling included)
    before = vid.read_bytes()
    for same in (vid, tmp_path / "." / "v.avi"):
        with pytest.raises(ValidationError, match="would overwrite its source video"):
            render_labelled_video(vid, ds, same, stop=5, progress=False)
    assert vid.read_bytes() == before


def test_cli_label_video(tmp_path, capsys):
    from mapose.cli import main
    from mapose.io import write_tracks

    vid = tmp_path / "v.avi"
    _video(vid, n=6)
    p, c = poses()
    ds = make_tracks(np.repeat(p[None], 6, 0).transpose(0, 3, 2, 1),
                     np.repeat(c[None], 6, 0).transpose(0, 2, 1), skeleton=SK, fps=10.0)
    write_tracks(ds, tmp_path / "p.h5")
    out = tmp_path / "o.mp4"
    assert main(["label-video", str(vid), str(tmp_path / "p.h5"), "--out", str(out), "--trail", "2",
                 "--no-progress"]) == 0
    assert out.exists() and "6 frames" in capsys.readouterr().out
    # a pose file of part of the video (mapose analyze --frames 2:5): that part is drawn
    write_tracks(ds.isel(time=slice(2, 5)), tmp_path / "part.h5")
    assert main(["label-video", str(vid), str(tmp_path / "part.h5"), "--out", str(tmp_path / "part.mp4"),
                 "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert "frames 2-4, the pose file's" in said and "3 frames" in said
    assert main(["label-video", str(vid), str(tmp_path / "part.h5"), "--out", str(tmp_path / "all.mp4"),
                 "--start", "0", "--stop", "6", "--no-progress"]) == 0
    assert "6 frames" in capsys.readouterr().out
