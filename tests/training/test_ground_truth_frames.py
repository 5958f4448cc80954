"""Frames that carry only predicted instances are not ground truth: neither trained on nor scored."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mapose.core.detections import Detections
from mapose.core.labels import ImageRef, Labels
from mapose.data.dataset import samples_from_labels
from mapose.errors import ConfigError
from mapose.io import read_labels, write_labels
from mapose.training.evaluate import select_frames


def _mixed(lab: Labels, tmp_path) -> Labels:
    """6 labelled images; image 4 holds predictions only; an extra image 6 holds no animal."""
    empty = tmp_path / "img06.png"
    cv2.imwrite(str(empty), np.full((64, 64), 30, np.uint8))
    det = lab.instances
    det = Detections(frame=det.frame, keypoints=det.keypoints, keypoint_scores=det.keypoint_scores * 0.7,
                     instance_scores=det.instance_scores, skeleton=lab.skeleton, n_frames=7)
    return Labels(lab.skeleton, lab.images + (ImageRef(image=str(empty)),), det,
                  is_user=det.frame != 4, root=lab.root, source=lab.source)


def test_prediction_only_frames_are_not_ground_truth(synthetic_labels, tmp_path):
    lab = _mixed(synthetic_labels, tmp_path)
    assert lab.ground_truth_images().tolist() == [True] * 4 + [False, True, True]

    samples = samples_from_labels([lab])
    assert samples.label_index == [0, 1, 2, 3, 5, 6]
    assert [len(k) for k in samples.keypoints] == [2, 2, 2, 2, 2, 0]  # image 6: a negative
    # without the user filter every image is a sample, with its predicted instances
    assert len(samples_from_labels([lab], user_only=False).images) == 7

    assert select_frames(lab, "all", None).tolist() == [0, 1, 2, 3, 5, 6]
    assert select_frames(lab, "2:5", None).tolist() == [2, 3]


def test_ground_truth_survives_a_sleap_round_trip(synthetic_labels, tmp_path):
    lab = _mixed(synthetic_labels, tmp_path)
    out = tmp_path / "mixed.slp"
    write_labels(lab, out)
    back = read_labels(out)
    assert back.ground_truth_images().tolist() == lab.ground_truth_images().tolist()
    assert len(samples_from_labels([back]).images) == 6


def test_no_ground_truth_selected_says_why(synthetic_labels, tmp_path):
    lab = _mixed(synthetic_labels, tmp_path)
    with pytest.raises(ConfigError, match="placed by a person"):
        select_frames(lab, "4:5", None)


def test_image_files_split_by_folder_and_the_frame_number_in_their_name(tmp_path):
    from mapose.core.detections import Detections
    from mapose.core.skeleton import Skeleton
    from mapose.data.split import split_frames

    sk = Skeleton(("a", "b"))
    names = [f"labeled-data/sessionA/img{n:04d}.png" for n in (5, 17, 230, 231, 900)] + \
        ["labeled-data/sessionB/left.png", "labeled-data/sessionB/right.png", "labeled-data/sessionB/img3.png"]
    refs = tuple(ImageRef(image=n) for n in names)
    det = Detections(frame=np.arange(8), keypoints=np.zeros((8, 2, 2)), keypoint_scores=np.ones((8, 2)),
                     instance_scores=np.ones(8), skeleton=sk, n_frames=8)
    lab = Labels(sk, refs, det)
    keys = lab.frame_keys()
    assert keys[:5] == [("labeled-data/sessionA", n) for n in (5, 17, 230, 231, 900)]
    # names without distinct trailing numbers: numbered in name order
    assert keys[5:] == [("labeled-data/sessionB", 1), ("labeled-data/sessionB", 2), ("labeled-data/sessionB", 0)]
    # a DeepLabCut project of one folder now gets validation frames from the default split
    val = split_frames([k[0] for k in keys], [k[1] for k in keys], "blocks", n_blocks=3, val_fraction=0.34)
    assert val.any() and not val.all()
    assert val[:5].any() and val[5:].any()  # each folder gives a block


def test_a_split_that_does_not_match_its_own_label_file_is_refused(synthetic_labels, tmp_path):
    import json

    lab = synthetic_labels
    folder = str(tmp_path)
    split = tmp_path / "split.json"
    rows = [{"labels": lab.source, "video": folder, "frame": f, "label_index": f} for f in range(4)]
    split.write_text(json.dumps({"train": rows, "val": []}))
    assert select_frames(lab, "val", split).tolist() == [4, 5]
    # keys of an older layout (image path, index): nothing matches -> error, not "every frame is new"
    old = [{**r, "video": f"{folder}/img{r['frame']:02d}.png", "frame": 100 + r["frame"]} for r in rows]
    split.write_text(json.dumps({"train": old, "val": []}))
    with pytest.raises(ConfigError, match="do not match"):
        select_frames(lab, "val", split)
