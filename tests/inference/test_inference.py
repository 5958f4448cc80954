"""Streaming analysis: positions mapped back to video pixels, resume after interruption, atomic output."""

import json

import numpy as np
import pytest
from inference_synthetic import DotModel, write_video

from mapose.errors import ValidationError
from mapose.inference import DecodeOptions, Timings, analyze_video, file_checksum, predict_video
from mapose.inference.frames import parse_crop
from mapose.io import read_tracks


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    p = tmp_path_factory.mktemp("vid") / "dots.avi"
    pos = write_video(p, 60)
    return p, pos


def _nearest_errors(det, pos):
    errs = []
    for i in range(len(det)):
        f = det.frame[i]
        d = np.linalg.norm(pos[f] - det.keypoints[i][None], axis=-1)  # (animals, K)
        a = np.argmin(np.nanmean(d, axis=1))
        errs.append(d[a])
    return np.array(errs)


@pytest.mark.parametrize("scale,crop", [(1.0, None), (0.5, None), (1.0, (8, 4, 150, 112)),
                                        (0.75, (8, 4, 150, 112))])
def test_predict_video_positions_in_video_pixels(video, scale, crop):
    path, pos = video
    tm = Timings()
    det = predict_video(DotModel(), path, batch_size=4, scale=scale, crop=crop,
                        decode=DecodeOptions(max_animals=2, merge_radius=12), progress=False,
                        timings=tm)
    assert det.n_frames == 60 and tm.frames == 60
    assert np.array_equal(det.counts(), np.full(60, 2))
    assert np.isfinite(det.keypoints).all()
    err = _nearest_errors(det, pos)
    assert np.median(err) < 0.6 / min(scale, 1.0) and err.max() < 2.0 / min(scale, 1.0)


@pytest.mark.parametrize("scale,crop", [(1.0, None), (0.5, (8, 4, 150, 112))])
def test_calibration_of_a_model_shifts_video_positions(video, scale, crop):
    from mapose.training.calibration import Calibration

    path, _ = video
    kw = dict(batch_size=4, scale=scale, crop=crop, decode=DecodeOptions(max_animals=2, merge_radius=12),
              progress=False)
    plain = predict_video(DotModel(), path, **kw)
    model = DotModel()
    model.calibration = Calibration(np.array([1.25, -0.5]))
    shifted = predict_video(model, path, **kw)
    np.testing.assert_allclose(shifted.keypoints - plain.keypoints,
                               np.broadcast_to([1.25, -0.5], plain.keypoints.shape), atol=1e-9)


def test_predict_video_rejects_bad_crop(video):
    with pytest.raises(ValidationError, match="does not fit"):
        predict_video(DotModel(), video[0], crop=(100, 0, 100, 50), progress=False)
    with pytest.raises(ValidationError, match="four"):
        parse_crop("1,2,3")


class Interrupt(Exception):
    pass


def _run(path, out, on_chunk=None, **kw):
    return analyze_video(DotModel(), path, out, n_animals=2, batch_size=4, chunk_size=10,
                         decode=DecodeOptions(merge_radius=12), progress=False, on_chunk=on_chunk,
                         **kw)


def test_kill_and_resume_equals_uninterrupted(video, tmp_path):
    path, pos = video
    ref_out = tmp_path / "ref.h5"
    ref = _run(path, ref_out)
    assert ref.resumed_from_frame == 0 and ref.n_frames == 60

    out = tmp_path / "resumed.h5"
    seen = []

    def stop_after_two(c):
        seen.append(c)
        if len(seen) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        _run(path, out, on_chunk=stop_after_two)
    assert not out.exists()  # nothing half-written
    partial = tmp_path / "resumed.h5.partial"
    assert sorted(p.name for p in partial.glob("chunk_*.npz")) == ["chunk_000000.npz",
                                                                    "chunk_000001.npz"]
    model = DotModel()
    res = analyze_video(model, path, out, n_animals=2, batch_size=4, chunk_size=10,
                        decode=DecodeOptions(merge_radius=12), progress=False)
    assert res.resumed_from_frame == 24  # 2 chunks of 12 frames (10 rounded up to 3 batches of 4)
    assert model.calls == 9  # (60 - 24) / 4 batches: only the missing frames were analysed
    assert not partial.exists()
    a, b = read_tracks(ref_out), read_tracks(out)
    np.testing.assert_array_equal(a["position"].values, b["position"].values)
    np.testing.assert_array_equal(a["confidence"].values, b["confidence"].values)
    assert a.attrs["provenance"] == b.attrs["provenance"]
    prov = json.loads(b.attrs["provenance"])
    assert prov["model_checksum"] == "dot-model-v1" and prov["video_checksum"] == file_checksum(path)
    assert prov["mapose_version"] and prov["options"]["n_animals"] == 2
    # identities follow the known lines: each individual stays on one GT animal
    p = b["position"].transpose("time", "individuals", "keypoints", "space").values
    for i in range(2):
        d = np.linalg.norm(p[:, i][:, None] - pos, axis=-1).mean(-1)  # (T, GT animals)
        assert len(set(np.argmin(d, axis=1).tolist())) == 1


def test_a_frame_range_gives_those_frames_of_the_whole_analysis(video, tmp_path):
    from mapose.inference.pipeline import frame_range, parse_frame_range

    path, _ = video
    whole = read_tracks(_run(path, tmp_path / "whole.h5").output)
    out = tmp_path / "part.slp"
    seen = []

    def stop_after_one(c):
        seen.append(c)
        raise Interrupt

    with pytest.raises(Interrupt):  # interrupted inside the range, then resumed there
        _run(path, out, on_chunk=stop_after_one, frames=(17, 50))
    model = DotModel()
    res = analyze_video(model, path, out, n_animals=2, batch_size=4, chunk_size=10,
                        decode=DecodeOptions(merge_radius=12), progress=False, frames=(17, 50))
    assert res.n_frames == 33 and res.resumed_from_frame == 29 and model.calls == 6  # frames 29-49
    part = read_tracks(out)
    assert part["frame"].values.tolist() == list(range(17, 50))
    np.testing.assert_allclose(part["time"].values, whole["time"].values[17:50])
    ref = whole.isel(time=slice(17, 50))
    a = part["position"].transpose("time", "individuals", "keypoints", "space").values
    b = ref["position"].transpose("time", "individuals", "keypoints", "space").values
    if np.nanmean(np.abs(a - b)) > np.nanmean(np.abs(a - b[:, ::-1])):
        b = b[:, ::-1]  # identities are named in the order tracking met them
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert json.loads(part.attrs["provenance"])["options"]["frames"] == [17, 50]
    # to the end; past the end clipped
    assert read_tracks(_run(path, tmp_path / "tail.h5", frames=(40, None)).output).sizes["time"] == 20
    assert _run(path, tmp_path / "clip.h5", frames=(55, 999)).n_frames == 5
    assert parse_frame_range("1000:2000") == (1000, 2000) and parse_frame_range(":500") == (0, 500)
    assert parse_frame_range("7:") == (7, None) and parse_frame_range("7") == (7, 8)
    for bad, match in (("a:b", "START:STOP"), ("1:2:3", "START:STOP")):
        with pytest.raises(ValidationError, match=match):
            parse_frame_range(bad)
    with pytest.raises(ValidationError, match="past its end"):
        frame_range((60, None), 60, "dots.avi")
    with pytest.raises(ValidationError, match="after the start"):
        frame_range((10, 10), 60)
    with pytest.raises(ValidationError, match=">= 0"):
        frame_range((-1, 5), 60)


def test_stale_partial_results_are_discarded(video, tmp_path):
    path, _ = video
    out = tmp_path / "o.h5"

    def stop(c):
        raise Interrupt

    with pytest.raises(Interrupt):
        _run(path, out, on_chunk=stop)
    # another peak threshold changes the results: the old chunk must not be reused
    res = analyze_video(DotModel(), path, out, n_animals=2, batch_size=4, chunk_size=10,
                        decode=DecodeOptions(merge_radius=12, peak_threshold=0.2), progress=False)
    assert res.resumed_from_frame == 0 and out.exists()


def test_failed_tracking_leaves_no_output(video, tmp_path):
    class Broken:
        def fit_track(self, det, video=None):
            raise RuntimeError("tracker failed")

    out = tmp_path / "x.h5"
    with pytest.raises(RuntimeError, match="tracker failed"):
        _run(video[0], out, tracker=Broken())
    assert not out.exists()
    assert (tmp_path / "x.h5.partial").exists()  # the expensive part is kept for the next run


def test_precision_option(video):
    from mapose.inference import resolve_precision

    assert resolve_precision(DotModel(), "fp32") == "fp32"
    assert resolve_precision(DotModel(), "auto") in ("fp32", "bf16")
    with pytest.raises(ValidationError, match="precision"):
        resolve_precision(DotModel(), "fp16")
    a = predict_video(DotModel(), video[0], batch_size=4, precision="fp32", progress=False,
                      decode=DecodeOptions(max_animals=2, merge_radius=12))
    b = predict_video(DotModel(), video[0], batch_size=4, precision="bf16", progress=False,
                      decode=DecodeOptions(max_animals=2, merge_radius=12))
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=0.5)


def test_decode_thread_gives_the_same_detections(video):
    kw = dict(batch_size=4, progress=False, decode=DecodeOptions(max_animals=2, merge_radius=12))
    a = predict_video(DotModel(), video[0], decode_in_thread=True, **kw)
    b = predict_video(DotModel(), video[0], decode_in_thread=False, **kw)
    for name in ("frame", "keypoints", "keypoint_scores", "instance_scores"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.n_frames == b.n_frames == 60


def test_min_keypoints_drops_singletons_chunk_by_chunk(video, tmp_path):
    kw = dict(batch_size=4, progress=False, decode=DecodeOptions(peak_threshold=0.02, merge_radius=12))
    every = predict_video(DotModel(), video[0], **kw)
    n_kp = np.isfinite(every.keypoints).all(-1).sum(-1)
    assert (n_kp == 1).any()  # the low threshold leaves unassembled candidates
    for part in (None, tmp_path / "p"):
        animals = predict_video(DotModel(), video[0], partial_dir=part, chunk_size=8,
                                min_keypoints=2, **kw)
        assert len(animals) == int((n_kp >= 2).sum()) and animals.n_frames == 60


def test_a_single_animal_model_is_tracked_as_one_identity(video, tmp_path):
    # one animal per frame: without --n-animals every tracklet used to become a track of its own
    # (63 tracks for 2330 frames of DeepLabCut's open-field mouse)
    model = DotModel()
    model.single_animal = True
    out = tmp_path / "one.h5"
    analyze_video(model, video[0], out, batch_size=4, progress=False)
    tracks = read_tracks(out)
    assert list(tracks.individuals.values) == ["individual_0"]
    assert np.isfinite(tracks.position.values).all(axis=(1, 2)).any()
    # asking for multi-animal decoding keeps tracklets apart as before
    multi = tmp_path / "multi.h5"
    analyze_video(model, video[0], multi, batch_size=4, progress=False,
                  decode=DecodeOptions(single_animal=False, merge_radius=12))
    assert len(read_tracks(multi).individuals) >= 2


def test_the_number_of_animals_defaults_to_the_most_in_a_training_frame(video, tmp_path):
    # without --n-animals, 3 mice (MABe22 triplet, 1800 frames) used to be tracked as 192 identities:
    # every tracklet of a mouse and every low-scored detection on the cage's vent and corners
    from mapose.inference import resolve_n_animals

    model = DotModel()
    model.max_animals_per_frame = 1  # as many animals as the training frames held at most
    out = tmp_path / "auto.h5"
    res = analyze_video(model, video[0], out, batch_size=4, progress=False,
                        decode=DecodeOptions(merge_radius=12))
    tracks = read_tracks(out)
    assert list(tracks.individuals.values) == ["individual_0"]
    # what is reported is what the file holds: both dots detected, one kept in each frame
    seen = np.isfinite(tracks.position.values).any(axis=(1, 2)).sum()
    assert res.n_tracked == seen and res.n_identities == 1 and res.n_detections > res.n_tracked
    assert json.loads(tracks.attrs["provenance"])["options"]["n_animals"] == 1
    assert np.isfinite(tracks.position.values).all(axis=(1, 2)).any()
    # "any": a count that varies, every decoded animal kept (both dots)
    anyn = tmp_path / "any.h5"
    analyze_video(model, video[0], anyn, n_animals="any", batch_size=4, progress=False,
                  decode=DecodeOptions(merge_radius=12))
    tracks = read_tracks(anyn)
    assert len(tracks.individuals) >= 2
    assert np.isfinite(tracks.position.values).all(axis=(1, 2)).sum(axis=1).max() == 2
    assert json.loads(tracks.attrs["provenance"])["options"]["n_animals"] is None

    # keypoints scored below a cutoff are written as missing (the provenance records the cutoff)
    cut = tmp_path / "cut.h5"
    analyze_video(model, video[0], cut, n_animals="any", batch_size=4, progress=False,
                  decode=DecodeOptions(merge_radius=12, min_keypoint_score=0.999))
    cut_tracks = read_tracks(cut)
    conf = cut_tracks.confidence.values
    assert (conf[np.isfinite(conf)] >= 0.999).all()
    assert np.isfinite(conf).sum() < np.isfinite(tracks.confidence.values).sum()
    assert json.loads(cut_tracks.attrs["provenance"])["options"]["decode"]["min_keypoint_score"] == 0.999
    assert json.loads(tracks.attrs["provenance"])["options"]["decode"]["min_keypoint_score"] == 0.0

    model.max_animals_per_frame = 3
    assert resolve_n_animals(model) == resolve_n_animals(model, None) == 3
    assert resolve_n_animals(model, 2) == resolve_n_animals(model, "2") == 2
    assert resolve_n_animals(model, "any") is None
    assert resolve_n_animals(model, "auto", DecodeOptions(max_animals=4)) == 4
    model.max_animals_per_frame = None  # a model trained before the count was recorded
    assert resolve_n_animals(model) is None
    model.single_animal = True
    assert resolve_n_animals(model) == 1
    assert resolve_n_animals(model, "auto", DecodeOptions(single_animal=False)) is None
    for bad, message in ((0, "at least 1"), (2.5, "whole number, auto or any"), ("two", "whole number, auto or any")):
        with pytest.raises(ValidationError, match=message):
            resolve_n_animals(model, bad)
