import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapose.core import Detections, Skeleton, validate_tracks
from mapose.errors import ConfigError, ValidationError
from mapose.tracking import SWAP_COLUMNS, Tracker, evaluate_tracks
from tests.tracking.synth import crossing, grid_walk, identity_map, lanes, pose, to_detections


def _assert_perfect(det, ds, n):
    ids = identity_map(det, ds)
    assert sorted(ids) == list(range(n))
    assigned = [next(iter(v)) for v in ids.values()]
    assert all(len(v) == 1 for v in ids.values()), ids
    assert sorted(assigned) == list(range(n)), ids


def test_lanes_are_tracked_perfectly_and_output_is_valid_tracks():
    det = to_detections(lanes(3, 200))
    tr = Tracker(n_animals=3)
    ds = tr.fit_track(det)
    validate_tracks(ds)
    assert ds.sizes["individuals"] == 3 and ds.sizes["time"] == 200
    _assert_perfect(det, ds, 3)
    conf = ds["identity_confidence"].values
    assert conf.shape == (200, 3)
    assert np.nanmin(conf) > 0.9  # animals far apart: no doubt
    assert list(tr.swap_events_.columns) == list(SWAP_COLUMNS)
    assert len(tr.swap_events_) == 0
    assert tr.body_size_ == pytest.approx(np.hypot(40, 3), rel=0.05)


def test_two_animals_crossing_keep_their_identity():
    poses = crossing(n_frames=100, cross_frame=50, speed=3.0)
    det = to_detections(poses)
    ds = Tracker(n_animals=2).fit_track(det)
    _assert_perfect(det, ds, 2)
    # the crossing is flagged as the least certain moment
    conf = ds["identity_confidence"].values
    worst = int(np.argmin(np.nanmin(conf, axis=1)))
    assert abs(worst - 50) <= 3


def test_crossing_with_both_animals_missing_at_the_crossing():
    poses = crossing(n_frames=120, cross_frame=60, speed=3.0)
    keep = np.ones((120, 2), bool)
    keep[56:65] = False  # both lost for 9 frames around the crossing: stitching must decide
    det = to_detections(poses, keep=keep)
    tr = Tracker(n_animals=2)
    ds = tr.fit_track(det)
    _assert_perfect(det, ds, 2)
    assert tr.n_tracklets_ >= 4  # broken at the gap and re-joined by the stitcher


@pytest.mark.parametrize("drop", [0.1, 0.2, 0.3])
def test_randomly_dropped_detections(drop):
    rng = np.random.default_rng(int(drop * 100))
    poses = grid_walk(6, 300, seed=1)
    keep = rng.random((300, 6)) >= drop
    det = to_detections(poses, keep=keep)
    ds = Tracker(n_animals=6).fit_track(det)
    _assert_perfect(det, ds, 6)


def test_spurious_detections_are_dropped():
    rng = np.random.default_rng(3)
    poses = lanes(2, 150)
    n_extra = 15
    frames = rng.choice(150, n_extra, replace=False)
    centres = rng.uniform([500, 500], [900, 900], (n_extra, 2))  # far from the animals
    from tests.tracking.synth import pose

    extra = pose(centres, rng.uniform(0, 2 * np.pi, n_extra))
    det = to_detections(poses, extra=extra, extra_frames=frames)
    ds = Tracker(n_animals=2).fit_track(det)
    _assert_perfect(det, ds, 2)
    # no spurious detection made it into the output
    assert int(np.isfinite(ds["position"].values[:, 0, 0, :]).sum()) == 300


def test_single_centroid_skeleton():
    poses = grid_walk(4, 200, seed=2)[:, :, 2:3]  # only the centre keypoint
    sk = Skeleton(("centroid",))
    det = to_detections(poses, skeleton=sk)
    tr = Tracker(n_animals=4)
    ds = tr.fit_track(det)
    assert ds.sizes["keypoints"] == 1
    _assert_perfect(det, ds, 4)
    assert tr.body_size_ > 0


def test_fifty_animals():
    det = to_detections(grid_walk(50, 60, seed=4))
    ds = Tracker(n_animals=50).fit_track(det)
    _assert_perfect(det, ds, 50)


def test_one_animal_and_no_known_count():
    det = to_detections(lanes(1, 50))
    ds = Tracker().fit_track(det)
    assert ds.sizes["individuals"] == 1
    _assert_perfect(det, ds, 1)


def test_a_varying_number_of_animals_joins_gaps_and_leaves_out_background_and_pieces():
    import dataclasses

    poses = lanes(2, 120)
    keep = np.ones((120, 2), bool)
    keep[40:60, 0] = False  # animal 0 unseen for 20 frames: two tracklets, max_gap is 5
    phantom = np.repeat(pose(np.array([[500.0, 500.0]]), np.zeros(1)), 120, axis=0)  # a still "animal"
    piece = poses[10:40, 1].copy()
    piece[:, 1:] = np.nan  # a lone nose beside animal 1: a piece the assembly left over
    piece[:, 0] += 60.0
    det = to_detections(poses, keep=keep, extra=np.concatenate([phantom, piece]),
                        extra_frames=np.concatenate([np.arange(120), np.arange(10, 40)]))
    low = np.where(np.isfinite(det.keypoints).all(-1).sum(-1) == 5, 1.0, 0.9)
    low[(det.track_id < 0) & (det.keypoints[:, 2, 0] > 450)] = 0.2  # the still one scores low
    det = dataclasses.replace(det, instance_scores=low.astype(np.float32))

    tr = Tracker()
    ds = tr.fit_track(det)
    assert tr.min_track_score_ == pytest.approx(0.5) and tr.min_track_keypoints_ == pytest.approx(1.25)
    assert ds.sizes["individuals"] == 2
    ids = identity_map(det, ds)
    assert sorted(ids) == [0, 1] and all(len(v) == 1 for v in ids.values()) and ids[0] != ids[1]
    pos = ds["position"].values  # (time, space, keypoints, individuals)
    assert np.isfinite(pos[:, 0, 0, :]).sum() == keep.sum()  # the still one and the nose are out

    raw = Tracker(new_identity_cost=0, min_track_score=0, min_track_keypoints=0).fit_track(det)
    assert raw.sizes["individuals"] >= 4  # every tracklet its own track, as before
    with pytest.raises(ValidationError, match="min_track_score must be >= 0"):
        Tracker(min_track_score=-1).fit(det)
    with pytest.raises(ValidationError, match="no detection has min_track_keypoints 6 body parts or more"):
        Tracker(min_track_keypoints=6).fit_track(det)


def test_empty_detections():
    det = Detections.empty(Skeleton(("a", "b")), n_frames=10)
    ds = Tracker(n_animals=2).fit_track(det)
    assert ds.sizes["time"] == 10
    assert np.isnan(ds["position"].values).all()


def test_errors_name_the_bad_value():
    with pytest.raises(ValidationError, match="n_animals"):
        Tracker(n_animals=0).fit(to_detections(lanes(1, 5)))
    with pytest.raises(ValidationError, match="not fitted"):
        Tracker(n_animals=1).track(to_detections(lanes(1, 5)))
    with pytest.raises(ValidationError, match="Detections"):
        Tracker(n_animals=1).fit("detections.slp")
    det = to_detections(lanes(1, 5))
    for kw, words in (({"max_gap": "5"}, "max_gap must be a number, got '5'"),
                      ({"max_step": -5}, "max_step must be > 0"),
                      ({"step_quantile": 150}, "step_quantile is a percentile"),
                      ({"gate": True}, "gate must be a number")):
        with pytest.raises(ValidationError, match=words):
            Tracker(n_animals=1, **kw).fit(det)


def test_identity_switch_inside_a_tracklet_is_listed_as_a_likely_swap():
    # two animals walk almost on top of each other (1 px apart): every frame is a near-tie
    t = np.arange(80)
    x = np.where(t < 40, 100 + 2.0 * t, 180.0 + 0 * t)
    from tests.tracking.synth import pose

    c0 = np.stack([x, np.full(80, 200.0)], 1)
    c1 = np.stack([x, np.full(80, 201.0)], 1)
    poses = pose(np.stack([c0, c1], 1), np.zeros((80, 2)))
    det = to_detections(poses)
    tr = Tracker(n_animals=2)
    tr.fit_track(det)
    assert len(tr.swap_events_) >= 1
    ev = tr.swap_events_.iloc[0]
    assert {ev.animal_a, ev.animal_b} == {"individual_0", "individual_1"}
    assert 0.0 <= ev.confidence < 0.5


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5), drop=st.floats(0.0, 0.3))
def test_permuting_detections_within_frames_never_changes_tracks(seed, n, drop):
    rng = np.random.default_rng(seed)
    poses = grid_walk(n, 40, seed=seed) + rng.normal(0, 0.5, (40, n, 5, 2))
    keep = rng.random((40, n)) >= drop
    a = Tracker(n_animals=n).fit_track(to_detections(poses, keep=keep))
    b = Tracker(n_animals=n).fit_track(to_detections(poses, keep=keep, shuffle_seed=seed + 1))
    np.testing.assert_array_equal(a["position"].values, b["position"].values)
    np.testing.assert_array_equal(a["identity_confidence"].values, b["identity_confidence"].values)


def test_metrics_of_perfect_and_swapped_tracks():
    from mapose.tracking import swap_identities

    det = to_detections(lanes(2, 100))
    truth = Tracker(n_animals=2).fit_track(det)
    m = evaluate_tracks(truth, truth)
    assert m["mota"] == 1.0 and m["idf1"] == 1.0 and m["num_switches"] == 0
    swapped = swap_identities(truth, 50, "individual_0", "individual_1")
    m = evaluate_tracks(swapped, truth)
    assert m["num_switches"] == 2
    assert m["switch_frames"] == [50]
    assert m["idf1"] == pytest.approx(0.5)
    assert m["threshold_px"] == pytest.approx(0.5 * np.hypot(40, 3), rel=0.05)
    # a prediction of part of the video (mapose analyze --frames 20:60) is scored on that part
    part = truth.isel(time=slice(20, 60))
    m = evaluate_tracks(part, truth)
    assert m["mota"] == 1.0 and m["n_frames"] == 40 and m["frames_scored"] == [20, 59]
    assert m["frames_left_out"] == {"prediction": 0, "reference": 60}
    everything = evaluate_tracks(part, truth, frames="all")
    assert everything["num_misses"] == 2 * 60 and everything["frames_scored"] == [0, 99]
    with pytest.raises(ValidationError, match="share no video frame: the prediction covers frames 70-99, the "
                                              "reference 0-59"):
        evaluate_tracks(truth.isel(time=slice(70, 100)), truth.isel(time=slice(0, 60)))
    with pytest.raises(ConfigError, match="frames must be 'overlap' or 'all'"):
        evaluate_tracks(part, truth, frames="some")


def test_ambiguous_continuation_is_cut_for_the_stitcher():
    from mapose.tracking.linking import LinkResult

    # track 0 over frames 0..4; at frame 2 a detection born as tracklet 1 nearly tied with it
    frame = np.array([0, 1, 2, 2, 3, 3, 4, 4])
    tracklet = np.array([0, 0, 0, 1, 0, 1, 0, 1])
    margin = np.full(8, np.inf)
    partner = np.full(8, -1)
    margin[2], partner[2] = 0.01, 1
    link = LinkResult(tracklet=tracklet, margin=margin, partner=partner, n_tracklets=2,
                      velocity=np.zeros((2, 2)))
    out = Tracker(n_animals=2)._split_ambiguous(link, frame)
    assert out.n_tracklets == 3
    np.testing.assert_array_equal(out.tracklet, [0, 0, 2, 1, 2, 1, 2, 1])
    assert Tracker(n_animals=2, split_threshold=0)._split_ambiguous(link, frame) is link


def test_a_part_of_a_video_is_tracked_as_if_it_started_the_video():
    """``start``: detections of frames 5000.. give the same tracks and learned motion as the same
    detections counted from 0, at their own frame numbers, and a detection before it is refused."""
    from dataclasses import replace

    det = to_detections(grid_walk(4, 150, seed=3))
    whole = Tracker(n_animals=4)
    ref = whole.fit_track(det)
    late = replace(det, frame=det.frame + 5000, n_frames=det.n_frames + 5000)
    part = Tracker(n_animals=4)
    ds = part.fit_track(late, start=5000)
    assert ds.sizes["time"] == 150 and int(ds["frame"].values[0]) == 5000
    np.testing.assert_array_equal(ds["position"].values, ref["position"].values)
    assert part.max_step_ == whole.max_step_ and part.body_size_ == whole.body_size_
    with pytest.raises(ValidationError, match="frame 5000, before the first frame 5001"):
        Tracker(n_animals=4).fit_track(late, start=5001)
