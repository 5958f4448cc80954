"""The behaviour annotation editor: bouts marked, erased, undone, saved as an interval CSV that reads
back into the same per-frame table training uses; other annotation formats open and are saved
beside, never over."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mapose.behaviour.annotation_editor import AnnotationEditor, pair_subjects
from mapose.errors import MaposeError, ValidationError
from mapose.io.annotations import read_annotations

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_bouts_are_marked_merged_split_undone_and_read_back_as_training_reads_them(tmp_path):
    path = tmp_path / "s1.bouts.csv"
    ed = AnnotationEditor(path, 200, pair_subjects(["A", "B"]))
    assert ed.subjects == ["A", "B", "A|B", "B|A"]
    assert ed.add_behaviour(" chase ") == "chase" and ed.add_behaviour("groom") == "groom"
    ed.add_behaviour("rear")  # no bout yet: the name must survive saving
    ed.mark("chase", "A|B", 120, 185)
    ed.mark("chase", "A|B", 185, 190)  # touching: one bout
    ed.mark("chase", "A|B", 150, 160, on=False)  # splits it
    ed.mark("groom", "B", 30, 10)  # given backwards: frames 10..29
    ed.mark("groom", "A", 0, 5)
    ed.mark("groom", "A", 0, 5, on=False)  # erased again
    assert ed.bouts().values.tolist() == [["groom", "B", 10, 30], ["chase", "A|B", 120, 150],
                                         ["chase", "A|B", 160, 190]]
    assert ed.bout_at("chase", "A|B", 170) == (160, 190) and ed.bout_at("chase", "A|B", 155) is None
    assert ed.bout_at("chase", "A|B", 120) == (120, 150) and ed.bout_at("chase", "A|B", 149) == (120, 150)
    assert ed.at(125) == [("chase", "A|B")] and ed.at(0) == []
    assert ed.delete_bout("chase", "A|B", 165) == (160, 190)
    assert ed.undo() and ed.bout_at("chase", "A|B", 165) == (160, 190)

    assert ed.dirty and ed.save() == path and not ed.dirty
    text = path.read_text().splitlines()
    assert text[0] == "behaviour,subject,start,stop" and "rear,A,0,0" in text
    table = read_annotations(path, n_frames=200)
    pd.testing.assert_frame_equal(table, ed.table())
    a_b = table[table["subject"] == "A|B"].set_index("frame")
    assert np.flatnonzero(a_b["chase"].to_numpy()).tolist() == list(range(120, 150)) + list(range(160, 190))
    assert table["rear"].sum() == 0 and list(table.columns) == ["frame", "subject", "chase", "groom", "rear"]

    again = AnnotationEditor(path, 200, pair_subjects(["A", "B"]))
    assert set(again.behaviours) == {"chase", "groom", "rear"}
    pd.testing.assert_frame_equal(again.bouts(), ed.bouts())
    assert not again.dirty and not again.can_undo

    # undo walks back to the empty start, behaviours included
    while ed.undo():
        pass
    assert ed.behaviours == [] and len(ed.bouts()) == 0


def test_other_formats_open_and_are_saved_beside_them(tmp_path):
    frames = tmp_path / "s2_annotations.csv"
    on = np.zeros(60, int)
    on[5:15] = 1
    on[40:41] = 1
    pd.DataFrame({"frame": np.arange(60), "freeze": on}).to_csv(frames, index=False)
    before = frames.read_bytes()
    ed = AnnotationEditor(frames, 60)
    assert ed.out == tmp_path / "s2_annotations.bouts.csv" and ed.subjects == [""]
    assert ed.bouts().values.tolist() == [["freeze", "", 5, 15], ["freeze", "", 40, 41]]
    ed.mark("freeze", "", 20, 25)
    ed.save()
    assert frames.read_bytes() == before  # never written over
    got = read_annotations(ed.out, n_frames=60)
    assert np.flatnonzero(got["freeze"].to_numpy()).tolist() == list(range(5, 15)) + list(range(20, 25)) + [40]
    with pytest.raises(MaposeError, match="s2_annotations.bouts.csv exists: it would be overwritten"):
        AnnotationEditor(frames, 60)

    boris = tmp_path / "obs.csv"
    boris.write_text("Observation id,Subject,Behavior,Behavior type,Start (s),Stop (s),Duration (s),FPS\n"
                     "obs1,mouse,freeze,STATE,1.0,2.0,1.0,10\n")
    ed = AnnotationEditor(boris, 40, ["mouse"])
    assert ed.bouts().values.tolist() == [["freeze", "mouse", 10, 20]]


@pytest.mark.shared
def test_a_real_behaviordepot_annotation_round_trips_through_the_editor(tmp_path):
    src = SHARED / "mouse_freezing_behaviordepot/demo1/hB_demo1_manual_annotations.mat.mat"
    if not src.exists():
        pytest.skip("shared data not available")
    p = tmp_path / src.name
    shutil.copy(src, p)
    original = read_annotations(p, n_frames=6000)
    ed = AnnotationEditor(p, 6000)
    ed.save()
    pd.testing.assert_frame_equal(read_annotations(ed.out, n_frames=6000), original)
    assert original["Freezing"].sum() == 1368


def test_bad_edits_and_a_file_changed_elsewhere_are_refused(tmp_path):
    path = tmp_path / "s3.bouts.csv"
    with pytest.raises(ValidationError, match="the video has 0 frames"):
        AnnotationEditor(path, 0)
    ed = AnnotationEditor(path, 50, ["A"])
    with pytest.raises(ValidationError, match="unknown behaviour 'chase'; known: none yet"):
        ed.mark("chase", "A", 0, 5)
    ed.add_behaviour("chase")
    with pytest.raises(ValidationError, match="unknown subject 'B'"):
        ed.mark("chase", "B", 0, 5)
    with pytest.raises(ValidationError, match=r"frames 45..59 are outside the video \(frames 0..49\)"):
        ed.mark("chase", "A", 45, 60)
    with pytest.raises(ValidationError, match="frame 50 is outside the video"):
        ed.bout_at("chase", "A", 50)
    for bad in ("", "frame", "a,b", "chase_prob"):
        with pytest.raises(ValidationError, match="behaviour name"):
            ed.add_behaviour(bad)
    ed.mark("chase", "A", 0, 5)
    ed.save()
    path.write_text("behaviour,subject,start,stop\nchase,A,0,10\n")  # another program saves it
    os.utime(path, ns=(1, 1))
    ed.mark("chase", "A", 20, 25)
    with pytest.raises(MaposeError, match="changed by another program since it was opened"):
        ed.save()
    assert path.read_text().endswith("chase,A,0,10\n")


def test_partial_annotation_leaves_frames_nobody_reviewed_out_of_training(tmp_path):
    from mapose.behaviour.classifier import BehaviourClassifier, training_table

    path = tmp_path / "s3.bouts.csv"
    ed = AnnotationEditor(path, 200, pair_subjects(["A", "B", "C"]))
    ed.add_behaviour("chase")
    ed.mark("chase", "A|B", 20, 40)
    assert not ed.partial and ed.annotated().all()  # the whole video counts until a stretch is reviewed
    ed.mark_annotated(0, 60)
    ed.mark("chase", "B|A", 150, 160)  # a bout outside the reviewed stretch counts as looked at
    assert ed.partial and ed.annotated().sum() == 60 and ed.annotated("B|A").sum() == 70
    assert ed.bouts()["behaviour"].tolist() == ["chase", "chase"]  # the stretch is not a bout
    assert ed.at(10) == []
    ed.save()
    assert "(annotated),,0,60" in path.read_text().splitlines()

    table = read_annotations(path, n_frames=200)
    assert table.attrs["annotated_only"] and table.attrs["annotated_for_all"] == [(0, 60)]
    assert table.groupby("subject").size().to_dict() == {"A|B": 60, "B|A": 70}
    assert list(table.columns) == ["frame", "subject", "chase"] and table["chase"].sum() == 30
    pd.testing.assert_frame_equal(table, ed.table())
    assert ed.table().attrs["annotated_only"]
    again = AnnotationEditor(path, 200, pair_subjects(["A", "B", "C"]))
    assert again.partial and (again.annotated() == ed.annotated()).all()
    pd.testing.assert_frame_equal(again.bouts(annotated=True), ed.bouts(annotated=True))

    # training: reviewed frames only, for every subject (C's pairs have no bout but were looked at)
    subjects = ["A|B", "B|A", "C|A"]
    feat = pd.DataFrame({"frame": np.tile(np.arange(200), 3), "subject": np.repeat(subjects, 200),
                         "speed": np.arange(600.0)})
    X, y = training_table([feat], [table])
    assert X.groupby("subject").size().to_dict() == {"A|B": 60, "B|A": 70, "C|A": 60}
    assert y["chase"].sum() == 30
    order, seg = BehaviourClassifier()._segments(X, None)
    assert len(np.unique(seg)) == 4  # B|A's two reviewed stretches stay apart for smoothing and bouts
    # without reviewed stretches every frame counts, as before
    assert ed.undo() and ed.undo() and not ed.partial
    ed.save()
    X, y = training_table([feat], [read_annotations(path, n_frames=200)])
    assert len(X) == 600 and y["chase"].sum() == 20
    with pytest.raises(ValidationError, match="annotated"):
        ed.add_behaviour("(annotated)")

    # a stretch reviewed for one subject only (the others out of view, say)
    ed.mark_annotated(0, 60)
    ed.mark_annotated(100, 120, subject="C|A")
    assert ed.annotated().sum() == 60 and ed.annotated("C|A").sum() == 80 and ed.annotated("A|B").sum() == 60
    ed.save()
    assert "(annotated),C|A,100,120" in path.read_text().splitlines()
    X, y = training_table([feat], [read_annotations(path, n_frames=200)])
    assert X.groupby("subject").size().to_dict() == {"A|B": 60, "B|A": 60, "C|A": 80}
    with pytest.raises(ValidationError, match="unknown subject 'D'"):
        ed.mark_annotated(0, 10, subject="D")


@pytest.mark.slow
def test_classify_train_learns_from_the_reviewed_frames_only(tmp_path):
    from mapose.cli import main
    from mapose.io import write_tracks

    from tests.behaviour.test_classifier import _mouse_session

    files = []
    for i in range(2):
        ds, ann = _mouse_session(n=500, seed=i)
        pose = tmp_path / f"m{i}.nc"
        write_tracks(ds, pose, format="netcdf")
        ed = AnnotationEditor(tmp_path / f"m{i}.bouts.csv", 500, ["mouse"])
        ed.add_behaviour("freeze")
        on = ann["freeze"].to_numpy() > 0
        on[250:] = False  # the second half is not annotated yet ...
        edges = np.flatnonzero(np.diff(np.r_[0, on.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            ed.mark("freeze", "mouse", a, b)
        ed.mark_annotated(0, 250)  # ... and says so
        ed.save()
        files.append((pose, ed.out, int(on.sum())))
    model = tmp_path / "clf"
    assert main(["classify", "train", "--pose", *[str(f[0]) for f in files],
                 "--annotations", *[str(f[1]) for f in files], "--out", str(model), "--px-per-cm", "10",
                 "--windows", "5", "15", "--max-iter", "30", "--n-splits", "2", "--threads", "1",
                 "--no-importance"]) == 0
    import json

    info = json.loads((model / "manifest.json").read_text())["info"]
    assert info["n_rows"] == 2 * 250 and info["positives"] == {"freeze": sum(f[2] for f in files)}
    val = pd.read_csv(model / "validation.csv")
    assert val.loc[0, "f1"] > 0.85
