import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapose import io
from mapose.cli import main
from mapose.core import detections_to_tracks
from tests.tracking.synth import crossing, to_detections

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def scrambled(tmp_path):
    """Reference tracks of two crossing animals and a copy whose identities are scrambled per frame."""
    det = to_detections(crossing(n_frames=80, cross_frame=40))
    truth = detections_to_tracks(det, individuals=["a", "b"])
    rng = np.random.default_rng(0)
    flip = rng.random(80) < 0.5
    pos = truth["position"].values.copy()
    pos[flip] = pos[flip][..., ::-1]
    bad = truth.copy(deep=True)
    bad["position"] = (truth["position"].dims, pos)
    io.write_tracks(truth, tmp_path / "truth.nc")
    io.write_tracks(bad, tmp_path / "scrambled.nc")
    return tmp_path


def test_track_then_evaluate_then_swap(scrambled, capsys):
    d = scrambled
    assert main(["track", str(d / "scrambled.nc"), "--out", str(d / "tracked.nc"), "--n-animals", "2"]) == 0
    swaps = pd.read_csv(d / "tracked.nc.swaps.csv")
    assert list(swaps.columns) == ["frame", "animal_a", "animal_b", "reason", "confidence"]
    assert main(["evaluate-tracks", "--pred", str(d / "tracked.nc"), "--truth", str(d / "truth.nc"),
                 "--json", str(d / "m.json")]) == 0
    m = json.loads((d / "m.json").read_text())
    assert m["idf1"] == 1.0 and m["num_switches"] == 0 and m["mota"] == 1.0
    # the scrambled input itself is full of switches
    assert main(["evaluate-tracks", "--pred", str(d / "scrambled.nc"), "--truth", str(d / "truth.nc"),
                 "--json", str(d / "m0.json")]) == 0
    assert json.loads((d / "m0.json").read_text())["num_switches"] > 10
    # a user correction from frame 30 introduces exactly one switch (counted once per animal)
    assert main(["swap", str(d / "tracked.nc"), "--from", "30", "--animals", "individual_0",
                 "individual_1", "--out", str(d / "fixed.nc")]) == 0
    assert main(["evaluate-tracks", "--pred", str(d / "fixed.nc"), "--truth", str(d / "truth.nc"),
                 "--json", str(d / "m2.json")]) == 0
    m2 = json.loads((d / "m2.json").read_text())
    assert m2["switch_frames"] == [30]
    out = capsys.readouterr().out
    assert "IDF1" in out and "wrote" in out
    # without --n-animals the count may vary: tracklets are joined across gaps; the command says how
    # to fix the number
    assert main(["track", str(d / "scrambled.nc"), "--out", str(d / "free.nc")]) == 0
    out = capsys.readouterr().out
    assert "this file holds up to 2 in one frame), --n-animals N joins the tracklets" in out
    assert io.read_tracks(d / "free.nc").sizes["individuals"] == 2


def test_track_without_the_number_joins_gaps_and_says_what_it_left_out(tmp_path, capsys):
    import dataclasses

    from tests.tracking.synth import lanes, pose

    keep = np.ones((120, 2), bool)
    keep[40:60, 0] = False  # animal 0 unseen for 20 frames
    still = np.repeat(pose(np.array([[500.0, 500.0]]), np.zeros(1)), 120, axis=0)
    det = to_detections(lanes(2, 120), keep=keep, extra=still, extra_frames=np.arange(120))
    ks = np.where((det.track_id < 0)[:, None], 0.2, 1.0) * np.ones(det.keypoint_scores.shape)
    det = dataclasses.replace(det, keypoint_scores=ks,  # the still "animal" scores low
                              track_id=np.where(det.track_id < 0, 2, det.track_id))
    io.write_tracks(detections_to_tracks(det, individuals=["a", "b", "c"]), tmp_path / "in.nc")

    assert main(["track", str(tmp_path / "in.nc"), "--out", str(tmp_path / "free.nc")]) == 0
    assert "left out 120 of 340 detections as background or pieces of animals" in capsys.readouterr().out
    assert io.read_tracks(tmp_path / "free.nc").sizes["individuals"] == 2  # joined across the gap
    assert main(["track", str(tmp_path / "in.nc"), "--out", str(tmp_path / "raw.nc"), "--keep-all"]) == 0
    assert "left out" not in capsys.readouterr().out
    raw = io.read_tracks(tmp_path / "raw.nc")
    assert raw.sizes["individuals"] >= 4  # a track per tracklet: animal 0 twice, animal 1, the still one
    assert int(np.isfinite(raw["position"].values).any(axis=(1, 2)).sum()) == 340


def test_track_errors_are_one_line(scrambled, capsys):
    d = scrambled
    assert main(["track", str(d / "missing.nc"), "--out", str(d / "x.nc")]) == 2
    assert "missing.nc" in capsys.readouterr().err
    assert main(["track", str(d / "scrambled.nc"), "--out", str(d / "x.unknownext")]) == 2
    assert main(["swap", str(d / "truth.nc"), "--from", "3", "--animals", "a", "zz"]) == 2
    assert "zz" in capsys.readouterr().err


def test_track_bundled_sleap_clip_with_video(tmp_path):
    slp = REPO / "data" / "flies_dreem" / "two_flies.slp"
    if not slp.exists():
        pytest.skip("bundled data/flies_dreem not present")
    out = tmp_path / "two_flies.tracked.slp"
    assert main(["track", str(slp), "--out", str(out), "--n-animals", "2",
                 "--video", str(slp.with_suffix(".mp4"))]) == 0
    assert main(["evaluate-tracks", "--pred", str(out), "--truth", str(slp), "--json",
                 str(tmp_path / "m.json")]) == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["idf1"] >= 0.99 and m["num_switches"] == 0


def test_track_a_part_of_a_video_keeps_its_frame_numbers(tmp_path, capsys):
    """A pose file of frames 300-379 of a video (as `mapose analyze --frames 300:380` writes) is
    re-tracked over those frames only, at their frame numbers."""
    from dataclasses import replace

    det = to_detections(crossing(n_frames=80, cross_frame=40))
    det = replace(det, frame=det.frame + 300, n_frames=380)
    part = detections_to_tracks(det, individuals=["a", "b"]).isel(time=slice(300, None))
    io.write_tracks(part, tmp_path / "part.nc")
    assert main(["track", str(tmp_path / "part.nc"), "--out", str(tmp_path / "tracked.nc"), "--n-animals", "2"]) == 0
    assert "over 80 frames (300-379)" in capsys.readouterr().out
    out = io.read_tracks(tmp_path / "tracked.nc")
    assert out["frame"].values.tolist() == list(range(300, 380))
    assert np.isfinite(out["position"].values).all()
