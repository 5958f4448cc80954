"""SLEAP .slp reading/writing, checked against the files' HDF5 content read directly with h5py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from mapose.core import Labels, make_tracks, validate_tracks
from mapose.errors import FormatError, MaposeError
from mapose.io import detect_format, read_labels as io_read_labels
from mapose.io import slp

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SHARED = REPO.parent / "shared" / "data"

CENTERED = DATA / "flies_centered_pair" / "labels.train.slp"
DREEM = DATA / "flies_dreem" / "two_flies.slp"
TUTORIAL = DATA / "flies_tutorial_pair" / "predictions" / "predictions.slp"


SHARED_SLP = sorted(SHARED.glob("**/*.slp")) if SHARED.is_dir() else []


# ------------------------------------------------------------------ independent reader (h5py)
def raw_slp(path: Path) -> dict:
    """Instances of a .slp straight from its HDF5 tables (no sleap-io): for cross-checking."""
    with h5py.File(path, "r") as f:
        meta = json.loads(f["metadata"].attrs["json"])
        frames = f["frames"][:]
        inst = f["instances"][:]
        points = f["points"][:]
        pred_points = f["pred_points"][:]
    nodes = [n["name"] for n in meta["nodes"]]
    sk = meta["skeletons"][0]
    order = [n["id"] for n in sk["nodes"]]
    names = [nodes[i] for i in order]
    out = []
    for fr in frames:
        for ii in range(fr["instance_id_start"], fr["instance_id_end"]):
            row = inst[ii]
            pts = pred_points if row["instance_type"] == 1 else points
            p = pts[row["point_id_start"]:row["point_id_end"]]
            xy = np.stack([p["x"], p["y"]], axis=1).astype(float)
            xy[~p["visible"].astype(bool)] = np.nan
            score = p["score"].astype(float) if row["instance_type"] == 1 else None
            out.append({
                "video": int(fr["video"]), "frame": int(fr["frame_idx"]), "xy": xy,
                "score": score, "user": row["instance_type"] == 0, "track": int(row["track"]),
                "instance_score": float(row["score"]),
            })
    return {"nodes": names, "instances": out}


def _decode_tracks(path: Path) -> list[str]:
    with h5py.File(path, "r") as f:
        if "tracks_json" not in f:
            return []
        return [json.loads(t)[1] for t in f["tracks_json"][:]]


def check_labels_against_raw(labels: Labels, path: Path) -> None:
    raw = raw_slp(path)
    raw_tracks = _decode_tracks(path)
    assert list(labels.skeleton.keypoints) == raw["nodes"]
    assert list(labels.individuals) == raw_tracks
    det = labels.instances
    assert len(det) == len(raw["instances"])
    # Match instances per labelled frame, in file order.
    assert len({r["video"] for r in raw["instances"]}) <= 1  # the shared files have one video
    by_frame: dict[int, list[dict]] = {}
    for r in raw["instances"]:
        by_frame.setdefault(r["frame"], []).append(r)
    off = det.frame_slices()
    seen = 0
    for i, ref in enumerate(labels.images):
        sl = slice(int(off[i]), int(off[i + 1]))
        rows = by_frame[ref.frame]
        assert len(rows) == sl.stop - sl.start
        for j, r in zip(range(sl.start, sl.stop), rows):
            np.testing.assert_allclose(det.keypoints[j], r["xy"], atol=1e-4, equal_nan=True)
            assert bool(labels.is_user[j]) == r["user"]
            if r["score"] is not None:
                np.testing.assert_allclose(det.keypoint_scores[j], r["score"], atol=1e-6)
            if det.track_id is not None:
                assert det.track_id[j] == r["track"]
            seen += 1
    assert seen == len(det)


# ------------------------------------------------------------------ bundled samples
def test_read_labels_centered_pair_matches_hdf5():
    labels = slp.read_labels(CENTERED)
    assert len(labels) == 55
    assert len(labels.instances) == 110
    assert labels.skeleton.n_keypoints == 24 and labels.skeleton.keypoints[0] == "head"
    assert labels.skeleton.n_edges == 23
    assert labels.individuals == () and labels.instances.track_id is None
    assert labels.is_user.all()
    assert all(r.frame < 870 for r in labels.images)
    # The video path inside the file is another machine's; it must resolve to the copy beside it.
    assert Path(labels.images[0].video) == CENTERED.parent / "centered_pair_low_quality.mp4"
    assert Path(labels.resolve(labels.images[0].video)).is_file()
    check_labels_against_raw(labels, CENTERED)


def test_read_labels_through_registry_sniffs_slp():
    assert detect_format(CENTERED) == "slp"
    labels = io_read_labels(CENTERED)
    assert len(labels) == 55


def test_read_labels_dreem_tracks_and_symmetry():
    labels = slp.read_labels(DREEM)
    assert labels.individuals == ("F", "M")
    assert labels.instances.track_id is not None
    assert set(np.unique(labels.instances.track_id)) == {0, 1}
    check_labels_against_raw(labels, DREEM)


def test_read_labels_predictions_are_not_user():
    labels = slp.read_labels(TUTORIAL)
    assert not labels.is_user.any()
    assert labels.skeleton.keypoints == ("head", "thorax", "abdomen")
    assert np.isfinite(labels.instances.instance_scores).all()
    check_labels_against_raw(labels, TUTORIAL)


def test_labels_roundtrip(tmp_path):
    labels = slp.read_labels(DREEM)
    out = tmp_path / "copy.slp"
    slp.write_labels(labels, out)
    back = slp.read_labels(out)
    assert back.skeleton == labels.skeleton
    assert back.individuals == labels.individuals
    assert [(Path(r.video).name, r.frame) for r in back.images] == [
        (Path(r.video).name, r.frame) for r in labels.images]
    np.testing.assert_array_equal(back.instances.keypoints, labels.instances.keypoints)
    np.testing.assert_array_equal(back.instances.track_id, labels.instances.track_id)
    np.testing.assert_array_equal(back.is_user, labels.is_user)


def test_labels_roundtrip_predicted_scores(tmp_path):
    labels = slp.read_labels(TUTORIAL)
    out = tmp_path / "p.slp"
    slp.write_labels(labels, out)
    back = slp.read_labels(out)
    np.testing.assert_array_equal(back.instances.keypoint_scores, labels.instances.keypoint_scores)
    np.testing.assert_allclose(back.instances.instance_scores, labels.instances.instance_scores,
                               rtol=1e-6)
    assert not back.is_user.any()


def test_video_path_resolved_from_other_machine(tmp_path):
    # predictions.slp names C:/code/.../fly_clip.mp4; put a file of that name beside a copy.
    (tmp_path / "predictions").mkdir()
    copy = tmp_path / "predictions" / "p.slp"
    shutil.copy(TUTORIAL, copy)
    assert slp.read_labels(copy).images[0].video == "C:/code/sleap-tutorial-uo/data/fly_clip.mp4"
    (tmp_path / "video").mkdir()
    (tmp_path / "video" / "fly_clip.mp4").write_bytes(b"")
    ref = slp.read_labels(copy).images[0]
    assert Path(ref.video) == tmp_path / "video" / "fly_clip.mp4"


# ------------------------------------------------------------------ bad input
def test_random_bytes_slp_gives_one_clear_error(tmp_path):
    bad = tmp_path / "bad.slp"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(FormatError, match=r"bad\.slp: not a SLEAP \.slp file \(not an HDF5 file\)"):
        slp.read_labels(bad)
    with pytest.raises(FormatError, match="not a SLEAP .slp file"):
        slp.read_tracks(bad)
    assert not slp.sniff(bad)


def test_hdf5_without_sleap_groups(tmp_path):
    bad = tmp_path / "other.slp"
    with h5py.File(bad, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(FormatError, match="without SLEAP's 'metadata' and 'frames'"):
        slp.read_labels(bad)


def test_missing_file():
    with pytest.raises(MaposeError, match="not found"):
        slp.read_labels(DATA / "nope.slp")


# ------------------------------------------------------------------ tracks
def raw_dense_tracks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frames, tracks, nodes, 2) positions and point scores of tracked instances, from h5py;
    a user instance replaces a predicted one of the same track and frame."""
    raw = raw_slp(path)
    n_t = len(_decode_tracks(path))
    n_f = max(r["frame"] for r in raw["instances"]) + 1
    k = len(raw["nodes"])
    pos = np.full((n_f, n_t, k, 2), np.nan)
    score = np.full((n_f, n_t, k), np.nan)
    level = np.zeros((n_f, n_t), int)
    for r in raw["instances"]:
        if r["track"] < 0:
            continue
        lv = 2 if r["user"] else 1
        if lv < level[r["frame"], r["track"]]:
            continue
        level[r["frame"], r["track"]] = lv
        pos[r["frame"], r["track"]] = r["xy"]
        score[r["frame"], r["track"]] = (
            r["score"] if r["score"] is not None else np.where(np.isfinite(r["xy"]).all(1), 1.0, np.nan))
    return pos, score


def check_tracks_against_raw(ds, path: Path) -> None:
    validate_tracks(ds)
    pos, score = raw_dense_tracks(path)
    assert list(ds["individuals"].values) == _decode_tracks(path)
    assert list(ds["keypoints"].values) == raw_slp(path)["nodes"]
    n = pos.shape[0]
    assert ds.sizes["time"] >= n
    np.testing.assert_array_equal(ds["frame"].values[:n], np.arange(n))
    got = ds["position"].transpose("time", "individuals", "keypoints", "space").values
    np.testing.assert_allclose(got[:n], pos, atol=1e-4, equal_nan=True)
    assert np.isnan(got[n:]).all()
    conf = ds["confidence"].transpose("time", "individuals", "keypoints").values
    np.testing.assert_allclose(conf[:n], score, atol=1e-6, equal_nan=True)


def test_read_tracks_tutorial_predictions_matches_hdf5():
    ds = slp.read_tracks(TUTORIAL)
    assert ds.sizes["time"] == 1350 and list(ds["individuals"].values) == ["track_0", "track_1"]
    assert ds.attrs["source_software"] == "SLEAP"
    assert "instance_score" in ds and np.isfinite(ds["instance_score"].values).all()
    check_tracks_against_raw(ds, TUTORIAL)


def test_read_tracks_dense_over_video_frames():
    ds = slp.read_tracks(DREEM)
    assert ds.sizes["time"] == 128 and ds.attrs["fps"] == pytest.approx(25.0)  # from the video
    assert Path(ds.attrs["video_path"]).name == "two_flies.mp4"
    check_tracks_against_raw(ds, DREEM)


def test_untracked_file_asks_to_track():
    with pytest.raises(FormatError, match=r"labels\.train\.slp: has no tracks.*run `mapose track"):
        slp.read_tracks(CENTERED)
    det = slp.read_detections(CENTERED)
    assert len(det) == 110 and det.track_id is None
    assert det.n_frames == 1100 and det.fps == pytest.approx(15.0)  # the bundled 1100-frame video
    assert det.skeleton.n_keypoints == 24


def test_read_detections_keeps_untracked_instances():
    labels = slp.read_labels(DREEM)
    det = slp.read_detections(DREEM)
    assert len(det) == len(labels.instances)
    np.testing.assert_array_equal(np.sort(det.frame), np.sort([labels.images[i].frame
                                                             for i in labels.instances.frame]))


def _same_tracks(a, b) -> None:
    for var in ("position", "confidence"):
        np.testing.assert_array_equal(a[var].values, b[var].values)
    assert list(a["individuals"].values) == list(b["individuals"].values)
    assert list(a["keypoints"].values) == list(b["keypoints"].values)
    np.testing.assert_array_equal(a["frame"].values, b["frame"].values)
    for key in ("fps", "time_unit", "source_software", "skeleton"):
        assert a.attrs[key] == b.attrs[key], key


def test_slp_tracks_slp_roundtrip_is_lossless(tmp_path):
    out = tmp_path / "rt.slp"
    ds = slp.read_tracks(TUTORIAL)
    slp.write_tracks(ds, out)
    back = slp.read_tracks(out)
    _same_tracks(ds, back)
    np.testing.assert_array_equal(ds["instance_score"].values, back["instance_score"].values)
    # Instance by instance, the written file holds what the original held.
    a, b = slp.read_labels(TUTORIAL), slp.read_labels(out)
    assert [r.frame for r in a.images] == [r.frame for r in b.images]
    oa = np.lexsort((a.instances.track_id, a.instances.frame))  # order within a frame is free
    ob = np.lexsort((b.instances.track_id, b.instances.frame))
    for field in ("frame", "keypoints", "keypoint_scores", "instance_scores", "track_id"):
        np.testing.assert_array_equal(getattr(a.instances, field)[oa], getattr(b.instances, field)[ob])
    assert b.individuals == a.individuals
    # an analysis's provenance (and any attribute SLEAP has no field for) rides in the file's provenance
    ds.attrs.update(provenance=json.dumps({"model_checksum": "abc", "options": {"frames": [17, 50]}}), n_ids=2)
    slp.write_tracks(ds, out)
    back = slp.read_tracks(out)
    assert back.attrs["provenance"] == ds.attrs["provenance"] and back.attrs["n_ids"] == 2
    assert back.attrs["source_file"] == str(out)  # what describes the file read is not overwritten


def test_tracks_slp_tracks_with_gaps_and_offset_frames(tmp_path):
    rng = np.random.default_rng(3)
    pos = rng.uniform(0, 500, (30, 2, 3, 2))
    pos[5:9, :, :, 1] = np.nan            # animal 1 missing for 4 frames
    pos[12, :, 2, 0] = np.nan             # one keypoint missing
    pos[-3:] = np.nan                     # trailing empty frames must survive
    conf = rng.uniform(0, 1, (30, 3, 2))
    conf[np.isnan(pos).any(axis=1)] = np.nan
    ds = make_tracks(pos, conf, keypoints=["nose", "earL", "earR"], individuals=["mouse A", "B"],
                     fps=30.0, frames=np.arange(100, 130), video_path="/videos/session1.mp4")
    out = tmp_path / "t.slp"
    slp.write_tracks(ds, out)
    back = slp.read_tracks(out)
    _same_tracks(ds, back)
    assert back.attrs["video_path"] == "/videos/session1.mp4"


def test_write_tracks_failure_leaves_nothing(tmp_path, monkeypatch):
    import sleap_io

    ds = slp.read_tracks(TUTORIAL)
    out = tmp_path / "fail.slp"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(sleap_io, "save_slp", boom)
    with pytest.raises(OSError, match="disk full"):
        slp.write_tracks(ds, out)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ every shared .slp
@pytest.mark.shared
@pytest.mark.parametrize("path", SHARED_SLP, ids=lambda p: str(p.relative_to(SHARED)))
def test_shared_slp_files(path, shared_data):
    labels = slp.read_labels(path)
    check_labels_against_raw(labels, path)
    for ref in labels.images:
        assert ref.video and ref.frame >= 0
    if _decode_tracks(path):
        check_tracks_against_raw(slp.read_tracks(path), path)
    else:
        with pytest.raises(FormatError, match="has no tracks"):
            slp.read_tracks(path)


# ------------------------------------------------------------------ less common layouts
def test_labels_with_image_files_roundtrip(tmp_path):
    from mapose.core import Detections, ImageRef, Skeleton

    sk = Skeleton.from_names(["nose", "tail"], [("nose", "tail")])
    det = Detections(
        frame=[0, 1, 1], keypoints=[[[1, 2], [3, 4]], [[5, 6], [np.nan, np.nan]], [[9, 9], [8, 8]]],
        keypoint_scores=np.ones((3, 2)), instance_scores=np.ones(3), skeleton=sk, n_frames=2,
    )
    labels = Labels(skeleton=sk, images=(ImageRef(image="img/a.png"), ImageRef(image="img/b.png")),
                    instances=det)
    out = tmp_path / "imgs.slp"
    slp.write_labels(labels, out)
    back = slp.read_labels(out)
    assert [r.image for r in back.images] == ["img/a.png", "img/b.png"]
    np.testing.assert_array_equal(back.instances.keypoints, det.keypoints)
    assert back.is_user.all() and back.skeleton == sk


def test_user_instance_wins_over_prediction_of_same_track(tmp_path):
    import sleap_io as sio

    sk = sio.Skeleton(["a", "b"])
    track = sio.Track("t0")
    video = sio.Video(filename="nowhere_mixed_instances.mp4", open_backend=False)
    pred = sio.PredictedInstance.from_numpy(np.array([[1.0, 1.0], [2.0, 2.0]]), skeleton=sk,
                                            point_scores=np.array([0.4, 0.5]), score=0.45, track=track)
    user = sio.Instance.from_numpy(np.array([[1.5, 1.5], [np.nan, np.nan]]), skeleton=sk, track=track)
    lfs = [sio.LabeledFrame(video=video, frame_idx=0, instances=[pred, user]),
           sio.LabeledFrame(video=video, frame_idx=2, instances=[pred])]
    path = tmp_path / "mixed.slp"
    sio.save_slp(sio.Labels(lfs), str(path), verbose=False)
    ds = slp.read_tracks(path)
    assert ds.sizes["time"] == 3  # dense frames 0..2 (the video cannot be found)
    p0 = ds["position"].isel(time=0, individuals=0).transpose("keypoints", "space").values
    np.testing.assert_array_equal(p0, [[1.5, 1.5], [np.nan, np.nan]])
    np.testing.assert_array_equal(ds["confidence"].isel(time=0, individuals=0).values, [1.0, np.nan])
    np.testing.assert_array_equal(ds["confidence"].isel(time=2, individuals=0).values, [0.4, 0.5])
    assert np.isnan(ds["position"].isel(time=1).values).all()
    labels = slp.read_labels(path)
    assert labels.is_user.tolist() == [False, True, False]


def test_sleap_package_with_embedded_frames(tmp_path):
    """A .pkg.slp carries its labelled frames; without the source video they are read from it."""
    import sleap_io as sio

    from mapose.io.video import VideoReader

    video_copy = tmp_path / "clip.mp4"
    shutil.copy(CENTERED.parent / "centered_pair_low_quality.mp4", video_copy)
    full = sio.load_slp(str(CENTERED))
    video = sio.Video(filename=str(video_copy))
    lfs = [sio.LabeledFrame(video=video, frame_idx=lf.frame_idx, instances=lf.instances)
           for lf in full.labeled_frames[:3]]
    pkg = tmp_path / "small.pkg.slp"
    sio.save_slp(sio.Labels(lfs), str(pkg), embed="user", verbose=False)
    with VideoReader(video_copy) as vr:
        want = {ref_frame: vr[ref_frame] for ref_frame in (lf.frame_idx for lf in lfs)}
    assert Path(slp.read_labels(pkg).images[0].video) == video_copy  # source video found
    video_copy.unlink()
    labels = slp.read_labels(pkg)
    assert len(labels) == 3 and len(labels.instances) == 6
    ref = labels.images[1]
    assert ref.video == f"{pkg}#video0" and ref.frame == lfs[1].frame_idx
    with VideoReader(ref.video) as vr:
        assert vr.n_frames == 1100 and (vr.width, vr.height) == (384, 384)
        for f, img in want.items():
            np.testing.assert_array_equal(vr[f], img)  # PNG-embedded frames are exact
        assert [i for i, _ in vr.iter_frames()] == sorted(want)
        with pytest.raises(FormatError, match="frame 1 is not embedded"):
            vr[1]
