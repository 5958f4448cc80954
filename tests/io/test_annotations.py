"""Behaviour annotation readers: each format parses a small fixture into the tidy per-frame table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapose.errors import FormatError, MissingFileError
from mapose.io.annotations import read_annotations, write_annotations

SHARED = Path(__file__).parents[2] / "../shared/data"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_frames_csv(tmp_path):
    p = _write(tmp_path, "a.csv", "frame,attack,investigation\n0,0,1\n1,1,1\n2,0,0\n")
    t = read_annotations(p)
    assert t.columns.tolist() == ["frame", "subject", "attack", "investigation"]
    assert t["attack"].tolist() == [0, 1, 0]
    assert t["investigation"].tolist() == [1, 1, 0]
    assert set(t["subject"]) == {""}
    # completing to n_frames pads with 0
    t5 = read_annotations(p, n_frames=5, behaviours=["investigation", "groom"])
    assert t5["investigation"].tolist() == [1, 1, 0, 0, 0]
    assert t5["groom"].tolist() == [0] * 5


def test_frames_csv_rejects_non_binary(tmp_path):
    p = _write(tmp_path, "a.csv", "frame,attack\n0,0\n1,2\n")
    with pytest.raises(FormatError, match=r"a.csv.*'attack'.*expected 0 or 1"):
        read_annotations(p)


def test_prediction_table_reads_back(tmp_path):
    pred = pd.DataFrame({"frame": [0, 1, 2], "walk_prob": [0.1, 0.8, 0.9], "walk": [0, 1, 1]})
    write_annotations(pred, tmp_path / "pred.csv")
    t = read_annotations(tmp_path / "pred.csv")
    assert t.columns.tolist() == ["frame", "subject", "walk"]
    assert t["walk"].tolist() == [0, 1, 1]


def test_intervals_per_animal_and_pair_overlapping(tmp_path):
    p = _write(
        tmp_path, "iv.csv",
        "behaviour,start,stop,animal,target\n"
        "attack,2,5,m1,m2\n"
        "investigation,0,4,m1,m2\n"
        "groom,1,3,m2,\n",
    )
    t = read_annotations(p, n_frames=6)
    assert set(t["subject"]) == {"m1|m2", "m2"}
    a = t[t["subject"] == "m1|m2"].set_index("frame")
    assert a["attack"].tolist() == [0, 0, 1, 1, 1, 0]        # stop exclusive
    assert a["investigation"].tolist() == [1, 1, 1, 1, 0, 0]  # overlaps attack
    g = t[t["subject"] == "m2"].set_index("frame")
    assert g["groom"].tolist() == [0, 1, 1, 0, 0, 0]
    assert g["attack"].sum() == 0


def test_intervals_past_video_end(tmp_path):
    p = _write(tmp_path, "iv.csv", "behavior,start,stop\nrear,5,20\n")
    with pytest.raises(FormatError, match=r"'rear' ends at frame 20 but the video has 10 frames"):
        read_annotations(p, n_frames=10)


def test_boris_aggregated_seconds_to_frames(tmp_path):
    p = _write(
        tmp_path, "boris_agg.csv",
        "Observation id,Subject,Behavior,Behavior type,Start (s),Stop (s),Duration (s),FPS\n"
        "obs1,mouse,freeze,STATE,1.0,2.0,1.0,10\n"
        "obs1,mouse,rear,STATE,1.5,1.75,0.25,10\n"
        "obs1,mouse,jump,POINT,3.0,3.0,0,10\n",
    )
    t = read_annotations(p, n_frames=40).set_index("frame")
    assert np.flatnonzero(t["freeze"].to_numpy()).tolist() == list(range(10, 20))
    assert np.flatnonzero(t["rear"].to_numpy()).tolist() == [15, 16, 17]
    assert np.flatnonzero(t["jump"].to_numpy()).tolist() == [30]
    assert set(t["subject"]) == {"mouse"}


def test_boris_events_with_metadata_rows_tsv(tmp_path):
    p = _write(
        tmp_path, "boris_events.tsv",
        "Observation id\tobs1\n"
        "Media file\tvideo.mp4\n"
        "\n"
        "Time\tMedia file path\tSubject\tBehavior\tStatus\n"
        "0.5\tvideo.mp4\tA\tsniff\tSTART\n"
        "0.8\tvideo.mp4\tB\tsniff\tSTART\n"
        "1.0\tvideo.mp4\tA\tsniff\tSTOP\n"
        "1.2\tvideo.mp4\tB\tsniff\tSTOP\n",
    )
    with pytest.raises(FormatError, match="fps"):
        read_annotations(p)
    t = read_annotations(p, fps=20, n_frames=30)
    a = t[t["subject"] == "A"]["sniff"].to_numpy()
    b = t[t["subject"] == "B"]["sniff"].to_numpy()
    assert np.flatnonzero(a).tolist() == list(range(10, 20))
    assert np.flatnonzero(b).tolist() == list(range(16, 24))


def test_boris_unmatched_stop(tmp_path):
    p = _write(tmp_path, "b.csv", "Time,Subject,Behavior,Status\n1.0,A,sniff,STOP\n")
    with pytest.raises(FormatError, match=r"'sniff'.*stops at 1.0 s without a START"):
        read_annotations(p, fps=10)


def test_behaviordepot_v73_h5py(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "hB_test.mat"
    vec = np.zeros((12, 1))
    vec[3:7] = 1
    with h5py.File(p, "w") as h:
        g = h.create_group("hBehavior")
        g.create_dataset("TotalFrames", data=[[12.0]])
        g.create_group("Freezing").create_dataset("Vector", data=vec)
        g.create_group("Rearing").create_dataset("Vector", data=np.ones((12, 1)))
    t = read_annotations(p)
    assert t.columns.tolist() == ["frame", "subject", "Freezing", "Rearing"]
    assert np.flatnonzero(t["Freezing"]).tolist() == [3, 4, 5, 6]
    assert t["Rearing"].sum() == 12


def test_behaviordepot_old_mat_scipy(tmp_path):
    from scipy.io import savemat

    p = tmp_path / "hB_old.mat"
    vec = np.zeros(10)
    vec[[2, 3]] = 1
    savemat(p, {"hBehavior": {"Freezing": {"Vector": vec, "Count": 1.0}, "TotalFrames": 10.0}})
    t = read_annotations(p)
    assert np.flatnonzero(t["Freezing"]).tolist() == [2, 3]


def test_mat_without_hbehavior(tmp_path):
    from scipy.io import savemat

    p = tmp_path / "other.mat"
    savemat(p, {"x": np.ones(3)})
    with pytest.raises(FormatError, match=r"other.mat: no 'hBehavior'.*x"):
        read_annotations(p)


def test_unknown_table_and_missing_file(tmp_path):
    p = _write(tmp_path, "x.csv", "a,b\n1,2\n")
    with pytest.raises(FormatError, match=r"x.csv: cannot tell the annotation format"):
        read_annotations(p)
    with pytest.raises(MissingFileError, match="annotation file not found"):
        read_annotations(tmp_path / "nope.csv")


@pytest.mark.shared
def test_behaviordepot_demo1_real():
    p = SHARED / "mouse_freezing_behaviordepot/demo1/hB_demo1_manual_annotations.mat.mat"
    if not p.exists():
        pytest.skip("shared data not available")
    t = read_annotations(p)
    assert len(t) == 6000 and t["Freezing"].sum() == 1368
