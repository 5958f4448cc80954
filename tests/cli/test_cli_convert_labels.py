"""``mapose convert --labels``: a SLEAP project labelled in mapose becomes a DeepLabCut project
(ground truth only, with the frame images where DeepLabCut looks for them) or a COCO file."""

import json
import shutil
from pathlib import Path

import numpy as np

from mapose.cli import main
from mapose.data.frames import load_images
from mapose.data.label_editor import LabelEditor
from mapose.io import content_kind, read_labels
from mapose.io.video import VideoReader

FLIES = Path(__file__).resolve().parents[2] / "data" / "flies_dreem"


def labelled_project(tmp_path):
    """extract-frames with predictions, then two frames corrected, one marked empty, two left."""
    video = tmp_path / f"{tmp_path.name}.mp4"
    shutil.copy(FLIES / "two_flies.mp4", video)
    todo = tmp_path / "todo.slp"
    assert main(["extract-frames", str(video), "--out", str(todo), "--tracks", str(FLIES / "two_flies.slp"),
                 "--n", "5", "--method", "uniform"]) == 0
    ed = LabelEditor(todo)
    ed.accept_all(0)
    ed.place(1, 0, "head", 500.0, 400.0)  # one animal corrected, the other prediction left alone
    ed.mark_empty(2)
    ed.save()
    return video, todo, ed


def test_a_labelled_project_becomes_a_deeplabcut_project_with_its_images(tmp_path, capsys):
    video, todo, ed = labelled_project(tmp_path)
    out = tmp_path / "dlc" / "labeled-data" / video.stem / "CollectedData_me.csv"
    assert main(["convert", str(todo), str(out), "--labels"]) == 0
    text = capsys.readouterr().out
    assert "kept the ground truth: 3 of 5 frames, 3 of 11 instances" in text  # 10 predicted + 3 user - 2 on the empty frame
    assert "saved 3 frame images" in text

    dlc = read_labels(out)
    src = read_labels(todo).ground_truth()
    config = out.parents[2] / "config.yaml"  # the new project's: its skeleton edges survive
    assert f"wrote {config}" in text
    assert dlc.skeleton.edge_names == src.skeleton.edge_names and len(dlc.skeleton.edges) == 12
    # the project's config names what the file's header holds: DeepLabCut checks both against each other
    import pandas as pd
    import yaml

    cfg = yaml.safe_load(config.read_text())
    header = pd.read_csv(out, header=[0, 1, 2, 3], index_col=[0, 1, 2], nrows=1).columns
    assert cfg["scorer"] == "me" and set(header.get_level_values("scorer")) == {"me"}
    assert cfg["multianimalproject"] is True
    assert cfg["individuals"] == list(dict.fromkeys(header.get_level_values("individuals")))
    assert len(dlc) == 3 and len(dlc.instances) == 3
    heads = dlc.instances.keypoints[:, 0]
    assert np.any(np.all(np.isclose(heads, [500.0, 400.0]), axis=1))
    np.testing.assert_allclose(np.sort(dlc.instances.keypoints, axis=None),
                               np.sort(src.instances.keypoints, axis=None), atol=1e-3, equal_nan=True)
    frames = [ed.frames[i].frame for i in range(3)]
    with VideoReader(video) as vr:
        for ref, img in zip(dlc.images, load_images(dlc)):
            f = int(Path(ref.image).stem[3:])
            assert f in frames and np.array_equal(img[..., 0], vr[f][..., 0])
    # converting again keeps the images already there
    assert main(["convert", str(todo), str(out.with_name("CollectedData_again.csv")), "--labels"]) == 0
    assert "saved 0 frame images" in capsys.readouterr().out


def test_coco_keeps_the_ground_truth_and_a_project_reads_as_labels_unless_tracks_are_asked_for(tmp_path, capsys):
    _, todo, _ = labelled_project(tmp_path)
    coco = tmp_path / "labels.json"
    assert main(["convert", str(todo), str(coco), "--labels"]) == 0
    data = json.loads(coco.read_text())
    assert len(data["images"]) == 3 and len(data["annotations"]) == 3
    # a SLEAP project (frames to label listed) reads as labelled frames by default ...
    assert content_kind(todo) == "labels"
    capsys.readouterr()
    assert main(["convert", str(todo), str(tmp_path / "coco2.json")]) == 0
    text = capsys.readouterr().out
    assert "read as labelled frames (a labelling project); --tracks reads it as tracks" in text
    assert json.loads((tmp_path / "coco2.json").read_text())["annotations"] == data["annotations"]
    assert main(["info", str(todo)]) == 0
    assert f"{todo}: slp labels" in capsys.readouterr().out
    # ... and as tracks when asked: every frame of the video, both identities
    assert main(["convert", str(todo), str(tmp_path / "tracks.h5"), "--tracks"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("128 frames, 2 animals, 13 keypoints")


def test_sleap_files_are_told_apart_by_what_they_hold(tmp_path):
    """Predictions and a fully labelled clip are tracks; sparse hand-labelled frames are a project."""
    import sleap_io as sio

    assert content_kind(FLIES / "two_flies.slp") == "tracks"  # every frame labelled by hand
    assert content_kind(FLIES.parent / "flies_tutorial_pair" / "predictions" / "predictions.slp") == "tracks"
    assert content_kind(FLIES.parent / "flies_centered_pair" / "labels.train.slp") == "labels"
    labels = sio.load_slp(str(FLIES / "two_flies.slp"))
    labels.labeled_frames = [lf for lf in labels.labeled_frames if lf.frame_idx % 10 == 0]  # 13 of 128
    labels.suggestions = []
    sparse = tmp_path / "sparse.slp"
    labels.save(str(sparse))
    assert content_kind(sparse) == "labels"


def test_a_project_of_predictions_only_is_not_written_as_an_empty_label_file(tmp_path, capsys):
    video = tmp_path / "v.mp4"
    shutil.copy(FLIES / "two_flies.mp4", video)
    todo = tmp_path / "todo.slp"
    assert main(["extract-frames", str(video), "--out", str(todo), "--tracks", str(FLIES / "two_flies.slp"),
                 "--n", "3", "--method", "uniform"]) == 0
    capsys.readouterr()
    for out in (tmp_path / "dlc" / "CollectedData_me.csv", tmp_path / "labels.json"):
        assert main(["convert", str(todo), str(out), "--labels"]) == 2
        err = capsys.readouterr().err
        assert "no animal placed by a person (6 predicted instances in 3 frames)" in err
        assert "convert the predictions as tracks (--tracks)" in err
        assert not out.exists() and not (out.parent / "config.yaml").exists()
