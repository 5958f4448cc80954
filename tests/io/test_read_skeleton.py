"""read_skeleton: a new project's skeleton from a list of names, a skeleton file, a DeepLabCut
config.yaml, a model folder or any pose file; and the from-scratch labelling flow it starts."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mapose.cli import main
from mapose.data.label_editor import LabelEditor
from mapose.errors import MissingFileError, SkeletonError
from mapose.io import read_labels, read_skeleton

ROOT = Path(__file__).resolve().parents[2]
MIRROR_CONFIG = ROOT / "data" / "mouse_mirror_lp" / "config_mirror-mouse-example.yaml"
FLIES = ROOT / "data" / "flies_dreem"


def test_every_source_gives_the_skeleton_it_names(tmp_path):
    names = read_skeleton("head, thorax, abdomen, wingL, wingR")
    assert names.keypoints == ("head", "thorax", "abdomen", "wingL", "wingR")
    assert names.edges == () and names.symmetry_names == [("wingL", "wingR")]

    f = tmp_path / "sk.yaml"
    f.write_text("keypoints: [nose, ear_left, ear_right, tail]\nedges: [[nose, tail]]\n")
    sk = read_skeleton(f)
    assert sk.edge_names == [("nose", "tail")] and sk.symmetry_names == [("ear_left", "ear_right")]
    j = tmp_path / "sk.json"
    j.write_text(json.dumps(sk.to_dict()))
    assert read_skeleton(j) == sk

    lp = read_skeleton(MIRROR_CONFIG)  # Lightning Pose's config of the bundled mirror-mouse labels
    assert lp.keypoints == read_labels(ROOT / "data" / "mouse_mirror_lp" / "CollectedData.csv").skeleton.keypoints
    cfg = tmp_path / "config.yaml"  # a DeepLabCut multi-animal project's config
    cfg.write_text("Task: mice\nmultianimalproject: true\nbodyparts: MULTI!\n"
                   "multianimalbodyparts: [snout, leftear, rightear, tailbase]\nuniquebodyparts: []\n"
                   "individuals: [m1, m2]\nskeleton:\n- [snout, tailbase]\n")
    dlc = read_skeleton(cfg)
    assert dlc.keypoints == ("snout", "leftear", "rightear", "tailbase")
    assert dlc.edge_names == [("snout", "tailbase")] and dlc.symmetry_names == [("leftear", "rightear")]
    assert read_skeleton(FLIES / "two_flies.slp").keypoints == read_labels(FLIES / "two_flies.slp").skeleton.keypoints

    with pytest.raises(SkeletonError, match="repeated"):
        read_skeleton("a,b,a")
    with pytest.raises(MissingFileError, match="skeleton source not found"):
        read_skeleton(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("edges: [[a, b]]\n")
    with pytest.raises(SkeletonError, match="bad.yaml: no 'keypoints'.*Lightning Pose"):
        read_skeleton(bad)
    bad.write_text("keypoints: [a, b]\nedges: [[a, c]]\n")
    with pytest.raises(SkeletonError, match="bad.yaml"):
        read_skeleton(bad)


def test_a_new_project_from_body_part_names_is_labelled_and_trains_from(tmp_path, capsys):
    video = tmp_path / f"{tmp_path.name}.mp4"
    shutil.copy(FLIES / "two_flies.mp4", video)
    todo = tmp_path / "new.slp"
    assert main(["extract-frames", str(video), "--out", str(todo), "--skeleton", "head,thorax,abdomen",
                 "--n", "3", "--method", "uniform"]) == 0
    ed = LabelEditor(todo)
    assert ed.keypoints == ("head", "thorax", "abdomen") and ed.counts()["unlabelled"] == 3
    for i in range(2):
        a = ed.add_instance(i, track="fly1")
        for k, (x, y) in enumerate([(100, 100), (110, 105), (120, 110)]):
            ed.place(i, a, k, x + 10 * i, y)
    ed.save()
    labels = read_labels(todo)
    assert labels.ground_truth_images().sum() == 2 and labels.individuals == ("fly1",)
    assert np.allclose(labels.instances.keypoints[1], [[110, 100], [120, 105], [130, 110]])
