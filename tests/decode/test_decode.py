"""Golden tests for the decoders: known heatmaps/PAFs -> known peaks and assemblies."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapose.core import Skeleton
from mapose.decode import (
    assemble,
    cell_to_pixel,
    decode_batch,
    decode_frame,
    detect_peaks,
    filter_instances,
    find_peaks,
    model_to_video,
    pixel_to_cell,
    to_detections,
)
from mapose.errors import ValidationError

from decode_synthetic import fly, fly_skeleton, render


def match_to_truth(kp, truth):
    """For every decoded instance, the GT animal index of each present keypoint (nearest)."""
    out = []
    for inst in kp:
        ids = []
        for j in range(inst.shape[0]):
            if np.isfinite(inst[j]).all():
                d = np.hypot(*(truth[:, j] - inst[j]).T)
                ids.append(int(np.nanargmin(d)))
        out.append(ids)
    return out


# ---------------------------------------------------------------- geometry
def test_geometry_convention_and_inverse():
    assert cell_to_pixel(0, 4) == 1.5
    assert cell_to_pixel(0, 1) == 0.0
    assert cell_to_pixel(3, 2) == 6.5
    x = np.array([0.0, 1.5, 17.25, 383.0])
    np.testing.assert_allclose(cell_to_pixel(pixel_to_cell(x, 4), 4), x)
    with pytest.raises(ValueError, match="stride"):
        cell_to_pixel(1, 0)


# ---------------------------------------------------------------- peaks
def test_find_peaks_known_locations_threshold_and_order():
    hm = np.zeros((2, 10, 12), np.float32)
    hm[0, 2, 3], hm[0, 7, 9], hm[0, 5, 5] = 0.9, 0.5, 0.05  # last below threshold
    hm[1, 4, 4] = 0.7
    hm[1, 4, 5] = 0.6  # neighbour of a higher value: suppressed
    k, r, c, s = find_peaks(hm, threshold=0.1)
    assert k.tolist() == [0, 0, 1]
    assert list(zip(r.tolist(), c.tolist())) == [(2, 3), (7, 9), (4, 4)]
    np.testing.assert_allclose(s, [0.9, 0.5, 0.7], rtol=1e-6)
    k, r, c, s = find_peaks(hm, threshold=0.1, max_peaks=1)
    assert k.tolist() == [0, 1] and r.tolist() == [2, 4]


def test_find_peaks_plateau_gives_one_peak():
    hm = np.zeros((1, 8, 8), np.float32)
    hm[0, 3:5, 3:5] = 0.8
    k, r, c, _ = find_peaks(hm, threshold=0.1)
    assert len(k) == 1 and (r[0], c[0]) == (3, 3)


def test_quadratic_refinement_recovers_gaussian_centre():
    sk = Skeleton(("a", "b"))
    truth = np.array([[[21.3, 14.8], [40.9, 33.1]]])
    hm, _, _ = render(truth, sk, 4, (16, 16), sigma=1.2)
    p = detect_peaks(hm, None)
    np.testing.assert_allclose(cell_to_pixel(p.col, 4), truth[0, :, 0], atol=1e-6)
    np.testing.assert_allclose(cell_to_pixel(p.row, 4), truth[0, :, 1], atol=1e-6)


def test_offset_refinement_exact():
    sk = Skeleton(("a", "b"))
    truth = np.array([[[21.3, 14.8], [40.9, 33.1]]])
    hm, _, off = render(truth, sk, 4, (16, 16), sigma=1.0)
    p = detect_peaks(hm, off)
    np.testing.assert_allclose(cell_to_pixel(p.col, 4), truth[0, :, 0], atol=1e-5)
    np.testing.assert_allclose(cell_to_pixel(p.row, 4), truth[0, :, 1], atol=1e-5)
    with pytest.raises(ValidationError, match="offset"):
        detect_peaks(hm, off[:3])


# ---------------------------------------------------------------- assembly
def test_two_separate_animals_exact(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    kp, ks, inst = decode_frame(hm, paf, off, fly_skeleton, 4)
    assert kp.shape == (2, 5, 2)
    assert match_to_truth(kp, truth) in ([[0] * 5, [1] * 5], [[1] * 5, [0] * 5])
    order = [match_to_truth(kp, truth)[i][0] for i in range(2)]
    np.testing.assert_allclose(kp, truth[order], atol=1e-4)
    # keypoint score = heatmap value at the peak cell (the nearest cell to the true point)
    cells = np.rint(pixel_to_cell(kp, 4)).astype(int)
    expect = np.exp(-((cells - pixel_to_cell(kp, 4)) ** 2).sum(-1) / 2)
    np.testing.assert_allclose(ks, expect, atol=1e-5)
    np.testing.assert_allclose(inst, ks.mean(1))


@pytest.mark.parametrize("gap", [6.0, 8.0, 10.0, 16.0])
def test_two_animals_touching(fly_skeleton, gap):
    # Side by side, same heading, thoraxes `gap` pixels apart (wings overlap/touch).
    truth = np.stack([fly(60, 60, 0.0), fly(60, 60 + gap, 0.0)])
    hm, paf, off = render(truth, fly_skeleton, 2, (64, 64), sigma=1.0, width=1.0)
    kp, ks, inst = decode_frame(hm, paf, off, fly_skeleton, 2, max_animals=2)
    animals = kp[inst > 1 / 5 + 1e-9]
    ids = match_to_truth(animals, truth)
    for row in ids:  # every decoded animal's keypoints come from one GT animal
        assert len(set(row)) == 1
    assert sorted(len(r) for r in ids) == [5, 5]


def test_missing_leaf_keypoint_is_nan(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    truth[1, 3] = np.nan  # wingL of animal 1 not visible
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    kp, ks, inst = decode_frame(hm, paf, off, fly_skeleton, 4)
    assert len(kp) == 2
    full, part = (0, 1) if np.isfinite(kp[0]).all() else (1, 0)
    assert np.isnan(kp[part, 3]).all() and np.isnan(ks[part, 3])
    assert np.isfinite(kp[part, [0, 1, 2, 4]]).all()
    np.testing.assert_allclose(inst[part], np.nansum(ks[part]) / 5)
    assert inst[full] > inst[part]  # ranked first


def test_missing_hub_keypoint_leaves_singletons_not_wrong_links(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    truth[0, 1] = np.nan  # thorax (the hub) missing: animal 0's parts cannot be connected
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    kp, ks, inst = decode_frame(hm, paf, off, fly_skeleton, 4)
    n_kp = np.isfinite(kp).all(-1).sum(1)
    assert n_kp.tolist() == [5, 1, 1, 1, 1]  # one animal, then four singletons (last)
    assert set(match_to_truth(kp[:1], truth)[0]) == {1}
    assert all(r == [0] for r in match_to_truth(kp[1:], truth))
    assert np.all(inst[1:] <= 1 / 5)
    det = to_detections([(kp, ks, inst)], fly_skeleton, [0])
    assert len(filter_instances(det, min_keypoints=2)) == 1
    kp2, _, _ = decode_frame(hm, paf, off, fly_skeleton, 4, keep_singletons=False)
    assert len(kp2) == 1


def test_max_animals_keeps_best(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0), fly(30, 100, 1.0)])
    truth[2, [0, 2]] = np.nan  # third animal: 3 keypoints -> lowest score
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    kp, _, inst = decode_frame(hm, paf, off, fly_skeleton, 4, max_animals=2)
    assert len(kp) == 2
    assert sorted(set(r) for r in map(tuple, match_to_truth(kp, truth))) == [{0}, {1}]
    kp, _, inst = decode_frame(hm, paf, off, fly_skeleton, 4)
    assert len(kp) == 3 and np.all(np.diff(inst) <= 0)


def test_no_paf_head_merges_by_proximity(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, _, off = render(truth, fly_skeleton, 4, (32, 32))
    kp, _, inst = decode_frame(hm, None, off, fly_skeleton, 4, merge_radius=8)
    ids = match_to_truth(kp, truth)
    assert sorted(map(tuple, ids)) == [(0,) * 5, (1,) * 5]
    # single animal, no PAF: the best candidate of each keypoint
    kp1, _, inst1 = decode_frame(hm, None, off, fly_skeleton, 4, max_animals=1)
    assert np.isfinite(kp1[0]).all() and np.all(inst1[1:] <= 1 / 5)


def test_disconnected_skeleton_components_merged(fly_skeleton):
    # Drop the thorax-abdomen edge: {thorax, head, wings} and {abdomen} are separate components.
    sk = Skeleton(fly_skeleton.keypoints, tuple(e for e in fly_skeleton.edges if e != (1, 2)))
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, sk, 4, (32, 32))
    kp, _, _ = decode_frame(hm, paf, off, sk, 4, merge_radius=6)
    assert sorted(map(tuple, match_to_truth(kp, truth))) == [(0,) * 5, (1,) * 5]


def test_decode_batch_and_errors(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    out = {"heatmap": np.stack([hm, hm * 0]), "paf": np.stack([paf, paf]), "offset": np.stack([off, off])}
    res = decode_batch(out, fly_skeleton, 4)
    assert len(res) == 2 and len(res[0][0]) == 2 and len(res[1][0]) == 0
    with pytest.raises(ValidationError, match="heatmap"):
        decode_frame(hm[:3], paf, off, fly_skeleton, 4)
    with pytest.raises(ValidationError, match="paf"):
        decode_frame(hm, paf[:2], off, fly_skeleton, 4)


def _instances_as_set(asm):
    p = asm.peaks
    out = set()
    for row in asm.members:
        out.add(tuple((int(k), round(float(p.col[i]), 6), round(float(p.row[i]), 6))
                      for k, i in enumerate(row) if i >= 0))
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_animals=st.integers(1, 4),
    drop=st.floats(0.0, 0.3),
)
def test_assembly_invariant_to_candidate_order(seed, n_animals, drop):
    rng = np.random.default_rng(seed)
    sk = Skeleton.from_names(["head", "thorax", "abdomen", "wingL", "wingR"],
                             edges=[("thorax", "head"), ("thorax", "abdomen"), ("thorax", "wingL"),
                                    ("thorax", "wingR")])
    truth = np.stack([fly(*rng.uniform(15, 113, 2), rng.uniform(0, 2 * np.pi)) for _ in range(n_animals)])
    truth[rng.random(truth.shape[:2]) < drop] = np.nan
    hm, paf, off = render(truth, sk, 4, (32, 32))
    hm = hm + rng.uniform(0, 0.15, hm.shape).astype(np.float32)  # clutter: spurious candidates
    peaks = detect_peaks(np.clip(hm, 0, 1), off, threshold=0.12)
    ref = assemble(peaks, paf, sk.edges, 5, max_animals=3)
    perm = rng.permutation(len(peaks))
    got = assemble(peaks.take(perm), paf, sk.edges, 5, max_animals=3)
    assert _instances_as_set(got) == _instances_as_set(ref)
    np.testing.assert_array_equal(np.sort(got.instance_scores), np.sort(ref.instance_scores))
    # never two candidates of one keypoint in an instance; no candidate in two instances
    used = got.members[got.members >= 0]
    assert len(np.unique(used)) == len(used)


# ---------------------------------------------------------------- back to video pixels
def test_model_to_video_inverts_opencv_resize_and_crop():
    img = np.zeros((120, 160), np.float32)
    yy, xx = np.mgrid[0:120, 0:160]
    x0, y0 = 97.3, 61.6
    img[:] = np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * 6.0**2))
    crop = img[20:120, 40:160]  # origin (40, 20)
    small = cv2.resize(crop, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:small.shape[0], 0:small.shape[1]]
    cx, cy = (small * xs).sum() / small.sum(), (small * ys).sum() / small.sum()
    back = model_to_video(np.array([cx, cy]), 0.5, (40, 20))
    np.testing.assert_allclose(back, [x0, y0], atol=0.05)


def test_to_detections_frames_and_scaling(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    r = decode_frame(hm, paf, off, fly_skeleton, 4)
    empty = (np.zeros((0, 5, 2)), np.zeros((0, 5)), np.zeros(0))
    det = to_detections([r, empty, r], fly_skeleton, [3, 4, 7], scale=0.5, origin=(10, 0),
                        n_frames=10, fps=25.0)
    assert det.frame.tolist() == [3, 3, 7, 7] and det.n_frames == 10 and det.fps == 25.0
    np.testing.assert_allclose(det.keypoints[0], (r[0][0] + 0.5) / 0.5 - 0.5 + [10, 0])


def test_fragment_with_a_weak_limb_is_attached_to_its_animal(fly_skeleton):
    # Animal 0's thorax->head field fades half-way (a faint limb): the strict pass cannot link
    # its head, the attach pass joins it over that weak but real connection -- never to animal 1.
    truth = np.stack([fly(30, 30, 0.0, size=16.0), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    head = pixel_to_cell(truth[0, 0], 4)
    rr, cc = np.mgrid[0:32, 0:32]
    near_head = np.hypot(cc - head[0], rr - head[1]) < 2.2
    paf[0:2, near_head] = 0.0  # edge 0 = (thorax, head)
    strict, _, _ = decode_frame(hm, paf, off, fly_skeleton, 4, attach_score=None,
                                keep_singletons=False)
    assert sorted(np.isfinite(strict).all(-1).sum(1).tolist()) == [4, 5]
    kp, _, _ = decode_frame(hm, paf, off, fly_skeleton, 4, keep_singletons=False)
    assert np.isfinite(kp).all()
    ids = match_to_truth(kp, truth)
    assert sorted(ids) == [[0] * 5, [1] * 5]


def test_attach_pass_never_gives_an_animal_two_keypoints_of_one_type(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.0), fly(40, 30, 0.0)])  # overlapping animals, same heading
    hm, paf, off = render(truth, fly_skeleton, 2, (40, 40))
    kp, _, _ = decode_frame(hm, paf, off, fly_skeleton, 2, attach_score=-1.0)
    # every candidate of a type is used at most once: at most 2 of each keypoint over instances
    assert (np.isfinite(kp).all(-1).sum(0) <= 2).all()
    for row in match_to_truth(kp[np.isfinite(kp).all(-1).sum(1) >= 2], truth):
        assert len(set(row)) == 1


def test_single_animal_decoding_takes_each_keypoints_best_peak(fly_skeleton):
    from mapose.decode.frame import use_single_animal

    # two candidate animals far apart; head and thorax peak higher on the first, the rest on the
    # second: one-animal decoding takes each keypoint's best peak, wherever it lies (one mouse
    # filmed in two mirror views is labelled as one instance spanning both)
    truth = np.stack([fly(20, 20, 0.0), fly(100, 100, 0.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    half = np.array([True, True, False, False, False])
    hm[~half] *= np.where(np.arange(32)[None, :, None] < 16, 0.5, 1.0)  # 2nd animal's tail half wins
    hm[half] *= np.where(np.arange(32)[None, :, None] < 16, 1.0, 0.5)   # 1st animal's head half wins
    kp, ks, inst = decode_frame(hm, paf, off, fly_skeleton, 4, single_animal=True)
    assert kp.shape == (1, 5, 2) and ks.shape == (1, 5)
    expect = np.where(half[:, None], truth[0], truth[1])
    np.testing.assert_allclose(kp[0], expect, atol=1e-4)
    np.testing.assert_allclose(inst, [ks[0].sum() / 5])
    # the assembly of the same outputs returns both animals
    kp_multi, _, _ = decode_frame(hm, paf, off, fly_skeleton, 4, keep_singletons=False)
    assert len(kp_multi) == 2
    # keypoints without a candidate are NaN; no candidate at all: no animal
    hm2 = hm.copy()
    hm2[3] = 0
    kp2, ks2, _ = decode_frame(hm2, paf, off, fly_skeleton, 4, single_animal=True)
    assert np.isnan(kp2[0, 3]).all() and np.isnan(ks2[0, 3]) and np.isfinite(kp2[0, [0, 1, 2, 4]]).all()
    kp0, ks0, inst0 = decode_frame(np.zeros_like(hm), paf, off, fly_skeleton, 4, single_animal=True)
    assert kp0.shape == (0, 5, 2) and ks0.shape == (0, 5) and inst0.shape == (0,)
    # who decides: an explicit request, else the model when at most one animal is asked for
    assert use_single_animal(True, None) and use_single_animal(True, 1)
    assert not use_single_animal(True, 2) and not use_single_animal(False, None)
    assert use_single_animal(False, 3, requested=True) and not use_single_animal(True, 1, requested=False)


def test_single_animal_decoding_ignores_a_bright_spot_farther_than_the_animal_extends(fly_skeleton):
    from mapose.decode.frame import animal_extent_limit

    # one fly, and far from it a spot where the tail channel peaks higher than on the fly (a bright
    # arena corner looked like a tail base to a DeepLabCut open-field mouse model)
    truth = fly(20, 20, 0.0)[None]
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    spot = fly(100, 100, 0.0)[None]
    decoy, _, decoy_off = render(spot, fly_skeleton, 4, (32, 32))
    tail = 4
    hm[tail] = np.maximum(hm[tail], 1.2 * decoy[tail])
    near_spot = decoy[tail] > 0.5
    off[2 * tail:2 * tail + 2, near_spot] = decoy_off[2 * tail:2 * tail + 2, near_spot]
    kp, _, _ = decode_frame(hm, paf, off, fly_skeleton, 4, single_animal=True)
    np.testing.assert_allclose(kp[0, tail], spot[0, tail], atol=1e-3)  # no limit: the spot wins
    extent = np.hypot(*(truth[0][:, None] - truth[0][None]).transpose(2, 0, 1)).max()

    class Model:
        animal_extent_px, stride = extent, 4

    limit = animal_extent_limit(Model)
    assert limit == pytest.approx(1.5 * extent / 4)
    assert animal_extent_limit(Model, scale=0.5) == pytest.approx(limit / 2)
    kp, ks, _ = decode_frame(hm, paf, off, fly_skeleton, 4, single_animal=True, max_extent=limit)
    np.testing.assert_allclose(kp[0], truth[0], atol=1e-3)
    # one limit per two parts when the model recorded them; parts never labelled together get the extent
    pairs = np.full((len(truth[0]), len(truth[0])), 10.0)
    pairs[0, 1] = pairs[1, 0] = np.nan
    Model.part_distance_px = pairs
    per_pair = animal_extent_limit(Model)
    assert per_pair.shape == pairs.shape and per_pair[0, 2] == pytest.approx(1.5 * 10 / 4)
    assert per_pair[0, 1] == pytest.approx(limit)
    # a model trained before the extent was recorded decodes as before
    Model.animal_extent_px = None
    assert animal_extent_limit(Model) is None


def test_single_animal_decoding_takes_no_two_parts_farther_apart_than_the_extent():
    from mapose.decode.frame import _best_per_keypoint
    from mapose.decode.peaks import Peaks

    # snout, two ears, tail base (output cells): the mouse's head at row 10, a weaker head-like
    # cluster on its rump at row 20, and an arena corner at row 31 where the tail channel peaks
    # weakly; the rump is within reach of both the head and the corner, the corner not of the head
    kp = np.array([0, 1, 2, 0, 1, 2, 3])
    col = np.array([10.0, 9.0, 11.0, 10.0, 9.0, 11.0, 10.0])
    row = np.array([10.0, 10.5, 10.5, 20.0, 20.5, 20.5, 31.0])
    score = np.array([0.98, 1.0, 1.0, 0.42, 0.63, 0.37, 0.16])
    peaks = Peaks(kp, col, row, score)
    out, ks, _ = _best_per_keypoint(peaks, 4, 1.0, max_extent=12.0)
    assert np.isnan(out[0, 3]).all()  # the corner is 21 cells from the head
    np.testing.assert_allclose(out[0, :3, 1], [10.0, 10.5, 10.5])  # the head, not the rump
    # without a limit each part takes its best peak, the corner included
    out, _, _ = _best_per_keypoint(peaks, 4, 1.0)
    assert np.isfinite(out[0, 3]).all()


def test_single_animal_decoding_keeps_each_two_parts_within_their_own_labelled_distance():
    from mapose.decode.frame import _best_per_keypoint
    from mapose.decode.peaks import Peaks

    # a head-fixed mouse filmed with a mirror: nose and paw of the top view (rows 10-14) and of the
    # mirrored bottom view (rows 40-44).  The top paw's channel peaks higher on the bottom paw (a
    # look-alike 30 cells away); the top nose is never labelled more than 6 cells from the top paw,
    # but the two views lie 30 cells apart, so one limit for every two parts cannot tell them apart
    nose_t, paw_t, nose_b, paw_b = range(4)
    kp = np.array([nose_t, paw_t, paw_t, nose_b, paw_b])
    col = np.array([10.0, 14.0, 14.0, 10.0, 14.0])
    row = np.array([10.0, 13.0, 43.0, 40.0, 43.0])
    score = np.array([0.9, 0.4, 0.5, 0.9, 0.8])
    peaks = Peaks(kp, col, row, score)
    out, _, _ = _best_per_keypoint(peaks, 4, 1.0, max_extent=45.0)
    assert out[0, paw_t, 1] == 43.0  # the look-alike wins under one limit
    limits = np.full((4, 4), 45.0)
    limits[nose_t, paw_t] = limits[paw_t, nose_t] = 1.5 * 6.0
    limits[nose_b, paw_b] = limits[paw_b, nose_b] = 1.5 * 6.0
    out, ks, _ = _best_per_keypoint(peaks, 4, 1.0, max_extent=limits)
    np.testing.assert_allclose(out[0, :, 1], [10.0, 13.0, 40.0, 43.0])
    np.testing.assert_allclose(ks[0], [0.9, 0.4, 0.9, 0.8])


def _spread_wing_outputs(decoy_peak, spread_field):
    """Outputs for one fly whose left wing is spread (as in courtship): the wingL heatmap peaks at
    the spread tip and (``decoy_peak``) on the folded right wing's tip, where the wingL field points
    at full strength (wings are folded in most training frames); towards the spread tip the field
    has strength ``spread_field``.  Returns truth, heatmap, paf, offset."""
    truth = fly(60, 60, 0.0, size=16.0)
    truth[3] = truth[1] + np.array([-4.0, 28.0])
    folded = truth.copy()
    folded[3] = truth[4]
    hm, paf, off = render(truth[None], FLY, 2, (64, 64))
    decoy, fold_paf, decoy_off = render(folded[None], FLY, 2, (64, 64))
    hm[3] = np.maximum(hm[3], decoy_peak * decoy[3])
    near_decoy = decoy[3] > 0.5
    off[6:8, near_decoy] = decoy_off[6:8, near_decoy]
    wing_l = slice(4, 6)  # field channels of edge 2 = (thorax, wingL)
    paf[wing_l] *= spread_field
    on_fold = np.hypot(*fold_paf[wing_l]) > 0
    paf[wing_l][:, on_fold] = fold_paf[wing_l][:, on_fold]
    return truth, hm, paf, off


FLY = fly_skeleton()


def test_peak_weight_prefers_the_candidate_the_heatmap_believes():
    # Measured on the sample flies: fields 0.36-0.40 to the spread tip vs 0.48-0.72 to the folded
    # one, peaks 0.64-0.86 vs 0.11-0.18.  Ranking by the field alone takes the faint candidate.
    truth, hm, paf, off = _spread_wing_outputs(decoy_peak=0.15, spread_field=0.6)
    by_field, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, peak_weight=0.0,
                                  coincident_radius=None)
    np.testing.assert_allclose(by_field[0, 3], truth[4], atol=1e-3)  # wingL on the right wing
    kp, ks, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, peak_weight=1.0,
                             coincident_radius=None)
    np.testing.assert_allclose(kp[0], truth, atol=1e-3)
    assert ks[0, 3] > 0.9


def test_two_parts_on_one_spot_move_to_a_free_connected_candidate():
    # The heatmap believes the decoy more than the spread tip (a model that saw few spread wings):
    # wingL and wingR end up on one spot, where wingR peaks higher; the spread tip is free and
    # validly connected: wingL moves.
    truth, hm, paf, off = _spread_wing_outputs(decoy_peak=0.9, spread_field=0.6)
    hm[3] = np.where(hm[3] > 0.99, hm[3] * 0.6, hm[3])  # spread tip peaks at 0.6 only
    stuck, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, coincident_radius=None)
    np.testing.assert_allclose(stuck[0, 3], truth[4], atol=1e-3)
    kp, ks, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=True)
    np.testing.assert_allclose(kp[0], truth, atol=1e-3)
    # the candidate left behind is a singleton, not lost
    lone = kp[1:][np.isfinite(kp[1:]).all(-1).sum(1) == 1]
    assert any(np.allclose(r[3], truth[4], atol=1e-3) for r in lone)


def _labelled_spread_flies():
    """Six labelled flies, any heading, wings spread: the left wing tip (``fly``'s wingL moved as
    in :func:`_spread_wing_outputs`) always on the same side of the head-abdomen axis."""
    out = []
    for angle in np.linspace(0, 2 * np.pi, 6, endpoint=False):
        f = fly(60, 60, 0.0, size=16.0)
        f[3] = f[1] + np.array([-4.0, 28.0])
        c, s = np.cos(angle), np.sin(angle)
        out.append((f - f[1]) @ np.array([[c, s], [-s, c]]) + f[1])
    return np.stack(out)


def test_a_left_right_pair_on_one_spot_separates_by_the_side_each_is_labelled_on():
    # A model that cannot tell the wings apart (most training flies fold them; measured on the
    # sample flies: the wingL and wingR maps peak on both tips of a spread-winged fly, and both
    # fields point at one): the wingR channel peaks on both tips, the wingL channel only on the
    # right one, where the wingL field points.  Both wing tips end up on the right wing.  The labels
    # put wingL on the other side of the head-abdomen axis, where the wingR channel has a free
    # candidate: wingL moves there.
    from mapose.decode.sides import learn_body_sides

    sides = learn_body_sides(_labelled_spread_flies(), FLY)
    truth = _labelled_spread_flies()[0]
    hm, paf, off = render(truth[None], FLY, 2, (64, 64))
    folded, swapped = truth.copy(), truth.copy()
    folded[3] = truth[4]
    swapped[4] = truth[3]
    fold_hm, fold_paf, fold_off = render(folded[None], FLY, 2, (64, 64))
    swap_hm, swap_paf, swap_off = render(swapped[None], FLY, 2, (64, 64))
    hm[3], off[6:8] = 0.8 * fold_hm[3], fold_off[6:8]
    paf[4:6] = fold_paf[4:6]  # edge 2 = (thorax, wingL)
    near_left = swap_hm[4] > 0.5
    hm[4] = np.maximum(hm[4], 0.7 * swap_hm[4])
    off[8:10, near_left] = swap_off[8:10, near_left]
    on = (np.hypot(*swap_paf[6:8]) > 0) & (np.hypot(*paf[6:8]) == 0)  # edge 3 = (thorax, wingR): both limbs
    paf[6:8][:, on] = swap_paf[6:8][:, on]
    stuck, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False)
    np.testing.assert_allclose(stuck[0, 3], truth[4], atol=1e-3)
    kp, ks, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, body_sides=sides)
    np.testing.assert_allclose(kp[0], truth, atol=1e-3)
    assert ks[0, 3] == pytest.approx(hm[4][near_left].max())  # the score of the candidate it took
    # the move is refused past the longest labelled length of the edge (the tip is 14.1 cells away;
    # the limits are twice the labelled lengths, mapose.decode.frame.edge_length_limits)
    for labelled, moves in ((13.0, False), (15.0, True)):
        limits = np.full(FLY.n_edges, 2 * labelled)
        got, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, body_sides=sides,
                                 edge_limits=limits)
        np.testing.assert_allclose(got[0, 3], truth[3] if moves else truth[4], atol=1e-3)
    # wingL now peaks higher on the right tip than wingR: by the peaks wingR would move (to its
    # own, validly connected candidate on the left tip: the wings swapped); by the sides wingL moves
    hm[3] = fold_hm[3]
    hm[4] = np.maximum(0.8 * render(truth[None], FLY, 2, (64, 64))[0][4], 0.7 * swap_hm[4])
    swapped_kp, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False)
    np.testing.assert_allclose(swapped_kp[0, 3:], truth[[4, 3]], atol=1e-3)
    kp, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, body_sides=sides)
    np.testing.assert_allclose(kp[0], truth, atol=1e-3)


def test_folded_wings_stay_on_one_spot_and_taken_spots_are_not_used():
    from mapose.decode.sides import learn_body_sides

    # Folded wings: both tips on one spot, no other candidate -> nothing moves.
    folded = fly(60, 60, 0.0, size=16.0)
    folded[3] = folded[4]
    hm, paf, off = render(folded[None], FLY, 2, (64, 64))
    for sides in (None, learn_body_sides(_labelled_spread_flies(), FLY)):
        kp, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False, body_sides=sides)
        np.testing.assert_allclose(kp[0], folded, atol=1e-3)
    # A free wingL candidate that lies on another fly's wingR tip (a left/right confusion of the
    # model), with the first fly's wingL field pointing at it: the spot is taken, nothing moves.
    a = fly(30, 32, 0.0, size=16.0)
    a[3] = a[4]
    spot = a[1] + np.array([-4.0, 24.0])
    b = fly(*(spot + 9.6), 0.0, size=16.0)  # its wingR tip on the spot
    hm, paf, off = render(np.stack([a, b]), FLY, 2, (64, 64))
    to_spot = a.copy()
    to_spot[3] = spot
    decoy, _, decoy_off = render(np.where(np.arange(5)[:, None] == 3, spot, np.nan)[None],
                                 FLY, 2, (64, 64))
    _, spot_paf, _ = render(to_spot[None], FLY, 2, (64, 64))
    hm[3] = np.maximum(hm[3], 0.2 * decoy[3])
    near_spot = decoy[3] > 0.5
    off[6:8, near_spot] = decoy_off[6:8, near_spot]
    on = (np.hypot(*spot_paf[4:6]) > 0) & (np.hypot(*paf[4:6]) == 0)
    paf[4:6][:, on] = spot_paf[4:6][:, on]
    kp, _, _ = decode_frame(hm, paf, off, FLY, 2, keep_singletons=False)
    got = sorted(kp, key=lambda r: r[1, 1])
    np.testing.assert_allclose(got[0], a, atol=1e-3)
    np.testing.assert_allclose(got[1], b, atol=1e-3)


def test_no_connection_is_longer_than_twice_its_longest_labelled_length():
    """A body part whose own candidate was not detected must not be linked to a candidate far away
    along another animal's field (the sample flies: a thorax linked to wing tips 220 px off)."""
    from mapose.decode.frame import edge_length_limits
    from mapose.decode.paf import score_connections
    from mapose.decode.peaks import Peaks

    sk = Skeleton.from_names(["thorax", "wing"], [("thorax", "wing")])
    hm = np.zeros((2, 20, 60), np.float32)
    hm[0, 5, 5] = 0.9  # the thorax, its wing undetected
    hm[1, 5, 45] = 0.9  # a wing 40 cells away, along a field pointing at it all the way
    paf = np.zeros((2, 20, 60), np.float32)
    paf[0] = 1.0
    peaks = Peaks(np.array([0, 1]), np.array([5.0, 45.0]), np.array([5.0, 5.0]), np.array([0.9, 0.9]))
    assert score_connections(paf, peaks, sk.edges).valid.tolist() == [True]
    limited = score_connections(paf, peaks, sk.edges, edge_limits=np.array([20.0]))
    assert limited.valid.tolist() == [False] and limited.score.tolist() == [0.0]
    assert score_connections(paf, peaks, sk.edges, edge_limits=np.array([np.nan])).valid.tolist() == [True]
    with pytest.raises(ValidationError, match="edge_limits has 2 values"):
        score_connections(paf, peaks, sk.edges, edge_limits=np.array([1.0, 2.0]))

    kw = dict(keep_singletons=False, peak_threshold=0.5)
    linked, _, _ = decode_frame(hm, paf, None, sk, 4, **kw)
    assert np.isfinite(linked[0]).all()

    class Model:  # what a trained model records: the wing was never labelled over 40 px from the thorax
        edge_max_length_px = np.array([40.0])
        stride = 4

    limits = edge_length_limits(Model())
    assert limits.tolist() == [20.0]  # twice 40 px, in cells of 4 px
    assert edge_length_limits(Model(), scale=0.5).tolist() == [10.0]
    assert edge_length_limits(object()) is None
    alone, _, _ = decode_frame(hm, paf, None, sk, 4, edge_limits=limits, **kw)
    assert len(alone) == 0  # the thorax stays without a wing (and a lone part is no animal)


def test_keypoints_scored_below_the_cutoff_are_reported_missing_after_assembly(fly_skeleton):
    truth = np.stack([fly(30, 30, 0.3), fly(90, 70, 2.0)])
    hm, paf, off = render(truth, fly_skeleton, 4, (32, 32))
    c0 = np.rint(pixel_to_cell(truth[0, 1], 4)).astype(int)  # animal 0's thorax: the hub of its links
    hm[1, c0[1] - 2:c0[1] + 3, c0[0] - 2:c0[0] + 3] *= 0.2  # a weak thorax (peak 0.2)
    c1 = np.rint(pixel_to_cell(truth[1, 3], 4)).astype(int)
    hm[3, c1[1] - 2:c1[1] + 3, c1[0] - 2:c1[0] + 3] *= 0.15  # animal 1's left wing, weaker still
    every = decode_frame(hm, paf, off, fly_skeleton, 4)
    cut = decode_frame(hm, paf, off, fly_skeleton, 4, min_keypoint_score=0.3)
    # the weak thorax still linked animal 0's head, abdomen and wings into one animal
    assert len(every[0]) == len(cut[0]) == 2
    for (kp, ks, inst), (kp_all, ks_all, inst_all) in zip(zip(*cut), zip(*every)):
        low = ~(ks_all >= 0.3)
        assert np.isnan(kp[low]).all() and np.isnan(ks[low]).all()
        np.testing.assert_array_equal(kp[~low], kp_all[~low])
        assert inst == inst_all  # ranked as assembled
    assert sum(int(np.isnan(ks).sum()) for ks in cut[1]) == 2  # the thorax of one, the wing of the other
    assert np.isfinite(every[1]).all()
    # an animal left with no keypoint is dropped; one-animal decoding applies the same cutoff
    kp, ks, inst = decode_frame(hm * 0.25, paf, off, fly_skeleton, 4, min_keypoint_score=0.3)
    assert kp.shape == (0, 5, 2) and ks.shape == (0, 5) and inst.shape == (0,)
    kp, ks, _ = decode_frame(hm, None, off, fly_skeleton, 4, single_animal=True, min_keypoint_score=0.3)
    assert len(kp) == 1 and np.isfinite(ks[0]).all() and (ks[0] >= 0.3).all()


def test_the_cutoff_comes_from_the_model_unless_given():
    from types import SimpleNamespace

    from mapose.decode.frame import model_min_keypoint_score
    from mapose.training.config import InferenceConfig

    model = SimpleNamespace(config=SimpleNamespace(inference=InferenceConfig(min_keypoint_score=0.25)))
    assert model_min_keypoint_score(model) == 0.25
    assert model_min_keypoint_score(model, 0.4) == 0.4
    assert model_min_keypoint_score(object()) == 0.0  # a model without a config: every keypoint
    with pytest.raises(ValidationError, match="min_keypoint_score must be at least 0 and below 1, got 1.5"):
        model_min_keypoint_score(model, 1.5)
    from mapose.config import from_dict
    from mapose.errors import ConfigError
    from mapose.training.config import TrainConfig

    with pytest.raises(ConfigError, match="inference.min_keypoint_score 1.5 must be at least 0 and below 1"):
        from_dict(TrainConfig, {"inference": {"min_keypoint_score": 1.5}})
