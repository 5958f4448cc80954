"""COCO keypoints JSON labels."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mapose.core import Detections, ImageRef, Labels
from mapose.core.skeleton import Skeleton
from mapose.errors import FormatError
from mapose.io import coco, detect_format, dlc, read_labels, write_labels
from tests.conftest import DATA_DIR

DOC = {
    "images": [
        {"id": 10, "file_name": "frames/a.png", "width": 64, "height": 48},
        {"id": 11, "file_name": "frames/b.png", "width": 64, "height": 48},
        {"id": 12, "file_name": "frames/c.png", "width": 64, "height": 48},
    ],
    "categories": [
        {"id": 3, "name": "mouse", "keypoints": ["nose", "left_ear", "right_ear", "tail"],
         "skeleton": [[1, 2], [1, 3], [1, 4]]},
        {"id": 4, "name": "arena"},
    ],
    "annotations": [
        {"id": 1, "image_id": 11, "category_id": 3, "track_id": 0,
         "keypoints": [10, 20, 2, 12.5, 18, 1, 0, 0, 0, 40, 30, 2]},
        {"id": 2, "image_id": 10, "category_id": 3, "attributes": {"individual": "pup"},
         "keypoints": [1, 2, 2, 3, 4, 2, 5, 6, 2, 7, 8, 2]},
        {"id": 3, "image_id": 11, "category_id": 3, "attributes": {"individual": "pup"},
         "score": 0.7, "keypoints": [11, 21, 2, 0, 0, 0, 0, 0, 0, 41, 31, 2]},
        {"id": 4, "image_id": 12, "category_id": 4, "bbox": [0, 0, 10, 10]},
    ],
}


def write_doc(tmp_path, doc=DOC):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(doc))
    return path


def test_read_known_file(tmp_path):
    path = write_doc(tmp_path)
    assert coco.sniff(path) and not dlc.sniff(path)
    assert detect_format(path) == "coco"
    labels = read_labels(path)
    assert labels.skeleton.keypoints == ("nose", "left_ear", "right_ear", "tail")
    assert labels.skeleton.edge_names == [("nose", "left_ear"), ("nose", "right_ear"), ("nose", "tail")]
    assert labels.skeleton.symmetry_names == [("left_ear", "right_ear")]
    assert [r.image for r in labels.images] == ["frames/a.png", "frames/b.png", "frames/c.png"]
    assert labels.root == str(tmp_path.resolve())
    assert labels.individuals == ("0", "pup")
    det = labels.instances
    assert list(det.frame) == [0, 1, 1]          # sorted by image
    assert list(det.track_id) == [1, 0, 1]
    np.testing.assert_array_equal(det.keypoints[1][:2], [[10, 20], [12.5, 18]])
    assert np.isnan(det.keypoints[1][2]).all()   # v = 0
    np.testing.assert_array_equal(det.keypoint_scores[1][[0, 1, 3]], [1.0, 0.5, 1.0])
    assert list(labels.is_user) == [True, True, False]
    assert det.instance_scores[2] == pytest.approx(0.7)
    kp, tid = labels.frame_instances(2)
    assert len(kp) == 0                           # the arena box is another category


def test_round_trip_is_lossless(tmp_path):
    labels = read_labels(write_doc(tmp_path))
    out = tmp_path / "copy.json"
    write_labels(labels, out)
    back = coco.read_labels(out)
    assert back.skeleton == labels.skeleton and back.individuals == labels.individuals
    assert back.images == labels.images
    for a, b in ((back.instances, labels.instances),):
        np.testing.assert_array_equal(a.frame, b.frame)
        np.testing.assert_array_equal(a.track_id, b.track_id)
        assert np.array_equal(a.keypoints, b.keypoints, equal_nan=True)
        assert np.array_equal(a.keypoint_scores, b.keypoint_scores, equal_nan=True)
        np.testing.assert_allclose(a.instance_scores, b.instance_scores)
    np.testing.assert_array_equal(back.is_user, labels.is_user)
    doc = json.loads(out.read_text())
    ann = doc["annotations"][1]
    assert ann["keypoints"][6:9] == [0, 0, 0] and ann["keypoints"][5] == 1
    assert ann["num_keypoints"] == 3 and ann["bbox"] == [10, 18, 30, 12]
    assert doc["categories"][0]["skeleton"] == [[1, 2], [1, 3], [1, 4]]


def test_dlc_labels_to_coco_and_back(tmp_path):
    labels = dlc.read_labels(DATA_DIR / "mouse_mirror_lp" / "CollectedData.csv")
    out = tmp_path / "mirror.json"
    write_labels(labels, out)
    doc = json.loads(out.read_text())
    assert doc["images"][0]["file_name"] == "labeled-data/img01.png"
    assert (doc["images"][0]["width"], doc["images"][0]["height"]) == (396, 406)  # bundled image
    assert "width" not in doc["images"][5]                                         # not bundled
    back = coco.read_labels(out, image_root=labels.root)
    assert back.images == labels.images
    assert np.array_equal(back.instances.keypoints, labels.instances.keypoints, equal_nan=True)
    assert back.resolve(back.images[0].image).is_file()


def test_video_frames_and_predicted_scores_survive(tmp_path):
    sk = Skeleton.from_names(["a", "b"], [("a", "b")])
    det = Detections(frame=[0, 1], keypoints=[[[1, 2], [3, 4]], [[5, 6], [np.nan, np.nan]]],
                     keypoint_scores=[[0.31, 0.9], [0.6, np.nan]], instance_scores=[0.4, 0.8],
                     skeleton=sk, n_frames=2)
    labels = Labels(sk, (ImageRef(video="v/clip.mp4", frame=7), ImageRef(video="v/clip.mp4", frame=99)),
                    det, is_user=np.array([False, False]))
    out = tmp_path / "pred.json"
    write_labels(labels, out)
    back = read_labels(out)
    assert back.images[0].video == "v/clip.mp4" and back.images[1].frame == 99
    assert np.array_equal(back.instances.keypoint_scores, det.keypoint_scores, equal_nan=True)
    np.testing.assert_allclose(back.instances.instance_scores, [0.4, 0.8])
    assert not back.is_user.any()


def test_bad_coco(tmp_path):
    noise = tmp_path / "noise.json"
    noise.write_bytes(np.random.default_rng(0).bytes(300))
    assert not coco.sniff(noise)
    with pytest.raises(FormatError, match="noise.json"):
        coco.read_labels(noise)
    doc = json.loads(json.dumps(DOC))
    doc["annotations"][0]["keypoints"] = [1, 2, 2]
    with pytest.raises(FormatError, match=r"annotation 1 has 3 keypoint values; expected 12"):
        coco.read_labels(write_doc(tmp_path, doc))
    doc = json.loads(json.dumps(DOC))
    doc["categories"][1]["keypoints"] = ["x"]
    with pytest.raises(FormatError, match="'mouse', 'arena'.*category="):
        coco.read_labels(write_doc(tmp_path, doc))
    assert coco.read_labels(write_doc(tmp_path, doc), category="mouse").skeleton.n_keypoints == 4
    doc = json.loads(json.dumps(DOC))
    doc["categories"][0]["skeleton"] = [[0, 1]]
    with pytest.raises(FormatError, match="1-based"):
        coco.read_labels(write_doc(tmp_path, doc))


def test_failed_write_leaves_nothing(tmp_path):
    sk = Skeleton(("a",))
    det = Detections(frame=[0], keypoints=[[[1.0, 2.0]]], keypoint_scores=[[1.0]],
                     instance_scores=[np.inf], skeleton=sk, n_frames=1)
    labels = Labels(sk, (ImageRef(image="x.png"),), det, is_user=np.array([False]))
    with pytest.raises(ValueError):
        coco.write_labels(labels, tmp_path / "bad.json")  # inf is not valid JSON
    assert os.listdir(tmp_path) == []
