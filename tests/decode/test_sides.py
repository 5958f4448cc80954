"""The side of the body each left/right part is labelled on (mapose.decode.sides)."""

import numpy as np

from mapose.core.skeleton import Skeleton
from mapose.decode.sides import BodySides, learn_body_sides, side_of

SK = Skeleton.from_names(
    ["head", "thorax", "abdomen", "wingL", "wingR", "legL", "legR"],
    edges=[("thorax", "head"), ("thorax", "abdomen"), ("thorax", "wingL"), ("thorax", "wingR"),
           ("thorax", "legL"), ("thorax", "legR")],
    symmetry=[("wingL", "wingR"), ("legL", "legR")],
)


def animals(n, spread=True, mirrored=False, seed=0):
    """``n`` animals at random places and headings; head +x, the left parts at -y in the animal's
    frame (+y for ``mirrored``, as filmed from below); wings folded on the axis unless ``spread``."""
    rng = np.random.default_rng(seed)
    local = np.array([[10, 0], [0, 0], [-10, 0], [-8, -6 if spread else 0.2], [-8, 6 if spread else -0.2],
                      [2, -5], [2, 5]], dtype=float)
    if mirrored:
        local[:, 1] *= -1
    out = []
    for _ in range(n):
        a = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(a), np.sin(a)
        out.append(local @ np.array([[c, s], [-s, c]]) + rng.uniform(0, 500, 2))
    return np.stack(out)


def test_side_of_is_the_sign_of_the_cross_product_with_a_margin():
    p, q = np.array([0.0, 0.0]), np.array([10.0, 0.0])
    pts = np.array([[5, 3], [5, -3], [5, 0.4], [np.nan, 1]])
    np.testing.assert_array_equal(side_of(pts, p, q), [1, -1, 0, 0])  # 0.4 is within 5 % of 10


def test_the_rule_is_learned_from_the_labels_whatever_the_heading():
    sides = learn_body_sides(animals(20), SK)
    names = SK.keypoints
    assert sides.axis == (names.index("head"), names.index("abdomen"))  # the unpaired parts farthest apart
    side = dict(zip(names, sides.side))
    assert side["wingL"] == side["legL"] == -side["wingR"] == -side["legR"] != 0
    assert side["head"] == side["thorax"] == 0
    np.testing.assert_array_equal(sides.partner, [0, 1, 2, 4, 3, 6, 5])
    # filmed from below, the left parts lie on the other side: the rule follows the labels
    flipped = learn_body_sides(animals(20, mirrored=True), SK)
    np.testing.assert_array_equal(flipped.side, -sides.side)
    # a new animal's parts fall on the learned sides
    a = animals(1, seed=5)[0]
    p, q = a[list(sides.axis)]
    assert side_of(a[3], p, q) == side["wingL"] and side_of(a[4], p, q) == side["wingR"]


def test_no_rule_without_evidence_or_agreement():
    # folded wings lie on the axis: no rule for them, the legs keep theirs
    folded = learn_body_sides(animals(20, spread=False), SK)
    assert folded.side[3] == folded.side[4] == 0 and folded.side[5] != 0
    # fewer than 5 animals with the parts apart
    assert learn_body_sides(animals(4), SK) is None
    # half the animals one way, half the other (labels that do not follow anatomy)
    assert learn_body_sides(np.concatenate([animals(10), animals(10, mirrored=True, seed=1)]), SK) is None
    # no left/right pairs
    plain = Skeleton.from_names(list(SK.keypoints), SK.edge_names)
    assert learn_body_sides(animals(20), plain) is None
    # unlabelled parts are left out, not counted
    kp = animals(20)
    kp[:10, 3:5] = np.nan
    assert learn_body_sides(kp, SK).side[3] != 0


def test_the_rule_round_trips_through_json_and_refuses_other_skeletons():
    sides = learn_body_sides(animals(20), SK)
    rec = sides.to_json(SK)
    assert rec["axis"] == ["head", "abdomen"] and set(rec["side"]) == {"wingL", "wingR", "legL", "legR"}
    back = BodySides.from_json(rec, SK)
    assert back.axis == sides.axis
    np.testing.assert_array_equal(back.side, sides.side)
    np.testing.assert_array_equal(back.partner, sides.partner)
    other = Skeleton.from_names(["nose", "tail", "earL", "earR"], [("nose", "tail")], [("earL", "earR")])
    assert BodySides.from_json(rec, other) is None
    assert BodySides.from_json(None, SK) is None


def test_training_reads_the_rule_off_its_training_frames_only():
    from types import SimpleNamespace

    from mapose.training.train import body_sides

    frames = [*animals(20)[:, None], *animals(20, mirrored=True, seed=1)[:, None], np.zeros((0, 7, 2))]
    samples = SimpleNamespace(keypoints=frames)  # one animal per frame, and a frame without animals
    train = np.r_[np.ones(20, bool), np.zeros(20, bool), True]
    np.testing.assert_array_equal(body_sides(samples, SK, train).side, learn_body_sides(animals(20), SK).side)
    assert body_sides(samples, SK, np.ones(41, bool)) is None  # the two halves disagree
    assert body_sides(samples, SK, np.zeros(41, bool)) is None
