"""Training on label files that name different body parts (a project whose skeleton grew after some
frames were labelled): the parts a file does not name are unknown there -- left out of the loss
around its animals, not taught as absent -- and evaluation scores the parts a file names."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mapose.core.skeleton import Skeleton
from mapose.errors import SkeletonError

FLIES = Path(__file__).resolve().parents[2] / "data" / "flies_centered_pair" / "labels.train.slp"
TIPS = ["forelegL3", "forelegR3", "midlegL3", "midlegR3", "hindlegL3", "hindlegR3"]


def _take(labels, keep_images, names=None):
    """Labels of the images in ``keep_images`` (bool), with only the body parts ``names``."""
    keep = np.asarray(keep_images, bool)
    det = labels.instances.select(keep[labels.instances.frame])
    det = replace(det, frame=(np.cumsum(keep) - 1)[det.frame], n_frames=int(keep.sum()))
    sk = labels.skeleton
    if names is not None:
        idx = sk.indices(names)
        sk = sk.subset(names)
        det = replace(det, keypoints=det.keypoints[:, idx], keypoint_scores=det.keypoint_scores[:, idx], skeleton=sk)
    return replace(labels, skeleton=sk, images=tuple(r for r, k in zip(labels.images, keep) if k), instances=det,
                   is_user=labels.is_user[keep[labels.instances.frame]])


@pytest.fixture(scope="module")
def two_files(tmp_path_factory):
    """The bundled flies as two real .slp files: frames < 400 with all 24 parts, frames >= 400
    without the six leg tips and with the other parts in reverse order."""
    from mapose.io import read_labels, write_labels

    flies = read_labels(FLIES)
    frames = np.array([r.frame for r in flies.images])
    folder = tmp_path_factory.mktemp("two_files")
    first, second = folder / "early.slp", folder / "late.slp"
    write_labels(_take(flies, frames < 400), first)
    fewer = [k for k in flies.skeleton.keypoints if k not in TIPS][::-1]
    write_labels(_take(flies, frames >= 400, fewer), second)
    return flies, first, second


def test_skeletons_join_by_name():
    a = Skeleton.from_names(["head", "thorax", "wingL", "wingR"], [("head", "thorax")], [("wingL", "wingR")])
    b = Skeleton.from_names(["thorax", "head", "tail", "legL", "legR"], [("thorax", "head"), ("thorax", "tail")],
                            [("legL", "legR")])
    u = a.union([b])
    assert u.keypoints == ("head", "thorax", "wingL", "wingR", "tail", "legL", "legR")
    assert u.edge_names == [("head", "thorax"), ("thorax", "tail")]  # thorax-head is head-thorax
    assert u.symmetry_names == [("wingL", "wingR"), ("legL", "legR")]
    assert a.union([]) == a
    with pytest.raises(SkeletonError, match="disagree on left/right pairs: wingL-legR"):
        a.union([Skeleton.from_names(["wingL", "legR"], symmetry=[("wingL", "legR")])])


def test_parts_a_file_does_not_name_are_unknown_there(two_files):
    from mapose.data.dataset import samples_from_labels
    from mapose.io import read_labels

    flies, first, second = two_files
    early, late = read_labels(first), read_labels(second)
    samples = samples_from_labels([early, late])
    assert samples.skeleton.keypoints == flies.skeleton.keypoints  # the first file's order
    assert len(samples) == len(flies.images)
    tips = samples.skeleton.indices(TIPS)
    for i, frame in enumerate(samples.frames):
        # every part where it was labelled, placed by name whatever the order in the file
        want = flies.frame_instances(int(np.flatnonzero([r.frame == frame for r in flies.images])[0]))[0]
        got = samples.keypoints[i]
        unknown = samples.unknown[i]
        if frame < 400:
            np.testing.assert_array_equal(got, want)
            assert not unknown.any()
        else:
            assert unknown[:, tips].all() and unknown.sum() == len(got) * len(TIPS)
            assert np.isnan(got[:, tips]).all()
            others = [k for k in range(24) if k not in tips]
            np.testing.assert_array_equal(got[:, others], want[:, others])
    # one file alone has no unknown part
    assert samples_from_labels([early]).unknown == []
    # a file naming a part the skeleton lacks is refused by name
    with pytest.raises(SkeletonError, match="late.slp names body parts the model's skeleton lacks: .*wingL"):
        samples_from_labels([late], skeleton=Skeleton(("head", "thorax")))


def test_unknown_parts_are_left_out_of_the_loss_near_their_animal_only():
    from mapose.data.targets import encode_unknown_weights
    from mapose.training.heads import heatmap_loss, paf_loss

    kp = np.array([[[20.0, 20.0], [30.0, 20.0], [np.nan, np.nan]],  # tail unknown
                   [[90.0, 90.0], [100.0, 90.0], [110.0, 90.0]]])  # all labelled
    unknown = np.array([[False, False, True], [False, False, False]])
    edges = np.array([[0, 1], [1, 2]])
    hw, pw = encode_unknown_weights(kp, unknown, edges, (32, 32), 4, margin=12.0)
    assert hw.shape == (3, 32, 32) and pw.shape == (2, 32, 32)
    assert hw[:2].all() and pw[0].all()  # head and thorax maps, and the head-thorax field, taught everywhere
    # the tail map and the thorax-tail field are not taught within 12 px of the first animal's parts
    # (x 8..42, y 8..32: cells 2..10, 2..7) and are taught elsewhere, around the second animal too
    zero = np.zeros((32, 32), bool)
    zero[2:8, 2:11] = True
    np.testing.assert_array_equal(hw[2] == 0, zero)
    np.testing.assert_array_equal(pw[1] == 0, zero)

    # the loss gives no gradient where the weight is 0, and the same gradient elsewhere
    logits = torch.zeros(1, 3, 32, 32, requires_grad=True)
    target = torch.zeros(1, 3, 32, 32)
    weight = torch.from_numpy(hw)[None]
    heatmap_loss(logits, target, weight=weight).backward()
    grad = logits.grad[0, 2].numpy()
    assert (grad[zero] == 0).all() and (grad[~zero] > 0).all()
    pred = torch.ones(1, 4, 32, 32, requires_grad=True)
    paf_loss(pred, torch.zeros(1, 4, 32, 32), torch.from_numpy(pw)[None]).backward()
    g = pred.grad[0].numpy()
    assert (g[2:][:, zero] == 0).all() and (g[2:][:, ~zero] > 0).all() and (g[:2] > 0).all()


def test_mirrored_crops_carry_the_unknown_parts_to_their_partners():
    from mapose.data.augment import random_view

    img = np.zeros((64, 64, 1), np.uint8)
    kp = np.array([[[20.0, 30.0], [40.0, 30.0], [30.0, 20.0]]])
    unknown = np.array([[True, False, False]])
    perm = np.array([1, 0, 2])  # parts 0 and 1 are a left/right pair
    _, _, mirrored = random_view(img, kp, (64, 64), np.random.default_rng(0), perm, center=(31.5, 31.5),
                                 rotation_deg=0.0, hflip=1.0, unknown=unknown)
    np.testing.assert_array_equal(mirrored, [[False, True, False]])
    out = random_view(img, kp, (64, 64), np.random.default_rng(0), perm, center=(31.5, 31.5))
    assert len(out) == 2  # without unknown parts: image and keypoints, as before


def test_training_and_evaluation_on_files_with_different_body_parts(two_files, tmp_path, capsys):
    """Real files through ``mapose train`` and ``mapose evaluate``: the second file's leg tips are
    named, left out of its loss (the batches carry the weights), and not scored on it."""
    from mapose.cli import main
    from mapose.config import from_dict
    from mapose.data.dataset import EvalDataset, TrainDataset, _collate
    from mapose.io import read_labels
    from mapose.training.calibration import training_frames
    from mapose.training.config import TrainConfig
    from mapose.training.train import prepare_samples, say_untrained_parts, target_spec

    flies, first, second = two_files
    cfg = from_dict(TrainConfig, {"split": {"method": "none"}})
    skeleton, samples, _ = prepare_samples([first, second], cfg)
    said = capsys.readouterr().out
    assert (f"{second} does not label forelegL3, forelegR3, midlegL3, midlegR3, hindlegL3, hindlegR3 (6 of the 24 "
            "body parts the label files name)") in said
    assert str(first) + " does not label" not in said
    # training on the late frames only would leave the tips unlearnt: said before training starts
    late_only = np.array([f >= 400 for f in samples.frames])
    assert say_untrained_parts(samples, skeleton, late_only) == TIPS
    assert f"no training frame labels {', '.join(TIPS)}: the model will not learn" in capsys.readouterr().out
    assert say_untrained_parts(samples, skeleton, np.ones(len(samples), bool)) == []
    spec = replace(target_spec(cfg), unknown_margin=90.0)
    ds = TrainDataset(samples, spec, {"rotation_deg": 180.0, "hflip": 0.5}, 128, 16)
    batch = _collate([ds[i] for i in range(16)])
    assert batch["heatmap_weight"].shape == batch["heatmap"].shape
    assert batch["paf_weight"].shape[1] == skeleton.n_edges
    tips = skeleton.indices(TIPS)
    hw = batch["heatmap_weight"].numpy()
    others = [k for k in range(24) if k not in tips]
    assert (hw[:, others] == 1).all()  # parts every file names are taught everywhere
    assert (hw[:, tips] == 0).any() and (hw[:, tips] == 1).any()
    # validation frames (whole frames, no mirror) carry them too: a late frame's tips are not taught
    late = EvalDataset(samples.subset([len(samples) - 1]), spec)[0]
    assert (late["heatmap_weight"][tips] == 0).any() and (late["heatmap_weight"][others] == 1).all()
    assert (EvalDataset(samples.subset([0]), spec)[0]["heatmap_weight"] == 1).all()

    out = tmp_path / "model"
    config = tmp_path / "tiny.yaml"
    config.write_text("model: {decoder_channels: 32, head_channels: 16}\n"
                      "data: {samples_per_epoch: 8}\noptim: {batch_size: 4, ema_decay: 0.0}\n")
    assert main(["train", "--labels", str(first), str(second), "--out", str(out), "--config", str(config),
                 "--max-steps", "2", "--val-fraction", "0", "--no-progress"]) == 0
    assert json.loads((out / "skeleton.json").read_text())["keypoints"] == list(flies.skeleton.keypoints)
    # the label calibration measures every training frame in the model's keypoint order
    images, gts = training_frames([first, second], out / "split.json", skeleton=skeleton)
    assert len(images) == len(flies.images) and all(g.shape[1:] == (24, 2) for g in gts)
    assert sum(int(np.isnan(g[:, tips, 0]).all()) for g in gts) >= 27  # the 27 late frames, without leg tips
    capsys.readouterr()
    report = tmp_path / "late.json"
    assert main(["evaluate", "--model", str(out), "--labels", str(second), "--frames", "all",
                 "--json", str(report)]) == 0
    said = capsys.readouterr().out
    assert f"not scored: {', '.join(TIPS)} (the model finds them; {second} does not label them)" in said
    res = json.loads(report.read_text())
    assert res["not_scored"] == TIPS
    assert all(res["per_keypoint"][k]["n"] == 0 for k in TIPS)
    late = read_labels(second)
    assert res["n_gt_keypoints"] == int(np.isfinite(late.instances.keypoints[..., 0]).sum())
