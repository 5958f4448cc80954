"""Core data types: Skeleton, Detections, Tracks layout and conversions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapose.core import (
    Detections,
    ImageRef,
    Labels,
    Skeleton,
    detections_to_tracks,
    get_skeleton,
    make_tracks,
    n_missing_fraction,
    tracks_to_detections,
    validate_tracks,
)
from mapose.errors import SkeletonError, ValidationError


@pytest.fixture
def fly():
    kps = ["head", "thorax", "abdomen", "wingL", "wingR", "forelegL1", "forelegR1"]
    return Skeleton.from_names(
        kps,
        edges=[("head", "thorax"), ("thorax", "abdomen"), ("thorax", "wingL"), ("thorax", "wingR")],
        symmetry=Skeleton.guess_symmetry(kps),
    )


def test_skeleton_lookup_and_errors(fly):
    assert fly.index("abdomen") == 2
    with pytest.raises(SkeletonError, match="bodypart 'nose' not in skeleton; known: head, thorax"):
        fly.index("nose")
    with pytest.raises(SkeletonError, match="duplicated"):
        Skeleton(("a", "a"))
    with pytest.raises(SkeletonError, match="itself"):
        Skeleton(("a", "b"), edges=((0, 0),))


def test_guessed_symmetry_and_flip(fly):
    assert set(fly.symmetry_names) == {("wingL", "wingR"), ("forelegL1", "forelegR1")}
    perm = fly.flip_permutation()
    names = np.array(fly.keypoints)[perm]
    assert list(names) == ["head", "thorax", "abdomen", "wingR", "wingL", "forelegR1", "forelegL1"]
    assert Skeleton.guess_symmetry(["left_ear", "right_ear", "nose"]) == [("left_ear", "right_ear")]


def test_skeleton_json_roundtrip_and_subset(fly):
    assert Skeleton.from_json(fly.to_json()) == fly
    sub = fly.subset(["thorax", "wingL", "wingR"])
    assert sub.edge_names == [("thorax", "wingL"), ("thorax", "wingR")]
    assert sub.symmetry_names == [("wingL", "wingR")]
    renamed = fly.rename({"head": "nose"})
    assert renamed.keypoints[0] == "nose" and renamed.edges == fly.edges


def test_check_same_keypoints_names_difference(fly):
    other = Skeleton(("head", "thorax"))
    with pytest.raises(SkeletonError, match="missing \\['abdomen'"):
        fly.check_same_keypoints(other)


def test_detections_sorted_and_per_frame(fly):
    k = fly.n_keypoints
    det = Detections(
        frame=[2, 0, 2],
        keypoints=np.arange(3 * k * 2, dtype=float).reshape(3, k, 2),
        keypoint_scores=np.ones((3, k)),
        instance_scores=[0.5, 0.9, 0.7],
        skeleton=fly,
        n_frames=4,
    )
    assert list(det.frame) == [0, 2, 2]
    assert list(det.instance_scores) == [0.9, 0.5, 0.7]  # stable within a frame
    assert list(det.counts()) == [1, 0, 2, 0]
    frames = [(t, s.stop - s.start) for t, s in det.iter_frames()]
    assert frames == [(0, 1), (1, 0), (2, 2), (3, 0)]
    with pytest.raises(ValidationError, match="expected \\(3, 7, 2\\)"):
        Detections([0, 1, 2], np.zeros((3, 2, 2)), np.zeros((3, k)), np.zeros(3), fly)
    with pytest.raises(ValidationError, match="n_frames is 2"):
        Detections([5], np.zeros((1, k, 2)), np.zeros((1, k)), np.zeros(1), fly, n_frames=2)


def test_make_tracks_layout_matches_movement(fly):
    pos = np.random.default_rng(0).normal(size=(6, 2, fly.n_keypoints, 2))
    ds = make_tracks(pos, skeleton=fly, individuals=["f1", "f2"], fps=15.0)
    assert ds["position"].dims == ("time", "space", "keypoints", "individuals")
    assert ds["confidence"].dims == ("time", "keypoints", "individuals")
    np.testing.assert_allclose(ds["time"].values, np.arange(6) / 15.0)
    assert list(ds["frame"].values) == list(range(6))
    assert get_skeleton(ds) == fly
    # movement's own validator accepts the arrays as they are
    from movement.validators.datasets import ValidPosesInputs

    ValidPosesInputs.validate(ds)  # movement's own check of a poses Dataset
    from movement.kinematics import compute_velocity

    vel = compute_velocity(ds["position"])  # movement computes on our array as it is
    assert vel.dims == ds["position"].dims


def test_validate_tracks_rejects_bad_layouts(fly):
    ds = make_tracks(np.zeros((3, 2, fly.n_keypoints, 1)), skeleton=fly)
    with pytest.raises(ValidationError, match="lacks the variable 'confidence'"):
        validate_tracks(ds.drop_vars("confidence"))
    with pytest.raises(ValidationError, match="dims"):
        validate_tracks(ds.assign(position=ds["position"].transpose("time", "keypoints", "space", "individuals")))
    with pytest.raises(ValidationError, match="xarray.Dataset"):
        validate_tracks(ds["position"])
    with pytest.raises(ValidationError, match="2 individuals but 1 names"):
        make_tracks(np.zeros((3, 2, fly.n_keypoints, 2)), skeleton=fly, individuals=["a"])


def test_common_slips_in_building_tracks_and_skeletons_are_named(fly):
    """A single string where a list of names is wanted, a confidence array of the wrong shape, a
    negative frame rate, edges by name: each is named, not turned into something else."""
    pos = np.zeros((10, 2, 3, 2))
    with pytest.raises(SkeletonError, match="a list of names; got the single string 'head'"):
        Skeleton("head")  # before: keypoints h, e, a, d
    for kw in ({"keypoints": "abc"}, {"keypoints": ["a", "b", "c"], "individuals": "ab"}):
        with pytest.raises(ValidationError, match="a list of names; got the single string"):
            make_tracks(pos, **kw)
    with pytest.raises(ValidationError, match=r"confidence has shape \(10, 2, 3\); expected .* = \(10, 3, 2\)"):
        make_tracks(pos, np.zeros((10, 2, 3)), keypoints=["a", "b", "c"])
    for bad in (-30, "fast", float("inf")):
        with pytest.raises(ValidationError, match="fps must be a"):
            make_tracks(pos, keypoints=["a", "b", "c"], fps=bad)
    assert make_tracks(pos, keypoints=["a", "b", "c"], fps="30").attrs["fps"] == 30.0
    assert make_tracks(pos, keypoints=["a", "b", "c"], fps=0).attrs["fps"] is None  # unknown, as files store it
    with pytest.raises(SkeletonError, match="pairs of keypoint indices.*Skeleton.from_names"):
        Skeleton(("a", "b"), edges=(("a", "b"),))
    assert Skeleton.from_names(("a", "b"), edges=(("a", "b"),)).edges == ((0, 1),)
    with pytest.raises(SkeletonError, match="needs 'keypoints'"):
        Skeleton.from_dict({"edges": []})
    with pytest.raises(SkeletonError, match="not a skeleton in JSON"):
        Skeleton.from_json("x")
    from mapose.io import read_skeleton

    assert read_skeleton(["head", "thorax"]).keypoints == ("head", "thorax")  # before: "['head'" and "'thorax']"
    assert read_skeleton(fly) is fly
    with pytest.raises(ValidationError, match="skeleton must be a Skeleton.*got list: keypoint names alone go in"):
        make_tracks(pos, skeleton=["a", "b", "c"])
    from mapose.core import Detections

    with pytest.raises(ValidationError, match="Detections.skeleton must be a Skeleton"):
        Detections(frame=[0], keypoints=np.zeros((1, 3, 2)), keypoint_scores=np.ones((1, 3)),
                   instance_scores=np.ones(1), skeleton="a.yaml")
    from mapose.core.regions import Region, check_regions

    one = Region.rectangle("box", 0, 0, 5, 5)
    assert check_regions(one) == (one,)  # one region on its own is a list of one
    with pytest.raises(ValidationError, match="expected a list of Region objects"):
        check_regions("box")


@settings(max_examples=40, deadline=None)
@given(
    t=st.integers(1, 8),
    n=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
    p_missing=st.floats(0, 1),
)
def test_tracks_detections_roundtrip(t, n, seed, p_missing):
    rng = np.random.default_rng(seed)
    sk = Skeleton(("a", "b", "c"))
    pos = rng.uniform(0, 500, size=(t, 2, 3, n))
    conf = rng.uniform(0, 1, size=(t, 3, n))
    miss = rng.random((t, 3, n)) < p_missing
    pos[:, :, :][np.broadcast_to(miss[:, None], pos.shape)] = np.nan
    conf[miss] = np.nan
    ds = make_tracks(pos, conf, skeleton=sk, individuals=[f"m{i}" for i in range(n)], fps=30)
    det = tracks_to_detections(ds, keep_identities=True)
    back = detections_to_tracks(det)
    assert back.sizes["time"] == det.n_frames
    # frames after the last seen animal are dropped by the flat form; compare the common span
    span = back.sizes["time"]
    np.testing.assert_array_equal(back["position"].values, ds["position"].values[:span])
    np.testing.assert_array_equal(back["confidence"].values, ds["confidence"].values[:span])
    assert list(back["individuals"].values)[: det.track_id.max() + 1 if len(det) else 0] == [
        f"m{i}" for i in range(n)
    ][: det.track_id.max() + 1 if len(det) else 0]


def test_selecting_keypoints_with_xarray_keeps_valid_tracks(fly, tmp_path):
    """``ds.sel(keypoints=[...])`` leaves the full skeleton in the attributes; it is read as the skeleton
    of the keypoints kept (edges among them), and files written from it say so."""
    from mapose import io

    ds = make_tracks(np.random.default_rng(0).normal(size=(5, 2, fly.n_keypoints, 2)), skeleton=fly, fps=30.0)
    sub = ds.sel(keypoints=["abdomen", "thorax", "wingL"])
    validate_tracks(sub)
    sk = get_skeleton(sub)
    assert sk.keypoints == ("abdomen", "thorax", "wingL")
    assert sorted(map(sorted, sk.edge_names)) == [["abdomen", "thorax"], ["thorax", "wingL"]]
    io.write_tracks(sub, tmp_path / "sub.nc")
    back = io.read_tracks(tmp_path / "sub.nc")
    assert get_skeleton(back) == sk
    renamed = ds.assign_coords(keypoints=["nose", *[str(k) for k in ds["keypoints"].values[1:]]])
    with pytest.raises(ValidationError, match="keypoints the skeleton lacks"):
        validate_tracks(renamed)


def test_missing_fraction(fly):
    pos = np.zeros((4, 2, fly.n_keypoints, 1))
    pos[0, :, 0, 0] = np.nan
    ds = make_tracks(pos, skeleton=fly)
    assert n_missing_fraction(ds) == pytest.approx(1 / (4 * fly.n_keypoints))


def test_labels_checks(fly):
    k = fly.n_keypoints
    inst = Detections([0, 1], np.zeros((2, k, 2)), np.ones((2, k)), np.ones(2), fly, n_frames=2,
                      track_id=[0, 1])
    lab = Labels(fly, (ImageRef(video="v.mp4", frame=3), ImageRef(image="a.png")), inst,
                 individuals=("f1", "f2"), root="/data")
    assert len(lab) == 2 and str(lab.resolve("a.png")) == "/data/a.png"
    assert lab.videos() == ["v.mp4"]
    with pytest.raises(ValidationError, match="identity 1 has no name"):
        Labels(fly, lab.images, inst, individuals=("f1",))
    with pytest.raises(ValidationError, match="needs a frame index"):
        ImageRef(video="v.mp4")


def test_detections_and_labels_print_as_one_line_summaries(fly):
    """A notebook that shows a Detections or Labels gets what it holds, not every array."""
    k = fly.n_keypoints
    n = 2000
    det = Detections(np.repeat(np.arange(n // 2), 2), np.zeros((n, k, 2)), np.ones((n, k)), np.ones(n), fly,
                     track_id=np.tile([0, 1], n // 2), track_names=("f1", "f2"), fps=25.0, source="x.slp")
    assert repr(det) == ("Detections(2000 instances over 1000 frames, 7 keypoints, identities ['f1', 'f2'], "
                         "25 fps, from 'x.slp')")
    assert repr(det.without_identities()).startswith("Detections(2000 instances over 1000 frames, 7 keypoints, 25")
    lab = Labels(fly, tuple(ImageRef(video="v.mp4", frame=i) for i in range(n // 2)), det,
                 individuals=("f1", "f2"), is_user=np.arange(n) % 4 > 0)
    assert repr(lab) == ("Labels(1000 images, 2000 instances (1500 placed by a person), 7 keypoints, "
                         "individuals ['f1', 'f2'])")


def test_core_imports_without_torch():
    import subprocess
    import sys

    code = "import sys, mapose.core, mapose.io, mapose.config; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
