"""``mapose extract-frames``: frames to label written as a SLEAP project, end to end on sample data."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
import sleap_io as sio

from mapose.data.dataset import samples_from_labels
from mapose.errors import ValidationError
from mapose.io import read_labels
from mapose.io.video import VideoReader

from test_cli_foundation import DATA, SLP_TRACKS, VIDEO, assert_one_clear_error, mapose

PAIR_VIDEO = DATA / "flies_centered_pair" / "centered_pair_low_quality.mp4"
PAIR_LABELS = DATA / "flies_centered_pair" / "labels.train.slp"


def test_kmeans_frames_to_label_with_images(tmp_path):
    out = tmp_path / "todo.slp"
    res = mapose("extract-frames", PAIR_VIDEO, "--out", out, "--n", "6", "--skeleton", PAIR_LABELS,
                 "--exclude", PAIR_LABELS, "--images", tmp_path / "labeled-data")
    assert res.returncode == 0, res.stderr
    assert "by kmeans (55 labelled frames excluded)" in res.stdout
    table = pd.read_csv(tmp_path / "todo.frames.csv")
    frames = table["frame"].tolist()
    assert len(frames) == 6 and (table["method"] == "kmeans").all()
    done = {r.frame for r in read_labels(PAIR_LABELS).images}
    assert min(abs(f - d) for f in frames for d in done) >= 10

    project = sio.load_slp(str(out))
    assert sorted(s.frame_idx for s in project.suggestions) == frames
    assert Path(project.suggestions[0].video.filename).name == PAIR_VIDEO.name
    assert project.skeletons[0].node_names == list(read_labels(PAIR_LABELS).skeleton.keypoints)
    assert len(project.labeled_frames) == 0

    with VideoReader(PAIR_VIDEO) as vr:
        for f in frames[:2]:
            img = cv2.imread(str(tmp_path / "labeled-data" / PAIR_VIDEO.stem / f"img{f:05d}.png"))
            np.testing.assert_array_equal(img[..., ::-1], vr[f])


def test_uncertain_frames_carry_predictions_that_become_labels_once_corrected(tmp_path):
    out = tmp_path / "refine.slp"
    res = mapose("extract-frames", VIDEO, "--out", out, "--n", "5", "--tracks", SLP_TRACKS, "--min-gap", "3")
    assert res.returncode == 0, res.stderr
    assert "by uncertain" in res.stdout and "10 predicted animals to correct" in res.stdout
    labels = read_labels(out)
    assert len(labels.images) == 5 and not labels.is_user.any()
    assert labels.individuals == ("F", "M")
    assert not labels.ground_truth_images().any()  # unreviewed: nothing to train on yet
    with pytest.raises(ValidationError, match="no frame labelled by a person"):
        samples_from_labels([labels])

    # what a person does in SLEAP: accept (convert) the predictions of two frames, save
    project = sio.load_slp(str(out))
    for lf in project.labeled_frames[:2]:
        lf.instances = [sio.Instance.from_numpy(inst.numpy(), skeleton=inst.skeleton, track=inst.track)
                        for inst in lf.instances]
    project.save(str(tmp_path / "refined.slp"))
    refined = read_labels(tmp_path / "refined.slp")
    assert refined.ground_truth_images().sum() == 2
    samples = samples_from_labels([refined])
    assert len(samples.images) == 2 and all(len(k) == 2 for k in samples.keypoints)


def test_pose_method_and_clear_errors(tmp_path):
    res = mapose("extract-frames", VIDEO, "--out", tmp_path / "p.slp", "--n", "4", "--method", "pose",
                 "--tracks", SLP_TRACKS, "--no-predictions")
    assert res.returncode == 0, res.stderr
    assert len(sio.load_slp(str(tmp_path / "p.slp")).suggestions) == 4

    assert_one_clear_error(mapose("extract-frames", VIDEO, "--out", tmp_path / "a.slp"), "skeleton")
    assert_one_clear_error(mapose("extract-frames", VIDEO, "--out", tmp_path / "a.h5", "--tracks", SLP_TRACKS),
                           ".slp")
    assert_one_clear_error(mapose("extract-frames", VIDEO, "--out", tmp_path / "a.slp", "--method", "pose",
                                  "--skeleton", SLP_TRACKS), "pose file")
    assert_one_clear_error(mapose("extract-frames", tmp_path / "missing.mp4", "--out", tmp_path / "a.slp",
                                  "--skeleton", SLP_TRACKS), "missing.mp4")
