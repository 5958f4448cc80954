"""Likely labelling mistakes: the checks find planted ones in real labels, and name real ones."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mapose.data.label_checks import check_labels, median_posture
from mapose.io import read_labels

FLIES = Path(__file__).resolve().parents[2] / "data" / "flies_centered_pair" / "labels.train.slp"


@pytest.fixture(scope="module")
def flies():
    return read_labels(FLIES)


def _with_keypoints(labels, kp):
    return dataclasses.replace(labels, instances=dataclasses.replace(labels.instances, keypoints=kp))


def _found(issues, kind, instance, keypoints=None):
    return [s for s in issues if s.kind == kind and s.instance == instance
            and (keypoints is None or set(keypoints) <= set(s.keypoints))]


def test_the_bundled_fly_labels_name_their_real_mistakes(flies):
    issues = check_labels(flies)
    got = {(s.kind, s.frame, s.animal, s.keypoints) for s in issues}
    # a hind-leg joint placed on the wing (525) and a mid-leg joint on the far side of the body (241),
    # both plain to see; in frame 200 all three hind-leg pairs fit the median posture 49-87 px better
    # swapped
    assert ("left_right_swap", 200, 1, ("hindlegL3", "hindlegR3")) in got
    assert ("limb_length", 525, 0, ("hindlegL1", "hindlegL2")) in got
    assert ("limb_length", 241, 1, ("midlegR1", "midlegR2")) in got
    assert len(issues) <= 10  # 2600 labelled keypoints: a short list to look at, not noise
    assert all(s.frame in (31, 200, 241, 426, 525, 852) for s in issues)


def test_planted_mistakes_are_found(flies):
    names = flies.skeleton.keypoints
    kp = np.array(flies.instances.keypoints, copy=True)
    k = names.index
    swap, limb, stack, off = 4, 10, 20, 30
    assert np.isfinite(kp[[swap, limb, stack, off]][:, [k("midlegL3"), k("midlegR3"), k("head")]]).all()
    kp[swap, [k("midlegL3"), k("midlegR3")]] = kp[swap, [k("midlegR3"), k("midlegL3")]]
    kp[limb, k("head")] += 60.0
    kp[stack, k("forelegL3")] = kp[stack, k("abdomen")]
    kp[off, k("thorax")] = (-30.0, 50.0)
    # an animal added twice: the second of frame f's animals put on the first
    frame = np.asarray(flies.instances.frame)
    f = frame[40]
    pair = np.flatnonzero(frame == f)
    assert len(pair) == 2
    kp[pair[1]] = kp[pair[0]] + 0.3
    issues = check_labels(_with_keypoints(flies, kp), image_sizes={flies.images[0].video: (384, 384)})
    assert _found(issues, "left_right_swap", swap, ("midlegL3", "midlegR3"))
    assert _found(issues, "limb_length", limb, ("neck", "head"))
    assert _found(issues, "stacked_keypoints", stack, ("forelegL3",))
    assert _found(issues, "outside_image", off, ("thorax",))
    dup = _found(issues, "duplicate_instance", int(pair[1]))
    assert dup and "added twice" in dup[0].message
    assert len(check_labels(flies)) < len(issues)


def test_swapped_spread_wings_are_found_by_the_side_of_the_body_axis(flies):
    """The median fly folds its wings, so swapping the tips of a fly that spreads them fits the
    median posture as well as before: the posture check misses it (0 of the 20 spread-winged flies
    when each was swapped in turn); every other labelled fly has the left tip on one side of the
    head-abdomen axis, which finds it."""
    from mapose.decode.sides import side_of

    names = flies.skeleton.keypoints
    k = names.index
    kp = np.array(flies.instances.keypoints, copy=True)
    user = np.flatnonzero(flies.is_user)
    sides = [side_of(kp[user, k(w)], kp[user, k("head")], kp[user, k("abdomen")]) for w in ("wingL", "wingR")]
    spread = user[sides[0] * sides[1] < 0]
    assert len(spread) == 20
    assert not [s for s in check_labels(flies) if s.kind == "wrong_side"]  # frame 200: a posture swap only
    for j in spread[[0, 7, 19]]:
        moved = kp.copy()
        moved[j, [k("wingL"), k("wingR")]] = kp[j, [k("wingR"), k("wingL")]]
        issues = check_labels(_with_keypoints(flies, moved))
        assert not _found(issues, "left_right_swap", j, ("wingL", "wingR"))
        hit = _found(issues, "wrong_side", j, ("wingL", "wingR"))
        assert len(hit) == 1 and "head-abdomen axis than in 19 other labelled animals" in hit[0].message


def test_training_can_leave_the_flagged_body_parts_out(flies, capsys):
    """``data.suspect_labels: leave_out`` trains as if the flagged parts were not labelled: both parts
    of a flagged pair, every part of an animal placed twice, nothing else; the label file stays."""
    from mapose.config import from_dict
    from mapose.data.label_checks import suspect_keypoint_mask
    from mapose.training.config import TrainConfig
    from mapose.training.train import prepare_samples

    names = flies.skeleton.keypoints
    kp = np.array(flies.instances.keypoints, copy=True)
    frame = np.asarray(flies.instances.frame)
    pair = np.flatnonzero(frame == frame[40])
    kp[pair[1]] = kp[pair[0]] + 0.3
    planted = _with_keypoints(flies, kp)
    issues = check_labels(planted)
    gone = suspect_keypoint_mask(planted, issues)
    want = np.zeros_like(gone)
    for s in issues:
        want[s.instance, [names.index(n) for n in s.keypoints] if s.keypoints else slice(None)] = True
    want &= np.isfinite(kp[..., 0])
    np.testing.assert_array_equal(gone, want)
    assert gone[pair[1]].all() and not gone[pair[0]].any()
    assert np.isfinite(planted.instances.keypoints[gone]).all()  # the labels given are not changed

    # training on the bundled file: frame 200's swapped hind legs are unknown (not taught, and not
    # taught to be absent either), the rest is as labelled
    cfg = from_dict(TrainConfig, {"data": {"suspect_labels": "leave_out"}})
    _, samples, _ = prepare_samples([FLIES], cfg)
    assert "training without the 16 labelled body parts they name" in capsys.readouterr().out
    i = list(samples.frames).index(200)
    hind = [names.index(f"hindleg{s}{j}") for s in "LR" for j in (1, 2, 3)]
    assert np.isnan(samples.keypoints[i][1][hind]).all()
    assert samples.unknown[i][1][hind].all() and not samples.unknown[i][0].any()
    assert sum(int(u.sum()) for u in samples.unknown) == 16
    assert np.isfinite(samples.keypoints[i][0]).sum() == np.isfinite(flies.frame_instances(i)[0][0]).sum()
    _, as_labelled, _ = prepare_samples([FLIES], TrainConfig())
    assert "training on them as they are" in capsys.readouterr().out
    assert np.isfinite(as_labelled.keypoints[i][1][hind]).all()
    assert as_labelled.unknown == []


def test_median_posture_ignores_rotation():
    rng = np.random.default_rng(0)
    base = np.array([[0, 0], [10, 0], [20, 2], [5, 6]], float)
    inst = []
    for _ in range(30):
        th = rng.uniform(-np.pi, np.pi)
        r = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        p = (base + rng.normal(0, 0.2, base.shape)) @ r.T + rng.uniform(-100, 100, 2)
        p[rng.integers(4)] = np.nan  # a missing body part in every animal
        inst.append(p)
    t = median_posture(np.array(inst))
    d = np.linalg.norm(t[:, None] - t[None], axis=-1)
    np.testing.assert_allclose(d, np.linalg.norm(base[:, None] - base[None], axis=-1), atol=0.5)


def test_cli_writes_report_and_pictures(tmp_path, capsys):
    from mapose.cli import main

    out = tmp_path / "issues.json"
    assert main(["check-labels", str(FLIES), "--json", str(out), "--images", str(tmp_path / "img")]) == 0
    printed = capsys.readouterr().out
    assert "frame 200 animal 1: hindlegL3 and hindlegR3 look swapped" in printed
    rec = json.loads(out.read_text())[0]
    assert rec["issues"] and {"kind", "frame", "animal", "keypoints", "message"} <= set(rec["issues"][0])
    assert len(rec["images"]) == len({i["frame"] for i in rec["issues"]})
    assert all(Path(p).stat().st_size > 1000 for p in rec["images"])


def test_cli_says_a_predictions_only_file_has_nothing_to_check(tmp_path, flies, capsys):
    from mapose.cli import main
    from mapose.io import write_labels

    pred = tmp_path / "pred.slp"
    write_labels(dataclasses.replace(flies, is_user=np.zeros(len(flies.instances.frame), bool)), pred)
    assert not read_labels(pred).is_user.any()
    out = tmp_path / "issues.json"
    assert main(["check-labels", str(pred), "--json", str(out)]) == 0
    assert f"no human-labelled animal, only {len(flies.instances.frame)} predicted ones; nothing to check" \
        in capsys.readouterr().out
    assert json.loads(out.read_text())[0]["issues"] == []
